package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/store"
)

// auditRoutes: the audit log for administrators (FR-057). /api/v1/audit is
// the old name of the list and answers the same.
func (s *Server) auditRoutes(v1 apiRoutes) {
	v1.GET("/admin/audit", allow(admin), s.listAudit)
	v1.GET("/audit", allow(admin), s.listAudit)
	v1.GET("/admin/audit/export", allow(admin), s.exportAudit)
	v1.GET("/admin/audit/actions", allow(admin), s.auditActions)
	v1.GET("/admin/compliance-reports", allow(admin), s.listComplianceReports)
	v1.GET("/admin/compliance-reports/:id", allow(admin), s.getComplianceReport)
}

// auditQuery parses the filters; a bad one answers 400 naming it.
func (s *Server) auditQuery(c *gin.Context) (audit.Query, bool) {
	q, err := audit.ParseQuery(c.Request.Context(), s.DB, c.Request.URL.Query())
	var qe *audit.QueryError
	if errors.As(err, &qe) {
		s.fail(c, badRequest(qe.Field, qe.Message))
		return q, false
	}
	if err != nil {
		s.fail(c, err)
		return q, false
	}
	return q, true
}

// listAudit: GET /api/v1/admin/audit?user_id=&action=&resource_type=&status=
// &from=&to=&limit=&cursor= — one page, newest first; nextCursor continues.
func (s *Server) listAudit(c *gin.Context) {
	q, ok := s.auditQuery(c)
	if !ok {
		return
	}
	if c.Query("format") != "" {
		s.fail(c, badRequest("format", "format belongs to /api/v1/admin/audit/export."))
		return
	}
	rows, next, err := audit.QueryPage(c.Request.Context(), s.DB, q)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]audit.View, 0, len(rows))
	for i := range rows {
		out = append(out, audit.ViewOf(&rows[i]))
	}
	body := gin.H{"entries": out, "nextCursor": nil}
	if next != nil {
		body["nextCursor"] = next.String()
	}
	c.JSON(http.StatusOK, body)
}

// auditActions: GET /api/v1/admin/audit/actions — the action names the
// filter accepts.
func (s *Server) auditActions(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"actions": audit.KnownActions()})
}

// exportAudit: GET /api/v1/admin/audit/export?format=csv|json&<filters> —
// every matching entry, streamed: read a page at a time by cursor, written
// and flushed as it comes, so memory stays at one page whatever the range.
// The export is audited (AUDIT_EXPORTED on the admin's chain) before the
// first byte. A failure after the first byte cuts the connection, so a
// client never takes a partial file for a whole one (JSON ends with
// "complete":true).
func (s *Server) exportAudit(c *gin.Context) {
	q, ok := s.auditQuery(c)
	if !ok {
		return
	}
	if c.Query("cursor") != "" || c.Query("limit") != "" {
		s.fail(c, badRequest("cursor", "An export has every matching entry: leave out cursor and limit."))
		return
	}
	format := c.DefaultQuery("format", "csv")
	exp, err := audit.NewExporter(format, c.Writer)
	var qe *audit.QueryError
	if errors.As(err, &qe) {
		s.fail(c, badRequest(qe.Field, qe.Message))
		return
	}
	cl := s.client(c)
	filters := map[string]any{"format": format}
	for _, k := range []string{"user_id", "action", "resource_type", "status", "from", "to"} {
		if v := c.Query(k); v != "" {
			filters[k] = v
		}
	}
	if err := store.InTx(c.Request.Context(), s.DB, func(tx *gorm.DB) error {
		_, err := audit.Append(tx, audit.Entry{UserID: c.GetString(ctxUserID), Action: audit.ActionAuditExported, ResourceType: "AuditLog",
			IPAddress: cl.IP, UserAgent: cl.UserAgent, Details: filters})
		return err
	}); err != nil {
		s.fail(c, err)
		return
	}

	name := fmt.Sprintf("audit-%s.%s", time.Now().UTC().Format("20060102T150405Z"), exp.Extension())
	c.Header("Content-Type", exp.ContentType())
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Status(http.StatusOK)
	rc := http.NewResponseController(c.Writer)
	// The server's WriteTimeout bounds a whole response; an export lives
	// as long as it keeps writing.
	extend := func() { _ = rc.SetWriteDeadline(time.Now().Add(60 * time.Second)) }
	extend()
	flush := func() error {
		if err := exp.Flush(); err != nil {
			return err
		}
		extend()
		return rc.Flush()
	}
	err = exp.Begin()
	if err == nil {
		err = audit.Walk(c.Request.Context(), s.DB, q, audit.ExportPageSize, exp.Entry, flush)
	}
	if err == nil {
		err = exp.End()
	}
	if err == nil {
		err = flush()
	}
	if err != nil {
		s.log(c).Warn("audit export cut short", zap.Error(err))
		// Abort the response: net/http drops the connection without the
		// final chunk, so the client sees an incomplete transfer.
		panic(http.ErrAbortHandler)
	}
}
