package api

import (
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/analytics"
)

// analyticsRoutes: the admin revenue analytics (issue 16), read from the
// tables the analytics-refresh schedule materialises (never computed on a
// request). ?format=csv downloads the table.
func (s *Server) analyticsRoutes(v1 apiRoutes) {
	v1.GET("/admin/analytics/revenue", allow(admin), s.analyticsRevenue)
	v1.GET("/admin/analytics/cohorts", allow(admin), s.analyticsCohorts)
	v1.GET("/admin/analytics/clv", allow(admin), s.analyticsCLV)
	v1.GET("/admin/analytics/report", allow(admin), s.analyticsReport)
	v1.GET("/admin/analytics/clv/traders", allow(admin), s.analyticsTraderCLV)
}

// analyticsTraderCLV: GET /api/v1/admin/analytics/clv/traders?limit=1..10000
// [&format=csv] — CLV per paying trader (FR-046), high value users first.
func (s *Server) analyticsTraderCLV(c *gin.Context) {
	f, ok := s.analyticsFormat(c)
	if !ok {
		return
	}
	limit := 100
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			s.fail(c, badRequest("limit", "limit must be a whole number from 1 to 10000."))
			return
		}
		limit = n
	}
	rows, err := analytics.ReadTraderCLV(c.Request.Context(), s.DB, limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	if f == "json" {
		if rows == nil {
			rows = []analytics.TraderValue{}
		}
		c.JSON(http.StatusOK, gin.H{"traders": rows, "volumeBonusRate": analytics.VolumeBonusRate, "highValueClv": analytics.HighValueCLV})
		return
	}
	opt := func(d *decimal.Decimal) string {
		if d == nil {
			return ""
		}
		return d.StringFixed(2)
	}
	out := make([][]string, len(rows))
	for i, v := range rows {
		out[i] = []string{v.UserID, v.Tier, strconv.FormatInt(v.PaidMonths, 10), v.AvgMRR.StringFixed(2), opt(v.RetentionMonths),
			v.Notional12m.StringFixed(2), v.VolumeBonus.StringFixed(2), opt(v.CLV), strconv.FormatBool(v.HighValue)}
	}
	writeCSV(c, "clv-traders", []string{"user_id", "tier", "paid_months", "avg_mrr_usd", "retention_months", "notional_12m",
		"volume_bonus_usd", "clv_usd", "high_value"}, out)
}

// analyticsReport: GET /api/v1/admin/analytics/report?quarter=2024Q1 or
// ?from=2024-01&to=2024-03[&format=json] — the financial report (FR-047,
// US-005 #5), a CSV download by default named Q1_2024_Revenue_Report.csv
// with the columns Month, New Signups, Churn Count, Net Growth, MRR,
// Cumulative ARR. 400 names the bad parameter.
func (s *Server) analyticsReport(c *gin.Context) {
	f := c.DefaultQuery("format", "csv")
	if f != "json" && f != "csv" {
		s.fail(c, badRequest("format", "format must be json or csv."))
		return
	}
	p, err := analytics.ParsePeriod(c.Query("quarter"), c.Query("from"), c.Query("to"))
	var be *analytics.ErrBadPeriod
	if errors.As(err, &be) {
		s.fail(c, badRequest(be.Field, be.Message))
		return
	}
	rows, err := analytics.FinancialReport(c.Request.Context(), s.DB, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	if f == "json" {
		c.JSON(http.StatusOK, gin.H{"name": p.Name, "from": p.From, "to": p.To, "rows": rows})
		return
	}
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = []string{string(r.Month), strconv.FormatInt(r.NewSignups, 10), strconv.FormatInt(r.ChurnCount, 10),
			strconv.FormatInt(r.NetGrowth, 10), r.MRR.StringFixed(2), r.CumulativeARR.StringFixed(2)}
	}
	writeCSV(c, p.Name, []string{"Month", "New Signups", "Churn Count", "Net Growth", "MRR", "Cumulative ARR"}, out)
}

