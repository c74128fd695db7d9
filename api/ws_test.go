package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

var cheapPasswords = auth.PasswordParams{Memory: 1024, Time: 1, Threads: 1}

// wsEnv is one api replica on db.
type wsEnv struct {
	t      *testing.T
	db     *gorm.DB
	auth   *auth.Service
	server *api.Server
	hub    *realtime.Hub
	http   *httptest.Server
	logs   *observer.ObservedLogs
}

type wsEnvOptions struct {
	secret   []byte
	notifier realtime.Notifier
	limits   *api.RateLimits
	now      func() time.Time
}

func newWSEnv(t *testing.T, db *gorm.DB, o wsEnvOptions) *wsEnv {
	t.Helper()
	if o.secret == nil {
		o.secret = []byte(strings.Repeat("s", 48))
	}
	core, logs := observer.New(zap.InfoLevel)
	log := zap.New(core)
	svc, err := auth.New(context.Background(), auth.Config{DB: db, Secret: o.secret, Password: cheapPasswords, Log: log, Now: o.now})
	require.NoError(t, err)
	if o.notifier == nil && store.DialectOf(db) == store.Postgres {
		o.notifier = realtime.NewPGNotifier(db, log)
	}
	hub := realtime.NewHub(realtime.HubConfig{DB: db, Notifier: o.notifier, Log: log, SessionCheck: 100 * time.Millisecond,
		TailInterval: 10 * time.Millisecond, Now: o.now})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { hub.Run(ctx); close(done) }()
	limits := o.limits
	if limits == nil {
		l := api.DefaultRateLimits()
		l.API, l.WebSocket = api.Unlimited, api.Unlimited
		limits = &l
	}
	s := &api.Server{DB: db, Auth: svc, Log: log, Limits: limits, PublicURL: "http://127.0.0.1", Realtime: &api.Realtime{Hub: hub}}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.Realtime.CloseAll()
		srv.Close()
		cancel()
		<-done
	})
	return &wsEnv{t: t, db: db, auth: svc, server: s, hub: hub, http: srv, logs: logs}
}

// newUser creates a trader with a script session (unbound to a client).
func (e *wsEnv) newUser() auth.Tokens {
	e.t.Helper()
	id := uuid.NewString()
	email := id + "@example.test"
	require.NoError(e.t, e.db.Create(&schema.User{ID: id, Email: &email, Role: "trader", CreatedAt: time.Now().UTC()}).Error)
	tok, err := e.auth.IssueScriptToken(context.Background(), id)
	require.NoError(e.t, err)
	return tok
}

func (e *wsEnv) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(e.http.URL, "http") + "/ws" + query
}

// client is a test WebSocket client collecting frames.
type client struct {
	conn   *websocket.Conn
	mu     sync.Mutex
	frames []realtime.Frame // batches expanded
	code   int
	reason string
	done   chan struct{}
}

func dial(t *testing.T, rawURL string, header http.Header) (*client, *http.Response, error) {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(rawURL, header)
	if err != nil {
		return nil, resp, err
	}
	c := &client{conn: conn, done: make(chan struct{})}
	go c.read()
	t.Cleanup(func() { _ = conn.Close() })
	return c, resp, nil
}

func (c *client) read() {
	defer close(c.done)
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			c.mu.Lock()
			if ce, ok := err.(*websocket.CloseError); ok {
				c.code, c.reason = ce.Code, ce.Text
			} else {
				c.code = -1
			}
			c.mu.Unlock()
			return
		}
		var f realtime.Frame
		if json.Unmarshal(msg, &f) != nil {
			continue
		}
		c.mu.Lock()
		if f.Type == realtime.FrameBatch {
			c.frames = append(c.frames, f.Events...)
		} else {
			c.frames = append(c.frames, f)
		}
		c.mu.Unlock()
	}
}

func (c *client) snapshot() []realtime.Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]realtime.Frame(nil), c.frames...)
}

func (c *client) types() []string {
	var out []string
	for _, f := range c.snapshot() {
		out = append(out, f.Type)
	}
	return out
}

