package audit_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/audit/audittest"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// seedMixed appends entries of three users with different actions,
// resource types and statuses; many share a timestamp (ties across page
// boundaries). It returns them.
func seedMixed(t *testing.T, db *gorm.DB, base time.Time) []schema.AuditLog {
	t.Helper()
	users := []string{uuid.NewString(), uuid.NewString(), audit.SystemUserID}
	actions := []string{audit.ActionLoginFailed, audit.ActionTradeExecuted, audit.ActionCredentialsUpdated}
	types := []string{"User", "Trade", "BrokerConnection"}
	var out []schema.AuditLog
	for i := 0; i < 120; i++ {
		status := audit.StatusSuccess
		if i%5 == 0 {
			status = audit.StatusFailure
		}
		out = append(out, appendOne(t, db, audit.Entry{UserID: users[i%3], Action: actions[(i/2)%3], ResourceType: types[(i/3)%3],
			ResourceID: fmt.Sprint(i), Status: status, At: base.Add(time.Duration(i/4) * time.Second)}))
	}
	return out
}

func ids(rows []schema.AuditLog) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

// newestFirst orders like the admin query: (timestamp, id) descending.
func newestFirst(rows []schema.AuditLog) []schema.AuditLog {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b schema.AuditLog) int {
		if c := b.Timestamp.Compare(a.Timestamp); c != 0 {
			return c
		}
		switch {
		case a.ID > b.ID:
			return -1
		case a.ID < b.ID:
			return 1
		}
		return 0
	})
	return rows
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func allPages(t *testing.T, db *gorm.DB, q audit.Query, between func()) []schema.AuditLog {
	t.Helper()
	var got []schema.AuditLog
	for n := 0; ; n++ {
		if n > 1000 {
			t.Fatal("paging does not end")
		}
		rows, next, err := audit.QueryPage(context.Background(), db, q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rows...)
		if next == nil {
			return got
		}
		c, err := audit.ParseCursor(next.String())
		if err != nil {
			t.Fatal(err)
		}
		q.After = &c
		if between != nil {
			between()
		}
	}
}

// The admin query's filters select exactly the matching entries, on both
// engines, and paging returns them all in (timestamp, id) order.
func TestAdminQueryFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		base := time.Date(2026, 3, 15, 14, 0, 0, 0, time.UTC)
		all := seedMixed(t, db, base)
		user := all[1].UserID
		cases := []struct {
			name string
			q    audit.Query
			keep func(schema.AuditLog) bool
		}{
			{"none", audit.Query{}, func(schema.AuditLog) bool { return true }},
			{"user", audit.Query{UserID: user}, func(r schema.AuditLog) bool { return r.UserID == user }},
			{"action", audit.Query{Action: audit.ActionLoginFailed}, func(r schema.AuditLog) bool { return r.Action == audit.ActionLoginFailed }},
			{"resource type", audit.Query{ResourceType: "Trade"}, func(r schema.AuditLog) bool { return r.ResourceType == "Trade" }},
			{"status", audit.Query{Status: audit.StatusFailure}, func(r schema.AuditLog) bool { return r.Status == audit.StatusFailure }},
			{"range", audit.Query{From: base.Add(5 * time.Second), To: base.Add(20 * time.Second)}, func(r schema.AuditLog) bool {
				return !r.Timestamp.Before(base.Add(5*time.Second)) && r.Timestamp.Before(base.Add(20*time.Second))
			}},
			{"all together", audit.Query{UserID: user, Status: audit.StatusSuccess, From: base.Add(3 * time.Second), To: base.Add(25 * time.Second)},
				func(r schema.AuditLog) bool {
					return r.UserID == user && r.Status == audit.StatusSuccess && !r.Timestamp.Before(base.Add(3*time.Second)) && r.Timestamp.Before(base.Add(25*time.Second))
				}},
		}
		for _, c := range cases {
			var want []schema.AuditLog
			for _, r := range all {
				if c.keep(r) {
					want = append(want, r)
				}
			}
			if len(want) == 0 || (c.name != "none" && len(want) == len(all)) {
				t.Fatalf("%s: the seed does not exercise the filter (%d of %d)", c.name, len(want), len(all))
			}
			q := c.q
			q.Limit = 7
			got := allPages(t, db, q, nil)
			if g, w := ids(got), ids(newestFirst(want)); !slices.Equal(g, w) {
				t.Errorf("%s: got %d entries, want %d (first difference at %d)", c.name, len(g), len(w), firstDiff(g, w))
			}
		}
	})
}

