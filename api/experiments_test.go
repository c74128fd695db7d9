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
	"github.com/tradeexec/tradeexec/schema"
)

func (e *adminEnv) post(token, path string) (*http.Response, string) {
	e.t.Helper()
	return e.postBody(token, path, "{}")
}

func (e *adminEnv) postBody(token, path, body string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.http.URL+path, strings.NewReader(body))
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

// Administrators create, start and stop experiments (validated, audited);
// trader and support get 403 and change nothing. A draft shows the
// control and records nothing; started, it records exposures.
func TestExperimentsAdminAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		e := newAdminEnv(t, db)
		traderID, trader := e.user(auth.RoleTrader)
		_, support := e.user(auth.RoleSupport)
		adminID, admin := e.user(auth.RoleAdmin)
		good := `{"id":"pricing-page","name":"Pricing page","description":"annual first","variants":[{"name":"control","weight":1},{"name":"annual","weight":1},{"name":"monthly","weight":2}]}`
		for _, tok := range []string{trader, support} {
			for _, p := range []string{"/api/v1/admin/experiments", "/api/v1/admin/experiments/upgrade-prompt/stop"} {
				res, _ := e.postBody(tok, p, good)
				require.Equal(t, http.StatusForbidden, res.StatusCode, p)
			}
		}
		var n int64
		require.NoError(t, db.Model(&schema.Experiment{}).Count(&n).Error)
		require.EqualValues(t, 1, n)

		for _, tc := range []struct{ body, field string }{
			{`{"id":"X!","name":"n","variants":[{"name":"a","weight":1},{"name":"b","weight":1}]}`, "id"},
			{`{"id":"ok-id","name":"  ","variants":[{"name":"a","weight":1},{"name":"b","weight":1}]}`, "name"},
			{`{"id":"ok-id","name":"n","variants":[{"name":"a","weight":1}]}`, "variants"},
			{`{"id":"ok-id","name":"n","variants":[{"name":"a","weight":1},{"name":"a","weight":1}]}`, "variants"},
			{`{"id":"ok-id","name":"n","variants":[{"name":"a","weight":0},{"name":"b","weight":1}]}`, "variants"},
			{`not json`, "body"},
		} {
			res, body := e.postBody(admin, "/api/v1/admin/experiments", tc.body)
			require.Equal(t, http.StatusBadRequest, res.StatusCode, tc.body)
			var got struct{ Field string }
			require.NoError(t, json.Unmarshal([]byte(body), &got), body)
			require.Equal(t, tc.field, got.Field, body)
		}

		res, body := e.postBody(admin, "/api/v1/admin/experiments", good)
		require.Equal(t, http.StatusCreated, res.StatusCode, body)
		res, _ = e.postBody(admin, "/api/v1/admin/experiments", good)
		require.Equal(t, http.StatusConflict, res.StatusCode)
		// A draft shows the control and records nothing.
		ctx := context.Background()
		v, err := experiments.Expose(ctx, db, "pricing-page", traderID, time.Now())
		require.NoError(t, err)
		require.Equal(t, "control", v)
		res, _ = e.post(admin, "/api/v1/admin/experiments/pricing-page/stop")
		require.Equal(t, http.StatusConflict, res.StatusCode, "a draft cannot be stopped")
		res, _ = e.post(admin, "/api/v1/admin/experiments/pricing-page/start")
		require.Equal(t, http.StatusOK, res.StatusCode)
		res, _ = e.post(admin, "/api/v1/admin/experiments/pricing-page/start")
		require.Equal(t, http.StatusConflict, res.StatusCode, "already running")
		v, err = experiments.Expose(ctx, db, "pricing-page", traderID, time.Now())
		require.NoError(t, err)
		require.Equal(t, experiments.Assign("pricing-page", traderID, []experiments.Variant{{Name: "control", Weight: 1}, {Name: "annual", Weight: 1}, {Name: "monthly", Weight: 2}}), v)
		res, _ = e.post(admin, "/api/v1/admin/experiments/pricing-page/stop")
		require.Equal(t, http.StatusOK, res.StatusCode)
		res, _ = e.post(admin, "/api/v1/admin/experiments/nope/start")
		require.Equal(t, http.StatusNotFound, res.StatusCode)

		var actions []string
		require.NoError(t, db.Model(&schema.AuditLog{}).Where("user_id = ? AND resource_type = ?", adminID, "Experiment").
			Order("seq").Pluck("action", &actions).Error)
		require.Equal(t, []string{"EXPERIMENT_CREATED", "EXPERIMENT_STARTED", "EXPERIMENT_STOPPED"}, actions)
		res, body = e.get(admin, "/api/v1/admin/experiments")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, `"pricing-page"`)
		require.Contains(t, body, `"chiSquare"`)
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