// seqs are the outbox seqs received, in order.
func (c *client) seqs() []int64 {
	var out []int64
	for _, f := range c.snapshot() {
		if f.Seq > 0 && f.Type != realtime.EventStateSync {
			out = append(out, f.Seq)
		}
	}
	return out
}

func (c *client) closed() (int, string, bool) {
	select {
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.code, c.reason, true
	default:
		return 0, "", false
	}
}

func (c *client) send(t *testing.T, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	require.NoError(t, c.conn.WriteMessage(websocket.TextMessage, b))
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func appendEvents(t *testing.T, db *gorm.DB, user string, n int, typ string) {
	t.Helper()
	for i := 0; i < n; i++ {
		require.NoError(t, store.InTx(context.Background(), db, func(tx *gorm.DB) error {
			_, err := realtime.AppendEvent(tx, user, typ, map[string]any{"owner": user, "i": i})
			return err
		}))
	}
}

func TestWSRefusesMissingInvalidAndExpiredTokensAndThrottles(t *testing.T) {
	db, _ := storetest.Open(t)
	secret := []byte(strings.Repeat("k", 48))
	e := newWSEnv(t, db, wsEnvOptions{secret: secret})
	good := e.newUser()

	// A token issued two hours ago has expired.
	past, err := auth.New(context.Background(), auth.Config{DB: db, Secret: secret, Password: cheapPasswords,
		Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
	require.NoError(t, err)
	expired, err := past.IssueScriptToken(context.Background(), good.UserID)
	require.NoError(t, err)

	cases := []struct {
		name, query, reason string
		status              int
		header              http.Header
	}{
		{"no token", "", "Missing JWT token", http.StatusUnauthorized, nil},
		{"garbage token", "?token=not-a-jwt", "Invalid JWT token", http.StatusUnauthorized, nil},
		{"expired token", "?token=" + expired.AccessToken, "JWT token expired", http.StatusUnauthorized, nil},
		{"unknown ticket", "?ticket=abcdefabcdefabcdef", "Invalid or expired ticket", http.StatusUnauthorized, nil},
		{"foreign origin", "?token=" + good.AccessToken, "Origin not allowed", http.StatusForbidden, http.Header{"Origin": {"https://evil.example"}}},
	}
	for _, tc := range cases {
		_, resp, err := dial(t, e.wsURL(tc.query), tc.header)
		require.Error(t, err, tc.name)
		require.NotNil(t, resp, tc.name)
		require.Equal(t, tc.status, resp.StatusCode, tc.name)
		logged := e.logs.FilterMessage("websocket connection refused").FilterField(zap.String("error", tc.reason))
		require.Equal(t, 1, logged.Len(), "%s: attempt logged with its reason", tc.name)
		require.NotEmpty(t, logged.All()[0].ContextMap()["ipAddress"])
	}
	// Five failures: the IP is throttled, even with a valid token.
	_, resp, err := dial(t, e.wsURL("?token="+good.AccessToken), nil)
	require.Error(t, err)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
}

func TestWSAuthorizesWithTokenOrSingleUseTicket(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		e := newWSEnv(t, db, wsEnvOptions{})
		tok := e.newUser()
		// Same origin is allowed.
		c, _, err := dial(t, e.wsURL("?token="+url.QueryEscape(tok.AccessToken)), http.Header{"Origin": {e.http.URL}})
		require.NoError(t, err)
		waitFor(t, "authorized + state.sync", func() bool { return len(c.types()) == 2 })
		first := c.snapshot()[0]
		require.Equal(t, realtime.EventConnectionAuthorized, first.Type, "connection.authorized comes first")
		var data realtime.AuthorizedData
		require.NoError(t, json.Unmarshal(first.Data, &data))
		require.Equal(t, tok.UserID, data.UserID)
		require.WithinDuration(t, tok.AccessExpiresAt, data.ExpiresAt, time.Second)
		require.Equal(t, realtime.EventStateSync, c.snapshot()[1].Type)

		// A ticket from POST /api/v1/ws-ticket opens one socket.
		req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/api/v1/ws-ticket", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		var tk struct{ Ticket, URL string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&tk))
		require.True(t, strings.HasPrefix(tk.URL, "/ws?ticket="))
		c2, _, err := dial(t, e.wsURL("?ticket="+tk.Ticket+"&lastSeq=0"), nil)
		require.NoError(t, err)
		waitFor(t, "authorized", func() bool { return len(c2.types()) >= 1 })
		require.Equal(t, realtime.EventConnectionAuthorized, c2.types()[0])
		_, resp2, err := dial(t, e.wsURL("?ticket="+tk.Ticket), nil)
		require.Error(t, err, "a ticket opens one socket only")
		require.Equal(t, http.StatusUnauthorized, resp2.StatusCode)

		// The ticket endpoint needs authentication.
		resp3, err := http.Post(e.http.URL+"/api/v1/ws-ticket", "application/json", nil)
		require.NoError(t, err)
		resp3.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp3.StatusCode)
	})
}

