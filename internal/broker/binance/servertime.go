package binance

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Signed requests carry timestamp, which Binance accepts only within
// recvWindow of its own clock (rest-api.md, "Timing security"); otherwise
// it answers -1021 INVALID_TIMESTAMP. On -1021 the adapter reads the server
// time (GET /api/v3/time), keeps the offset for every adapter of the
// Factory talking to that host, and retries the request once, signed with
// local time + offset. -1021 is decided before the request reaches the
// matching engine, so resending an order after it is safe.

const weightTime = 1

// serverClock is the offset of one Binance host's clock from ours.
type serverClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (s *serverClock) get() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offset
}

func (s *serverClock) set(d time.Duration) {
	s.mu.Lock()
	s.offset = d
	s.mu.Unlock()
}

type wireServerTime struct {
	ServerTime int64 `json:"serverTime"`
}

// serverTime is GET /api/v3/time.
func (c *client) serverTime(ctx context.Context) (wireServerTime, error) {
	var out wireServerTime
	err := c.call(ctx, http.MethodGet, "/api/v3/time", url.Values{}, false, weightTime, &out)
	return out, err
}

// syncClock measures the host's clock against ours (the server time is
// taken as read half-way through the round trip) and keeps the offset.
func (c *client) syncClock(ctx context.Context) error {
	t0 := c.now()
	st, err := c.serverTime(ctx)
	if err != nil {
		return err
	}
	t1 := c.now()
	mid := t0.Add(t1.Sub(t0) / 2)
	c.clock.set(time.UnixMilli(st.ServerTime).Sub(mid))
	return nil
}

// timestamp is the signed requests' timestamp: local time + offset.
func (c *client) timestamp() int64 {
	return c.now().Add(c.clock.get()).UnixMilli()
}
