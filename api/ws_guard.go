package api

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// WebSocket failure throttle: an IP (an IPv6 /64) that failed to
// authenticate wsMaxFailures times within wsFailureWindow is refused (429)
// until wsFailureWindow after its first failure. Kept per replica.
const (
	wsMaxFailures   = 5
	wsFailureWindow = 15 * time.Minute
	wsGuardMaxKeys  = 100_000
)

type wsGuard struct {
	now func() time.Time

	mu    sync.Mutex
	fails map[string]*wsFailures
}

type wsFailures struct {
	count int
	first time.Time
}

func newWSGuard(now func() time.Time) *wsGuard {
	return &wsGuard{now: now, fails: map[string]*wsFailures{}}
}

// throttled reports whether key has used up its failures, and for how long.
func (g *wsGuard) throttled(key string) (time.Duration, bool) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	f, ok := g.fails[key]
	if !ok {
		return 0, false
	}
	end := f.first.Add(wsFailureWindow)
	if !now.Before(end) {
		delete(g.fails, key)
		return 0, false
	}
	if f.count < wsMaxFailures {
		return 0, false
	}
	return end.Sub(now), true
}

// fail counts a failed attempt of key and returns the count in the window.
func (g *wsGuard) fail(key string) int {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	f, ok := g.fails[key]
	if ok && !now.Before(f.first.Add(wsFailureWindow)) {
		ok = false
	}
	if !ok {
		if len(g.fails) >= wsGuardMaxKeys {
			g.sweep(now)
		}
		f = &wsFailures{first: now}
		g.fails[key] = f
	}
	f.count++
	return f.count
}

func (g *wsGuard) sweep(now time.Time) {
	for k, f := range g.fails {
		if !now.Before(f.first.Add(wsFailureWindow)) {
			delete(g.fails, k)
		}
	}
	for k := range g.fails {
		if len(g.fails) < wsGuardMaxKeys/2 {
			return
		}
		delete(g.fails, k)
	}
}

// originAllowed: browsers send Origin with every WebSocket handshake; it
// must be the API's own origin (the request's host or PUBLIC_URL) or one of
// Realtime.AllowedOrigins, so no other site can open a socket with a
// visitor's credentials. Clients without Origin (scripts) pass.
func (s *Server) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	if p, err := url.Parse(s.PublicURL); err == nil && p.Host != "" && strings.EqualFold(p.Scheme, u.Scheme) && strings.EqualFold(p.Host, u.Host) {
		return true
	}
	for _, a := range s.Realtime.AllowedOrigins {
		if strings.EqualFold(strings.TrimRight(a, "/"), u.Scheme+"://"+u.Host) {
			return true
		}
	}
	return false
}