func TestWSReauthRenewsOrCloses(t *testing.T) {
	db, _ := storetest.Open(t)
	e := newWSEnv(t, db, wsEnvOptions{})
	alice := e.newUser()
	bob := e.newUser()
	c, _, err := dial(t, e.wsURL("?token="+alice.AccessToken+"&lastSeq=0"), nil)
	require.NoError(t, err)
	waitFor(t, "authorized", func() bool { return len(c.types()) == 1 })

	fresh, err := e.auth.IssueScriptToken(context.Background(), alice.UserID)
	require.NoError(t, err)
	c.send(t, realtime.ClientMessage{Type: realtime.ClientReauth, Token: fresh.AccessToken})
	waitFor(t, "reauthorized", func() bool { return len(c.types()) == 2 })
	require.Equal(t, realtime.FrameReauthorized, c.types()[1])
	c.send(t, realtime.ClientMessage{Type: realtime.ClientPing})
	waitFor(t, "pong", func() bool { return len(c.types()) == 3 && c.types()[2] == realtime.FramePong })

	// Another user's token does not take over the socket.
	c.send(t, realtime.ClientMessage{Type: realtime.ClientReauth, Token: bob.AccessToken})
	waitFor(t, "closed", func() bool { _, _, done := c.closed(); return done })
	code, reason, _ := c.closed()
	require.Equal(t, realtime.CloseReauthFailed, code)
	require.Equal(t, realtime.ReasonReauthFailed, reason)
}

// Ordering and replay: events arrive in seq order; a reconnect with
// lastSeq receives exactly what was missed.
func TestWSOrderingAndReplay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		e := newWSEnv(t, db, wsEnvOptions{})
		tok := e.newUser()
		c, _, err := dial(t, e.wsURL("?token="+tok.AccessToken+"&lastSeq=0"), nil)
		require.NoError(t, err)
		waitFor(t, "authorized", func() bool { return len(c.types()) == 1 })
		var wg sync.WaitGroup
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				appendEvents(t, db, tok.UserID, 10, realtime.EventTradeFilled)
			}()
		}
		wg.Wait()
		waitFor(t, "30 events in order", func() bool { return fmt.Sprint(c.seqs()) == fmt.Sprint(seq(1, 30)) })

		// The socket drops; 5 events are written meanwhile.
		require.NoError(t, c.conn.Close())
		appendEvents(t, db, tok.UserID, 5, realtime.EventTradeSubmitted)
		c2, _, err := dial(t, e.wsURL("?token="+tok.AccessToken+"&lastSeq=30"), nil)
		require.NoError(t, err)
		waitFor(t, "replay of 31..35", func() bool { return fmt.Sprint(c2.seqs()) == fmt.Sprint(seq(31, 35)) })
		require.Equal(t, realtime.EventConnectionAuthorized, c2.types()[0])
		require.NotContains(t, c2.types(), realtime.EventStateSync)

		_, _, err = dial(t, e.wsURL("?token="+tok.AccessToken+"&lastSeq=-4"), nil)
		require.Error(t, err)
	})
}

