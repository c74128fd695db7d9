// Package stack runs tradeexec production-shaped on one machine, without
// Docker: Temporal's own server with PostgreSQL persistence, the local
// PostgreSQL for tradeexec, several `tradeexec api` and `tradeexec worker`
// processes, and a round-robin proxy in front of the apis (`make stack`,
// `make bench-stack`, `make stack-test`). DESIGN "Production-shaped stack".
package stack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/vault"
)

// Options configure a stack.
type Options struct {
	// Dir keeps the stack's state: Temporal's config, the secrets, the
	// processes' logs, the demo trader.
	Dir string
	// Tradeexec is the tradeexec binary; TemporalServer and SQLTool are
	// Temporal's server and sql tool (bin/server, bin/sql).
	Tradeexec, TemporalServer, SQLTool string
	// TemporalServerVersion locates the server module's schema files.
	TemporalServerVersion string
	// AdminURL is a PostgreSQL URL whose role may create databases
	// (postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable).
	AdminURL string
	// Prefix names the databases: <prefix> (tradeexec),
	// <prefix>_temporal and <prefix>_temporal_visibility.
	Prefix string
	// Fresh drops and recreates the databases and the state directory.
	Fresh bool
	// APIs and Workers are the process counts (default 2 and 2).
	APIs, Workers int
	// ProxyAddr is the balancer's listen address (default 127.0.0.1:8090).
	ProxyAddr string
	// TemporalPort is the frontend's port (default 17233); the other
	// services use ports above it.
	TemporalPort int
	// DrainDelay is the apis' SHUTDOWN_DRAIN_DELAY (default 1s).
	DrainDelay time.Duration
	// Out receives progress lines.
	Out io.Writer
}

