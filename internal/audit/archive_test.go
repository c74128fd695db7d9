package audit_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/mail"
	"github.com/tradeexec/tradeexec/internal/objstore"
	"github.com/tradeexec/tradeexec/internal/objstore/objstoretest"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// appendAged appends n entries to user's chain stamped start, start+1h, …
func appendAged(t *testing.T, db *gorm.DB, user string, n int, start time.Time) {
	t.Helper()
	for i := 0; i < n; i++ {
		appendOne(t, db, audit.Entry{UserID: user, Action: audit.ActionTradeCreated, ResourceID: fmt.Sprintf("t%d", i),
			Details: map[string]any{"i": i}, At: start.Add(time.Duration(i) * time.Hour)})
	}
}

func TestArchiveKeepsTheChainVerifiable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		keys := testKeys(t)
		s := objstoretest.S3(t) // the real S3 client against the in-process fake
		old := time.Now().UTC().Add(-200 * 24 * time.Hour)
		appendAged(t, db, "u1", 12, old) // all old
		appendAged(t, db, "u2", 3, old)  // old, then recent
		appendAged(t, db, "u2", 2, time.Now().UTC().Add(-time.Hour))
		cp := checkpoint(t, db, s, keys, nil)
		cutoff := time.Now().UTC().Add(-90 * 24 * time.Hour)

		res, err := audit.ArchiveChain(ctx, db, s, keys, "u1", audit.ArchiveOptions{Cutoff: cutoff, Checkpoint: cp, Retention: time.Hour})
		if err != nil || res.Segments != 1 || res.Entries != 11 || res.Refused != nil {
			t.Fatalf("archive u1: %+v %v", res, err)
		}
		res, err = audit.ArchiveChain(ctx, db, s, keys, "u2", audit.ArchiveOptions{Cutoff: cutoff, Checkpoint: cp})
		if err != nil || res.Entries != 3 {
			t.Fatalf("archive u2: %+v %v", res, err)
		}
		var left []int64
		db.Model(&schema.AuditLog{}).Where("user_id = ?", "u1").Order("seq").Pluck("seq", &left)
		if fmt.Sprint(left) != "[12]" {
			t.Fatalf("u1 kept %v, want its newest entry only", left)
		}
		// Nothing more to move: a second run is a no-op.
		if res, err := audit.ArchiveChain(ctx, db, s, keys, "u1", audit.ArchiveOptions{Cutoff: cutoff, Checkpoint: cp}); err != nil || res.Entries != 0 {
			t.Fatalf("second run: %+v %v", res, err)
		}
		for _, u := range []string{"u1", "u2"} {
			r := verifyChain(t, db, s, keys, cp, u)
			if r.Status != audit.ChainValid || r.ArchivedSeq == 0 {
				t.Fatalf("%s across the archive boundary: %+v", u, r)
			}
		}
		// The checkpoint's head of u2 (seq 5) is hot; a checkpoint whose head
		// lies inside a segment is checked against the segment.
		appendOne(t, db, audit.Entry{UserID: "u1", Action: audit.ActionLogout})
		if r := verifyChain(t, db, s, keys, cp, "u1"); r.Status != audit.ChainValid || r.CheckpointSeq != 12 {
			t.Fatalf("u1 after append: %+v", r)
		}
		var a schema.AuditArchive
		if err := db.Where("user_id = ?", "u1").Take(&a).Error; err != nil {
			t.Fatal(err)
		}
		seg, _, err := audit.ReadSegment(ctx, s, keys, a.ObjectKey)
		if err != nil || len(seg.Entries) != 11 || seg.LastSeq != 11 || a.ObjectKey != audit.SegmentKey("u1", 1, 11) {
			t.Fatalf("segment: %v %v", seg, err)
		}
		// An entry not covered by a segment still cannot be deleted.
		if err := db.Exec("DELETE FROM audit_logs WHERE user_id = 'u1' AND seq = 12").Error; err == nil ||
			!strings.Contains(err.Error(), "append-only") {
			t.Fatalf("delete of a hot entry: %v", err)
		}
		if err := db.Exec("DELETE FROM audit_archives").Error; err == nil {
			t.Fatal("archive records deleted")
		}
	})
}

