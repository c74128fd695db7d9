package api_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/audit/audittest"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/compliance"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

type adminEnv struct {
	t    *testing.T
	db   *gorm.DB
	auth *auth.Service
	http *httptest.Server
}

func newAdminEnv(t *testing.T, db *gorm.DB) *adminEnv {
	t.Helper()
	log := zap.NewNop()
	svc, err := auth.New(context.Background(), auth.Config{DB: db, Secret: []byte("0123456789abcdef0123456789abcdef-admin"), Password: cheapPasswords, Log: log})
	require.NoError(t, err)
	limits := api.DefaultRateLimits()
	limits.API = api.Unlimited
	s := &api.Server{DB: db, Auth: svc, Log: log, Limits: &limits, PublicURL: "http://127.0.0.1"}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &adminEnv{t: t, db: db, auth: svc, http: srv}
}

// user creates a user of role and returns its id and bearer token.
func (e *adminEnv) user(role auth.Role) (string, string) {
	e.t.Helper()
	id := uuid.NewString()
	email := id + "@example.test"
	require.NoError(e.t, e.db.Create(&schema.User{ID: id, Email: &email, Role: string(role), CreatedAt: time.Now().UTC()}).Error)
	tok, err := e.auth.IssueScriptToken(context.Background(), id)
	require.NoError(e.t, err)
	return id, tok.AccessToken
}

func (e *adminEnv) get(token, path string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.http.URL+path, nil)
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return res, string(raw)
}

func (e *adminEnv) appendEntry(en audit.Entry) schema.AuditLog {
	e.t.Helper()
	var row schema.AuditLog
	require.NoError(e.t, store.InTx(context.Background(), e.db, func(tx *gorm.DB) error {
		var err error
		row, err = audit.Append(tx, en)
		return err
	}))
	return row
}

var adminRoutes = []string{
	"/api/v1/admin/audit", "/api/v1/admin/audit?user_id=system", "/api/v1/audit",
	"/api/v1/admin/audit/export?format=csv", "/api/v1/admin/audit/export?format=json", "/api/v1/admin/audit/actions",
	"/api/v1/admin/compliance-reports",
}

// Only administrators read the audit log, its export and the compliance
// reports: a trader or a support agent gets 403 and no entry, whatever
// they ask for (their own chain included).
func TestAdminAuditIsForAdminsOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		e := newAdminEnv(t, db)
		traderID, trader := e.user(auth.RoleTrader)
		_, support := e.user(auth.RoleSupport)
		_, admin := e.user(auth.RoleAdmin)
		secret := e.appendEntry(audit.Entry{UserID: traderID, Action: audit.ActionLoginFailed, ResourceType: "User", Status: audit.StatusFailure,
			IPAddress: "203.0.113.77"})
		rep, _, err := compliance.Generate(context.Background(), db, "2026-01", nil, time.Now())
		require.NoError(t, err)
		paths := append(adminRoutes, "/api/v1/admin/audit?user_id="+traderID, "/api/v1/admin/compliance-reports/"+rep.ID,
			"/api/v1/admin/compliance-reports/"+rep.ID+"?format=csv")
		for _, p := range paths {
			for name, tok := range map[string]string{"trader": trader, "support": support} {
				res, body := e.get(tok, p)
				require.Equal(t, http.StatusForbidden, res.StatusCode, "%s %s: %s", name, p, body)
				require.NotContains(t, body, secret.ID)
				require.NotContains(t, body, "203.0.113.77")
				require.NotContains(t, body, rep.ID)
			}
			res, body := e.get(admin, p)
			require.Equal(t, http.StatusOK, res.StatusCode, "admin %s: %s", p, body)
		}
		res, body := e.get(admin, "/api/v1/admin/audit?user_id="+traderID)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, secret.ID)
		require.Contains(t, body, "203.0.113.77")
		// Each refusal is itself on the record.
		var refused int64
		require.NoError(t, db.Model(&schema.AuditLog{}).Where("action = ?", audit.ActionUnauthorizedAccessAttempt).Count(&refused).Error)
		require.EqualValues(t, 2*len(paths), refused)
	})
}