// Logout closes every socket of the user (every tab).
func TestWSLogoutClosesEveryTab(t *testing.T) {
	db, _ := storetest.Open(t)
	e := newWSEnv(t, db, wsEnvOptions{})
	tok := e.newUser()
	other := e.newUser()
	tabs := make([]*client, 2)
	for i := range tabs {
		var err error
		tabs[i], _, err = dial(t, e.wsURL("?token="+tok.AccessToken+"&lastSeq=0"), nil)
		require.NoError(t, err)
	}
	bystander, _, err := dial(t, e.wsURL("?token="+other.AccessToken+"&lastSeq=0"), nil)
	require.NoError(t, err)
	waitFor(t, "authorized", func() bool { return len(tabs[1].types()) == 1 && len(bystander.types()) == 1 })

	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/auth/logout", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for i, c := range tabs {
		waitFor(t, fmt.Sprintf("tab %d closed", i), func() bool { _, _, done := c.closed(); return done })
		code, reason, _ := c.closed()
		require.Equal(t, realtime.CloseSignedOut, code)
		require.Equal(t, realtime.ReasonSignedOut, reason)
	}
	time.Sleep(300 * time.Millisecond)
	_, _, done := bystander.closed()
	require.False(t, done, "another user's socket stays open")
	// The ended session cannot reconnect.
	_, resp2, err := dial(t, e.wsURL("?token="+tok.AccessToken), nil)
	require.Error(t, err)
	require.Equal(t, http.StatusUnauthorized, resp2.StatusCode)
}

// Invariant 5 on one replica: many users, each receives only their own.
func TestWSIsolationManyUsers(t *testing.T) {
	db, _ := storetest.Open(t)
	e := newWSEnv(t, db, wsEnvOptions{})
	users := make([]auth.Tokens, 30)
	clients := make([]*client, len(users))
	for i := range users {
		users[i] = e.newUser()
		var err error
		clients[i], _, err = dial(t, e.wsURL("?token="+users[i].AccessToken+"&lastSeq=0"), nil)
		require.NoError(t, err)
	}
	for i, u := range users {
		appendEvents(t, db, u.UserID, i%3+1, realtime.EventBalanceChanged)
	}
	for i, u := range users {
		checkOwnEvents(t, clients[i], u.UserID, i%3+1)
	}
}

