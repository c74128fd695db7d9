package brokertest

import (
	"net/http"
	"sync"
)

// Faults holds a fake's armed faults (what Harness.FailNext,
// DropNextResponse and RateLimitNext switch on). Safe for concurrent use; the
// zero value has nothing armed.
type Faults struct {
	mu        sync.Mutex
	fail      int
	drop      int
	rateLimit int
}

// FailNext arms the next n order submissions to fail with a 5xx.
func (f *Faults) FailNext(n int) { f.mu.Lock(); f.fail += n; f.mu.Unlock() }

// DropNext arms the next order submission to be accepted and its response dropped.
func (f *Faults) DropNext() { f.mu.Lock(); f.drop++; f.mu.Unlock() }

// RateLimitNext arms the next n requests to get a rate-limit answer.
func (f *Faults) RateLimitNext(n int) { f.mu.Lock(); f.rateLimit += n; f.mu.Unlock() }

// TakeFail reports (and consumes) an armed 5xx for an order submission.
func (f *Faults) TakeFail() bool { return f.take(&f.fail) }

// TakeDrop reports (and consumes) an armed dropped response.
func (f *Faults) TakeDrop() bool { return f.take(&f.drop) }

// TakeRateLimit reports (and consumes) an armed rate-limit answer.
func (f *Faults) TakeRateLimit() bool { return f.take(&f.rateLimit) }

func (f *Faults) take(n *int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *n > 0 {
		*n--
		return true
	}
	return false
}

// DropConnection closes the client connection without writing a response,
// as a broker does when its response is lost after it accepted the order.
// The handler must not write anything before or after.
func DropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// HTTP/2 or an already hijacked writer: net/http aborts the response
	// without answering when a handler panics with ErrAbortHandler.
	panic(http.ErrAbortHandler)
}
