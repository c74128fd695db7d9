package audit_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

func appendOne(t *testing.T, db *gorm.DB, e audit.Entry) schema.AuditLog {
	t.Helper()
	var row schema.AuditLog
	err := store.InTx(context.Background(), db, func(tx *gorm.DB) error {
		var err error
		row, err = audit.Append(tx, e)
		return err
	})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return row
}

func appendN(t *testing.T, db *gorm.DB, userID string, n int) []schema.AuditLog {
	t.Helper()
	rows := make([]schema.AuditLog, 0, n)
	for i := 0; i < n; i++ {
		rows = append(rows, appendOne(t, db, audit.Entry{
			UserID: userID, Action: audit.ActionTradeCreated, ResourceType: "Trade",
			ResourceID: fmt.Sprintf("trade-%d", i), IPAddress: "192.168.1.1", UserAgent: "test",
			Details: map[string]any{"i": i, "symbol": "AAPL"},
		}))
	}
	return rows
}

func mustVerify(t *testing.T, db *gorm.DB, userID string) audit.VerifyResult {
	t.Helper()
	res, err := audit.Verify(context.Background(), db, userID)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return res
}

func TestChainOf100EntriesVerifies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		rows := appendN(t, db, "u1", 100)
		if rows[0].Seq != 1 || rows[0].PreviousHash != audit.GenesisHash {
			t.Fatalf("first entry: seq=%d prev=%s", rows[0].Seq, rows[0].PreviousHash)
		}
		for i := 1; i < len(rows); i++ {
			if rows[i].Seq != int64(i+1) || rows[i].PreviousHash != rows[i-1].CurrentHash {
				t.Fatalf("entry %d not linked", i+1)
			}
		}
		res := mustVerify(t, db, "u1")
		if !res.Valid || res.Entries != 100 || res.LastHash != rows[99].CurrentHash {
			t.Fatalf("verify: %+v", res)
		}
		// Stored rows read back hash to the same values.
		var stored schema.AuditLog
		if err := db.Where("user_id = ? AND seq = ?", "u1", 50).Take(&stored).Error; err != nil {
			t.Fatal(err)
		}
		if audit.ComputeHash(stored) != rows[49].CurrentHash || !stored.Timestamp.Equal(rows[49].Timestamp) {
			t.Fatalf("stored entry differs from appended one: %+v vs %+v", stored, rows[49])
		}
		empty := mustVerify(t, db, "nobody")
		if !empty.Valid || empty.Entries != 0 {
			t.Fatalf("empty chain: %+v", empty)
		}
	})
}

func TestConcurrentAppendsYieldGaplessChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		const writers = 20
		var wg sync.WaitGroup
		errs := make(chan error, writers*2)
		for i := 0; i < writers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				// Two users in parallel: chains are independent.
				for _, user := range []string{"u1", "u2"} {
					errs <- store.InTx(context.Background(), db, func(tx *gorm.DB) error {
						_, err := audit.Append(tx, audit.Entry{UserID: user, Action: audit.ActionSignalReceived,
							ResourceID: fmt.Sprintf("s-%d", i)})
						return err
					})
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("append: %v", err)
			}
		}
		for _, user := range []string{"u1", "u2"} {
			var seqs []int64
			db.Model(&schema.AuditLog{}).Where("user_id = ?", user).Order("seq").Pluck("seq", &seqs)
			if len(seqs) != writers || seqs[0] != 1 || seqs[writers-1] != writers {
				t.Fatalf("%s: seqs = %v", user, seqs)
			}
			if res := mustVerify(t, db, user); !res.Valid || res.Entries != writers {
				t.Fatalf("%s: verify %+v", user, res)
			}
		}
	})
}

func TestAppendJoinsCallerTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		if _, err := audit.Append(db, audit.Entry{UserID: "u1", Action: audit.ActionLogout}); !errors.Is(err, audit.ErrNotInTransaction) {
			t.Fatalf("append outside tx: %v", err)
		}
		boom := errors.New("boom")
		err := store.InTx(context.Background(), db, func(tx *gorm.DB) error {
			if _, err := audit.Append(tx, audit.Entry{UserID: "u1", Action: audit.ActionTradeCreated}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		var n int64
		db.Model(&schema.AuditLog{}).Count(&n)
		if n != 0 {
			t.Fatal("entry survived the rollback")
		}
		row := appendOne(t, db, audit.Entry{UserID: "u1", Action: audit.ActionTradeCreated})
		if row.Seq != 1 || row.PreviousHash != audit.GenesisHash {
			t.Fatalf("after rollback: seq=%d", row.Seq)
		}
	})
}

