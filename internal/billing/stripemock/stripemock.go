// Package stripemock runs Stripe's own API fake, stripe-mock (pinned in the
// Makefile and installed into bin/ like the Temporal CLI), for tests and
// `tradeexec dev` with BILLING_PROVIDER=stripe. It answers with Stripe's
// OpenAPI fixtures and validates every request against Stripe's published
// OpenAPI spec, so a wrong parameter name fails here as it would at Stripe.
package stripemock

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// BinaryEnv overrides where the binary is found.
const BinaryEnv = "STRIPE_MOCK"

// ErrNotFound: stripe-mock is not installed (`make bin/stripe-mock`).
var ErrNotFound = errors.New("stripe-mock not found")

// FindBinary returns $STRIPE_MOCK or bin/stripe-mock in the module root.
func FindBinary() (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		if _, err := os.Stat(p); err != nil { // #nosec G703 -- the operator's own path
			return "", fmt.Errorf("%w: %s=%s: %v", ErrNotFound, BinaryEnv, p, err)
		}
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "bin", "stripe-mock")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("%w at %s: run `make bin/stripe-mock` (or set %s)", ErrNotFound, p, BinaryEnv)
			}
			return p, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("%w: no go.mod above %s", ErrNotFound, wd)
		}
	}
}

// Server is a running stripe-mock.
type Server struct {
	URL string
	cmd *exec.Cmd
}

// Start runs stripe-mock on a free loopback port and waits until it
// answers.
func Start() (*Server, error) {
	bin, err := FindBinary()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "-http-addr", addr) // #nosec G204 -- our pinned binary
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("stripemock: start: %w", err)
	}
	s := &Server{URL: "http://" + addr, cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/customers", nil)
		req.SetBasicAuth("sk_test_ready", "")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("stripemock: not answering at %s: %w", s.URL, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the process.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_, _ = s.cmd.Process.Wait()
	}
}
