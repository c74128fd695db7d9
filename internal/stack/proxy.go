package stack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"
)

// maxProxiedBody bounds a buffered request body (the api's own limits are
// far below it).
const maxProxiedBody = 4 << 20

// Proxy is a tiny round-robin load balancer in front of the api processes,
// shaped like a production one: it sends requests only to backends whose
// /ready answers 200 (checked every ReadyEvery; a draining api answers 503
// and is taken out before it closes its listener), and a request whose
// connection is refused — nothing was delivered — goes to the next
// backend. WebSocket upgrades pass through.
type Proxy struct {
	Backends   []string // host:port of each api
	ReadyEvery time.Duration

	next    atomic.Uint64
	mu      sync.Mutex
	ready   map[string]bool
	srv     *http.Server
	ln      net.Listener
	stop    context.CancelFunc
	retries atomic.Int64
}

// Retries counts requests re-sent to another backend after a refused
// connection.
func (p *Proxy) Retries() int64 { return p.retries.Load() }

// Start listens on addr ("127.0.0.1:0" for any port) and serves.
func (p *Proxy) Start(addr string) error {
	if p.ReadyEvery <= 0 {
		p.ReadyEvery = 200 * time.Millisecond
	}
	p.ready = map[string]bool{}
	for _, b := range p.Backends {
		p.ready[b] = true // until the first check says otherwise
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	p.ln = ln
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	go p.checkLoop(ctx)
	base := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetXForwarded()
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "backend" // chosen by the transport
		},
		Transport:     &balancer{p: p, base: base},
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "no api instance is available", http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			b, err := io.ReadAll(io.LimitReader(r.Body, maxProxiedBody+1))
			if err != nil || len(b) > maxProxiedBody {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		}
		rp.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return nil
}

// Addr is the proxy's listen address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops the proxy.
func (p *Proxy) Close() {
	if p.stop != nil {
		p.stop()
	}
	if p.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = p.srv.Shutdown(ctx)
		cancel()
	}
}

func (p *Proxy) checkLoop(ctx context.Context) {
	t := time.NewTicker(p.ReadyEvery)
	defer t.Stop()
	for {
		for _, b := range p.Backends {
			p.setReady(b, ready("http://"+b+"/ready"))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Proxy) setReady(b string, ok bool) {
	p.mu.Lock()
	p.ready[b] = ok
	p.mu.Unlock()
}

// order is the backends to try for one request: the ready ones from the
// round-robin position, then (when none is ready) all of them.
func (p *Proxy) order() []string {
	n := len(p.Backends)
	start := int(p.next.Add(1) % uint64(n)) // #nosec G115 -- n > 0, small
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for i := 0; i < n; i++ {
		if b := p.Backends[(start+i)%n]; p.ready[b] {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		for i := 0; i < n; i++ {
			out = append(out, p.Backends[(start+i)%n])
		}
	}
	return out
}

type balancer struct {
	p    *Proxy
	base *http.Transport
}

func (b *balancer) RoundTrip(r *http.Request) (*http.Response, error) {
	var last error
	for _, backend := range b.p.order() {
		out := r.Clone(r.Context())
		out.URL.Host, out.Host = backend, backend
		if r.GetBody != nil {
			body, err := r.GetBody()
			if err != nil {
				return nil, err
			}
			out.Body = body
		}
		resp, err := b.base.RoundTrip(out)
		if err == nil {
			return resp, nil
		}
		last = err
		if !refused(err) {
			return nil, err // maybe delivered: never sent twice
		}
		b.p.setReady(backend, false)
		b.p.retries.Add(1)
	}
	return nil, last
}

// refused reports a connection that was never made (nothing delivered).
func refused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func ready(u string) bool {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(u) // #nosec G107 -- a loopback address of the stack's own process
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
