package app

import (
	"context"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
)

// A Start that fails once the realtime hub runs (here the worker cannot
// reach Temporal) stops what it had started: a caller that retries, as
// a test harness does, would otherwise keep a hub per attempt.
func TestStartFailureStopsWhatItStarted(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing answers there
	c, err := client.NewLazyClient(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	engine := paper.NewEngine(paper.NewGormStore(db), paper.NewStaticFeed(nil))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := Start(ctx, Options{DB: db, Temporal: c, Paper: engine, RunAPI: true, RunWorker: true, HTTPAddr: "127.0.0.1:0"})
	if err == nil {
		st.Stop()
		t.Fatal("Start succeeded without a Temporal server")
	}
	// The client's own connection goroutines stay until c.Close; none of
	// ours may.
	var left string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if left = ours(); left == "" {
			return
		}
	}
	t.Fatalf("after the failed Start (%v) these goroutines of ours still run:\n%s", err, left)
}

// ours returns the stacks of running goroutines in tradeexec's realtime
// hub or app packages.
func ours() string {
	buf := make([]byte, 4<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "tradeexec/internal/realtime.") || strings.Contains(g, "tradeexec/app.(*Stack)") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
