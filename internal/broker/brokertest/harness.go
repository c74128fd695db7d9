// Package brokertest is the conformance suite every broker adapter (and the
// paper broker) passes, run against a local fake server that speaks that
// broker's real wire format. Each adapter package provides a Harness over its
// fake and calls brokertest.Run from a test.
package brokertest

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Harness drives one adapter and its fake. All methods are called from the
// test goroutine; the fake itself serves HTTP on 127.0.0.1.
type Harness interface {
	// Caps describes what the adapter trades in the suite.
	Caps() Caps
	// NewAccount creates a fresh account at the fake holding cash (in the
	// quote currency of Caps.Symbol) and returns an adapter for it, built the
	// way production builds it (factory + credentials), pointed at the fake.
	NewAccount(t *testing.T, cash decimal.Decimal) broker.Broker
	// NewAccountBadCredentials returns an adapter whose credentials the fake
	// refuses (wrong key / bad signature / expired token).
	NewAccountBadCredentials(t *testing.T) broker.Broker
	// SetPrice sets the fake's current price of a canonical symbol.
	SetPrice(t *testing.T, symbol string, price decimal.Decimal)
	// FailNext makes the next n order submissions fail with the broker's real
	// 5xx response (503 or what that broker sends).
	FailNext(t *testing.T, n int)
	// DropNextResponse makes the fake accept the next order submission and
	// then drop the HTTP response (close the connection without answering).
	DropNextResponse(t *testing.T)
	// RateLimitNext makes the next n requests get the broker's real
	// rate-limit response (429 / 418 with Retry-After or weight headers).
	RateLimitNext(t *testing.T, n int)
	// OrderCount is how many orders the fake has created for the most
	// recently created account.
	OrderCount(t *testing.T) int
	// SetHalted halts (true) or resumes (false) trading in a canonical
	// symbol at the fake: while halted, the fake answers orders for it the
	// way that broker answers an order for a halted (suspended, paused,
	// not currently tradable) instrument.
	SetHalted(t *testing.T, symbol string, halted bool)
}

// Caps describes an adapter for the suite.
type Caps struct {
	Name       string            // broker type, e.g. "alpaca"
	AssetClass signal.AssetClass // what the suite trades
	Symbol     string            // canonical symbol the fake knows, e.g. "AAPL", "BTC-USD"
	Price      decimal.Decimal   // a sensible price for Symbol
	// Quantity is a valid order size for Symbol (fractional for crypto).
	Quantity decimal.Decimal
	// UnnormalisedQuantity, when set, has more decimals than the exchange's
	// step size allows; the adapter must round it down to the step instead of
	// letting the exchange reject it for precision.
	UnnormalisedQuantity decimal.Decimal
	// InvalidSymbol is a canonical-looking symbol the fake does not list.
	InvalidSymbol string
	// UnknownOrderID, when set, is a well-formed broker order id the fake
	// does not know (numeric for brokers with numeric ids). Default: a UUID.
	UnknownOrderID string
	// NoRemoteRateLimit marks an adapter with no remote API (paper): its
	// RateLimitNext may be a no-op and the suite does not require a wait.
	NoRemoteRateLimit bool
	// ExitPair marks an adapter that implements broker.ExitPairPlacer (the
	// broker has a native one-cancels-other pair); the suite then runs the
	// ExitPair subtests and fails when the adapter does not implement it,
	// and fails an adapter that implements it without saying so here.
	ExitPair bool
}
