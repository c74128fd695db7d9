package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

var indexedValueTypes = map[string]enumspb.IndexedValueType{
	"Text":        enumspb.INDEXED_VALUE_TYPE_TEXT,
	"Keyword":     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"Int":         enumspb.INDEXED_VALUE_TYPE_INT,
	"Double":      enumspb.INDEXED_VALUE_TYPE_DOUBLE,
	"Bool":        enumspb.INDEXED_VALUE_TYPE_BOOL,
	"Datetime":    enumspb.INDEXED_VALUE_TYPE_DATETIME,
	"KeywordList": enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}

const pollInterval = 50 * time.Millisecond

// waitReady waits until the CLI reports its listeners bound, then polls until
// the frontend is healthy, the search attributes are registered (adding the
// missing ones) and, unless headless, the UI answers HTTP. It returns early
// if the child exits or ctx ends; the error says which step was pending.
func (s *Server) waitReady(ctx context.Context) error {
	select {
	case <-s.proc.banner.seen:
	case <-s.proc.done:
		return fmt.Errorf("server exited during start-up (before it reported its listeners): %w", exitErr(s.proc.err))
	case <-ctx.Done():
		return fmt.Errorf(`waiting for the "Server:" line on stdout: %w`, ctx.Err())
	}
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := s.retry(ctx, "frontend health check", func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}); err != nil {
		return err
	}
	added := false
	if err := s.retry(ctx, "search attributes", func(ctx context.Context) error {
		missing, err := missingSearchAttributes(ctx, c, s.namespace)
		if err != nil || len(missing) == 0 {
			return err
		}
		if !added {
			_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
				Namespace: s.namespace, SearchAttributes: missing,
			})
			if err != nil {
				return fmt.Errorf("register %v: %w", keys(missing), err)
			}
			added = true
		}
		return fmt.Errorf("not yet visible: %v", keys(missing))
	}); err != nil {
		return err
	}
	if s.uiURL == "" {
		return nil
	}
	return s.retry(ctx, "web UI at "+s.uiURL, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.uiURL, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	})
}

// dial connects a client, retrying while the server is still coming up.
func (s *Server) dial(ctx context.Context) (client.Client, error) {
	var c client.Client
	err := s.retry(ctx, "connect to frontend "+s.address, func(ctx context.Context) error {
		var err error
		c, err = client.DialContext(ctx, client.Options{
			HostPort:  s.address,
			Namespace: s.namespace,
			Logger:    quietLogger(),
		})
		return err
	})
	return c, err
}

// retry runs step until it succeeds, the child exits or ctx ends.
func (s *Server) retry(ctx context.Context, what string, step func(context.Context) error) error {
	var last error
	for {
		if done, err := s.proc.exited(); done {
			return fmt.Errorf("server exited during start-up (%s pending): %w", what, exitErr(err))
		}
		attemptCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = step(attemptCtx)
		cancel()
		if last == nil {
			return nil
		}
		var pe *permanentError
		if errors.As(last, &pe) {
			return fmt.Errorf("%s: %w", what, pe.err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), last)
		case <-s.proc.done:
		case <-time.After(pollInterval):
		}
	}
}

// missingSearchAttributes lists the tradeexec search attributes the namespace
// lacks. A name registered with another type is a hard error.
func missingSearchAttributes(ctx context.Context, c client.Client, ns string) (map[string]enumspb.IndexedValueType, error) {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return nil, err
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, sa := range SearchAttributes {
		want, ok := indexedValueTypes[sa.Type]
		if !ok {
			return nil, fmt.Errorf("search attribute %s: unknown type %q", sa.Name, sa.Type)
		}
		got, ok := resp.GetCustomAttributes()[sa.Name]
		switch {
		case !ok:
			missing[sa.Name] = want
		case got != want:
			return nil, &permanentError{fmt.Errorf("search attribute %s is registered as %s, want %s", sa.Name, got, want)}
		}
	}
	return missing, nil
}

func keys(m map[string]enumspb.IndexedValueType) []string {
	out := make([]string, 0, len(m))
	for _, sa := range SearchAttributes {
		if _, ok := m[sa.Name]; ok {
			out = append(out, sa.Name)
		}
	}
	return out
}

// permanentError stops a retry loop at once.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// quietLogger keeps the SDK's own log lines (e.g. "No logger configured")
// out of the readiness loop.
func quietLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func exitErr(err error) error {
	if err == nil {
		return errors.New("exited with status 0")
	}
	return err
}
