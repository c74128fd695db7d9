package discordfake

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure the fake.
type Options struct {
	// Token is the bot token requests must carry as "Bot <token>".
	Token string
	// AppID and BotUserID are the application's and its bot user's ids
	// (generated when empty).
	AppID, BotUserID string
	// HeartbeatInterval sent in Hello; zero means Discord's 41.25 s.
	HeartbeatInterval time.Duration
	// InteractionDeadline is how long an interaction may go unacknowledged
	// (Discord: 3 s); later callbacks get "Unknown interaction".
	InteractionDeadline time.Duration
	// DenyMessageContent refuses the privileged MESSAGE_CONTENT intent at
	// identify (close code 4014), as for a bot not approved for it.
	DenyMessageContent bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server is a running fake Discord.
type Server struct {
	opts  Options
	w     *world
	http  *http.Server
	ln    net.Listener
	url   string
	limit *limiter

	gwMu     sync.Mutex
	sessions map[string]*session

	ixMu         sync.Mutex
	interactions map[string]*interaction

	statsMu sync.Mutex
	stats   Stats
}

// Stats counts what the bot did (for assertions).
type Stats struct {
	Requests     int // REST requests
	RateLimited  int // answered 429
	Identifies   int
	Resumes      int // successful resumes
	Unauthorized int
}

// New starts a fake Discord on a free loopback port.
func New(o Options) *Server {
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 41250 * time.Millisecond
	}
	if o.InteractionDeadline <= 0 {
		o.InteractionDeadline = 3 * time.Second
	}
	s := &Server{opts: o, w: newWorld(), sessions: map[string]*session{}, interactions: map[string]*interaction{},
		limit: newLimiter()}
	if s.opts.AppID == "" {
		s.opts.AppID = s.NewID()
	}
	if s.opts.BotUserID == "" {
		s.opts.BotUserID = s.NewID()
	}
	s.w.users[s.opts.BotUserID] = &user{id: s.opts.BotUserID, name: "tradeexec", bot: true}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("discordfake: listen: %v", err))
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	return s
}

// URL is the fake's base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return s.url }

// AppID is the application id.
func (s *Server) AppID() string { return s.opts.AppID }

// BotUserID is the bot user's id.
func (s *Server) BotUserID() string { return s.opts.BotUserID }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return s.stats
}

func (s *Server) count(f func(*Stats)) {
	s.statsMu.Lock()
	f(&s.stats)
	s.statsMu.Unlock()
}

func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now().UTC()
	}
	return time.Now().UTC()
}

// Close stops the server and drops every gateway connection.
func (s *Server) Close() {
	s.gwMu.Lock()
	for _, ss := range s.sessions {
		ss.drop()
	}
	s.gwMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.http.Shutdown(ctx)
}

// HTTPClient returns a client that sends requests for discord.com (and its
// subdomains) to the fake; give it to discordgo as Session.Client.
func (s *Server) HTTPClient() *http.Client {
	return &http.Client{Transport: &rewrite{base: s.url, next: http.DefaultTransport}, Timeout: 20 * time.Second}
}

type rewrite struct {
	base string
	next http.RoundTripper
}

func (r *rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Hostname()
	if host == "discord.com" || strings.HasSuffix(host, ".discord.com") || host == "discordapp.com" {
		req = req.Clone(req.Context())
		req.URL.Scheme = "http"
		req.URL.Host = strings.TrimPrefix(r.base, "http://")
		req.Host = req.URL.Host
	}
	return r.next.RoundTrip(req)
}

// apiError is Discord's JSON error body.
type apiError struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
}

// Discord JSON error codes the fake answers with.
const (
	codeUnknownChannel     = 10003
	codeUnknownGuild       = 10004
	codeUnknownMember      = 10007
	codeUnknownMessage     = 10008
	codeUnknownWebhook     = 10015
	codeUnknownInteraction = 10062
	codeCannotSendToUser   = 50007
	codeEmptyMessage       = 50006
	codeInvalidFormBody    = 50035
	codeAlreadyAcked       = 40060
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, apiError{Message: msg, Code: code})
}

