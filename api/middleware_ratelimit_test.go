package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

func TestIPLimiter(t *testing.T) {
	now := time.Date(2024, 3, 15, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l := newIPLimiter("login", Limit{Events: 5, Per: 15 * time.Minute}, clock)
	for i := range 5 {
		ok, _ := l.allow("1.2.3.4")
		require.True(t, ok, "request %d", i+1)
	}
	ok, wait := l.allow("1.2.3.4")
	require.False(t, ok)
	require.Equal(t, 3*time.Minute, wait, "one token every 15/5 minutes")
	ok, _ = l.allow("1.2.3.5")
	require.True(t, ok, "another client has its own bucket")

	now = now.Add(3 * time.Minute)
	ok, _ = l.allow("1.2.3.4")
	require.True(t, ok, "refilled")
	ok, _ = l.allow("1.2.3.4")
	require.False(t, ok, "a refused request did not consume")

	// Idle buckets are forgotten.
	now = now.Add(time.Hour)
	l.allow("9.9.9.9")
	require.Len(t, l.buckets, 1)
}

func TestIPLimiterMemoryIsBounded(t *testing.T) {
	now := time.Date(2024, 3, 15, 10, 0, 0, 0, time.UTC)
	l := newIPLimiter("api", Limit{Events: 100, Per: time.Minute}, func() time.Time { return now })
	for i := range maxLimiterKeys + 10 {
		if i%1000 == 0 {
			now = now.Add(time.Second)
		}
		l.allow(fmt.Sprintf("k%d", i))
	}
	require.LessOrEqual(t, len(l.buckets), maxLimiterKeys)
}

func TestClientKey(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"junk", "junk"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, clientKey(tt.ip), tt.ip)
	}
}

// X-Forwarded-For counts only from a trusted proxy: otherwise every
// request could claim a fresh IP and escape its limit. X-Real-IP never
// counts, and hops the client wrote before the proxy's are not believed.
func TestRateLimitKeysOnTheRealClient(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []string
		header  string
		first   string // header values of the two requests
		second  string
		want    int // status of the second request
	}{
		{"no trusted proxy: header ignored", nil, "X-Forwarded-For", "198.51.100.1", "198.51.100.2", http.StatusTooManyRequests},
		{"empty list: header ignored", []string{}, "X-Forwarded-For", "198.51.100.1", "198.51.100.2", http.StatusTooManyRequests},
		{"other proxy trusted: header ignored", []string{"10.9.0.0/16"}, "X-Forwarded-For", "198.51.100.1", "198.51.100.2", http.StatusTooManyRequests},
		{"trusted proxy: header believed", []string{"10.0.0.1"}, "X-Forwarded-For", "198.51.100.1", "198.51.100.2", http.StatusOK},
		{"trusted CIDR: header believed", []string{"10.0.0.0/24"}, "X-Forwarded-For", "198.51.100.1", "198.51.100.2", http.StatusOK},
		{"spoofed hop before the proxy's", []string{"10.0.0.1"}, "X-Forwarded-For", "192.0.2.1, 198.51.100.1", "192.0.2.2, 198.51.100.1", http.StatusTooManyRequests},
		{"chain of trusted proxies", []string{"10.0.0.0/24"}, "X-Forwarded-For", "198.51.100.1, 10.0.0.7", "198.51.100.2, 10.0.0.7", http.StatusOK},
		{"X-Real-IP ignored", []string{"10.0.0.1"}, "X-Real-IP", "198.51.100.1", "198.51.100.2", http.StatusTooManyRequests},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{}
			r := gin.New()
			trustProxies(r, tc.trusted)
			r.GET("/x", s.rateLimit("test", Limit{Events: 1, Per: time.Hour}), func(c *gin.Context) { c.Status(http.StatusOK) })
			get := func(v string) int {
				req := httptest.NewRequest(http.MethodGet, "/x", nil)
				req.RemoteAddr = "10.0.0.1:4242"
				req.Header.Set(tc.header, v)
				w := httptest.NewRecorder()
				r.ServeHTTP(w, req)
				return w.Code
			}
			require.Equal(t, http.StatusOK, get(tc.first))
			require.Equal(t, tc.want, get(tc.second))
		})
	}
}

func TestInvalidTrustedProxyPanics(t *testing.T) {
	require.Panics(t, func() { trustProxies(gin.New(), []string{"lb.internal"}) })
}

// Issue 13 #4: an attacker filling the table with fresh addresses (IPv6
// /64s are cheap) must not reset the bucket of a client being held back.
func TestIPLimiterKeepsExhaustedBucketsWhenFull(t *testing.T) {
	old := maxLimiterKeys
	maxLimiterKeys = 1000
	t.Cleanup(func() { maxLimiterKeys = old })
	now := time.Date(2024, 3, 15, 10, 0, 0, 0, time.UTC)
	l := newIPLimiter("login", Limit{Events: 5, Per: 15 * time.Minute}, func() time.Time { return now })
	for range 5 {
		l.allow("2001:db8:bad::/64")
	}
	ok, _ := l.allow("2001:db8:bad::/64")
	require.False(t, ok)
	for i := range 5 * maxLimiterKeys {
		now = now.Add(time.Millisecond)
		l.allow(fmt.Sprintf("2001:db8:%x::/64", i))
	}
	require.LessOrEqual(t, len(l.buckets), maxLimiterKeys)
	ok, _ = l.allow("2001:db8:bad::/64")
	require.False(t, ok, "the exhausted bucket survived the flood")
}
