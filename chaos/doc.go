// Package chaos is the chaos suite of the trade path (`make chaos`, run by
// CI): 30 rounds per database, on SQLite and on a PostgreSQL cluster the
// suite starts for itself (initdb + pg_ctl on its own port), against the
// real Temporal dev server, a worker in its own process, the real Discord
// bot on a fake Discord, and the Alpaca fake behind a fault-injecting
// proxy. Each round delivers webhooks and a channel message one to three
// times while prices move, and injects faults: the worker SIGKILLed, the
// Temporal server restarted or SIGKILLed, PostgreSQL crashed (`pg_ctl stop
// -m immediate`) or the database locked, broker 503/429 storms, orders
// accepted then unanswered, dropped connections, the Discord gateway cut,
// and price crashes that must trip a risk trader's daily loss limit or
// circuit breaker.
//
// After every round, and again after a drain at the end, it checks the
// invariants against the database and the fake broker's own order book;
// every violation fails the run at once with its round: one trade per
// signal per trader and one entry order per trade, client order ids once,
// at most one working stop per position, positions equal to the sum of
// the fills, no fill above the max position, no negative cash, every
// accepted signal's trade stored and ended (or its start request or
// workflow alive), loss rules that fire and refuse, audit chains intact,
// no event lost for a connected WebSocket client, and every webhook
// answered 202 or 503. It also fails a run that did no work (nothing
// accepted or filled, no fault served, a loss rule never reached).
// The suite is the test files of this package; this file only documents it.
package chaos
