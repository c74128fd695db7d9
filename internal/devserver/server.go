package devserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a running dev server child process.
type Server struct {
	proc        *process
	address     string
	uiURL       string
	namespace   string
	stopTimeout time.Duration
	startedIn   time.Duration

	stopOnce sync.Once
	stopErr  error
}

// Start launches `temporal server start-dev` and waits until it serves: the
// frontend passes its gRPC health check and every SearchAttributes entry is
// registered in the namespace (missing ones, e.g. in a DBFile created by an
// older tradeexec, are added). ctx bounds only the start-up; the server then
// runs until Stop. On any start-up failure the child is stopped and the error
// quotes the last lines of its stderr.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Binary == "" {
		bin, err := FindBinary()
		if err != nil {
			return nil, err
		}
		opts.Binary = bin
	}
	if opts.DBFile != "" {
		abs, err := filepath.Abs(opts.DBFile)
		if err != nil {
			return nil, fmt.Errorf("devserver: db file: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
			return nil, fmt.Errorf("devserver: db file directory: %w", err)
		}
		opts.DBFile = abs
	}
	ctx, cancel := context.WithTimeout(ctx, opts.startTimeout())
	defer cancel()

	begin := time.Now()
	// Ports picked here may be taken by someone else before the server binds
	// them; when we picked them, a lost race is retried with new ones.
	const attempts = 3
	for attempt := 1; ; attempt++ {
		s, err := startOnce(ctx, opts)
		if err == nil {
			s.startedIn = time.Since(begin)
			return s, nil
		}
		var pe *portError
		if attempt < attempts && errors.As(err, &pe) && (opts.Port == 0 || opts.UIPort == 0) && ctx.Err() == nil {
			continue
		}
		return nil, err
	}
}

// portError marks a start-up failure caused by a port already in use.
type portError struct{ err error }

func (e *portError) Error() string { return e.err.Error() }
func (e *portError) Unwrap() error { return e.err }

func startOnce(ctx context.Context, opts Options) (*Server, error) {
	port, uiPort := opts.Port, opts.UIPort
	var err error
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	if uiPort == 0 && !opts.Headless {
		if uiPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	proc, err := spawn(opts.Binary, opts.args(port, uiPort), opts.Stdout, opts.Stderr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		proc:        proc,
		address:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		namespace:   opts.namespace(),
		stopTimeout: opts.stopTimeout(),
	}
	if !opts.Headless {
		s.uiURL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(uiPort))
	}
	if err := s.waitReady(ctx); err != nil {
		_ = proc.stop(opts.stopTimeout())
		err = fmt.Errorf("devserver: %s did not become ready: %w; %s", opts.Binary, err, proc.tail)
		if portInUse(strings.Join(proc.tail.lastLines(400), "\n")) {
			return nil, &portError{err}
		}
		return nil, err
	}
	return s, nil
}

func portInUse(stderr string) bool {
	for _, m := range []string{"address already in use", "can't set frontend port", "can't set UI port", "can't use default UI port"} {
		if strings.Contains(stderr, m) {
			return true
		}
	}
	return false
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("devserver: pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Address is the frontend's host:port for client.Options.HostPort.
func (s *Server) Address() string { return s.address }

// UIURL is the web UI's base URL, or "" for a headless server.
func (s *Server) UIURL() string { return s.uiURL }

// Namespace is the namespace the search attributes were verified in.
func (s *Server) Namespace() string { return s.namespace }

// PID is the server's process id.
func (s *Server) PID() int { return s.proc.pid() }

// StartupDuration is how long Start took until the server was ready.
func (s *Server) StartupDuration() time.Duration { return s.startedIn }

// Done is closed when the server process has exited, for whatever reason.
func (s *Server) Done() <-chan struct{} { return s.proc.done }

// Err describes why the server exited on its own (nil while it runs or after
// a clean Stop), quoting the last lines of its stderr.
func (s *Server) Err() error {
	done, err := s.proc.exited()
	if !done {
		return nil
	}
	select {
	case <-s.proc.stopping:
		return nil
	default:
	}
	return fmt.Errorf("devserver: server exited unexpectedly: %w; %s", exitErr(err), s.proc.tail)
}

// Stop ends the server: SIGTERM to its process group, SIGKILL after the stop
// timeout, and a final SIGKILL to the group so nothing it started survives.
// It returns an error if the server had crashed before or had to be killed.
// Safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.proc.stop(s.stopTimeout) })
	return s.stopErr
}

// Kill ends the server at once, as a crash or an OOM kill would: SIGKILL to
// its process group, no graceful stop. A server that has exited already is
// left alone (its number may belong to someone else by now). Stop reaps it
// and reports the kill.
func (s *Server) Kill() error {
	if done, _ := s.proc.exited(); done {
		return nil
	}
	return killGroup(s.proc.pid())
}