// ServeHTTP routes the gateway WebSocket and the REST API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/gateway") {
		s.serveGateway(w, r)
		return
	}
	path, ok := apiPath(r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, 0, "404: Not Found")
		return
	}
	s.count(func(st *Stats) { st.Requests++ })
	route, major := routeOf(r.Method, path)
	// Interaction callbacks and webhooks authenticate by their token.
	if !strings.HasPrefix(path, "/interactions/") && !strings.HasPrefix(path, "/webhooks/") {
		if r.Header.Get("Authorization") != "Bot "+s.opts.Token {
			s.count(func(st *Stats) { st.Unauthorized++ })
			writeError(w, http.StatusUnauthorized, 0, "401: Unauthorized")
			return
		}
	}
	if !s.limit.allow(w, route, major, s.now()) {
		s.count(func(st *Stats) { st.RateLimited++ })
		return
	}
	s.serveREST(w, r, path)
}

// apiPath strips /api/v9 or /api/v10 (or /api without a version).
func apiPath(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, "/api")
	if !ok {
		return "", false
	}
	for _, v := range []string{"/v10", "/v9"} {
		if r, ok := strings.CutPrefix(rest, v); ok {
			return r, true
		}
	}
	return rest, true
}

// routeOf names the rate-limit route of a request and its major parameter
// (channel, guild or webhook id), as Discord buckets them.
func routeOf(method, path string) (route, major string) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	out := make([]string, len(parts))
	for i, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 64); err == nil {
			if i == 1 && (parts[0] == "channels" || parts[0] == "guilds" || parts[0] == "webhooks") {
				major = p
			}
			out[i] = ":id"
			continue
		}
		if i == 2 && (parts[0] == "webhooks" || parts[0] == "interactions") {
			out[i] = ":token"
			continue
		}
		out[i] = p
	}
	return method + " /" + strings.Join(out, "/"), major
}

// limiter is a fixed-window rate limit per route and major parameter.
type limiter struct {
	mu      sync.Mutex
	rules   map[string]rule
	windows map[string]*window
}

type rule struct {
	limit int
	per   time.Duration
}

type window struct {
	start time.Time
	used  int
}

func newLimiter() *limiter {
	return &limiter{rules: map[string]rule{}, windows: map[string]*window{}}
}

// SetRateLimit limits a route, e.g. "POST /channels/:id/messages", to n
// requests per window per major parameter (each channel separately).
func (s *Server) SetRateLimit(route string, n int, per time.Duration) {
	s.limit.mu.Lock()
	defer s.limit.mu.Unlock()
	s.limit.rules[route] = rule{limit: n, per: per}
}

// allow answers a request's rate-limit headers, or 429 when over.
func (l *limiter) allow(w http.ResponseWriter, route, major string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.rules[route]
	if !ok {
		r = rule{limit: 50, per: time.Second}
	}
	key := route + "|" + major
	win, ok := l.windows[key]
	if !ok || now.Sub(win.start) >= r.per {
		win = &window{start: now}
		l.windows[key] = win
	}
	resetAt := win.start.Add(r.per)
	after := resetAt.Sub(now).Seconds()
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(r.limit))
	h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(resetAt.UnixMilli())/1000, 'f', 3, 64))
	h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(after, 'f', 3, 64))
	h.Set("X-RateLimit-Bucket", fmt.Sprintf("%08x", hash(route)))
	if win.used >= r.limit {
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Scope", "user")
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(after))))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{
			"message": "You are being rate limited.", "retry_after": math.Round(after*1000) / 1000, "global": false,
		})
		return false
	}
	win.used++
	h.Set("X-RateLimit-Remaining", strconv.Itoa(r.limit-win.used))
	return true
}

func hash(s string) uint32 {
	var h uint32 = 2166136261
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