// A segment missing from the store, or an archive record that does not
// match it, is tampering; so is a hot range removed with a forged record.
func TestArchiveRecordsAreCheckedAgainstTheStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		keys, s := testKeys(t), testStore(t)
		old := time.Now().UTC().Add(-200 * 24 * time.Hour)
		appendAged(t, db, "u1", 6, old)
		appendAged(t, db, "u2", 6, old)
		cp := checkpoint(t, db, s, keys, nil)
		// u2 gets a forged record for entries 1-3 (no object) and loses them.
		var rows []schema.AuditLog
		db.Where("user_id = 'u2' AND seq <= 3").Order("seq").Find(&rows)
		forged := schema.AuditArchive{UserID: "u2", FirstSeq: 1, LastSeq: 3, FirstPreviousHash: audit.GenesisHash,
			LastHash: rows[2].CurrentHash, Entries: 3, ObjectKey: audit.SegmentKey("u2", 1, 3), ObjectSHA256: strings.Repeat("0", 64),
			KeyID: 1, CreatedAt: time.Now().UTC()}
		if err := db.Create(&forged).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Exec("DELETE FROM audit_logs WHERE user_id = 'u2' AND seq <= 3").Error; err != nil {
			t.Fatal(err)
		}
		if r := mustVerify(t, db, "u2"); !r.Valid {
			t.Fatalf("database-only verify should be fooled: %+v", r)
		}
		if r := verifyChain(t, db, s, keys, cp, "u2"); r.Status != audit.ChainTampered || r.Reason != audit.ReasonArchiveMismatch {
			t.Fatalf("forged archive record: %+v", r)
		}
		// A tampered chain is never archived (its state would be sealed).
		res, err := audit.ArchiveChain(ctx, db, s, keys, "u2", audit.ArchiveOptions{Cutoff: time.Now(), Checkpoint: cp})
		if err != nil || res.Refused == nil || res.Entries != 0 {
			t.Fatalf("archive of a tampered chain: %+v %v", res, err)
		}
		if _, err := audit.ArchiveChain(ctx, db, s, keys, "u1", audit.ArchiveOptions{Cutoff: time.Now(), Checkpoint: cp}); err != nil {
			t.Fatal(err)
		}
		if r := verifyChain(t, db, s, keys, cp, "u1"); r.Status != audit.ChainValid {
			t.Fatalf("u1: %+v", r)
		}
	})
}

func TestRaiseTamperAlertOnceWithMailToAdmins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		email := "root@example.com"
		for _, u := range []schema.User{
			{ID: "admin-1", Email: &email, DisplayName: "Root", Role: "admin", SubscriptionTier: "free", SubscriptionStatus: "active", CreatedAt: time.Now()},
			{ID: "trader-1", DisplayName: "T", Role: "trader", SubscriptionTier: "free", SubscriptionStatus: "active", CreatedAt: time.Now()},
		} {
			if err := db.Create(&u).Error; err != nil {
				t.Fatal(err)
			}
		}
		chains := []audit.AlertChain{{Chain: "u1", Seq: 9, Reason: audit.ReasonTruncated, Detail: "x"}}
		for i, runID := range []string{"verify-run-1", "verify-run-1", "verify-run-2"} {
			// A retry, then the next hour's identical failure: one alert.
			id, raised, err := audit.RaiseTamperAlert(ctx, db, runID, 1, chains, time.Now())
			if err != nil || raised != (i == 0) || id != "verify-run-1" {
				t.Fatalf("raise %d: %s %v %v", i, id, raised, err)
			}
		}
		open, err := audit.OpenAlerts(ctx, db, 10)
		if err != nil || len(open) != 1 || open[0].Kind != audit.AlertKindTampering || !strings.Contains(open[0].Details, "truncated") {
			t.Fatalf("open alerts: %+v %v", open, err)
		}
		var mails []schema.MailOutbox
		db.Find(&mails)
		if len(mails) != 1 || mails[0].UserID != "admin-1" || mails[0].Kind != mail.KindSecurityAlert {
			t.Fatalf("mails: %+v", mails)
		}
		var entries []schema.AuditLog
		db.Where("action = ?", audit.ActionSecurityAlert).Find(&entries)
		if len(entries) != 1 || entries[0].UserID != audit.SystemUserID || entries[0].Status != audit.StatusFailure {
			t.Fatalf("audit entries: %+v", entries)
		}
		if err := audit.AcknowledgeAlert(ctx, db, "verify-run-1", "admin-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		if open, _ := audit.OpenAlerts(ctx, db, 10); len(open) != 0 {
			t.Fatalf("acknowledged alert still open: %+v", open)
		}
		// Once acknowledged, the same failure alerts again.
		if id, raised, err := audit.RaiseTamperAlert(ctx, db, "verify-run-3", 1, chains, time.Now()); err != nil || !raised || id != "verify-run-3" {
			t.Fatalf("after acknowledgement: %s %v %v", id, raised, err)
		}
		msg, err := mail.Render(mail.KindSecurityAlert, email, map[string]string{"Name": "Root", "Summary": "1 audit chain(s) failed",
			"Date": "2026-01-01T00:00:00Z", "Details": "- chain u1", "URL": "http://x"})
		if err != nil || !strings.HasPrefix(msg.Subject, "SECURITY ALERT") {
			t.Fatalf("mail: %+v %v", msg, err)
		}
	})
}