func TestAppendNormalizesAndValidates(t *testing.T) {
	db, _ := storetest.Open(t)
	at := time.Date(2024, 3, 15, 10, 0, 0, 123456789, time.FixedZone("EST", -5*3600))
	row := appendOne(t, db, audit.Entry{
		UserID: "u1", Action: audit.ActionCredentialsUpdated, ResourceType: "BrokerConnection",
		ResourceID: "c1", UserAgent: strings.Repeat("é", 400) + "\x00", IPAddress: "10.0.0.1",
		At: at,
		Details: map[string]any{
			"broker":        "schwab",
			"changedFields": []string{"apiKey", "apiSecret"},
			"apiKey":        "AKIA-LEAK",
			"nested":        struct{ Secret, Broker string }{"LEAK", "schwab"},
			"price":         decimal.RequireFromString("175.000000000000000001"),
			"html":          "<b>&</b>",
		},
	})
	if row.Status != audit.StatusSuccess {
		t.Errorf("status = %q", row.Status)
	}
	if !row.Timestamp.Equal(at.Truncate(time.Microsecond)) || row.Timestamp.Location() != time.UTC {
		t.Errorf("timestamp = %v", row.Timestamp)
	}
	if n := len([]rune(row.UserAgent)); n != 300 {
		t.Errorf("user agent has %d characters", n)
	}
	want := `{"broker":"schwab","changedFields":["apiKey","apiSecret"],"html":"<b>&</b>","nested":{"Broker":"schwab"},"price":"175.000000000000000001"}`
	if row.Details != want {
		t.Errorf("details = %s\nwant      %s", row.Details, want)
	}
	if strings.Contains(row.Details, "LEAK") {
		t.Fatal("secret stored in details")
	}

	invalid := []audit.Entry{
		{Action: audit.ActionLogout},
		{UserID: "u1"},
		{UserID: "u1", Action: "trade created"},
		{UserID: "u1", Action: audit.ActionLogout, Status: "filled"},
		{UserID: strings.Repeat("x", 37), Action: audit.ActionLogout},
		{UserID: "u1", Action: audit.ActionLogout, ResourceID: strings.Repeat("x", 65)},
		{UserID: "u1", Action: audit.ActionLogout, Details: map[string]any{"ch": make(chan int)}},
	}
	for i, e := range invalid {
		err := store.InTx(context.Background(), db, func(tx *gorm.DB) error {
			_, err := audit.Append(tx, e)
			return err
		})
		if !errors.Is(err, audit.ErrInvalidEntry) {
			t.Errorf("invalid entry %d: err = %v", i, err)
		}
	}
}

func TestAuditEntriesCannotBeUpdatedOrDeleted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		rows := appendN(t, db, "u1", 3)
		target := rows[1]
		attempts := map[string]func() error{
			"gorm Save": func() error {
				e := target
				e.Details = `{"edited":true}`
				return db.Save(&e).Error
			},
			"gorm Update": func() error {
				return db.Model(&schema.AuditLog{}).Where("id = ?", target.ID).Update("action", "LOGOUT").Error
			},
			"gorm Updates": func() error {
				return db.Model(&target).Updates(map[string]any{"status": "failure"}).Error
			},
			"gorm Delete": func() error { return db.Delete(&schema.AuditLog{}, "id = ?", target.ID).Error },
			"gorm Delete all": func() error {
				return db.Session(&gorm.Session{AllowGlobalUpdate: true}).Delete(&schema.AuditLog{}).Error
			},
			"raw UPDATE": func() error { return db.Exec("UPDATE audit_logs SET details = '{}'").Error },
			"raw DELETE": func() error { return db.Exec("DELETE FROM audit_logs WHERE seq = 3").Error },
			"in a transaction": func() error {
				return store.InTx(context.Background(), db, func(tx *gorm.DB) error {
					return tx.Exec("DELETE FROM audit_logs WHERE user_id = ?", "u1").Error
				})
			},
		}
		for name, attempt := range attempts {
			err := attempt()
			if err == nil || !strings.Contains(err.Error(), "audit_log is append-only") {
				t.Errorf("%s: err = %v", name, err)
			}
		}
		if res := mustVerify(t, db, "u1"); !res.Valid || res.Entries != 3 {
			t.Fatalf("chain changed: %+v", res)
		}
	})
}

