package main

// Admin analytics benchmark (issue 16, SC-022: the admin analytics views
// load in under 2 s at 10,000 traders and a year of billing data). A
// generated ledger (internal/analytics.Generate) is refreshed once into
// the materialised tables (the analytics-refresh schedule's work), then
// each admin endpoint is fetched over loopback from an in-process api, as
// JSON and as CSV. The reference in the same run: a plain
// SELECT count(*) over billing_events, the table the ledger lives in.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/analytics"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

func analyticsRows(ctx context.Context, dir string, traders int) []row {
	db, dialect, err := store.Open(ctx, "sqlite://"+dir+"/analytics.db", nil)
	must(err)
	defer store.Close(db)
	must(schema.Migrate(ctx, db, dialect))
	began := time.Now()
	exp, err := analytics.Generate(ctx, db, analytics.GenOptions{Seed: 16, Traders: traders, Start: "2025-01", Months: 12})
	must(err)
	fmt.Printf("analytics: %d traders, %d billing events generated in %s\n", traders, exp.Events, time.Since(began).Round(time.Second))

	t0 := time.Now()
	sum, err := analytics.Refresh(ctx, db, time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC))
	must(err)
	refresh := time.Since(t0)

	log := zap.NewNop()
	svc, err := auth.New(ctx, auth.Config{DB: db, Secret: []byte("bench-analytics-secret-0123456789abcdef"), Log: log})
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

	const n = 20
	measure := func(fn func()) (p50, p95 time.Duration) {
		var ds []time.Duration
		for i := 0; i < n; i++ {
			t := time.Now()
			fn()
			ds = append(ds, time.Since(t))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[n/2], ds[n*95/100]
	}
	countP50, countP95 := measure(func() {
		var c int64
		must(db.WithContext(ctx).Raw("SELECT count(*) FROM billing_events").Scan(&c).Error)
	})
	rows := []row{
		{Figure: "analytics: refresh (ledger → materialised tables)", Samples: "1", P50: ms(refresh),
			Other: fmt.Sprintf("%d trader-months, %d events", sum.UserMonths, exp.Events), Target: "hourly schedule"},
		{Figure: "analytics: reference SELECT count(*) FROM billing_events", Samples: fmt.Sprint(n), P50: ms(countP50), P95: ms(countP95)},
	}
	for _, p := range []string{"revenue", "cohorts", "clv", "revenue?format=csv", "cohorts?format=csv", "clv?format=csv"} {
		var size int64
		p50, p95 := measure(func() {
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/admin/analytics/"+p, nil)
			must(err)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			res, err := http.DefaultClient.Do(req)
			must(err)
			size, err = io.Copy(io.Discard, res.Body)
			must(err)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				must(fmt.Errorf("GET %s: %d", p, res.StatusCode))
			}
		})
		rows = append(rows, row{Figure: "analytics: GET /api/v1/admin/analytics/" + p, Samples: fmt.Sprint(n), P50: ms(p50), P95: ms(p95),
			Other: fmt.Sprintf("%d B, %.1f× count(*)", size, float64(p50)/float64(countP50)), Target: "< 2 s (SC-022)"})
	}
	return rows
}