type pageBody struct {
	Entries    []audit.View `json:"entries"`
	NextCursor *string      `json:"nextCursor"`
}

// Filters and cursor over HTTP, and a clear 400 for each bad filter.
func TestAdminAuditFiltersAndPagesOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		e := newAdminEnv(t, db)
		_, admin := e.user(auth.RoleAdmin)
		alice := uuid.NewString()
		base := time.Date(2024, 3, 15, 10, 0, 0, 0, time.UTC)
		for i := 0; i < 25; i++ {
			action, status := audit.ActionTradeExecuted, audit.StatusSuccess
			if i%3 == 0 {
				action, status = audit.ActionLoginFailed, audit.StatusFailure
			}
			e.appendEntry(audit.Entry{UserID: alice, Action: action, ResourceType: "Trade", Status: status, At: base.Add(time.Duration(i) * time.Hour),
				Details: map[string]any{"symbol": "AAPL", "n": i}})
		}
		q := url.Values{"user_id": {alice}, "action": {audit.ActionTradeExecuted}, "status": {"success"}, "resource_type": {"Trade"},
			"from": {base.Add(2 * time.Hour).Format(time.RFC3339)}, "to": {base.Add(20 * time.Hour).Format(time.RFC3339)}, "limit": {"4"}}
		var got []audit.View
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			res, body := e.get(admin, "/api/v1/admin/audit?"+q.Encode())
			require.Equal(t, http.StatusOK, res.StatusCode, body)
			var p pageBody
			require.NoError(t, json.Unmarshal([]byte(body), &p))
			got = append(got, p.Entries...)
			if p.NextCursor == nil {
				break
			}
			q.Set("cursor", *p.NextCursor)
		}
		// Hours 2..19 that are not multiples of 3: 18 - 6 = 12, newest first.
		require.Len(t, got, 12)
		for i, v := range got {
			require.Equal(t, audit.ActionTradeExecuted, v.Action)
			if i > 0 {
				require.True(t, v.Timestamp.Before(got[i-1].Timestamp))
			}
		}
		require.Equal(t, base.Add(19*time.Hour), got[0].Timestamp)
		require.JSONEq(t, `{"n":19,"symbol":"AAPL"}`, string(got[0].Details))

		for query, field := range map[string]string{
			"from=15/03/2024": "from",
			"from=2024-03-16T00:00:00Z&to=2024-03-15T00:00:00Z": "from",
			"action=MADE_UP_ACTION":                             "action",
			"status=maybe":                                      "status",
			"limit=5000":                                        "limit",
			"limit=0":                                           "limit",
			"cursor=abc":                                        "cursor",
			"sort=asc":                                          "sort",
		} {
			res, body := e.get(admin, "/api/v1/admin/audit?"+query)
			require.Equal(t, http.StatusBadRequest, res.StatusCode, "%s: %s", query, body)
			var b map[string]string
			require.NoError(t, json.Unmarshal([]byte(body), &b))
			require.Equal(t, field, b["field"], query)
			require.NotEmpty(t, b["message"], query)
		}
		res, body := e.get(admin, "/api/v1/admin/audit/export?format=xml")
		require.Equal(t, http.StatusBadRequest, res.StatusCode, body)
		require.Contains(t, body, "format must be csv or json")
		res, body = e.get(admin, "/api/v1/admin/audit/export?limit=5")
		require.Equal(t, http.StatusBadRequest, res.StatusCode, body)
	})
}