// analyticsFormat is json (default) or csv; anything else answers 400.
func (s *Server) analyticsFormat(c *gin.Context) (string, bool) {
	f := c.DefaultQuery("format", "json")
	if f != "json" && f != "csv" {
		s.fail(c, badRequest("format", "format must be json or csv."))
		return "", false
	}
	return f, true
}

func writeCSV(c *gin.Context, name string, header []string, rows [][]string) {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	_ = w.Write(header)
	_ = w.WriteAll(rows)
}

// analyticsRevenue: GET /api/v1/admin/analytics/revenue — MRR, ARR and
// the MRR movements of every month (USD).
func (s *Server) analyticsRevenue(c *gin.Context) {
	f, ok := s.analyticsFormat(c)
	if !ok {
		return
	}
	rep, err := analytics.ReadRevenue(c.Request.Context(), s.DB)
	if err != nil {
		s.fail(c, err)
		return
	}
	if f == "json" {
		c.JSON(http.StatusOK, rep)
		return
	}
	rows := make([][]string, len(rep.Revenue))
	for i, m := range rep.Revenue {
		rows[i] = []string{string(m.Month), m.MRR.StringFixed(2), m.ARR.StringFixed(2), m.New.StringFixed(2),
			m.Expansion.StringFixed(2), m.Contraction.StringFixed(2), m.Churned.StringFixed(2), m.Reactivated.StringFixed(2),
			m.Cash.StringFixed(2), m.Refunds.StringFixed(2), strconv.FormatInt(m.PayingAccounts, 10)}
	}
	writeCSV(c, "revenue", []string{"month", "mrr_usd", "arr_usd", "new_mrr", "expansion_mrr", "contraction_mrr",
		"churned_mrr", "reactivated_mrr", "cash_usd", "refunds_usd", "paying_accounts"}, rows)
}

// analyticsCohorts: GET /api/v1/admin/analytics/cohorts — sign-up cohorts
// and the traders of each paying recurring revenue N months later.
func (s *Server) analyticsCohorts(c *gin.Context) {
	f, ok := s.analyticsFormat(c)
	if !ok {
		return
	}
	rep, err := analytics.ReadCohorts(c.Request.Context(), s.DB)
	if err != nil {
		s.fail(c, err)
		return
	}
	if f == "json" {
		c.JSON(http.StatusOK, rep)
		return
	}
	rows := make([][]string, len(rep.Cohorts))
	for i, cc := range rep.Cohorts {
		rows[i] = []string{string(cc.Cohort), strconv.Itoa(cc.Offset), strconv.FormatInt(cc.Size, 10),
			strconv.FormatInt(cc.Retained, 10), cc.RetentionRate().StringFixed(1)}
	}
	writeCSV(c, "cohorts", []string{"cohort", "month_offset", "size", "retained", "retention_pct"}, rows)
}

// analyticsCLV: GET /api/v1/admin/analytics/clv — lifetime value per plan
// and per sign-up cohort (ARPA / monthly churn rate).
func (s *Server) analyticsCLV(c *gin.Context) {
	f, ok := s.analyticsFormat(c)
	if !ok {
		return
	}
	rep, err := analytics.ReadCLV(c.Request.Context(), s.DB)
	if err != nil {
		s.fail(c, err)
		return
	}
	if f == "json" {
		c.JSON(http.StatusOK, rep)
		return
	}
	rows := make([][]string, len(rep.CLV))
	for i, v := range rep.CLV {
		clv := ""
		if v.Value != nil {
			clv = v.Value.StringFixed(2)
		}
		rows[i] = []string{v.Kind, v.Group, strconv.FormatInt(v.UserMonths, 10), strconv.FormatInt(v.AtRisk, 10),
			strconv.FormatInt(v.Churned, 10), v.ARPA.StringFixed(2), clv}
	}
	writeCSV(c, "clv", []string{"kind", "group", "account_months", "at_risk", "churned", "arpa_usd", "clv_usd"}, rows)
}