// Discord's Execute Webhook: POST JSON {"content": …}; 204 No Content.
func TestPostDiscordAlert(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/webhooks/123/tok" || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&got); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	err := audit.PostDiscordAlert(context.Background(), srv.Client(), srv.URL+"/api/webhooks/123/tok", "@everyone "+strings.Repeat("x", 3000))
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := got["content"].(string); len([]rune(c)) != 2000 {
		t.Fatalf("content length %d", len([]rune(c)))
	}
	if am, _ := got["allowed_mentions"].(map[string]any); am == nil || fmt.Sprint(am["parse"]) != "[]" {
		t.Fatalf("mentions not disabled: %v", got)
	}
	err = audit.PostDiscordAlert(context.Background(), srv.Client(), srv.URL+"/api/webhooks/999/secret-token", "x")
	if err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Fatalf("refusal: %v", err)
	}
}

func TestExportStreamsCSVAndJSON(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		at := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
		// 1,205 entries sharing timestamps, so pages split inside equal keys.
		err := store.InTx(ctx, db, func(tx *gorm.DB) error {
			for i := 0; i < 1205; i++ {
				user := fmt.Sprintf("u%d", i%3)
				if _, err := audit.Append(tx, audit.Entry{UserID: user, Action: audit.ActionTradeCreated, ResourceID: fmt.Sprintf("r%d", i),
					Details: map[string]any{"i": i}, At: at.Add(time.Duration(i/10) * time.Second)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		n, err := audit.Export(ctx, db, &buf, audit.Filter{}, audit.FormatCSV)
		if err != nil || n != 1205 {
			t.Fatalf("csv: %d %v", n, err)
		}
		records, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(records) != 1206 {
			t.Fatalf("csv records: %d %v", len(records), err)
		}
		seen := map[string]bool{}
		for _, r := range records[1:] {
			seen[r[4]] = true
		}
		if len(seen) != 1205 {
			t.Fatalf("csv has %d distinct entries", len(seen))
		}
		buf.Reset()
		n, err = audit.Export(ctx, db, &buf, audit.Filter{UserID: "u1", From: at, To: at.Add(60 * time.Second)}, audit.FormatJSON)
		if err != nil {
			t.Fatal(err)
		}
		var out []audit.ExportEntry
		if err := json.Unmarshal(buf.Bytes(), &out); err != nil || int64(len(out)) != n || n != 200 {
			t.Fatalf("json: %d entries, n=%d, %v", len(out), n, err)
		}
		if out[0].UserID != "u1" || !strings.Contains(string(out[0].Details), `"i":`) || out[0].CurrentHash == "" {
			t.Fatalf("json entry: %+v", out[0])
		}
		buf.Reset()
		if n, err := audit.Export(ctx, db, &buf, audit.Filter{UserID: "none"}, audit.FormatJSON); err != nil || n != 0 || strings.TrimSpace(buf.String()) != "[]" {
			t.Fatalf("empty json: %q %v", buf.String(), err)
		}
		if _, err := audit.Export(ctx, db, io.Discard, audit.Filter{}, "xml"); err == nil {
			t.Fatal("unknown format accepted")
		}
	})
}

var _ objstore.Store = (*objstore.Dir)(nil)

// The app role has no DELETE on audit_logs: it archives through the
// owner's audit_prune_archived, which removes only a recorded segment.
func TestArchiveAsPostgresAppRole(t *testing.T) {
	if _, ok := storetest.PostgresURL(); !ok {
		t.Skip(storetest.EnvPostgresURL + " not set")
	}
	_, app, _ := storetest.OpenPostgresAppRole(t)
	ctx := context.Background()
	keys, s := testKeys(t), testStore(t)
	appendAged(t, app, "u1", 5, time.Now().UTC().Add(-200*24*time.Hour))
	cp := checkpoint(t, app, s, keys, nil)
	if err := app.Exec("DELETE FROM audit_logs WHERE user_id = 'u1' AND seq = 1").Error; err == nil {
		t.Fatal("app role deleted an audit entry directly")
	}
	if err := app.Exec("SELECT audit_prune_archived('u1', 1, 4)").Error; err == nil || !strings.Contains(err.Error(), "no archive segment") {
		t.Fatalf("prune without a segment: %v", err)
	}
	res, err := audit.ArchiveChain(ctx, app, s, keys, "u1", audit.ArchiveOptions{Cutoff: time.Now(), Checkpoint: cp})
	if err != nil || res.Entries != 4 {
		t.Fatalf("archive as app role: %+v %v", res, err)
	}
	if r := verifyChain(t, app, s, keys, cp, "u1"); r.Status != audit.ChainValid {
		t.Fatalf("after archive: %+v", r)
	}
}