// The export writes every matching entry in CSV (the SPEC's columns and
// the hashes) or JSON, as an attachment, never a credential (an entry
// stored with one, before redaction rules named it, is redacted on the way
// out), and the export itself is audited.
func TestAuditExportFormatsAndRedaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		e := newAdminEnv(t, db)
		adminID, admin := e.user(auth.RoleAdmin)
		alice := uuid.NewString()
		e.appendEntry(audit.Entry{UserID: alice, Action: audit.ActionTradeExecuted, ResourceType: "Trade", ResourceID: "t1",
			Details: map[string]any{"symbol": "AAPL", "filledQuantity": "50", "avgFillPrice": "175.00", "broker": "alpaca", "brokerOrderId": "alpaca_67890"}})
		e.appendEntry(audit.Entry{UserID: alice, Action: audit.ActionLoginFailed, Status: audit.StatusFailure, ErrorMessage: "=HYPERLINK(\"x\")"})
		legacyUser := uuid.NewString()
		// A row as an old release might have written it: a secret-named key
		// in details (inserted behind Append's back).
		leaked := schema.AuditLog{ID: uuid.NewString(), Seq: 1, Timestamp: time.Now().UTC(), UserID: legacyUser, Action: audit.ActionCredentialsUpdated,
			Status: "success", Details: `{"apiKey":"PKLEAKED123456","changedFields":["apiKey"],"nested":{"client_secret":"SSHH-987"}}`,
			PreviousHash: audit.GenesisHash, CurrentHash: audit.GenesisHash}
		require.NoError(t, db.Create(&leaked).Error)

		res, body := e.get(admin, "/api/v1/admin/audit/export?format=csv&user_id="+alice)
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		require.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
		require.Regexp(t, `^attachment; filename="audit-\d{8}T\d{6}Z\.csv"$`, res.Header.Get("Content-Disposition"))
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		require.NoError(t, err)
		require.Equal(t, audit.ExportHeader, recs[0])
		require.Len(t, recs, 3)
		col := func(rec []string, name string) string {
			for i, h := range audit.ExportHeader {
				if h == name {
					return rec[i]
				}
			}
			t.Fatalf("no column %s", name)
			return ""
		}
		trade := recs[2] // oldest last
		require.Equal(t, "AAPL", col(trade, "Symbol"))
		require.Equal(t, "50", col(trade, "Quantity"))
		require.Equal(t, "175.00", col(trade, "Price"))
		require.Equal(t, "alpaca", col(trade, "Broker"))
		require.Equal(t, "alpaca_67890", col(trade, "OrderID"))
		require.Len(t, col(trade, "CurrentHash"), 64)
		require.Equal(t, `'=HYPERLINK("x")`, col(recs[1], "ErrorMessage"), "formulas neutralised")

		for _, format := range []string{"csv", "json"} {
			res, body = e.get(admin, "/api/v1/admin/audit/export?format="+format+"&user_id="+legacyUser)
			require.Equal(t, http.StatusOK, res.StatusCode, body)
			require.NotContains(t, body, "PKLEAKED")
			require.NotContains(t, body, "SSHH")
			require.Contains(t, body, "changedFields")
		}
		var doc struct {
			Entries  []audit.View `json:"entries"`
			Count    int          `json:"count"`
			Complete bool         `json:"complete"`
		}
		res, body = e.get(admin, "/api/v1/admin/audit/export?format=json&user_id="+alice)
		require.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"))
		require.NoError(t, json.Unmarshal([]byte(body), &doc), body)
		require.True(t, doc.Complete)
		require.Equal(t, 2, doc.Count)
		require.Len(t, doc.Entries, 2)
		require.Equal(t, audit.ActionLoginFailed, doc.Entries[0].Action)

		exports, err := audit.List(context.Background(), db, audit.Filter{UserID: adminID, Action: audit.ActionAuditExported})
		require.NoError(t, err)
		require.Len(t, exports, 4)
		require.Contains(t, exports[0].Details, `"format":"json"`)
	})
}

