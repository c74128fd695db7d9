package httpx

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/metrics"
	"github.com/tradeexec/tradeexec/internal/metrics/metricstest"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 3, 14, 30, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", 0, false},
		{"1", time.Second, true},
		{"0.25", 250 * time.Millisecond, true},
		{"120", 2 * time.Minute, true},
		{"-3", 0, false},
		{"soon", 0, false},
		{now.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second, true},
		{now.Add(-5 * time.Second).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.value != "" {
			h.Set("Retry-After", tt.value)
		}
		got, ok := RetryAfter(h, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("RetryAfter(%q) = %s,%v want %s,%v", tt.value, got, ok, tt.want, tt.ok)
		}
	}
}

// script serves the statuses in order, then 200.
func script(t *testing.T, statuses ...int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(statuses) {
			switch statuses[i] {
			case 429:
				w.Header().Set("Retry-After", "0.05")
			case -1: // drop the connection
				hj, _ := w.(http.Hijacker)
				c, _, _ := hj.Hijack()
				_ = c.Close()
				return
			}
			w.WriteHeader(statuses[i])
			_, _ = w.Write([]byte(`<html>error</html>`))
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestDo(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
		read     bool
		wantKind broker.Kind // "" for success
		wantHits int32
	}{
		{"plain success", nil, true, "", 1},
		{"5xx on a submission is not retried", []int{503}, false, broker.KindUnavailable, 1},
		{"5xx on a read is retried", []int{503, 502}, true, "", 3},
		{"reads give up after two retries", []int{503, 503, 503}, true, broker.KindUnavailable, 3},
		{"dropped connection on a submission", []int{-1}, false, broker.KindUnavailable, 1},
		{"429 waits and resends, even a submission", []int{429, 429}, false, "", 3},
		{"418 is a rate limit too", []int{418}, false, "", 2},
		{"429 beyond the waits fails typed", []int{429, 429, 429, 429, 429, 429, 429}, false, broker.KindRateLimited, 6},
		{"4xx is returned to the adapter", []int{422}, false, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, hits := script(t, tt.statuses...)
			d := &Doer{Broker: "test", Limiter: ratelimit.New(6000), Key: "k", Backoff: time.Millisecond}
			resp, err := d.Do(context.Background(), Request{Method: http.MethodPost, URL: srv.URL + "/x", Body: []byte(`{}`), Read: tt.read})
			if tt.wantKind == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if len(tt.statuses) > 0 && tt.statuses[0] == 422 && resp.Status != 422 {
					t.Fatalf("status = %d", resp.Status)
				}
			} else {
				var be *broker.Error
				if !errors.As(err, &be) || be.Kind != tt.wantKind {
					t.Fatalf("err = %v, want kind %s", err, tt.wantKind)
				}
			}
			if hits.Load() != tt.wantHits {
				t.Fatalf("server hit %d times, want %d", hits.Load(), tt.wantHits)
			}
		})
	}
}

func TestDoHonoursRetryAfterThroughLimiter(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	d := &Doer{Broker: "test", Limiter: ratelimit.New(200), Key: "k"}
	start := time.Now()
	if _, err := d.Do(context.Background(), Request{Method: http.MethodGet, URL: srv.URL, Read: true}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Fatalf("resent after %s, want >= 1s", el)
	}
}

func TestTransportErrorStripsQuery(t *testing.T) {
	err := &url.Error{Op: "Post", URL: "https://api.example.com/api/v3/order?signature=deadbeef&timestamp=1", Err: context.DeadlineExceeded}
	be := TransportError("binance", err)
	if be.Kind != broker.KindUnavailable {
		t.Fatalf("kind = %s", be.Kind)
	}
	if strings.Contains(be.Error(), "deadbeef") || strings.Contains(be.Err.Error(), "signature") {
		t.Fatalf("query leaked: %v", be.Err)
	}
	if be.Message != "broker did not answer in time" {
		t.Fatalf("message = %q", be.Message)
	}
}

func TestCancelledContext(t *testing.T) {
	srv, _ := script(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d := &Doer{Broker: "test", Limiter: ratelimit.New(200), Key: "k"}
	_, err := d.Do(ctx, Request{Method: http.MethodGet, URL: srv.URL, Read: true})
	if broker.KindOf(err) != broker.KindUnavailable {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeJSON(t *testing.T) {
	var v struct{ A int }
	if err := DecodeJSON("x", []byte(`{"A":1}`), &v); err != nil || v.A != 1 {
		t.Fatalf("err=%v v=%+v", err, v)
	}
	if err := DecodeJSON("x", []byte(`<html>`), &v); broker.KindOf(err) != broker.KindUnavailable {
		t.Fatalf("err = %v", err)
	}
}

// Every exchange is observed by broker and outcome, and the wait a 429
// imposes is counted as a retry_after rate-limit wait.
func TestDoMetrics(t *testing.T) {
	const b = "metricsbroker"
	count := func(outcome string) float64 {
		return metricstest.Value(t, metrics.NameBrokerRequestSeconds, map[string]string{"broker": b, "outcome": outcome})
	}
	waits := func() float64 {
		return metricstest.Value(t, metrics.NameRateLimitWaits, map[string]string{"broker": b, "reason": metrics.WaitRetryAfter})
	}
	srv, _ := script(t, 503, 429, 422)
	d := &Doer{Broker: b, Limiter: ratelimit.New(6000), Key: "k", Backoff: time.Millisecond}
	resp, err := d.Do(context.Background(), Request{Method: http.MethodGet, URL: srv.URL + "/x", Read: true})
	if err != nil || resp.Status != 422 {
		t.Fatalf("resp %+v, err %v", resp, err)
	}
	for outcome, want := range map[string]float64{"5xx": 1, "rate_limited": 1, "4xx": 1, "2xx": 0} {
		if got := count(outcome); got != want {
			t.Errorf("%s exchanges = %v, want %v", outcome, got, want)
		}
	}
	if got := waits(); got != 1 {
		t.Errorf("retry_after waits = %v, want 1", got)
	}
}
