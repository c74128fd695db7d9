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
		// The financial report (FR-047): admin only, CSV named after the
		// quarter with the SPEC's columns; bad periods name their field.
		for _, tok := range []string{trader, support} {
			res, _ := e.get(tok, "/api/v1/admin/analytics/report?quarter=2026Q1")
			require.Equal(t, http.StatusForbidden, res.StatusCode)
		}
		res, body := e.get(admin, "/api/v1/admin/analytics/report?quarter=2026Q1")
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		require.Equal(t, `attachment; filename="Q1_2026_Revenue_Report.csv"`, res.Header.Get("Content-Disposition"))
		lines := strings.Split(strings.TrimSpace(body), "\n")
		require.Len(t, lines, 4, body)
		require.Equal(t, "Month,New Signups,Churn Count,Net Growth,MRR,Cumulative ARR", lines[0])
		require.True(t, strings.HasPrefix(lines[1], "2026-01,"), body)
		res, body = e.get(admin, "/api/v1/admin/analytics/report?from=2026-02&to=2026-03&format=json")
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		require.Contains(t, body, `"name":"2026-02_2026-03_Revenue_Report"`)
		for q, field := range map[string]string{"quarter=2026Q7": "quarter", "from=2026-13&to=2026-03": "from",
			"from=2026-03&to=2026-01": "to", "quarter=2026Q1&format=pdf": "format"} {
			res, body = e.get(admin, "/api/v1/admin/analytics/report?"+q)
			require.Equal(t, http.StatusBadRequest, res.StatusCode, q)
			var got struct{ Field string }
			require.NoError(t, json.Unmarshal([]byte(body), &got))
			require.Equal(t, field, got.Field, q)
		}
		res, body = e.get(admin, "/api/v1/admin/analytics/revenue")
		var rev analytics.Report
		require.NoError(t, json.Unmarshal([]byte(body), &rev))
		require.NotEmpty(t, rev.Revenue[len(rev.Revenue)-1].ByTier, "MRR by plan tier")
		require.NotNil(t, rev.Revenue[len(rev.Revenue)-1].GrowthPct, "growth over the previous month")

		// CLV per trader (FR-046): admin only, every paying trader a row.
		res, _ = e.get(support, "/api/v1/admin/analytics/clv/traders")
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		res, body = e.get(admin, "/api/v1/admin/analytics/clv/traders?limit=10000")
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		var tc struct{ Traders []analytics.TraderValue }
		require.NoError(t, json.Unmarshal([]byte(body), &tc))
		require.NotEmpty(t, tc.Traders)
		var paying int64
		require.NoError(t, db.Table("analytics_mrr").Distinct("user_id").Count(&paying).Error)
		require.EqualValues(t, paying, len(tc.Traders))
		res, body = e.get(admin, "/api/v1/admin/analytics/clv/traders?limit=0")
		require.Equal(t, http.StatusBadRequest, res.StatusCode, body)
		require.Contains(t, body, `"field":"limit"`)

		res, body = e.get(admin, "/api/v1/admin/analytics/revenue?format=xml")
		require.Equal(t, http.StatusBadRequest, res.StatusCode, body)
		require.Contains(t, body, "format must be json or csv")
	})
}
