package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// complianceReportView is a stored monthly report (FR-060) in a list.
type complianceReportView struct {
	ID             string          `json:"id"`
	Period         string          `json:"period"`
	GeneratedAt    string          `json:"generatedAt"`
	TotalEntries   int64           `json:"totalEntries"`
	FailedLogins   int64           `json:"failedLogins"`
	SecurityAlerts int64           `json:"securityAlerts"`
	ChainsChecked  int64           `json:"chainsChecked"`
	ChainsFailed   int64           `json:"chainsFailed"`
	SHA256HTML     string          `json:"sha256Html"`
	SHA256CSV      string          `json:"sha256Csv"`
	Summary        json.RawMessage `json:"summary,omitempty"`
}

func complianceView(r schema.ComplianceReport, withSummary bool) complianceReportView {
	v := complianceReportView{ID: r.ID, Period: r.Period, GeneratedAt: r.GeneratedAt.UTC().Format("2006-01-02T15:04:05Z07:00"),
		TotalEntries: r.TotalEntries, FailedLogins: r.FailedLogins, SecurityAlerts: r.SecurityAlerts,
		ChainsChecked: r.ChainsChecked, ChainsFailed: r.ChainsFailed, SHA256HTML: r.SHA256HTML, SHA256CSV: r.SHA256CSV}
	if withSummary && json.Valid([]byte(r.Summary)) {
		v.Summary = json.RawMessage(r.Summary)
	}
	return v
}

// listComplianceReports: GET /api/v1/admin/compliance-reports — every
// monthly report, newest month first (one row a month: no paging).
func (s *Server) listComplianceReports(c *gin.Context) {
	var rows []schema.ComplianceReport
	err := s.DB.WithContext(c.Request.Context()).
		Omit("html", "csv", "summary").Order("period DESC").Limit(1200).Find(&rows).Error
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]complianceReportView, 0, len(rows))
	for _, r := range rows {
		out = append(out, complianceView(r, false))
	}
	c.JSON(http.StatusOK, gin.H{"reports": out})
}

// getComplianceReport: GET /api/v1/admin/compliance-reports/:id
// [?format=json|html|csv] — the report's figures (JSON), or the HTML page
// or CSV file as stored, for download.
func (s *Server) getComplianceReport(c *gin.Context) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		s.fail(c, errNotFound)
		return
	}
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "html" && format != "csv" {
		s.fail(c, badRequest("format", "format must be json, html or csv."))
		return
	}
	var r schema.ComplianceReport
	err := s.DB.WithContext(c.Request.Context()).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		s.fail(c, errNotFound)
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	name := "compliance-report-" + r.Period
	c.Header("Cache-Control", "no-store")
	switch format {
	case "html":
		c.Header("Content-Disposition", `attachment; filename="`+name+`.html"`)
		// The page is the report alone: no script, no outside resource.
		c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(r.HTML))
	case "csv":
		c.Header("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		c.Data(http.StatusOK, "text/csv; charset=utf-8", []byte(r.CSV))
	default:
		c.JSON(http.StatusOK, gin.H{"report": complianceView(r, true)})
	}
}
