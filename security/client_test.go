package security

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/apptest"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/schema"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// publicURL makes the server believe it is behind TLS: Secure cookies with
// __Host- names, as in production.
const publicURL = "https://tradeexec.test"

const password = "Correct-Horse-7-Battery"

// clock is the auth service's clock; tests move it to expire tokens.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// suite is a running system with the production limits, reached through a
// trusted proxy (loopback) so each simulated client has its own IP.
type suite struct {
	t     *testing.T
	env   *apptest.Env
	clock *clock
	ips   atomic.Int32
}

func newSuite(t *testing.T, db *gorm.DB, d store.Dialect, mod ...func(*app.AuthOptions)) *suite {
	t.Helper()
	c := &clock{}
	limits := api.DefaultRateLimits()
	o := app.AuthOptions{PublicURL: publicURL, TrustedProxies: []string{"127.0.0.1", "::1"}, RateLimits: &limits, Now: c.Now}
	for _, m := range mod {
		m(&o)
	}
	return &suite{t: t, env: apptest.Start(t, db, d, apptest.Options{Auth: o}), clock: c}
}

func sqliteSuite(t *testing.T, mod ...func(*app.AuthOptions)) *suite {
	return newSuite(t, storetest.OpenSQLite(t), store.SQLite, mod...)
}

// client is one browser or script: its own IP and user agent, cookies
// kept by name with their path, and optionally a bearer token.
type client struct {
	s       *suite
	ip      string
	ua      string
	cookies map[string]*http.Cookie
	bearer  string
	userID  string
	email   string
}

func (s *suite) newClient() *client {
	n := s.ips.Add(1)
	return &client{s: s, ip: fmt.Sprintf("198.51.%d.%d", 100+n/200, 1+n%200),
		ua:      "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		cookies: map[string]*http.Cookie{}}
}

type resp struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
	// Cookies set by this response.
	Set []*http.Cookie
}

type opt func(*http.Request)

func header(k, v string) opt { return func(r *http.Request) { r.Header.Set(k, v) } }

// noCookies sends the request without the cookie jar.
func noCookies() opt { return func(r *http.Request) { r.Header.Del("Cookie") } }

// noBearer sends the request without the Authorization header.
func noBearer() opt { return func(r *http.Request) { r.Header.Del("Authorization") } }

// withCSRF sends the double-submit header from the csrf cookie.
func (c *client) withCSRF() opt {
	return func(r *http.Request) {
		if ck := c.cookies["__Host-te_csrf"]; ck != nil {
			r.Header.Set("X-CSRF-Token", ck.Value)
		}
	}
}

// do sends a request; body may be nil, []byte (raw) or a value for JSON.
func (c *client) do(method, path string, body any, opts ...opt) resp {
	c.s.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	default:
		raw, err := json.Marshal(b)
		require.NoError(c.s.t, err)
		rd, ct = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, c.s.env.URL()+path, rd)
	require.NoError(c.s.t, err)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("X-Forwarded-For", c.ip)
	req.Header.Set("User-Agent", c.ua)
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	var parts []string
	for _, ck := range c.cookies {
		if strings.HasPrefix(req.URL.Path, ck.Path) {
			parts = append(parts, ck.Name+"="+ck.Value)
		}
	}
	if len(parts) > 0 {
		req.Header.Set("Cookie", strings.Join(parts, "; "))
	}
	for _, o := range opts {
		o(req)
	}
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Do(req)
	require.NoError(c.s.t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{Status: res.StatusCode, Header: res.Header, Raw: string(raw), Set: res.Cookies()}
	_ = json.Unmarshal(raw, &r.Body)
	for _, ck := range r.Set {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
			continue
		}
		c.cookies[ck.Name] = ck
	}
	return r
}

// register creates an account through the API and keeps its session.
func (c *client) register(email string) *client {
	c.s.t.Helper()
	r := c.do(http.MethodPost, "/auth/register", map[string]string{"email": email, "password": password, "displayName": email})
	require.Equal(c.s.t, http.StatusCreated, r.Status, r.Raw)
	c.bearer = r.Body["accessToken"].(string)
	c.userID = r.Body["user"].(map[string]any)["id"].(string)
	c.email = email
	return c
}

// login signs in through the API.
func (c *client) login(email string) resp {
	c.s.t.Helper()
	r := c.do(http.MethodPost, "/auth/login", map[string]string{"email": email, "password": password})
	if r.Status == http.StatusOK {
		c.bearer = r.Body["accessToken"].(string)
		c.userID = r.Body["user"].(map[string]any)["id"].(string)
		c.email = email
	}
	return r
}

// user registers a new account with the given role (promoted in the
// database: there is no API to grant roles).
func (s *suite) user(role auth.Role) *client {
	s.t.Helper()
	c := s.newClient()
	c.register(fmt.Sprintf("%s-%d@example.com", role, s.ips.Load()))
	if role != auth.RoleTrader {
		require.NoError(s.t, s.env.DB.Model(&schema.User{}).Where("id = ?", c.userID).Update("role", string(role)).Error)
	}
	return c
}

// actions lists a user's audit actions, oldest first.
func (s *suite) actions(userID string) []string {
	s.t.Helper()
	rows, err := audit.List(context.Background(), s.env.DB, audit.Filter{UserID: userID, Limit: 1000})
	require.NoError(s.t, err)
	out := make([]string, 0, len(rows))
	for i := len(rows) - 1; i >= 0; i-- {
		out = append(out, rows[i].Action)
	}
	return out
}

// entries returns a user's audit rows of one action.
func (s *suite) entries(userID, action string) []schema.AuditLog {
	s.t.Helper()
	rows, err := audit.List(context.Background(), s.env.DB, audit.Filter{UserID: userID, Action: action, Limit: 1000})
	require.NoError(s.t, err)
	return rows
}

func eachDB(t *testing.T, fn func(t *testing.T, db *gorm.DB, d store.Dialect)) { storetest.Each(t, fn) }
