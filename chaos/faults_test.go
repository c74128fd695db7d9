package chaos

import (
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/tradeexec/tradeexec/internal/store"
)

// Fault kinds.
const (
	faultWorkerKill      = "worker SIGKILLed"
	faultTemporalRestart = "Temporal restarted (SIGTERM)"
	faultTemporalKill    = "Temporal SIGKILLed"
	faultBroker503       = "broker 503 storm"
	faultBroker429       = "broker 429 storm"
	faultBrokerTimeout   = "broker accepts, then times out"
	faultBrokerDrop      = "broker drops connections"
	faultDBLock          = "database locked"
	faultDBCrash         = "PostgreSQL crashed (pg_ctl -m immediate)"
	faultLossLimit       = "price crash: daily loss limit"
	faultBreaker         = "price crash: circuit breaker"
	faultDiscordGateway  = "Discord gateway dropped/resumed"
	dupWebhook           = "duplicate webhook deliveries"
	dupDiscord           = "duplicate Discord deliveries"
)

// allFaultKinds are the table's fault rows.
var allFaultKinds = []string{faultWorkerKill, faultTemporalRestart, faultTemporalKill, faultBroker503, faultBroker429,
	faultBrokerTimeout, faultBrokerDrop, faultDBLock, faultDBCrash, faultLossLimit, faultBreaker, faultDiscordGateway}

// faultKinds is the rotation of a run: every kind the database supports
// (SQLite has no server to crash), each at least twice in 30 rounds.
func faultKinds(d store.Dialect) []string {
	out := []string{faultWorkerKill, faultBroker503, faultTemporalKill, faultLossLimit, faultBrokerTimeout, faultDBLock,
		faultTemporalRestart, faultBroker429, faultDiscordGateway, faultBreaker, faultBrokerDrop}
	if d == store.Postgres {
		out = append(out, faultDBCrash)
	}
	return out
}

// inject applies one fault; a price crash returns its scenario's signals.
func (c *cluster) inject(round int, kind string, rnd *rand.Rand) []*sent {
	switch kind {
	case faultWorkerKill:
		c.killWorker()
		time.Sleep(time.Duration(300+rnd.IntN(1500)) * time.Millisecond)
		c.startWorker()
	case faultTemporalRestart:
		c.restartTemporal(time.Duration(rnd.IntN(1000))*time.Millisecond, false)
	case faultTemporalKill:
		c.restartTemporal(time.Duration(500+rnd.IntN(2500))*time.Millisecond, true)
	case faultBroker503:
		c.proxy.storm(http.StatusServiceUnavailable, time.Duration(1500+rnd.IntN(2000))*time.Millisecond)
	case faultBroker429:
		c.proxy.storm(http.StatusTooManyRequests, time.Duration(1500+rnd.IntN(2000))*time.Millisecond)
	case faultBrokerTimeout:
		c.proxy.acceptThenTimeout(1 + rnd.IntN(3))
	case faultBrokerDrop:
		c.proxy.drop(0.3, time.Duration(2000+rnd.IntN(2000))*time.Millisecond)
	case faultDBLock:
		c.dbOutage(time.Duration(2000+rnd.IntN(2000)) * time.Millisecond)
	case faultDBCrash:
		if err := c.pg.crash(time.Duration(500+rnd.IntN(2500)) * time.Millisecond); err != nil {
			c.t.Errorf("round %d: crash PostgreSQL: %v", round, err)
		}
	case faultLossLimit, faultBreaker:
		return c.crashScenario(round, kind, rnd)
	case faultDiscordGateway:
		c.discordFault(rnd)
	}
	return nil
}
