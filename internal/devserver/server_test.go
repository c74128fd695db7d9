//go:build unix

package devserver

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// realBinary fails the test (never skips) when the pinned CLI is missing.
func realBinary(t *testing.T) string {
	t.Helper()
	bin, err := FindBinary()
	if err != nil {
		t.Fatalf("%v", err)
	}
	return bin
}

func dialTest(t *testing.T, s *Server) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  s.Address(),
		Namespace: s.Namespace(),
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	})
	if err != nil {
		t.Fatalf("dial %s: %v", s.Address(), err)
	}
	t.Cleanup(c.Close)
	return c
}

func requireSearchAttributes(t *testing.T, c client.Client, ns string) {
	t.Helper()
	resp, err := c.OperatorService().ListSearchAttributes(context.Background(),
		&operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		t.Fatalf("ListSearchAttributes: %v", err)
	}
	for _, sa := range SearchAttributes {
		if got := resp.GetCustomAttributes()[sa.Name]; got != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("search attribute %s = %v, want Keyword", sa.Name, got)
		}
	}
}

func TestStartInMemoryWithUI(t *testing.T) {
	s, err := Start(context.Background(), Options{Binary: realBinary(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	t.Logf("ready in %s at %s, UI %s", s.StartupDuration(), s.Address(), s.UIURL())

	if !strings.HasPrefix(s.Address(), "127.0.0.1:") || !strings.HasPrefix(s.UIURL(), "http://127.0.0.1:") {
		t.Fatalf("address %q, UI %q", s.Address(), s.UIURL())
	}
	c := dialTest(t, s)
	if _, err := c.CheckHealth(context.Background(), &client.CheckHealthRequest{}); err != nil {
		t.Fatalf("CheckHealth: %v", err)
	}
	requireSearchAttributes(t, c, DefaultNamespace)
	resp, err := http.Get(s.UIURL())
	if err != nil {
		t.Fatalf("UI: %v", err)
	}
	_ = resp.Body.Close()
	if s.Err() != nil {
		t.Fatalf("Err() while running = %v", s.Err())
	}

	pid := s.PID()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	waitGone(t, pid, 5*time.Second)
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	if s.Err() != nil || s.Stop() != nil {
		t.Fatalf("after clean stop: Err %v, second Stop %v", s.Err(), s.Stop())
	}
}

// A database created without the tradeexec search attributes (an older
// version, or a hand-started server) gets them added by Start.
func TestStartAddsMissingSearchAttributesToExistingDB(t *testing.T) {
	bin := realBinary(t)
	db := filepath.Join(t.TempDir(), "nested", "temporal.db")
	if _, err := Start(context.Background(), Options{Binary: bin, DBFile: db, LogLevel: "bogus"}); err == nil {
		t.Fatal("invalid log level accepted")
	}

	// Create the database with a bare server: namespace "trading", no attributes.
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		t.Fatal(err)
	}
	bare, err := spawn(bin, []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(port),
		"--headless", "--db-filename", db, "--namespace", "trading"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	probe := &Server{proc: bare, address: "127.0.0.1:" + strconv.Itoa(port), namespace: "trading"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := probe.dial(ctx)
	if err != nil {
		_ = bare.stop(time.Second)
		t.Fatalf("bare server: %v; %s", err, bare.tail)
	}
	missing, err := missingSearchAttributes(ctx, c, "trading")
	c.Close()
	if stopErr := bare.stop(10 * time.Second); stopErr != nil {
		t.Fatalf("stop bare server: %v", stopErr)
	}
	if err != nil || len(missing) != len(SearchAttributes) {
		t.Fatalf("bare server: missing=%v err=%v, want all missing", missing, err)
	}

	s, err := Start(context.Background(), Options{Binary: bin, DBFile: db, Namespace: "trading", Headless: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	if s.UIURL() != "" {
		t.Fatalf("headless server has UI URL %q", s.UIURL())
	}
	requireSearchAttributes(t, dialTest(t, s), "trading")
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func TestStartFailureQuotesStderr(t *testing.T) {
	script := filepath.Join(t.TempDir(), "broken-temporal")
	writeExecutable(t, script, "#!/bin/sh\necho 'Error: failed starting server: database is locked' >&2\nexit 1\n")
	_, err := Start(context.Background(), Options{Binary: script, Headless: true})
	if err == nil {
		t.Fatal("Start succeeded with a binary that exits")
	}
	for _, want := range []string{"did not become ready", "exited during start-up", "exit status 1", "database is locked"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestStartTimesOutAndStopsChild(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	script := filepath.Join(dir, "silent-temporal")
	writeExecutable(t, script, "#!/bin/sh\necho $$ > "+pidFile+"\necho 'still migrating' >&2\nexec sleep 300\n")
	begin := time.Now()
	_, err := Start(context.Background(), Options{Binary: script, Headless: true, StartTimeout: time.Second})
	if err == nil {
		t.Fatal("Start succeeded with a binary that never serves")
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Fatalf("Start took %s with a 1s timeout", d)
	}
	for _, want := range []string{`waiting for the "Server:" line`, "deadline exceeded", "still migrating"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	waitGone(t, readPID(t, pidFile), 5*time.Second)
}

func TestStartWithExplicitPortInUseFails(t *testing.T) {
	bin := realBinary(t)
	first, err := Start(context.Background(), Options{Binary: bin, Headless: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = first.Stop() })
	_, port, _ := strings.Cut(first.Address(), ":")
	p, _ := strconv.Atoi(port)
	_, err = Start(context.Background(), Options{Binary: bin, Headless: true, Port: p})
	if err == nil || !strings.Contains(err.Error(), "port") {
		t.Fatalf("second server on port %d: err = %v", p, err)
	}
}

func TestErrReportsUnexpectedExit(t *testing.T) {
	s, err := Start(context.Background(), Options{Binary: realBinary(t), Headless: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	// Simulate a crash: kill the server behind the Server's back.
	if err := syscall.Kill(s.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed after the server died")
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "exited unexpectedly") {
		t.Fatalf("Err() = %v", err)
	}
	if err := s.Stop(); err == nil || !strings.Contains(err.Error(), "already exited") {
		t.Fatalf("Stop() = %v", err)
	}
}