func (o *Options) defaults() {
	if o.APIs <= 0 {
		o.APIs = 2
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.ProxyAddr == "" {
		o.ProxyAddr = "127.0.0.1:8090"
	}
	if o.TemporalPort == 0 {
		o.TemporalPort = 17233
	}
	if o.Prefix == "" {
		o.Prefix = "tradeexec_stack"
	}
	if o.DrainDelay == 0 {
		o.DrainDelay = time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
}

// Stack is a running production-shaped system.
type Stack struct {
	Temporal *Proc
	APIs     []*Proc
	Workers  []*Proc
	Proxy    *Proxy
	// URL is the proxy's base URL (what clients use).
	URL string
	// TemporalAddress is the frontend's host:port.
	TemporalAddress string
	// DatabaseURL is tradeexec's database.
	DatabaseURL string
	// Env is the environment every tradeexec process gets (secrets too:
	// for the stack's own tools, never logged).
	Env  []string
	Demo app.Demo
	DB   *gorm.DB

	o Options
}

type pgAddr struct{ host, port, user, password string }

func (p pgAddr) hostPort() string { return net.JoinHostPort(p.host, p.port) }

func (p pgAddr) url(db string) string {
	u := url.URL{Scheme: "postgres", Host: p.hostPort(), Path: "/" + db, RawQuery: "sslmode=disable"}
	if p.password != "" {
		u.User = url.UserPassword(p.user, p.password)
	} else {
		u.User = url.User(p.user)
	}
	return u.String()
}

func parsePG(admin string) (pgAddr, error) {
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return pgAddr{}, fmt.Errorf("stack: admin URL %q is not a postgres:// URL", admin)
	}
	p := pgAddr{host: u.Hostname(), port: u.Port(), user: u.User.Username()}
	p.password, _ = u.User.Password()
	if p.port == "" {
		p.port = "5432"
	}
	if p.user == "" {
		p.user = "postgres"
	}
	return p, nil
}

// Start brings the whole stack up; Stop takes it down.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	o.defaults()
	pg, err := parsePG(o.AdminURL)
	if err != nil {
		return nil, err
	}
	for name, p := range map[string]string{"tradeexec": o.Tradeexec, "Temporal server": o.TemporalServer, "Temporal sql tool": o.SQLTool} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("stack: %s binary %s: %w (make stack builds it)", name, p, err)
		}
	}
	if o.Fresh {
		_ = os.RemoveAll(o.Dir)
	}
	if err := os.MkdirAll(filepath.Join(o.Dir, "logs"), 0o700); err != nil {
		return nil, err
	}
	s := &Stack{o: o}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	db, tdb, vdb := o.Prefix, o.Prefix+"_temporal", o.Prefix+"_temporal_visibility"
	created, err := createDatabases(ctx, o.AdminURL, o.Fresh, db, tdb, vdb)
	if err != nil {
		return nil, err
	}
	if created[tdb] {
		fmt.Fprintf(o.Out, "==> Temporal schema in %s and %s (Temporal's sql tool)\n", tdb, vdb)
		if err := temporalSchema(ctx, o, pg, tdb, vdb); err != nil {
			return nil, err
		}
	}
	dyn := filepath.Join(o.Dir, "temporal-dynamic.yaml")
	cfg := filepath.Join(o.Dir, "temporal.yaml")
	if err := os.WriteFile(dyn, []byte(dynamicConfig()), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(cfg, []byte(temporalConfig(pg, tdb, vdb, o.TemporalPort, dyn)), 0o600); err != nil {
		return nil, err
	}
	s.TemporalAddress = "127.0.0.1:" + strconv.Itoa(o.TemporalPort)
	s.Temporal = &Proc{Name: "temporal", Path: o.TemporalServer, Args: []string{"--config-file", cfg, "--allow-no-auth", "start"},
		Log: filepath.Join(o.Dir, "logs", "temporal.log")}
	fmt.Fprintf(o.Out, "==> Temporal server %s on PostgreSQL, frontend %s\n", o.TemporalServerVersion, s.TemporalAddress)
	if err := s.Temporal.Start(); err != nil {
		return nil, err
	}
	if err := waitTemporal(ctx, s.TemporalAddress, "default", 90*time.Second); err != nil {
		return nil, fmt.Errorf("%w (log: %s)", err, s.Temporal.Log)
	}

	secrets, err := loadSecrets(filepath.Join(o.Dir, "secrets.env"))
	if err != nil {
		return nil, err
	}
	// Four tradeexec processes and this one share the server's 100
	// connections with Temporal's 24: 12 each (the default pool is 25, and
	// 5 × 25 + 24 would be refused "too many clients" under a burst).
	s.DatabaseURL = pg.url(db) + "&pool_max_conns=12"
	s.Env = append([]string{
		"DATABASE_URL=" + s.DatabaseURL,
		"TEMPORAL_ADDRESS=" + s.TemporalAddress,
		"PUBLIC_URL=https://stack.localhost",
		"TRUSTED_PROXIES=127.0.0.1",
		"AUDIT_STORE=file://" + filepath.Join(o.Dir, "audit-store"),
		"LOG_FORMAT=json", "LOG_LEVEL=info",
		"SHUTDOWN_DRAIN_DELAY=" + o.DrainDelay.String(),
		"SHUTDOWN_TIMEOUT=20s",
	}, secrets...)
	fmt.Fprintf(o.Out, "==> tradeexec migrate (%s)\n", db)
	mig := &Proc{Name: "migrate", Path: o.Tradeexec, Args: []string{"migrate"}, Env: s.Env, Log: filepath.Join(o.Dir, "logs", "migrate.log")}
	if err := mig.Start(); err != nil {
		return nil, err
	}
	if err := mig.Wait(); err != nil {
		return nil, fmt.Errorf("tradeexec migrate: %w (log: %s)", err, mig.Log)
	}
	if err := s.seed(ctx, secrets); err != nil {
		return nil, err
	}

	ports, err := freePorts(o.APIs*2 + o.Workers)
	if err != nil {
		return nil, err
	}
	var backends []string
	for i := 0; i < o.APIs; i++ {
		addr := "127.0.0.1:" + strconv.Itoa(ports[i])
		backends = append(backends, addr)
		s.APIs = append(s.APIs, &Proc{Name: fmt.Sprintf("api-%d", i+1), Path: o.Tradeexec, Args: []string{"api"},
			Env: append(append([]string{}, s.Env...), "HTTP_ADDR="+addr, "METRICS_ADDR=127.0.0.1:"+strconv.Itoa(ports[o.APIs+i])),
			Log: filepath.Join(o.Dir, "logs", fmt.Sprintf("api-%d.log", i+1))})
	}
	for i := 0; i < o.Workers; i++ {
		s.Workers = append(s.Workers, &Proc{Name: fmt.Sprintf("worker-%d", i+1), Path: o.Tradeexec, Args: []string{"worker"},
			Env: append(append([]string{}, s.Env...), "METRICS_ADDR=127.0.0.1:"+strconv.Itoa(ports[2*o.APIs+i])),
			Log: filepath.Join(o.Dir, "logs", fmt.Sprintf("worker-%d.log", i+1))})
	}
	for _, p := range append(append([]*Proc{}, s.Workers...), s.APIs...) {
		fmt.Fprintf(o.Out, "==> %s (log %s)\n", p.Name, p.Log)
		if err := p.Start(); err != nil {
			return nil, err
		}
	}
	for _, p := range s.APIs {
		if err := s.WaitReady(p, 60*time.Second); err != nil {
			return nil, err
		}
	}
	for _, p := range s.Workers {
		if err := s.WaitReady(p, 60*time.Second); err != nil {
			return nil, err
		}
	}
	s.Proxy = &Proxy{Backends: backends}
	if err := s.Proxy.Start(o.ProxyAddr); err != nil {
		return nil, fmt.Errorf("proxy on %s: %w", o.ProxyAddr, err)
	}
	s.URL = "http://" + s.Proxy.Addr()
	return s, nil
}

