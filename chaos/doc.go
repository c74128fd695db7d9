// Package chaos is the chaos suite of the trade path (`make chaos`, run by
// CI): against the real Temporal dev server, the real database (SQLite, and
// PostgreSQL when TEST_DATABASE_URL is set), a worker in its own process
// and the Alpaca fake behind a fault-injecting proxy, it repeatedly kills
// and restarts the worker at random points, restarts the Temporal server,
// makes the broker answer 503 and 429 storms, accept orders and then time
// out, or drop connections, delivers every webhook and Discord message
// several times, and stops the database for a few seconds. After each round
// it checks the invariants: at most one order per signal per trader, no
// exposure above the traders' limits, every trade terminal or resumable,
// every audit chain intact, no event lost for a connected WebSocket client.
// The suite is the test files of this package; this file only documents it.
package chaos
