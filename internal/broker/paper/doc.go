// Package paper is the built-in paper-trading broker: simulated accounts that
// trade US stocks and crypto pairs against a pluggable price feed, with the
// behaviour of a real broker — market orders fill at the current price,
// limit, stop, stop-limit and trailing-stop orders fill when the price
// crosses, fills can be partial, and cash and positions move exactly
// (decimal arithmetic).
//
// An Engine holds every paper account. Account state lives in a Store
// (MemoryStore, or GormStore on the shared database) and every change is an
// atomic read-modify-write, so several worker processes can share accounts
// and state survives restarts. Engine.Broker returns the broker.Broker for
// one account; Factory plugs the engine into a broker.Registry.
//
// Working orders are matched by Engine.Run (every 250 ms by default) and
// opportunistically whenever an account is read through its Broker.
//
// Accounting model: longs are paid in cash (no margin on longs); US stocks
// may be sold short under Reg T initial margin (150% of the short market
// value is held against cash, which includes the short-sale proceeds).
// Crypto cannot be sold short. A sell while long (or a buy while short) can
// only reduce the position; flipping sides takes two orders.
package paper