// An export of many rows is written as it is read: the first bytes
// arrive while most pages are still unread (the client stops reading and
// the handler stops querying), and the server's heap stays far below the
// size of the export.
func TestAuditExportStreamsInBoundedMemory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		// SQLite (pure Go) under -race writes ~1,000 rows a second; the
		// PostgreSQL run carries the large case.
		rows, bound := 100_000, int64(12<<20)
		if d == store.SQLite {
			rows, bound = 20_000, 6<<20
		}
		ctx := context.Background()
		bulk := uuid.NewString()
		began := time.Now()
		require.NoError(t, audittest.Fill(ctx, db, bulk, 1, rows, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
		t.Logf("%d rows generated in %s", rows, time.Since(began))
		var pages atomic.Int64
		require.NoError(t, db.Callback().Query().After("gorm:query").Register("test:count_audit_pages", func(tx *gorm.DB) {
			if tx.Statement.Table == "audit_logs" && strings.Contains(tx.Statement.SQL.String(), "ORDER BY") {
				pages.Add(1)
			}
		}))
		e := newAdminEnv(t, db)
		_, admin := e.user(auth.RoleAdmin)

		old := debug.SetGCPercent(10)
		defer debug.SetGCPercent(old)
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var peak atomic.Uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak.Load() {
					peak.Store(m.HeapAlloc)
				}
			}
		}()

		req, err := http.NewRequest(http.MethodGet, e.http.URL+"/api/v1/admin/audit/export?format=csv&user_id="+bulk, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+admin)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		br := bufio.NewReader(res.Body)
		header, err := br.ReadString('\n')
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(header, "Timestamp,UserID,Seq"), header)
		// The client pauses: a streaming handler blocks on the full socket
		// after a few pages; one that loads everything first has read all.
		time.Sleep(500 * time.Millisecond)
		early := pages.Load()
		total := int64(rows/audit.ExportPageSize + 1)
		require.Less(t, early, total*3/4, "the handler read %d of %d pages before the client read past the header", early, total)

		n, err := io.Copy(io.Discard, br)
		require.NoError(t, err)
		close(stop)
		wg.Wait()
		require.Greater(t, n, int64(rows)*400, "the export is large (%d bytes)", n)
		require.GreaterOrEqual(t, pages.Load(), total)
		grew := int64(peak.Load()) - int64(base.HeapAlloc)
		t.Logf("export %d MB, %d pages; heap grew at most %.1f MB; %d pages read before the client read on", n>>20, pages.Load(), float64(grew)/(1<<20), early)
		require.Less(t, grew, bound, "heap grew %d bytes for a %d-byte export", grew, n)
	})
}

// A failure after the first byte (the database goes away on page 3) cuts
// the connection: the client gets a transfer error, never a file that
// looks complete.
func TestAuditExportCutShortIsNotAWholeFile(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	bulk := uuid.NewString()
	require.NoError(t, audittest.Fill(ctx, db, bulk, 1, 5000, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	var pages atomic.Int64
	require.NoError(t, db.Callback().Query().Before("gorm:query").Register("test:fail_page_3", func(tx *gorm.DB) {
		if tx.Statement.Table == "audit_logs" && tx.Statement.Dest != nil {
			if _, ok := tx.Statement.Dest.(*[]schema.AuditLog); ok && pages.Add(1) == 3 {
				_ = tx.AddError(errors.New("database connection lost"))
			}
		}
	}))
	e := newAdminEnv(t, db)
	_, admin := e.user(auth.RoleAdmin)
	for _, format := range []string{"json", "csv"} {
		pages.Store(0)
		req, err := http.NewRequest(http.MethodGet, e.http.URL+"/api/v1/admin/audit/export?format="+format+"&user_id="+bulk, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+admin)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode)
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.Error(t, err, "%s: the transfer must fail, not end cleanly", format)
		require.Greater(t, len(body), 1000, "%s: the first pages were sent", format)
		require.NotContains(t, string(body), `"complete":true`)
	}
}