// WaitReady waits until the process's /ready answers 200: an api's on its
// HTTP_ADDR, a worker's on its METRICS_ADDR listener.
func (s *Stack) WaitReady(p *Proc, timeout time.Duration) error {
	addr := envValue(p.Env, "HTTP_ADDR")
	if addr == "" {
		addr = envValue(p.Env, "METRICS_ADDR")
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !p.Running() {
			return fmt.Errorf("%s exited: %v (log: %s)", p.Name, p.Wait(), p.Log)
		}
		if ready("http://" + addr + "/ready") {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s (log: %s)", p.Name, timeout, p.Log)
}

// Restart stops p with sig (SIGTERM: graceful drain; SIGKILL: a crash),
// starts it again and waits until it is ready.
func (s *Stack) Restart(p *Proc, sig syscall.Signal) error {
	if err := p.Signal(sig, 60*time.Second); err != nil {
		return err
	}
	if err := p.Start(); err != nil {
		return err
	}
	return s.WaitReady(p, 60*time.Second)
}

// Stop stops the proxy, the apis, the workers and Temporal, in that order.
func (s *Stack) Stop() {
	if s.Proxy != nil {
		s.Proxy.Close()
	}
	for _, group := range [][]*Proc{s.APIs, s.Workers} {
		for _, p := range group {
			_ = p.Signal(syscall.SIGTERM, 30*time.Second)
		}
	}
	if s.Temporal != nil {
		_ = s.Temporal.Signal(syscall.SIGTERM, 20*time.Second)
	}
	if s.DB != nil {
		_ = store.Close(s.DB)
	}
}

// seed creates the demo trader (paper account, webhook token) in the
// stack's database with the stack's vault keys, as `tradeexec dev` does.
func (s *Stack) seed(ctx context.Context, secrets []string) error {
	db, _, err := store.Open(ctx, s.DatabaseURL, nil)
	if err != nil {
		return err
	}
	s.DB = db
	kr, err := vault.ParseKeyring(envValue(secrets, "VAULT_KEYS"))
	if err != nil {
		return err
	}
	engine := paper.NewEngine(paper.NewGormStore(db), paper.NewRandomWalkFeed(1))
	s.Demo, err = app.EnsureDemo(ctx, db, kr, engine, s.o.Dir, "https://stack.localhost")
	if err != nil {
		return fmt.Errorf("demo trader: %w", err)
	}
	return nil
}

// createDatabases creates the named databases (dropping them first when
// fresh) and reports which were created now.
func createDatabases(ctx context.Context, adminURL string, fresh bool, names ...string) (map[string]bool, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("stack: connect %s: %w", redact(adminURL), err)
	}
	defer conn.Close(ctx)
	created := map[string]bool{}
	for _, n := range names {
		ident := pgx.Identifier{n}.Sanitize()
		if fresh {
			if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
				return nil, fmt.Errorf("drop %s: %w", n, err)
			}
		}
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", n).Scan(&exists); err != nil {
			return nil, err
		}
		if exists {
			continue
		}
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
			return nil, fmt.Errorf("create %s: %w", n, err)
		}
		created[n] = true
	}
	return created, nil
}

// loadSecrets reads the stack's generated secrets (creating them once).
func loadSecrets(path string) ([]string, error) {
	if b, err := os.ReadFile(path); err == nil { // #nosec G304 -- the stack's own state file
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l != "" {
				out = append(out, l)
			}
		}
		return out, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := func() string {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	}
	out := []string{
		"VAULT_KEYS=1:" + key(),
		"TEMPORAL_PAYLOAD_KEYS=1:" + key(),
		"JWT_SECRET=" + key(),
		"AUDIT_CHECKPOINT_KEYS=1:" + key(),
	}
	return out, os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o600)
}

func envValue(env []string, name string) string {
	v := ""
	for _, e := range env {
		if k, val, ok := strings.Cut(e, "="); ok && k == name {
			v = val
		}
	}
	return v
}

func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			_ = l.Close()
		}
	}()
	var out []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(invalid URL)"
	}
	return p.Redacted()
}

// EnvValue is one setting of the environment the stack's processes get
// (e.g. TEMPORAL_PAYLOAD_KEYS for a client of the stack's own).
func (s *Stack) EnvValue(name string) string { return envValue(s.Env, name) }
