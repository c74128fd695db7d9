package api

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// Limit allows Events requests per Per from one client IP (token bucket:
// a burst of Events, refilled evenly over Per). Events 0 disables it.
type Limit struct {
	Events int
	Per    time.Duration
}

// Unlimited disables a limit (tests and benchmarks that drive one IP hard).
var Unlimited = Limit{}

// RateLimits are the per-IP limits (FR-026, FR-076). They are kept per
// process: with N api replicas behind a load balancer a client gets up to N
// times the budget.
type RateLimits struct {
	API       Limit // /api/v1: 100/min
	Login     Limit // POST /auth/login (and password changes): 5 per 15 min
	Register  Limit // POST /auth/register: 3 per hour
	Refresh   Limit // POST /auth/refresh: 10/min
	Auth      Limit // other /auth endpoints (provider sign-in, logout): 30/min
	WebSocket Limit // /ws connections: 10/min
}

// DefaultRateLimits are the limits of the specification.
func DefaultRateLimits() RateLimits {
	return RateLimits{
		API:       Limit{100, time.Minute},
		Login:     Limit{5, 15 * time.Minute},
		Register:  Limit{3, time.Hour},
		Refresh:   Limit{10, time.Minute},
		Auth:      Limit{30, time.Minute},
		WebSocket: Limit{10, time.Minute},
	}
}

// maxLimiterKeys bounds the memory one limiter may use; beyond it, the
// clients with the most tokens left are forgotten first.
var maxLimiterKeys = 100_000

// ipLimiter is a token bucket per client network.
type ipLimiter struct {
	name  string
	limit Limit
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	sweepAt time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(name string, l Limit, now func() time.Time) *ipLimiter {
	return &ipLimiter{name: name, limit: l, now: now, buckets: map[string]*bucket{}}
}

// allow takes one token for key; when none is left it returns how long
// until one is.
func (l *ipLimiter) allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.After(l.sweepAt) || len(l.buckets) >= maxLimiterKeys {
		l.sweep(now)
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Every(l.limit.Per/time.Duration(l.limit.Events)), l.limit.Events)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// exhausted reports whether key has no token left (without taking one),
// and how long until it has.
func (l *ipLimiter) exhausted(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return false, 0
	}
	if tok := b.lim.TokensAt(now); tok < 1 {
		return true, time.Duration((1 - tok) * float64(l.limit.Per) / float64(l.limit.Events))
	}
	return false, 0
}

// sweep forgets buckets idle long enough to be full again. At capacity
// it forgets the buckets that hold the most tokens first: a full bucket is
// the same as none, while an exhausted one is a client being held back —
// filling the table with new addresses must never reset it (issue 13 #4).
// Exhausted buckets go only when nothing else is left, and then the
// oldest first.
func (l *ipLimiter) sweep(now time.Time) {
	l.sweepAt = now.Add(l.limit.Per)
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= l.limit.Per {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < maxLimiterKeys {
		return
	}
	type entry struct {
		key    string
		tokens float64
		seen   time.Time
	}
	all := make([]entry, 0, len(l.buckets))
	for k, b := range l.buckets {
		all = append(all, entry{k, b.lim.TokensAt(now), b.seen})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].tokens != all[j].tokens {
			return all[i].tokens > all[j].tokens
		}
		return all[i].seen.Before(all[j].seen)
	})
	target := maxLimiterKeys * 9 / 10
	for _, e := range all {
		if len(l.buckets) <= target {
			break
		}
		delete(l.buckets, e.key)
	}
}

// clientKey is what a limit counts by: the IPv4 address, or the /64 of an
// IPv6 address (one subscriber's allocation).
func clientKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is6() {
		if p, err := addr.Prefix(64); err == nil {
			return p.String()
		}
	}
	return addr.String()
}

// rateLimit answers 429 with Retry-After once a client IP has used up l.
func (s *Server) rateLimit(name string, l Limit) gin.HandlerFunc {
	if l.Events <= 0 || l.Per <= 0 {
		return func(c *gin.Context) { c.Next() }
	}
	lim := newIPLimiter(name, l, s.clock)
	return func(c *gin.Context) {
		ok, wait := lim.allow(clientKey(c.ClientIP()))
		if ok {
			c.Next()
			return
		}
		secs := int(math.Ceil(wait.Seconds()))
		if secs < 1 {
			secs = 1
		}
		s.log(c).Info("rate limited", zap.String("limit", lim.name), zap.String("route", c.FullPath()), zap.Int("retry_after", secs))
		c.Header("Retry-After", strconv.Itoa(secs))
		s.fail(c, &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: fmt.Sprintf(errRateLimitTemplate, humanSeconds(secs))})
	}
}

func humanSeconds(secs int) string {
	switch {
	case secs == 1:
		return "1 second"
	case secs < 120:
		return strconv.Itoa(secs) + " seconds"
	default:
		return strconv.Itoa((secs+59)/60) + " minutes"
	}
}
