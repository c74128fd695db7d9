package main

// WebSocket benchmarks (DESIGN §6): how many authenticated connections one
// api process holds, its memory per connection, and the latency from an
// event's commit to its arrival at the socket with 1,000 connected.
//
// The api runs in a child process (this binary re-executed with
// TE_BENCH_WS_DB set): the api's hub + melody on SQLite, as in the
// embedded default, with the in-process worker's wake-up (Committed) on
// every commit. The parent is the load generator: gorilla/websocket
// clients authenticated with access tokens. Memory is the child's RSS
// (and Go heap + stacks) before and after the connections open.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

const (
	wsDBEnv     = "TE_BENCH_WS_DB"
	wsSecretEnv = "TE_BENCH_WS_SECRET" // #nosec G101 -- environment variable name, not a credential

	wsHeld        = 10_000 // connections opened for the capacity figure
	wsUsersHeld   = 1_000  // … by this many traders (ten tabs each)
	wsLatencyConn = 1_000  // connections (one per trader) for the latency run
	wsEvents      = 3_000  // events committed in the latency run
	wsEventGap    = 2 * time.Millisecond
)

// The child: serve the api's WebSocket and obey commands on stdin.
func init() {
	if dsn := os.Getenv(wsDBEnv); dsn != "" {
		if err := runWSServer(dsn, os.Getenv(wsSecretEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "ws server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

func runWSServer(dsn, secretHex string) error {
	ctx := context.Background()
	db, _, err := store.Open(ctx, dsn, zap.NewNop())
	if err != nil {
		return err
	}
	secret, err := hex.DecodeString(secretHex)
	if err != nil {
		return err
	}
	svc, err := auth.New(ctx, auth.Config{DB: db, Secret: secret})
	if err != nil {
		return err
	}
	hub := realtime.NewHub(realtime.HubConfig{DB: db})
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go hub.Run(hctx)
	limits := api.DefaultRateLimits()
	limits.API, limits.WebSocket = api.Unlimited, api.Unlimited
	s := &api.Server{DB: db, Auth: svc, Limits: &limits, PublicURL: "http://127.0.0.1", Realtime: &api.Realtime{Hub: hub}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("LISTEN http://%s\n", ln.Addr())

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "stats":
			goruntime.GC()
			var m goruntime.MemStats
			goruntime.ReadMemStats(&m)
			fmt.Printf("STATS %d %d %d %d %d\n", rssBytes(os.Getpid()), m.HeapInuse, m.StackInuse, goruntime.NumGoroutine(), hub.Connections())
		case "emit": // emit <file with user ids> <out file>
			// Steady state, not the connect storm: the sockets' initial
			// syncs are done before the first event is committed.
			settleHub(hub)
			if err := emitEvents(db, hub, f[1], f[2]); err != nil {
				return err
			}
			fmt.Println("EMITTED")
		case "quit":
			return nil
		}
	}
	return nil
}

// settleHub waits until the hub's queue has stayed empty for 200 ms (at
// most 30 s).
func settleHub(hub *realtime.Hub) {
	deadline := time.Now().Add(30 * time.Second)
	quiet := time.Time{}
	for time.Now().Before(deadline) {
		if hub.Backlog() > 0 {
			quiet = time.Time{}
		} else if quiet.IsZero() {
			quiet = time.Now()
		} else if time.Since(quiet) >= 200*time.Millisecond {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// emitEvents commits wsEvents events round-robin over the users, one every
// wsEventGap, each with the wake-up the in-process worker gives the hub,
// and writes "user seq commitUnixNano" lines.
func emitEvents(db *gorm.DB, hub *realtime.Hub, usersFile, outFile string) error {
	b, err := os.ReadFile(usersFile) // #nosec G304 -- a temp file the parent bench process wrote
	if err != nil {
		return err
	}
	users := strings.Fields(string(b))
	out, err := os.Create(outFile) // #nosec G304 -- a temp file path chosen by the parent bench process
	if err != nil {
		return err
	}
	defer out.Close()
	w := bufio.NewWriter(out)
	next := time.Now()
	for i := 0; i < wsEvents; i++ {
		u := users[i%len(users)]
		var ev schema.OutboxEvent
		err := store.InTx(context.Background(), db, func(tx *gorm.DB) error {
			var err error
			ev, err = realtime.AppendEvent(tx, u, realtime.EventTradeFilled, map[string]any{"i": i})
			return err
		})
		if err != nil {
			return err
		}
		committed := time.Now().UnixNano()
		hub.Committed(u)
		fmt.Fprintf(w, "%s %d %d\n", u, ev.Seq, committed)
		next = next.Add(wsEventGap)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
	}
	return w.Flush()
}

func rssBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// ---------------------------------------------------------------- parent

type wsChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines *bufio.Scanner
	url   string
}

func startWSChild(dsn string, secret []byte) (*wsChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe) // #nosec G204 -- re-executes this bench binary itself
	cmd.Env = append(os.Environ(), wsDBEnv+"="+dsn, wsSecretEnv+"="+hex.EncodeToString(secret))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &wsChild{cmd: cmd, stdin: stdin, lines: bufio.NewScanner(stdout)}
	line, err := c.expect("LISTEN ")
	if err != nil {
		c.stop()
		return nil, err
	}
	c.url = line
	return c, nil
}

func (c *wsChild) expect(prefix string) (string, error) {
	for c.lines.Scan() {
		if v, ok := strings.CutPrefix(c.lines.Text(), prefix); ok {
			return v, nil
		}
	}
	return "", errors.New("ws server exited")
}

func (c *wsChild) send(cmd string) error {
	_, err := fmt.Fprintln(c.stdin, cmd)
	return err
}

type childStats struct {
	RSS, Heap, Stack int64
	Goroutines       int
	Conns            int
}

func (c *wsChild) stats() (childStats, error) {
	if err := c.send("stats"); err != nil {
		return childStats{}, err
	}
	line, err := c.expect("STATS ")
	if err != nil {
		return childStats{}, err
	}
	var s childStats
	_, err = fmt.Sscan(line, &s.RSS, &s.Heap, &s.Stack, &s.Goroutines, &s.Conns)
	return s, err
}

func (c *wsChild) stop() {
	_ = c.send("quit")
	_ = c.stdin.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// wsClient is one benchmark socket; it records when each seq arrived.
type wsClient struct {
	conn *websocket.Conn
	user string
	mu   sync.Mutex
	recv map[int64]int64
}

var wsDialer = &websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 1024}

func dialWS(base, token string, record bool, user string) (*wsClient, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "/ws?lastSeq=0&token=" + token
	conn, _, err := wsDialer.Dial(u, nil)
	if err != nil {
		return nil, err
	}
	c := &wsClient{conn: conn, user: user}
	if record {
		c.recv = map[int64]int64{}
	}
	go c.read()
	return c, nil
}

func (c *wsClient) read() {
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		if c.recv == nil {
			continue
		}
		now := time.Now().UnixNano()
		var f realtime.Frame
		if json.Unmarshal(msg, &f) != nil {
			continue
		}
		frames := []realtime.Frame{f}
		if f.Type == realtime.FrameBatch {
			frames = f.Events
		}
		c.mu.Lock()
		for _, fr := range frames {
			if fr.Seq > 0 && fr.Type != realtime.EventStateSync {
				c.recv[fr.Seq] = now
			}
		}
		c.mu.Unlock()
	}
}

// dialAll opens the sockets with limited parallelism.
func dialAll(base string, tokens []string, users []string, perUser int, record bool) ([]*wsClient, error) {
	n := len(tokens) * perUser
	out := make([]*wsClient, n)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, err := dialWS(base, tokens[i%len(tokens)], record, users[i%len(users)])
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("socket %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
				out[i] = c
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		closeAll(out)
		return nil, firstErr
	}
	return out, nil
}

func closeAll(cs []*wsClient) {
	for _, c := range cs {
		if c != nil {
			_ = c.conn.Close()
		}
	}
}

// wsRun measures the WebSocket figures and returns their rows.
func wsRun(ctx context.Context) []row {
	dir, err := os.MkdirTemp("", "tradeexec-bench-ws-")
	must(err)
	defer os.RemoveAll(dir)
	dsn := "sqlite://" + filepath.Join(dir, "ws.db")
	db, dialect, err := store.Open(ctx, dsn, zap.NewNop())
	must(err)
	must(schema.Migrate(ctx, db, dialect))
	secret := make([]byte, 48)
	_, _ = rand.Read(secret)
	svc, err := auth.New(ctx, auth.Config{DB: db, Secret: secret})
	must(err)
	users := make([]string, wsUsersHeld)
	tokens := make([]string, wsUsersHeld)
	now := time.Now().UTC()
	for i := range users {
		users[i] = uuid.NewString()
		must(db.Create(&schema.User{ID: users[i], Role: "trader", CreatedAt: now}).Error)
		t, err := svc.IssueScriptToken(ctx, users[i])
		must(err)
		tokens[i] = t.AccessToken
	}
	must(store.Close(db))

	child, err := startWSChild(dsn, secret)
	must(err)
	defer child.stop()
	var rows []row

	// Latency at 1,000 connections, one per trader.
	clients, err := dialAll(child.url, tokens[:wsLatencyConn], users[:wsLatencyConn], 1, true)
	must(err)
	usersFile := filepath.Join(dir, "users.txt")
	must(os.WriteFile(usersFile, []byte(strings.Join(users[:wsLatencyConn], "\n")), 0o600))
	commits := filepath.Join(dir, "commits.txt")
	start := time.Now()
	must(child.send("emit " + usersFile + " " + commits))
	_, err = child.expect("EMITTED")
	must(err)
	emitDur := time.Since(start)
	time.Sleep(500 * time.Millisecond) // the last deliveries
	lat, missing := latencies(commits, clients)
	closeAll(clients)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	other := fmt.Sprintf("%d events at %.0f/s", len(lat), float64(wsEvents)/emitDur.Seconds())
	if missing > 0 {
		other += fmt.Sprintf(", %d NOT RECEIVED", missing)
	}
	floor := wsFloor(wsLatencyConn, wsEvents, wsEventGap)
	other += fmt.Sprintf("; p99 = %s a bare loopback WebSocket writer's (%s, same sockets and pace)",
		times(pct(lat, 99), pct(floor, 99)), ms(pct(floor, 99)))
	rows = append(rows, row{"event committed → received on socket (1,000 connections)", strconv.Itoa(len(lat)),
		ms(pct(lat, 50)), ms(pct(lat, 95)), ms(pct(lat, 99)), other, "p99 ≤ 50 ms"},
		row{"ws floor: bare WebSocket write → received (1,000 connections)", strconv.Itoa(len(floor)),
			ms(pct(floor, 50)), ms(pct(floor, 95)), ms(pct(floor, 99)), "no database, outbox or hub", "—"})

	// Capacity: 10,000 authenticated connections held by one api process.
	time.Sleep(time.Second)
	before, err := child.stats()
	must(err)
	start = time.Now()
	held, err := dialAll(child.url, tokens, users, wsHeld/wsUsersHeld, false)
	must(err)
	openDur := time.Since(start)
	time.Sleep(2 * time.Second)
	after, err := child.stats()
	must(err)
	closeAll(held)
	perConn := float64(after.RSS-before.RSS) / float64(wsHeld)
	goPerConn := float64((after.Heap+after.Stack)-(before.Heap+before.Stack)) / float64(wsHeld)
	rows = append(rows,
		row{"concurrent authenticated WebSocket connections, one api process", strconv.Itoa(after.Conns), "", "", "",
			fmt.Sprintf("opened in %.1f s, %d goroutines", openDur.Seconds(), after.Goroutines), "≥ 10,000"},
		row{"memory per WebSocket connection (api process)", strconv.Itoa(wsHeld), "", "", "",
			fmt.Sprintf("RSS %.1f KiB/conn (Go heap+stacks %.1f KiB), RSS %d MiB at %d", perConn/1024, goPerConn/1024, after.RSS>>20, wsHeld), "—"})
	return rows
}

// latencies pairs each committed event with its arrival.
func latencies(commitsFile string, clients []*wsClient) ([]time.Duration, int) {
	b, err := os.ReadFile(commitsFile) // #nosec G304 -- a temp file in the bench's own directory
	must(err)
	byUser := map[string]*wsClient{}
	for _, c := range clients {
		byUser[c.user] = c
	}
	var out []time.Duration
	missing := 0
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var user string
		var seq, at int64
		if _, err := fmt.Sscan(l, &user, &seq, &at); err != nil {
			continue
		}
		c := byUser[user]
		c.mu.Lock()
		got, ok := c.recv[seq]
		c.mu.Unlock()
		if !ok {
			missing++
			continue
		}
		out = append(out, time.Duration(got-at))
	}
	return out, missing
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (len(d)*p + 99) / 100
	if i > len(d) {
		i = len(d)
	}
	return d[max(i-1, 0)]
}
