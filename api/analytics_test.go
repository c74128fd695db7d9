package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/analytics"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
)

// The revenue analytics are for administrators only: traders and support
// agents get 403 and no figure; an admin gets JSON and CSV of every table.
func TestAdminAnalyticsIsForAdminsOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		_, err := analytics.Generate(ctx, db, analytics.GenOptions{Seed: 7, Traders: 40, Start: "2026-01", Months: 6})
		require.NoError(t, err)
		_, err = analytics.Refresh(ctx, db, time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC))
		require.NoError(t, err)
		e := newAdminEnv(t, db)
		_, trader := e.user(auth.RoleTrader)
		_, support := e.user(auth.RoleSupport)
		_, admin := e.user(auth.RoleAdmin)
		headers := map[string]string{"revenue": "month,mrr_usd,arr_usd", "cohorts": "cohort,month_offset", "clv": "kind,group"}
		for table, header := range headers {
			for _, q := range []string{"", "?format=csv"} {
				p := "/api/v1/admin/analytics/" + table + q
				for name, tok := range map[string]string{"trader": trader, "support": support} {
					res, body := e.get(tok, p)
					require.Equal(t, http.StatusForbidden, res.StatusCode, "%s %s: %s", name, p, body)
					require.NotContains(t, body, "2026-0")
				}
				res, body := e.get(admin, p)
				require.Equal(t, http.StatusOK, res.StatusCode, "admin %s: %s", p, body)
				if q == "" {
					var rep analytics.Report
					require.NoError(t, json.Unmarshal([]byte(body), &rep))
					require.Equal(t, "2026-06", rep.AsOf)
					require.NotNil(t, rep.RefreshedAt)
				} else {
					require.True(t, strings.HasPrefix(body, header), body)
					require.Contains(t, res.Header.Get("Content-Disposition"), table+".csv")
					require.Greater(t, strings.Count(body, "\n"), 1)
				}
			}
		}
		res, body := e.get(admin, "/api/v1/admin/analytics/revenue?format=xml")
		require.Equal(t, http.StatusBadRequest, res.StatusCode, body)
		require.Contains(t, body, "format must be json or csv")
	})
}
