// Package risk holds the trade-path risk rules as pure functions: position
// sizing with the max-position rule (FR-005), buying power and exposure
// reservation (invariant 2), stop-loss prices (FR-007), and the daily loss
// limit and circuit breaker (FR-006, US-006).
//
// Money, prices and quantities are decimal.Decimal; nothing here reads a
// clock, does I/O, starts goroutines or keeps mutable state, so workflow code
// may import it. A rule that refuses returns a *Rejection whose Message is
// trader-facing; every trader-facing sentence lives in messages.go.
package risk
