// Package market knows when orders can reach a market: the NYSE trading
// calendar (full-day closures and 1:00pm ET early closes), regular and
// extended sessions, the next open for an asset class, and the trader-facing
// "order queued" wording.
//
// The package is pure: no I/O, no clock reads (the caller passes "now"), no
// goroutines and no mutable package state, so workflow code may call it.
// Every returned time is in UTC; the calendar itself is reasoned about in
// America/New_York (tzdata is embedded so minimal containers work).
package market
