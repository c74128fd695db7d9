package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/experiments"
	"github.com/tradeexec/tradeexec/internal/performance"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
)

func (e *adminEnv) post(token, path string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.http.URL+path, strings.NewReader("{}"))
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return res, string(raw)
}

// The experiments' results are for admins only (trader and support: 403,
// JSON and CSV); the upgrade prompt's exposure is recorded for traders
// only, with their deterministic variant, and shows in the results.
func TestExperimentsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		e := newAdminEnv(t, db)
		traderID, trader := e.user(auth.RoleTrader)
		_, support := e.user(auth.RoleSupport)
		_, admin := e.user(auth.RoleAdmin)
		for _, tok := range []string{trader, support} {
			for _, p := range []string{"/api/v1/admin/experiments", "/api/v1/admin/experiments?format=csv"} {
				res, body := e.get(tok, p)
				require.Equal(t, http.StatusForbidden, res.StatusCode, p)
				require.NotContains(t, body, "upgrade-prompt")
			}
		}
		for _, tok := range []string{support, admin} {
			res, _ := e.post(tok, "/api/v1/experiments/upgrade-prompt/exposure")
			require.Equal(t, http.StatusForbidden, res.StatusCode)
		}

		res, body := e.post(trader, "/api/v1/experiments/upgrade-prompt/exposure")
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		var got struct{ Variant string }
		require.NoError(t, json.Unmarshal([]byte(body), &got))
		want := experiments.Assign(experiments.UpgradePrompt, traderID, []experiments.Variant{{Name: "control", Weight: 50}, {Name: "missed-trades", Weight: 50}})
		require.Equal(t, want, got.Variant)

		res, body = e.get(admin, "/api/v1/admin/experiments")
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		var list struct{ Experiments []experiments.Result }
		require.NoError(t, json.Unmarshal([]byte(body), &list))
		require.Len(t, list.Experiments, 1)
		for _, v := range list.Experiments[0].Variants {
			n := int64(0)
			if v.Name == want {
				n = 1
			}
			require.Equal(t, n, v.Exposures, v.Name)
		}

		res, body = e.get(admin, "/api/v1/admin/experiments?format=csv")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, res.Header.Get("Content-Type"), "text/csv")
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 3)
		require.Equal(t, []string{"experiment", "name", "status", "variant", "control", "weight", "exposures", "conversions", "rate",
			"lift", "lift_low_95", "lift_high_95", "z", "p_value", "chi_square", "chi_df", "chi_p_value"}, rows[0])
		require.Equal(t, "upgrade-prompt", rows[1][0])

		res, _ = e.get(admin, "/api/v1/admin/experiments?format=xml")
		require.Equal(t, http.StatusBadRequest, res.StatusCode)
	})
}

// GET /api/v1/performance: a trader sees their own numbers only — never
// another trader's, even by naming them; an admin has no such route.
func TestPerformanceOwnDataOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		e := newAdminEnv(t, db)
		a, tokA := e.user(auth.RoleTrader)
		b, tokB := e.user(auth.RoleTrader)
		_, admin := e.user(auth.RoleAdmin)
		q := decimal.RequireFromString
		fill := func(user, symbol, side, qty, notional string) {
			require.NoError(t, store.InTx(context.Background(), db, func(tx *gorm.DB) error {
				return performance.RecordFill(tx, performance.FillEvent{UserID: user, ConnectionID: "conn-1", Symbol: symbol, Source: "tradingview",
					TradeID: "t", Side: side, Quantity: q(qty), Notional: q(notional), At: time.Now()})
			}))
		}
		fill(a, "AAPL", "buy", "1", "100")
		fill(a, "AAPL", "sell", "1", "125.5")
		fill(b, "TSLA", "buy", "2", "500")
		fill(b, "TSLA", "sell", "2", "400")

		read := func(tok, path string) (int, performance.Summary, string) {
			res, body := e.get(tok, path)
			var out struct{ Performance performance.Summary }
			if res.StatusCode == http.StatusOK {
				require.NoError(t, json.Unmarshal([]byte(body), &out))
			}
			return res.StatusCode, out.Performance, body
		}
		code, sa, body := read(tokA, "/api/v1/performance")
		require.Equal(t, http.StatusOK, code, body)
		require.True(t, sa.Overall.RealizedPnL.Equal(q("25.5")), sa.Overall.RealizedPnL.String())
		require.NotContains(t, body, "TSLA")
		require.NotContains(t, body, "-100")
		code, sb, body := read(tokB, "/api/v1/performance")
		require.Equal(t, http.StatusOK, code)
		require.True(t, sb.Overall.RealizedPnL.Equal(q("-100")))
		require.NotContains(t, body, "AAPL")

		code, _, body = read(tokA, "/api/v1/performance?user_id="+b)
		require.Equal(t, http.StatusForbidden, code)
		require.NotContains(t, body, "TSLA")
		code, _, _ = read(admin, "/api/v1/performance")
		require.Equal(t, http.StatusForbidden, code)
	})
}
