package stack

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// backend is a fake api: it counts requests and answers /ready with ready.
type backend struct {
	srv   *httptest.Server
	ready atomic.Bool
	hits  atomic.Int64
	body  atomic.Value
}

func newBackend(t *testing.T) *backend {
	b := &backend{}
	b.ready.Store(true)
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ready" {
			if !b.ready.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		raw, _ := io.ReadAll(r.Body)
		b.body.Store(string(raw))
		b.hits.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) addr() string { return strings.TrimPrefix(b.srv.URL, "http://") }

func post(t *testing.T, p *Proxy, body string) int {
	t.Helper()
	resp, err := http.Post("http://"+p.Addr()+"/webhooks/x", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestProxyBalancesSkipsNotReadyAndRetriesRefused(t *testing.T) {
	a, b := newBackend(t), newBackend(t)
	// A backend whose port refuses connections (a stopped api).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close()

	p := &Proxy{Backends: []string{a.addr(), b.addr(), dead}, ReadyEvery: 20 * time.Millisecond}
	if err := p.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	for i := 0; i < 30; i++ {
		if got := post(t, p, `{"n":1}`); got != http.StatusAccepted {
			t.Fatalf("request %d answered %d", i, got)
		}
	}
	if a.hits.Load() == 0 || b.hits.Load() == 0 || a.hits.Load()+b.hits.Load() != 30 {
		t.Fatalf("hits a=%d b=%d: want every request delivered once, spread over both", a.hits.Load(), b.hits.Load())
	}
	if v, _ := a.body.Load().(string); v != `{"n":1}` {
		t.Fatalf("body = %q (a retried request must carry its body)", v)
	}

	// b drains (/ready 503): after the next check it gets nothing new.
	b.ready.Store(false)
	time.Sleep(100 * time.Millisecond)
	before := b.hits.Load()
	for i := 0; i < 10; i++ {
		post(t, p, `{}`)
	}
	if b.hits.Load() != before {
		t.Fatalf("a draining backend got %d new requests", b.hits.Load()-before)
	}
}

// A request that reached a backend is never sent to another one, even if
// the connection then fails: it may have been acted on.
func TestProxyNeverResendsADeliveredRequest(t *testing.T) {
	var hits atomic.Int64
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ready" {
			return
		}
		hits.Add(1)
		hj, _ := w.(http.Hijacker)
		c, _, _ := hj.Hijack()
		_ = c.Close() // dies mid-request
	}))
	t.Cleanup(cut.Close)
	other := newBackend(t)
	p := &Proxy{Backends: []string{strings.TrimPrefix(cut.URL, "http://"), other.addr()}, ReadyEvery: time.Hour}
	if err := p.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	for i := 0; i < 4; i++ {
		post(t, p, `{}`)
	}
	if hits.Load() == 0 {
		t.Fatal("the cutting backend was never used")
	}
	if other.hits.Load()+hits.Load() != 4 {
		t.Fatalf("cut %d + other %d requests for 4 sent: a delivered request was re-sent", hits.Load(), other.hits.Load())
	}
}