// Pages read while entries are appended (newer ones, as in production,
// and ones sharing the cursor's timestamp) have no gap and no duplicate:
// the cursor is a position in (timestamp, id), not an offset.
func TestCursorPagesHaveNoGapsOrDuplicatesWhileAppending(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		base := time.Date(2026, 3, 15, 14, 0, 0, 0, time.UTC)
		before := seedMixed(t, db, base)
		added := 0
		got := allPages(t, db, audit.Query{Limit: 9}, func() {
			for i := 0; i < 4; i++ {
				appendOne(t, db, audit.Entry{UserID: audit.SystemUserID, Action: audit.ActionTradeExecuted, At: time.Now()})
				added++
			}
		})
		if added < 40 {
			t.Fatalf("only %d appended between pages", added)
		}
		seen := map[string]bool{}
		for _, r := range got {
			if seen[r.ID] {
				t.Fatalf("entry %s (seq %d of %s) on two pages", r.ID, r.Seq, r.UserID)
			}
			seen[r.ID] = true
		}
		if !slices.Equal(ids(got), ids(newestFirst(before))) {
			t.Fatalf("pages hold %d entries, want the %d that existed, in order", len(got), len(before))
		}
	})
}

// Walk visits every matching row once, a page per query, whatever the
// number of rows (generated rows, the export's path).
func TestWalkVisitsEveryRowPageByPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		if err := audittest.Fill(ctx, db, "bulk", 1, 2500, start); err != nil {
			t.Fatal(err)
		}
		var n int
		var last *schema.AuditLog
		flushes := 0
		err := audit.Walk(ctx, db, audit.Query{UserID: "bulk"}, 300, func(r *schema.AuditLog) error {
			n++
			if last != nil && !r.Timestamp.Before(last.Timestamp) {
				return fmt.Errorf("row %d (seq %d at %s) is not older than seq %d at %s", n, r.Seq, r.Timestamp, last.Seq, last.Timestamp)
			}
			c := *r
			last = &c
			return nil
		}, func() error { flushes++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if n != 2500 || flushes != 9 {
			t.Fatalf("visited %d rows in %d pages, want 2500 in 9", n, flushes)
		}
		if !last.Timestamp.Equal(start) {
			t.Fatalf("last row at %s, want the first generated (%s)", last.Timestamp, start)
		}
		// Filters apply to generated rows too (every 4th is a failed login).
		n = 0
		err = audit.Walk(ctx, db, audit.Query{Action: audit.ActionLoginFailed, Status: audit.StatusFailure, From: start.Add(time.Second)}, 100,
			func(*schema.AuditLog) error { n++; return nil }, nil)
		if err != nil || n != 375 {
			t.Fatalf("failed logins after 1 s: %d (%v), want 375", n, err)
		}
		stop := 0
		if err := audit.Walk(ctx, db, audit.Query{}, 100, func(*schema.AuditLog) error {
			stop++
			if stop == 5 {
				return audit.ErrStop
			}
			return nil
		}, nil); err != nil || stop != 5 {
			t.Fatalf("ErrStop: %d, %v", stop, err)
		}
	})
}

// Every bad filter is refused with the parameter named and a sentence.
func TestParseQueryRefusesBadFilters(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	cases := map[string]string{
		"from=yesterday":          "from",
		"to=2024-13-01T00:00:00Z": "to",
		"from=2024-03-02T00:00:00Z&to=2024-03-01T00:00:00Z": "from",
		"from=2024-03-01T00:00:00Z&to=2024-03-01T00:00:00Z": "from",
		"action=NOT_AN_ACTION":                              "action",
		"action=login_failed":                               "action",
		"status=ok":                                         "status",
		"limit=0":                                           "limit",
		"limit=1001":                                        "limit",
		"limit=ten":                                         "limit",
		"user_id=alice":                                     "user_id",
		"cursor=garbage!":                                   "cursor",
		"cursor=" + (audit.Cursor{At: time.Now(), ID: ""}).String(): "cursor",
		"resource_type=" + string(make([]byte, 40)):                 "resource_type",
		"userid=x":                          "userid",
		"action=LOGIN_FAILED&action=LOGOUT": "action",
	}
	for raw, field := range cases {
		v, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatal(err)
		}
		_, err = audit.ParseQuery(ctx, db, v)
		var qe *audit.QueryError
		if !errors.As(err, &qe) || qe.Field != field || qe.Message == "" {
			t.Errorf("%s: %v, want a refusal of %s", raw, err, field)
		}
	}
	good, err := url.ParseQuery("user_id=system&action=LOGIN_FAILED&resource_type=User&status=failure&from=2024-03-01T00:00:00Z&to=2024-03-02T00:00:00%2B01:00&limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	q, err := audit.ParseQuery(ctx, db, good)
	if err != nil {
		t.Fatal(err)
	}
	if q.To != time.Date(2024, 3, 1, 23, 0, 0, 0, time.UTC) || q.Limit != 1000 || q.Status != audit.StatusFailure {
		t.Fatalf("parsed %+v", q)
	}
	// An action no constant names but an entry was stored with (renamed
	// since) is accepted.
	appendOne(t, db, audit.Entry{UserID: audit.SystemUserID, Action: "OLD_ACTION_NAME"})
	if _, err := audit.ParseQuery(ctx, db, url.Values{"action": {"OLD_ACTION_NAME"}}); err != nil {
		t.Fatalf("stored action refused: %v", err)
	}
}
