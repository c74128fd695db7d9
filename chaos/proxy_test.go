package chaos

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// faultProxy stands between the worker and the Alpaca fake. It forwards
// requests and injects broker faults on demand. (What the broker really
// holds is read from the fake's own book, checkBooks.)
type faultProxy struct {
	upstream string
	srv      *httptest.Server
	client   *http.Client

	mu            sync.Mutex
	stormCode     int // 503 or 429 while stormUntil
	stormUntil    time.Time
	dropUntil     time.Time
	dropRate      float64
	acceptTimeout int // next n order submissions: created, then no answer
	hold          time.Duration
	rnd           *rand.Rand
	hits          map[verdict]int // faults actually served
}

func newFaultProxy(upstream string, hold time.Duration, seed uint64) *faultProxy {
	p := &faultProxy{upstream: strings.TrimRight(upstream, "/"), client: &http.Client{Timeout: 30 * time.Second}, hold: hold,
		rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), hits: map[verdict]int{}}
	p.srv = httptest.NewServer(p)
	return p
}

func (p *faultProxy) URL() string { return p.srv.URL }
func (p *faultProxy) Close()      { p.srv.Close() }

// storm makes every request answer code (503 or 429) for d.
func (p *faultProxy) storm(code int, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stormCode, p.stormUntil = code, time.Now().Add(d)
}

// drop closes a share rate of connections without an answer for d (order
// submissions half of the time after the fake created the order).
func (p *faultProxy) drop(rate float64, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropRate, p.dropUntil = rate, time.Now().Add(d)
}

// acceptThenTimeout makes the next n order submissions reach the fake and
// then hang past the worker's timeout and close without an answer.
func (p *faultProxy) acceptThenTimeout(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.acceptTimeout += n
}

type verdict int

const (
	pass verdict = iota
	answer503
	answer429
	dropBefore
	dropAfter
	holdAfter
)

func (p *faultProxy) decide(r *http.Request) verdict {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.verdict(r)
	if v != pass {
		p.hits[v]++
	}
	return v
}

// served reports how many requests got a fault.
func (p *faultProxy) served() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.hits {
		n += c
	}
	return n
}

func (p *faultProxy) verdict(r *http.Request) verdict {
	now := time.Now()
	isOrder := r.Method == http.MethodPost && r.URL.Path == "/v2/orders"
	switch {
	case now.Before(p.stormUntil) && p.stormCode == http.StatusTooManyRequests:
		return answer429
	case now.Before(p.stormUntil):
		return answer503
	case isOrder && p.acceptTimeout > 0:
		p.acceptTimeout--
		return holdAfter
	case now.Before(p.dropUntil) && p.rnd.Float64() < p.dropRate:
		if isOrder && p.rnd.IntN(2) == 0 {
			return dropAfter
		}
		return dropBefore
	}
	return pass
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v := p.decide(r)
	switch v {
	case answer503:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"))
		return
	case answer429:
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"code":42910000,"message":"rate limit exceeded"}`))
		return
	case dropBefore:
		hangUp(w)
		return
	}
	body, _ := io.ReadAll(r.Body)
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		hangUp(w)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := p.client.Do(req)
	if err != nil {
		hangUp(w)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	switch v {
	case dropAfter:
		hangUp(w)
		return
	case holdAfter:
		select {
		case <-r.Context().Done():
		case <-time.After(p.hold):
		}
		hangUp(w)
		return
	}
	for k, vs := range resp.Header {
		for _, x := range vs {
			w.Header().Add(k, x)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
}

// hangUp closes the client's connection without an answer.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
