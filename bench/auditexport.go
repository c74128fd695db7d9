package main

// Audit export benchmark (DESIGN §6, issue 15's "bad input"): an export of
// a range with a million rows must stream in constant memory. The table is
// filled with generated rows (internal/audit/audittest), then measured:
//
//   - the floor: one plain SELECT of the same rows in the export's order,
//     scanned into strings and dropped (no paging, no encoding, no HTTP);
//   - GET /api/v1/admin/audit/export as CSV and as JSON, over loopback
//     from an in-process api, the client discarding the body;
//   - the CSV export of the newest tenth of the rows (a from filter), so
//     the peak heap of a 10× smaller export sits beside the full one.
//
// Rows/s and the peak Go heap above the idle baseline (sampled every
// 5 ms) are printed, with each export's ratio to the floor.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/audit/audittest"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

type exportFigure struct {
	name  string
	rows  int64
	bytes int64
	took  time.Duration
	peak  uint64 // heap above baseline
}

func (f exportFigure) rate() float64 { return float64(f.rows) / f.took.Seconds() }

// heapPeak runs fn while sampling the heap; it returns the peak HeapAlloc
// above the heap after a GC before fn.
func heapPeak(fn func()) uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base := m.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var s runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&s)
			if s.HeapAlloc > peak.Load() {
				peak.Store(s.HeapAlloc)
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

func auditExportRows(ctx context.Context, dir string, n int) []row {
	db, dialect, err := store.Open(ctx, "sqlite://"+dir+"/audit.db", nil)
	must(err)
	defer store.Close(db)
	must(schema.Migrate(ctx, db, dialect))

	user := uuid.NewString()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	began := time.Now()
	must(audittest.Fill(ctx, db, user, 1, n, start))
	fmt.Printf("audit export: %d rows generated in %s\n", n, time.Since(began).Round(time.Second))

	log := zap.NewNop()
	svc, err := auth.New(ctx, auth.Config{DB: db, Secret: []byte("bench-audit-export-secret-0123456789abcdef"), Log: log})
	must(err)
	limits := api.DefaultRateLimits()
	limits.API = api.Unlimited
	srv := httptest.NewServer((&api.Server{DB: db, Auth: svc, Log: log, Limits: &limits, PublicURL: "http://127.0.0.1"}).Handler())
	defer srv.Close()
	adminID := uuid.NewString()
	email := adminID + "@example.test"
	must(db.Create(&schema.User{ID: adminID, Email: &email, Role: string(auth.RoleAdmin), CreatedAt: time.Now().UTC()}).Error)
	tok, err := svc.IssueScriptToken(ctx, adminID)
	must(err)

	floor := exportFigure{name: "floor: one SELECT, scanned, no encoding"}
	floor.peak = heapPeak(func() {
		t0 := time.Now()
		rows, err := db.WithContext(ctx).Raw(`SELECT id, seq, timestamp, user_id, action, resource_type, resource_id, ip_address, user_agent,
			status, error_message, details, previous_hash, current_hash FROM audit_logs WHERE user_id = ? ORDER BY timestamp DESC, id DESC`, user).Rows()
		must(err)
		var r schema.AuditLog
		for rows.Next() {
			must(rows.Scan(&r.ID, &r.Seq, &r.Timestamp, &r.UserID, &r.Action, &r.ResourceType, &r.ResourceID, &r.IPAddress, &r.UserAgent,
				&r.Status, &r.ErrorMessage, &r.Details, &r.PreviousHash, &r.CurrentHash))
			floor.rows++
			floor.bytes += int64(len(r.Details) + len(r.UserAgent) + len(r.ID) + 2*64)
		}
		must(rows.Err())
		must(rows.Close())
		floor.took = time.Since(t0)
	})

	export := func(name, query string) exportFigure {
		f := exportFigure{name: name}
		f.peak = heapPeak(func() {
			t0 := time.Now()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/admin/audit/export?"+query, nil)
			must(err)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			res, err := http.DefaultClient.Do(req)
			must(err)
			defer res.Body.Close()
			if res.StatusCode != http.StatusOK {
				must(fmt.Errorf("export answered %s", res.Status))
			}
			cr := &countingReader{r: bufio.NewReaderSize(res.Body, 64<<10)}
			_, err = io.Copy(io.Discard, cr)
			must(err)
			f.bytes, f.rows, f.took = cr.n, cr.lines, time.Since(t0)
		})
		return f
	}
	csvAll := export("CSV export, streamed over HTTP", "format=csv&user_id="+user)
	csvAll.rows-- // header line
	jsonAll := export("JSON export, streamed over HTTP", "format=json&user_id="+user)
	jsonAll.rows -= 2 // opening and closing lines
	tenth := start.Add(time.Duration(n-n/10) * time.Millisecond).Format(time.RFC3339Nano)
	csvTenth := export("CSV export of the newest tenth", "format=csv&user_id="+user+"&from="+tenth)
	csvTenth.rows--

	fmt.Printf("\naudit export — %d generated rows, SQLite file, %d CPUs\n", n, runtime.NumCPU())
	fmt.Printf("| %-40s | %10s | %10s | %8s | %9s | %14s | %14s |\n", "path", "rows", "rows/s", "MB/s", "peak heap", "rows/s ÷ floor", "heap ÷ floor")
	fmt.Printf("|%s|%s|%s|%s|%s|%s|%s|\n", dashes(42), dashes(12), dashes(12), dashes(10), dashes(11), dashes(16), dashes(16))
	var out []row
	for _, f := range []exportFigure{floor, csvAll, jsonAll, csvTenth} {
		ratio, heapRatio := f.rate()/floor.rate(), float64(f.peak)/float64(max(floor.peak, 1))
		fmt.Printf("| %-40s | %10d | %10.0f | %8.1f | %6.1f MB | %13.2f× | %13.1f× |\n", f.name, f.rows, f.rate(),
			float64(f.bytes)/(1<<20)/f.took.Seconds(), float64(f.peak)/(1<<20), ratio, heapRatio)
		out = append(out, row{Figure: "audit " + f.name, Samples: fmt.Sprint(f.rows),
			Other:  fmt.Sprintf("%.0f rows/s (%.2f× floor), peak heap +%.1f MB", f.rate(), ratio, float64(f.peak)/(1<<20)),
			Target: "constant memory; rows/s ≥ 0.25× floor"})
	}
	fmt.Println()
	return out
}

func dashes(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '-'
	}
	return string(b)
}

type countingReader struct {
	r     io.Reader
	n     int64
	lines int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	for _, b := range p[:n] {
		if b == '\n' {
			c.lines++
		}
	}
	return n, err
}