// tamper runs edit with the append-only protection switched off, the way
// someone with direct database access could, and switches it back on.
func tamper(t *testing.T, db *gorm.DB, d store.Dialect, edit func()) {
	t.Helper()
	exec := func(sql string) {
		t.Helper()
		if err := db.Exec(sql).Error; err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	switch d {
	case store.Postgres:
		exec("ALTER TABLE audit_logs DISABLE TRIGGER ALL")
		edit()
		exec("ALTER TABLE audit_logs ENABLE TRIGGER ALL")
	case store.SQLite:
		var triggers []string
		db.Raw("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_logs'").Scan(&triggers)
		if len(triggers) != 2 {
			t.Fatalf("expected 2 triggers, found %d", len(triggers))
		}
		exec("DROP TRIGGER audit_logs_no_update")
		exec("DROP TRIGGER audit_logs_no_delete")
		edit()
		for _, sql := range triggers {
			exec(sql)
		}
	}
	if err := db.Exec("DELETE FROM audit_logs").Error; err == nil {
		t.Fatal("protection not restored")
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		exec := func(sql string, args ...any) {
			t.Helper()
			if err := db.Exec(sql, args...).Error; err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
		cases := []struct {
			name   string
			edit   func(user string, rows []schema.AuditLog)
			seq    int64
			reason audit.Reason
		}{
			{"details edited", func(u string, _ []schema.AuditLog) {
				exec(`UPDATE audit_logs SET details = '{"i":4,"symbol":"TSLA"}' WHERE user_id = ? AND seq = 5`, u)
			}, 5, audit.ReasonHashMismatch},
			{"user agent edited", func(u string, _ []schema.AuditLog) {
				exec("UPDATE audit_logs SET user_agent = 'forged' WHERE user_id = ? AND seq = 2", u)
			}, 2, audit.ReasonHashMismatch},
			{"timestamp edited", func(u string, rows []schema.AuditLog) {
				exec("UPDATE audit_logs SET timestamp = ? WHERE user_id = ? AND seq = 7", rows[6].Timestamp.Add(-time.Hour), u)
			}, 7, audit.ReasonHashMismatch},
			{"first entry edited", func(u string, _ []schema.AuditLog) {
				exec("UPDATE audit_logs SET status = 'failure' WHERE user_id = ? AND seq = 1", u)
			}, 1, audit.ReasonHashMismatch},
			{"entry edited and rehashed", func(u string, rows []schema.AuditLog) {
				forged := rows[4]
				forged.Details = `{"forged":true}`
				exec("UPDATE audit_logs SET details = ?, current_hash = ? WHERE user_id = ? AND seq = 5",
					forged.Details, audit.ComputeHash(forged), u)
			}, 6, audit.ReasonPreviousHashMismatch},
			{"entry deleted", func(u string, _ []schema.AuditLog) {
				exec("DELETE FROM audit_logs WHERE user_id = ? AND seq = 4", u)
			}, 4, audit.ReasonGap},
			{"tail deleted", func(u string, _ []schema.AuditLog) {
				exec("DELETE FROM audit_logs WHERE user_id = ? AND seq >= 9", u)
			}, 9, audit.ReasonHeadMismatch},
		}
		appendN(t, db, "intact", 10)
		for i, tc := range cases {
			user := fmt.Sprintf("victim-%d", i)
			rows := appendN(t, db, user, 10)
			tamper(t, db, d, func() { tc.edit(user, rows) })
			res := mustVerify(t, db, user)
			if res.Valid || res.BrokenSeq != tc.seq || res.Reason != tc.reason || res.Detail == "" {
				t.Errorf("%s: got valid=%v seq=%d reason=%q (%s), want seq=%d reason=%q",
					tc.name, res.Valid, res.BrokenSeq, res.Reason, res.Detail, tc.seq, tc.reason)
			}
		}
		all, err := audit.VerifyAll(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(cases)+1 {
			t.Fatalf("VerifyAll returned %d chains", len(all))
		}
		for _, r := range all {
			if (r.UserID == "intact") != r.Valid {
				t.Errorf("VerifyAll: %s valid=%v", r.UserID, r.Valid)
			}
		}
	})
}

// Losing the head row neither forks the chain nor goes unnoticed.
func TestLostHeadIsReportedAndRebuilt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		rows := appendN(t, db, "u1", 5)
		if err := db.Exec("DELETE FROM audit_heads WHERE user_id = ?", "u1").Error; err != nil {
			t.Fatal(err)
		}
		if res := mustVerify(t, db, "u1"); res.Valid || res.Reason != audit.ReasonHeadMismatch {
			t.Fatalf("missing head not reported: %+v", res)
		}
		next := appendOne(t, db, audit.Entry{UserID: "u1", Action: audit.ActionLogout})
		if next.Seq != 6 || next.PreviousHash != rows[4].CurrentHash {
			t.Fatalf("chain forked: seq=%d", next.Seq)
		}
		if res := mustVerify(t, db, "u1"); !res.Valid || res.Entries != 6 {
			t.Fatalf("verify after rebuild: %+v", res)
		}
	})
}

