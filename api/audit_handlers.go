package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tradeexec/tradeexec/internal/audit"
)

var auditActionPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,47}$`)

// auditEntry is one audit row as administrators see it.
type auditEntry struct {
	ID           string          `json:"id"`
	Seq          int64           `json:"seq"`
	Timestamp    time.Time       `json:"timestamp"`
	UserID       string          `json:"userId"`
	Action       string          `json:"action"`
	ResourceType string          `json:"resourceType,omitempty"`
	ResourceID   string          `json:"resourceId,omitempty"`
	IPAddress    string          `json:"ipAddress,omitempty"`
	UserAgent    string          `json:"userAgent,omitempty"`
	Status       string          `json:"status"`
	ErrorMessage string          `json:"errorMessage,omitempty"`
	Details      json.RawMessage `json:"details,omitempty"`
}

// listAudit: GET /api/v1/audit?user_id=&action=&from=&to=&limit= — the
// audit log for administrators (FR-057), newest first.
func (s *Server) listAudit(c *gin.Context) {
	f := audit.Filter{Limit: 100}
	if v := c.Query("user_id"); v != "" {
		if _, err := uuid.Parse(v); err != nil && v != audit.AnonymousUserID && v != audit.SystemUserID {
			s.fail(c, badRequest("user_id", "user_id must be a user id, \"anonymous\" or \"system\"."))
			return
		}
		f.UserID = v
	}
	if v := c.Query("action"); v != "" {
		if !auditActionPattern.MatchString(v) {
			s.fail(c, badRequest("action", "action must be an action name such as LOGIN_FAILED."))
			return
		}
		f.Action = v
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := c.Query(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				s.fail(c, badRequest(p.name, p.name+" must be an RFC 3339 time, e.g. 2024-03-15T10:00:00Z."))
				return
			}
			*p.dst = t.UTC()
		}
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.fail(c, badRequest("limit", "limit must be a whole number from 1 to 1000."))
			return
		}
		f.Limit = n
	}
	rows, err := audit.List(c.Request.Context(), s.DB, f)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]auditEntry, 0, len(rows))
	for _, r := range rows {
		e := auditEntry{ID: r.ID, Seq: r.Seq, Timestamp: r.Timestamp.UTC(), UserID: r.UserID, Action: r.Action, ResourceType: r.ResourceType,
			ResourceID: r.ResourceID, IPAddress: r.IPAddress, UserAgent: r.UserAgent, Status: r.Status, ErrorMessage: r.ErrorMessage}
		if r.Details != "" && json.Valid([]byte(r.Details)) {
			e.Details = json.RawMessage(r.Details)
		}
		out = append(out, e)
	}
	c.JSON(http.StatusOK, gin.H{"entries": out})
}