func checkOwnEvents(t *testing.T, c *client, user string, n int) {
	t.Helper()
	waitFor(t, user+" events", func() bool { return len(c.seqs()) == n })
	for _, f := range c.snapshot() {
		if f.Seq == 0 || f.Type == realtime.EventStateSync {
			continue
		}
		var p map[string]any
		require.NoError(t, json.Unmarshal(f.Data, &p))
		require.Equal(t, user, p["owner"], "a socket received another user's event")
	}
	require.Equal(t, fmt.Sprint(seq(1, int64(n))), fmt.Sprint(c.seqs()))
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// ---------------------------------------------------------------- two processes

const childEnv = "TE_WS_CHILD_DB"

// TestWSChildProcess is not a test: it is the api replica that
// TestWSTwoProcessesOnePostgres starts as a child process (this test binary
// with TE_WS_CHILD_DB set). It serves until its stdin closes.
func TestWSChildProcess(t *testing.T) {
	dsn := os.Getenv(childEnv)
	if dsn == "" {
		return
	}
	ctx := context.Background()
	db, _, err := store.Open(ctx, dsn, zap.NewNop())
	require.NoError(t, err)
	secret, err := hex.DecodeString(os.Getenv("TE_WS_CHILD_SECRET"))
	require.NoError(t, err)
	e := newWSEnv(t, db, wsEnvOptions{secret: secret})
	fmt.Printf("LISTEN %s\n", e.http.URL)
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}

// Invariant 5 across replicas: two api processes on one PostgreSQL, users
// connected to one or both, events written by a third process; every
// socket receives exactly its user's events, in order; a logout closes the
// user's sockets on both.
func TestWSTwoProcessesOnePostgres(t *testing.T) {
	base, ok := storetest.PostgresURL()
	if !ok {
		t.Skip("needs PostgreSQL: set TEST_DATABASE_URL")
	}
	db := storetest.OpenPostgres(t)
	var schemaName string
	require.NoError(t, db.Raw("SELECT current_schema()").Scan(&schemaName).Error)
	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schemaName)
	u.RawQuery = q.Encode()
	secret := make([]byte, 48)
	_, _ = rand.Read(secret)

	replicas := []string{startChild(t, u.String(), secret), startChild(t, u.String(), secret)}
	writer := newWSEnv(t, db, wsEnvOptions{secret: secret}) // issues tokens and writes events (as a worker would)
	type sock struct {
		c    *client
		user string
		n    int
	}
	var socks []sock
	users := make([]auth.Tokens, 20)
	for i := range users {
		users[i] = writer.newUser()
		targets := []string{replicas[i%2]}
		if i%5 == 0 {
			targets = replicas // some users on both replicas
		}
		for _, r := range targets {
			c, _, err := dial(t, "ws"+strings.TrimPrefix(r, "http")+"/ws?lastSeq=0&token="+users[i].AccessToken, nil)
			require.NoError(t, err)
			socks = append(socks, sock{c, users[i].UserID, i%4 + 1})
		}
	}
	for _, s := range socks {
		waitFor(t, "authorized", func() bool { return len(s.c.types()) >= 1 })
	}
	var wg sync.WaitGroup
	for i, tok := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			appendEvents(t, db, tok.UserID, i%4+1, realtime.EventTradeSubmitted)
		}()
	}
	wg.Wait()
	for _, s := range socks {
		checkOwnEvents(t, s.c, s.user, s.n)
	}

	// Logout of user 0 (connected to both replicas) closes both sockets.
	require.NoError(t, writer.auth.Logout(context.Background(), users[0].SessionID, auth.Client{IP: "127.0.0.1"}))
	for _, s := range socks {
		if s.user != users[0].UserID {
			continue
		}
		waitFor(t, "socket on each replica closed", func() bool { _, _, done := s.c.closed(); return done })
		code, _, _ := s.c.closed()
		require.Equal(t, realtime.CloseSignedOut, code)
	}
	for _, s := range socks {
		if s.user != users[0].UserID {
			_, _, done := s.c.closed()
			require.False(t, done, "another user's socket was closed")
		}
	}
}

func startChild(t *testing.T, dsn string, secret []byte) string {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^TestWSChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+dsn, "TE_WS_CHILD_SECRET="+hex.EncodeToString(secret))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if addr, ok := strings.CutPrefix(lines.Text(), "LISTEN "); ok {
			go func() {
				for lines.Scan() {
				}
			}()
			return addr
		}
	}
	t.Fatalf("child api process did not start: %s", stderr.String())
	return ""
}

// Issue 13: a cap on one trader's sockets per api process; a closed socket
// frees its place, and other traders are not affected.
func TestWSCapsSocketsPerUser(t *testing.T) {
	e := newWSEnv(t, storetest.OpenSQLite(t), wsEnvOptions{})
	alice, bob := e.newUser(), e.newUser()
	var open []*client
	for i := 0; i < api.DefaultMaxSocketsPerUser; i++ {
		c, _, err := dial(t, e.wsURL("?token="+url.QueryEscape(alice.AccessToken)), nil)
		require.NoError(t, err, "socket %d", i+1)
		waitFor(t, "authorized", func() bool { return len(c.types()) >= 1 })
		open = append(open, c)
	}
	_, resp, err := dial(t, e.wsURL("?token="+url.QueryEscape(alice.AccessToken)), nil)
	require.Error(t, err, "one socket too many")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	_, _, err = dial(t, e.wsURL("?token="+url.QueryEscape(bob.AccessToken)), nil)
	require.NoError(t, err, "another trader is not capped by alice's sockets")

	require.NoError(t, open[0].conn.Close())
	require.Eventually(t, func() bool {
		c, _, err := dial(t, e.wsURL("?token="+url.QueryEscape(alice.AccessToken)), nil)
		if err != nil {
			return false
		}
		_ = c.conn.Close()
		return true
	}, 10*time.Second, 50*time.Millisecond, "a closed socket frees its place")
}
