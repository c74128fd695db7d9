// Package httpx holds what every REST broker adapter does the same way: a
// client with the 10-second timeout (SPEC assumption 2), the rate-limit wait
// before each request, honouring 429/418 with Retry-After by waiting and
// sending again, bounded retries of reads (never of order submissions),
// mapping of 5xx, timeouts and dropped connections to broker.KindUnavailable,
// and JSON decoding of bounded bodies.
package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/metrics"
	"github.com/tradeexec/tradeexec/internal/tracing"
)

// DefaultTimeout bounds one HTTP exchange with a broker.
const DefaultTimeout = 10 * time.Second

// MaxBodyBytes bounds how much of a response body is read.
const MaxBodyBytes = 8 << 20

// DefaultRetryAfter is the pause after a rate-limit answer that names no wait.
const DefaultRetryAfter = time.Second

// NewClient returns an HTTP client for broker APIs: 10 s overall timeout,
// its own connection pool.
func NewClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	tr.ResponseHeaderTimeout = DefaultTimeout
	return &http.Client{Timeout: DefaultTimeout, Transport: tr}
}

// Request is one call to a broker.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte // nil for none
	// Weight is the request's cost for weight-based exchanges (default 1).
	Weight int
	// Read marks a request without side effects: it is retried on
	// UNAVAILABLE. Order submissions and cancels are never retried here; the
	// workflow retries them with the same client order id.
	Read bool
}

// Response is a broker answer that was neither a 5xx nor a rate limit.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Doer sends requests for one credential.
type Doer struct {
	Broker  string       // broker type, for errors
	Client  *http.Client // NewClient() when nil
	Limiter *ratelimit.Limiter
	Key     string // limiter key (hash of the credential)
	// RateLimited reports whether a response is the broker's rate-limit
	// answer and how long to wait. Default: HTTP 429 and 418 with
	// Retry-After (DefaultRetryAfter when absent).
	RateLimited func(r *Response, now time.Time) (time.Duration, bool)
	// Observe sees every response's headers (used-weight headers).
	Observe func(h http.Header)
	// MaxRateLimitWaits bounds how often one request waits out a rate limit
	// (default 5) before it fails with RATE_LIMIT_EXCEEDED.
	MaxRateLimitWaits int
	// ReadRetries is how often a Read request is retried on UNAVAILABLE
	// (default 2), with Backoff doubling (default 200 ms).
	ReadRetries int
	Backoff     time.Duration
	// Now and Sleep default to the wall clock.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Do sends req, waiting for the rate limiter first. It returns the response
// for any status other than 5xx and rate limits (the adapter maps 4xx bodies),
// or a *broker.Error of kind UNAVAILABLE (5xx, timeout, dropped connection,
// cancelled context) or RATE_LIMIT_EXCEEDED (still limited after the waits).
func (d *Doer) Do(ctx context.Context, req Request) (*Response, error) {
	readRetries := d.ReadRetries
	if readRetries == 0 {
		readRetries = 2
	}
	if !req.Read {
		readRetries = 0
	}
	backoff := d.Backoff
	if backoff == 0 {
		backoff = 200 * time.Millisecond
	}
	for attempt := 0; ; attempt++ {
		resp, err := d.doRateLimited(ctx, req)
		if err == nil || attempt >= readRetries || broker.KindOf(err) != broker.KindUnavailable || ctx.Err() != nil {
			return resp, err
		}
		if serr := d.sleep(ctx, backoff<<attempt); serr != nil {
			return nil, err
		}
	}
}

func (d *Doer) doRateLimited(ctx context.Context, req Request) (*Response, error) {
	maxWaits := d.MaxRateLimitWaits
	if maxWaits == 0 {
		maxWaits = 5
	}
	for waits := 0; ; waits++ {
		if d.Limiter != nil {
			waitStart := time.Now()
			err := d.Limiter.WaitN(ctx, d.Key, max(req.Weight, 1))
			if waited := time.Since(waitStart); waited >= minCountedWait {
				reason := metrics.WaitBudget
				if waits > 0 {
					reason = metrics.WaitRetryAfter // the pause a 429 set
				}
				metrics.RateLimitWait(d.Broker, reason, waited)
			}
			if err != nil {
				if errors.Is(err, context.Canceled) {
					return nil, broker.NewError(d.Broker, broker.KindUnavailable, "request was cancelled", err)
				}
				return nil, broker.NewError(d.Broker, broker.KindRateLimited, "request is queued behind the broker's rate limit and ran out of time", err)
			}
		}
		resp, err := d.once(ctx, req)
		if err != nil {
			return nil, err
		}
		if d.Observe != nil {
			d.Observe(resp.Header)
		}
		wait, limited := d.rateLimited(resp)
		if !limited {
			if resp.Status >= 500 {
				return nil, broker.NewError(d.Broker, broker.KindUnavailable,
					fmt.Sprintf("broker is temporarily unavailable (HTTP %d)", resp.Status), nil)
			}
			return resp, nil
		}
		if d.Limiter != nil {
			d.Limiter.Pause(d.Key, wait)
		}
		if waits >= maxWaits {
			e := broker.NewError(d.Broker, broker.KindRateLimited, "broker rate limit still exceeded after waiting", nil)
			e.RetryAfter = wait
			return nil, e
		}
		if d.Limiter == nil {
			metrics.RateLimitWait(d.Broker, metrics.WaitRetryAfter, wait)
			if err := d.sleep(ctx, wait); err != nil {
				return nil, broker.NewError(d.Broker, broker.KindRateLimited, "request is queued behind the broker's rate limit and ran out of time", err)
			}
		}
	}
}

// minCountedWait: a limiter wait shorter than this is no wait.
const minCountedWait = time.Millisecond

// once is one HTTP exchange: a client span (broker, method, host, status;
// never the path or query, which can hold account ids and signatures) and
// the latency histogram by broker and outcome. No trace header is sent to
// the broker.
func (d *Doer) once(ctx context.Context, req Request) (resp *Response, err error) {
	ctx, span := tracing.Tracer().Start(ctx, "broker "+req.Method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("broker", d.Broker), attribute.String("http.request.method", req.Method),
			attribute.String("server.address", hostOf(req.URL))))
	start := time.Now()
	defer func() {
		status := 0
		if resp != nil {
			status = resp.Status
			span.SetAttributes(attribute.Int("http.response.status_code", status))
		}
		limited := false
		if resp != nil {
			_, limited = d.rateLimited(resp)
		}
		metrics.BrokerRequest(d.Broker, status, limited, time.Since(start))
		if err != nil || status >= 500 {
			span.SetStatus(codes.Error, "")
			if err != nil {
				span.SetAttributes(attribute.String("error.type", string(broker.KindOf(err))))
			}
		}
		span.End()
	}()
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return nil, fmt.Errorf("%s: build request: %w", d.Broker, err)
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	if req.Body != nil && hr.Header.Get("Content-Type") == "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	client := d.Client
	if client == nil {
		client = defaultClient
	}
	hresp, err := client.Do(hr)
	if err != nil {
		return nil, TransportError(d.Broker, err)
	}
	defer hresp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(hresp.Body, MaxBodyBytes))
	if err != nil {
		return nil, TransportError(d.Broker, err)
	}
	return &Response{Status: hresp.StatusCode, Header: hresp.Header, Body: b}, nil
}

