package chaos

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// pgCluster is a throwaway PostgreSQL cluster the suite starts for itself
// (initdb + pg_ctl on its own free port, in a temporary directory), so it
// can crash it for real: `pg_ctl stop -m immediate` kills the server
// without a shutdown checkpoint, the next start replays the WAL.
type pgCluster struct {
	bin  string // directory of initdb, pg_ctl, postgres
	dir  string // PGDATA's parent (removed at the end)
	data string
	port int
	cred *syscall.Credential // run as this user (initdb refuses root)

	mu      sync.Mutex
	crashes int
}

// pgBinDir finds initdb and pg_ctl: PG_BIN_DIR, else the newest
// /usr/lib/postgresql/*/bin, else $PATH.
func pgBinDir() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.IsDir() {
				return false
			}
		}
		return true
	}
	if d := os.Getenv("PG_BIN_DIR"); d != "" {
		if has(d) {
			return d, nil
		}
		return "", fmt.Errorf("PG_BIN_DIR=%s holds no initdb, pg_ctl and postgres", d)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	return "", errors.New("the chaos suite crashes a PostgreSQL server of its own and needs initdb, pg_ctl and postgres: " +
		"none found under /usr/lib/postgresql/*/bin or on $PATH (install the postgresql server package, or set PG_BIN_DIR)")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// startPGCluster creates and starts a cluster on a free port.
func startPGCluster() (*pgCluster, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "chaos-pg-")
	if err != nil {
		return nil, err
	}
	c := &pgCluster{bin: bin, dir: dir, data: filepath.Join(dir, "data")}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root: run them as the
		// postgres user, which must own the directory.
		u, err := user.Lookup("postgres")
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, PostgreSQL needs an unprivileged user to run as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if out, err := c.run("initdb", "-D", c.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	if c.port, err = freePort(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := c.start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// URL is the cluster's postgres database.
func (c *pgCluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// start starts the server and waits until it accepts connections. fsync
// is off: a crash here is the server process dying, not the machine, so
// what reached the kernel survives and recovery replays the WAL as after
// any crash.
func (c *pgCluster) start() error {
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c max_connections=200", c.port)
	out, err := c.run("pg_ctl", "start", "-D", c.data, "-w", "-t", "60", "-l", filepath.Join(c.dir, "server.log"), "-o", opts)
	if err != nil {
		return fmt.Errorf("pg_ctl start: %w: %s", err, out)
	}
	return nil
}

// crash kills the server without a shutdown (`pg_ctl stop -m immediate`:
// SIGQUIT, no checkpoint, every session cut), waits down, and starts it
// again on the same port and data directory (crash recovery).
func (c *pgCluster) crash(down time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if out, err := c.run("pg_ctl", "stop", "-D", c.data, "-m", "immediate", "-w"); err != nil {
		return fmt.Errorf("pg_ctl stop -m immediate: %w: %s", err, out)
	}
	c.crashes++
	time.Sleep(down)
	return c.start()
}

func (c *pgCluster) crashed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crashes
}

// report describes the server for a failed test: whether its postmaster
// runs, and the last lines of its log (a shutdown request, a crash, a
// refused bind are logged; a postmaster SIGKILLed from outside is not, and
// shows as a pid that no longer runs).
func (c *pgCluster) report(lines int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	state := "no postmaster.pid (the server is down)"
	if b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid")); err == nil {
		first, _, _ := strings.Cut(string(b), "\n")
		if pid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil {
			if syscall.Kill(pid, 0) == nil {
				state = fmt.Sprintf("postmaster pid %d runs", pid)
			} else {
				state = fmt.Sprintf("postmaster pid %d does not run (killed from outside, or died)", pid)
			}
		}
	}
	log, err := os.ReadFile(filepath.Join(c.dir, "server.log"))
	if err != nil {
		return fmt.Sprintf("PostgreSQL on port %d: %s; no server log: %v", c.port, state, err)
	}
	all := strings.Split(strings.TrimRight(string(log), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return fmt.Sprintf("PostgreSQL on port %d: %s; %d crashes by the suite; last lines of its log:\n%s",
		c.port, state, c.crashes, strings.Join(all, "\n"))
}

// stop shuts the server down and removes the cluster.
func (c *pgCluster) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = c.run("pg_ctl", "stop", "-D", c.data, "-m", "immediate", "-w")
	_ = os.RemoveAll(c.dir)
}

func (c *pgCluster) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, name), args...) // #nosec G204 -- PostgreSQL's own tools, arguments built here
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	err := cmd.Run()
	return out.Bytes(), err
}
