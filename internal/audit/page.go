package audit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// Page sizes of the administrators' audit query (GET /api/v1/admin/audit).
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
	// ExportPageSize is how many rows an export reads per query.
	ExportPageSize = 1000
)

// Cursor is the position after which a page continues: entries are read
// newest first, ordered by (timestamp, id) descending, and the next page
// holds the entries strictly before the cursor in that order (keyset
// pagination: no OFFSET, so entries appended meanwhile never shift a page).
type Cursor struct {
	At time.Time
	ID string
}

// String encodes the cursor for a URL (opaque to clients).
func (c Cursor) String() string {
	raw := c.At.UTC().Format(time.RFC3339Nano) + "|" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// QueryError is a query parameter that cannot be used; Message is a
// sentence for the caller.
type QueryError struct {
	Field   string
	Message string
}

func (e *QueryError) Error() string { return "audit: " + e.Field + ": " + e.Message }

func queryErr(field, format string, args ...any) error {
	return &QueryError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ParseCursor decodes a cursor made by Cursor.String.
func ParseCursor(s string) (Cursor, error) {
	bad := queryErr("cursor", "cursor is not one this server issued; start again without it.")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	at, id, ok := strings.Cut(string(raw), "|")
	if !ok || id == "" || len(id) > 36 {
		return Cursor{}, bad
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return Cursor{}, bad
	}
	return Cursor{At: t.UTC(), ID: id}, nil
}

// Query selects audit entries for administrators (FR-057). Empty fields do
// not filter. From is inclusive, To exclusive.
type Query struct {
	UserID       string
	Action       string
	ResourceType string
	Status       string // StatusSuccess | StatusFailure | ""
	From         time.Time
	To           time.Time
	After        *Cursor // continue after this entry
	Limit        int     // page size; 0 means DefaultPageSize
}

// ParseQuery reads a Query from URL parameters: user_id, action,
// resource_type, status, from, to (RFC 3339), cursor and limit. Every
// refusal is a *QueryError naming the parameter. db answers whether an
// action that is not a known constant was ever recorded (see KnownAction).
func ParseQuery(ctx context.Context, db *gorm.DB, v url.Values) (Query, error) {
	var q Query
	for name := range v {
		switch name {
		case "user_id", "action", "resource_type", "status", "from", "to", "cursor", "limit", "format":
		default:
			return q, queryErr(name, "unknown parameter %q; use user_id, action, resource_type, status, from, to, cursor, limit.", name)
		}
		if len(v[name]) > 1 {
			return q, queryErr(name, "%s is given more than once.", name)
		}
	}
	if s := v.Get("user_id"); s != "" {
		if _, err := uuid.Parse(s); err != nil && s != AnonymousUserID && s != SystemUserID {
			return q, queryErr("user_id", "user_id must be a user id (UUID), %q or %q.", AnonymousUserID, SystemUserID)
		}
		q.UserID = s
	}
	if s := v.Get("action"); s != "" {
		if !actionPattern.MatchString(s) {
			return q, queryErr("action", "action must be an action name in capitals, such as LOGIN_FAILED.")
		}
		known, err := KnownAction(ctx, db, s)
		if err != nil {
			return q, err
		}
		if !known {
			return q, queryErr("action", "unknown action %q; see the list of actions in the audit view.", s)
		}
		q.Action = s
	}
	if s := v.Get("resource_type"); s != "" {
		if len(s) > maxResourceType || strings.ContainsAny(s, "\x00\r\n") {
			return q, queryErr("resource_type", "resource_type must be a name of at most %d characters, such as Trade.", maxResourceType)
		}
		q.ResourceType = s
	}
	switch s := v.Get("status"); s {
	case "", StatusSuccess, StatusFailure:
		q.Status = s
	default:
		return q, queryErr("status", "status must be %q or %q.", StatusSuccess, StatusFailure)
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return q, queryErr(p.name, "%s must be an RFC 3339 time such as 2024-03-15T10:00:00Z.", p.name)
			}
			*p.dst = t.UTC()
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, queryErr("from", "from must be before to.")
	}
	if s := v.Get("cursor"); s != "" {
		c, err := ParseCursor(s)
		if err != nil {
			return q, err
		}
		q.After = &c
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			return q, queryErr("limit", "limit must be a whole number from 1 to %d.", MaxPageSize)
		}
		q.Limit = n
	}
	return q, nil
}

func (q Query) where(db *gorm.DB) *gorm.DB {
	tx := db.Model(&schema.AuditLog{})
	if q.UserID != "" {
		tx = tx.Where("user_id = ?", q.UserID)
	}
	if q.Action != "" {
		tx = tx.Where("action = ?", q.Action)
	}
	if q.ResourceType != "" {
		tx = tx.Where("resource_type = ?", q.ResourceType)
	}
	if q.Status != "" {
		tx = tx.Where("status = ?", q.Status)
	}
	// Stored in UTC; SQLite compares the text, so bounds are UTC too.
	if !q.From.IsZero() {
		tx = tx.Where("timestamp >= ?", q.From.UTC())
	}
	if !q.To.IsZero() {
		tx = tx.Where("timestamp < ?", q.To.UTC())
	}
	if q.After != nil {
		at := q.After.At.UTC()
		tx = tx.Where("timestamp <= ? AND (timestamp < ? OR id < ?)", at, at, q.After.ID)
	}
	return tx.Order("timestamp DESC").Order("id DESC")
}

// QueryPage returns one page of entries matching q, newest first, and the
// cursor of the next page (nil on the last page).
func QueryPage(ctx context.Context, db *gorm.DB, q Query) ([]schema.AuditLog, *Cursor, error) {
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = DefaultPageSize
	case limit > MaxPageSize:
		limit = MaxPageSize
	}
	var rows []schema.AuditLog
	if err := q.where(db.WithContext(ctx)).Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, fmt.Errorf("audit: page: %w", err)
	}
	if len(rows) <= limit {
		return rows, nil, nil
	}
	rows = rows[:limit]
	last := rows[limit-1]
	return rows, &Cursor{At: last.Timestamp.UTC(), ID: last.ID}, nil
}

// ErrStop ends Walk early without an error.
var ErrStop = errors.New("audit: stop walking")

// Walk calls fn for every entry matching q (from q.After on), newest
// first, reading pageSize rows per query (ExportPageSize when 0) and
// calling flush after each page. Memory stays at one page whatever the
// number of rows. Entries appended while it walks are newer than the
// first page and are not visited.
func Walk(ctx context.Context, db *gorm.DB, q Query, pageSize int, fn func(*schema.AuditLog) error, flush func() error) error {
	if pageSize <= 0 {
		pageSize = ExportPageSize
	}
	if pageSize > MaxPageSize*10 {
		pageSize = MaxPageSize * 10
	}
	rows := make([]schema.AuditLog, 0, pageSize)
	for {
		rows = rows[:0]
		if err := q.where(db.WithContext(ctx)).Limit(pageSize).Find(&rows).Error; err != nil {
			return fmt.Errorf("audit: read page: %w", err)
		}
		for i := range rows {
			if err := fn(&rows[i]); err != nil {
				if errors.Is(err, ErrStop) {
					return nil
				}
				return err
			}
		}
		if flush != nil {
			if err := flush(); err != nil {
				return err
			}
		}
		if len(rows) < pageSize {
			return nil
		}
		last := rows[len(rows)-1]
		q.After = &Cursor{At: last.Timestamp.UTC(), ID: last.ID}
	}
}