func (d *Doer) rateLimited(r *Response) (time.Duration, bool) {
	if d.RateLimited != nil {
		return d.RateLimited(r, d.now())
	}
	if r.Status != http.StatusTooManyRequests && r.Status != http.StatusTeapot {
		return 0, false
	}
	if w, ok := RetryAfter(r.Header, d.now()); ok {
		return w, true
	}
	return DefaultRetryAfter, true
}

func (d *Doer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Doer) sleep(ctx context.Context, dur time.Duration) error {
	if d.Sleep != nil {
		return d.Sleep(ctx, dur)
	}
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var defaultClient = NewClient()

// hostOf is the host of a request URL ("" when unreadable).
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// RetryAfter parses a Retry-After header: delay-seconds (integer or decimal)
// or an HTTP-date. ok is false when the header is absent or unreadable; a
// date in the past yields 0.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// TransportError maps a failed HTTP exchange (timeout, refused or dropped
// connection, cancelled context) to UNAVAILABLE. The URL is reduced to
// scheme, host and path so query signatures never reach logs.
func TransportError(brokerName string, err error) *broker.Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery, u.User, u.Fragment = "", nil, ""
			err = &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	msg := "broker connection failed"
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		msg = "request was cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		msg = "broker did not answer in time"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		msg = "broker closed the connection without answering"
	}
	return broker.NewError(brokerName, broker.KindUnavailable, msg, err)
}

// DecodeJSON decodes a response body; an unreadable body is UNAVAILABLE (a
// garbled answer is treated like no answer).
func DecodeJSON(brokerName string, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return broker.NewError(brokerName, broker.KindUnavailable, "broker sent an unreadable response", err)
	}
	return nil
}
