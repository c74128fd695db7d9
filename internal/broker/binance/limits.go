package binance

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
)

// Rate limits (rest-api.md, "LIMITS"): REQUEST_WEIGHT is counted per IP
// address, not per API key, so every tenant whose requests leave through
// the same address shares one budget; unfilled new orders are counted per
// account. Both are shared budgets (ratelimit.Store: the database across
// replicas) of half the published limit (FR-016). A 429 pauses the budget
// it names for every process (Retry-After); a 418 is an IP ban: nothing is
// sent to that Binance host from this IP until it ends.

// OrderLimitPer10s is Binance's published ORDERS limit per account
// (exchangeInfo rateLimits: ORDERS, SECOND, intervalNum 10).
const OrderLimitPer10s = 100

// WeightRule and OrderRule are the published limits the budgets halve.
var (
	WeightRule = ratelimit.Rule{Limit: WeightLimitPerMinute, Window: time.Minute}
	OrderRule  = ratelimit.Rule{Limit: OrderLimitPer10s, Window: 10 * time.Second}
)

// bannedUntil reads the end of an IP ban from the 418 message ("Way too
// much request weight used; IP banned until 1499827319559. ...", errors.md
// -1003).
var bannedUntil = regexp.MustCompile(`banned until (\d{10,16})`)

// pacer applies the shared budgets of one Factory.
type pacer struct {
	gate   *ratelimit.Gate
	weight ratelimit.Rule
	orders ratelimit.Rule
	egress string
	now    func() time.Time
}

// ipKey names the request-weight budget of this server's address at one
// Binance host (production, testnet and a fake count separately).
func (p *pacer) ipKey(baseURL string) string {
	return Name + ":ip:" + p.egress + "@" + baseURL
}

// wait blocks until a request of weight (and, for new orders, that many
// orders of the account's budget: 1 for an order, 2 for an OCO) may be
// sent.
func (p *pacer) wait(ctx context.Context, c *client, weight, orders int) error {
	costs := []ratelimit.Cost{{Key: c.ipKey, Rule: p.weight, Weight: weight, Local: true}}
	if orders > 0 && c.acctKey != "" {
		costs = append(costs, ratelimit.Cost{Key: c.acctKey, Rule: p.orders, Weight: orders})
	}
	err := p.gate.Wait(ctx, costs...)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ratelimit.ErrBanned):
		var be *ratelimit.BannedError
		errors.As(err, &be)
		return p.banError(be)
	case errors.Is(err, context.Canceled):
		return broker.NewError(Name, broker.KindUnavailable, "request was cancelled", err)
	case errors.Is(err, ratelimit.ErrWaitTooLong), errors.Is(err, context.DeadlineExceeded):
		return broker.NewError(Name, broker.KindRateLimited, "request is queued behind the Binance rate limit and ran out of time", err)
	}
	return broker.NewError(Name, broker.KindUnavailable, "the shared Binance rate limiter is unavailable", err)
}

// banError is the typed answer while Binance bans this server's address:
// RATE_LIMIT_EXCEEDED, retried after the ban, wrapping the
// *ratelimit.BannedError (errors.Is(err, ratelimit.ErrBanned)).
func (p *pacer) banError(be *ratelimit.BannedError) error {
	e := broker.NewError(Name, broker.KindRateLimited,
		fmt.Sprintf("Binance has banned this server's IP address until %s for too many requests (HTTP 418); nothing is sent to Binance until then",
			be.Until.UTC().Format(time.RFC3339)), be)
	e.RetryAfter = max(time.Second, be.Until.Sub(p.now()))
	return e
}

// rateLimited records a 429 for every process: an order-count refusal
// (-1015) pauses the account, any other the IP's weight budget.
func (p *pacer) rateLimited(ctx context.Context, c *client, ae *apiError) {
	key := c.ipKey
	if ae.Code == -1015 && c.acctKey != "" {
		key = c.acctKey
	}
	// A failed write leaves the in-process pause (Gate.Pause sets it
	// first); the next reservation meets the database error itself.
	_ = p.gate.Pause(ctx, key, ae.RetryAfter)
}

// banned records a 418 for every process and returns the typed error. The
// ban lasts Retry-After, or until the time in the message when later.
func (p *pacer) banned(ctx context.Context, c *client, ae *apiError) error {
	until := p.now().Add(ae.RetryAfter)
	if m := bannedUntil.FindStringSubmatch(ae.Msg); m != nil {
		if ms, err := strconv.ParseInt(m[1], 10, 64); err == nil && time.UnixMilli(ms).After(until) {
			until = time.UnixMilli(ms)
		}
	}
	be := &ratelimit.BannedError{Key: c.ipKey, Until: until, Reason: "HTTP 418: " + ae.Msg}
	// Stored for every process; should the write fail, this request still
	// answers the ban and the next one asks Binance again.
	_ = p.gate.Ban(context.WithoutCancel(ctx), c.ipKey, until, be.Reason)
	return p.banError(be)
}

// observe feeds X-MBX-USED-WEIGHT-1M, the weight Binance counted for this
// IP in the current minute (all processes and other users of the address).
func (p *pacer) observe(ctx context.Context, c *client, used int) {
	_ = p.gate.ObserveUsedWeight(ctx, c.ipKey, used, p.weight.Limit, time.Minute)
}