func TestListAndExport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		day := func(n int) time.Time { return time.Date(2024, 1, n, 12, 0, 0, 0, time.UTC) }
		for i := 1; i <= 9; i++ {
			action := audit.ActionTradeExecuted
			if i%3 == 0 {
				action = audit.ActionLoginSuccess
			}
			user := "u1"
			if i > 6 {
				user = "u2"
			}
			appendOne(t, db, audit.Entry{UserID: user, Action: action, ResourceType: "Trade",
				ResourceID: fmt.Sprintf("t%d", i), At: day(i)})
		}
		est := time.FixedZone("EST", -5*3600)
		tests := []struct {
			name string
			f    audit.Filter
			want []string // resource ids, newest first
		}{
			{"all", audit.Filter{}, []string{"t9", "t8", "t7", "t6", "t5", "t4", "t3", "t2", "t1"}},
			{"user", audit.Filter{UserID: "u1"}, []string{"t6", "t5", "t4", "t3", "t2", "t1"}},
			{"action", audit.Filter{Action: audit.ActionLoginSuccess}, []string{"t9", "t6", "t3"}},
			{"user and action", audit.Filter{UserID: "u1", Action: audit.ActionTradeExecuted}, []string{"t5", "t4", "t2", "t1"}},
			{"range", audit.Filter{From: day(2), To: day(5)}, []string{"t4", "t3", "t2"}},
			{"range in another zone", audit.Filter{From: day(2).In(est), To: day(5).In(est)}, []string{"t4", "t3", "t2"}},
			{"resource", audit.Filter{ResourceType: "Trade", ResourceID: "t7"}, []string{"t7"}},
			{"page", audit.Filter{Limit: 2, Offset: 3}, []string{"t6", "t5"}},
			{"none", audit.Filter{UserID: "u3"}, nil},
		}
		for _, tt := range tests {
			got, err := audit.List(ctx, db, tt.f)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			var ids []string
			for _, e := range got {
				ids = append(ids, e.ResourceID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.want) {
				t.Errorf("%s: got %v, want %v", tt.name, ids, tt.want)
			}
			n, err := audit.Count(ctx, db, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if tt.f.Limit == 0 && n != int64(len(tt.want)) {
				t.Errorf("%s: count = %d, want %d", tt.name, n, len(tt.want))
			}
		}

		entries, _ := audit.List(ctx, db, audit.Filter{UserID: "u2"})
		entries = append(entries, schema.AuditLog{UserID: "=cmd|' /C calc'!A0", Action: "+SUM(1)", ResourceID: "@x", Details: "-1"})
		var buf bytes.Buffer
		if err := audit.ExportCSV(&buf, entries); err != nil {
			t.Fatal(err)
		}
		records, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(records[0]) != fmt.Sprint(audit.CSVHeader) || len(records) != 5 {
			t.Fatalf("csv: %v", records)
		}
		first := records[1]
		if first[0] != "2024-01-09T12:00:00Z" || first[1] != "u2" || first[2] != audit.ActionLoginSuccess ||
			first[7] != entries[0].PreviousHash || first[8] != entries[0].CurrentHash || first[6] != "{}" {
			t.Errorf("csv row: %v", first)
		}
		last := records[4]
		if last[1] != "'=cmd|' /C calc'!A0" || last[2] != "'+SUM(1)" || last[4] != "'@x" || last[6] != "'-1" {
			t.Errorf("formula cells not neutralized: %v", last)
		}
	})
}
