package chaos

import (
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"testing"
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

// faultIDs name the kinds for CHAOS_FAULTS.
var faultIDs = map[string]string{
	"worker-kill": faultWorkerKill, "temporal-restart": faultTemporalRestart, "temporal-kill": faultTemporalKill,
	"broker-503": faultBroker503, "broker-429": faultBroker429, "broker-timeout": faultBrokerTimeout, "broker-drop": faultBrokerDrop,
	"db-lock": faultDBLock, "db-crash": faultDBCrash, "crash-limit": faultLossLimit, "crash-breaker": faultBreaker,
	"discord": faultDiscordGateway,
}

// faultKinds is the rotation of a run: every kind the database supports
// (SQLite has no server to crash), each at least twice in 30 rounds;
// CHAOS_FAULTS (comma-separated ids of faultIDs) narrows it to reproduce
// one kind.
func faultKinds(t *testing.T, d store.Dialect) []string {
	if spec := os.Getenv("CHAOS_FAULTS"); spec != "" {
		var out []string
		for _, id := range strings.Split(spec, ",") {
			k, ok := faultIDs[strings.TrimSpace(id)]
			if !ok {
				t.Fatalf("CHAOS_FAULTS: unknown fault %q", id)
			}
			if k == faultDBCrash && d != store.Postgres {
				continue
			}
			out = append(out, k)
		}
		if len(out) == 0 {
			t.Fatalf("CHAOS_FAULTS=%s: no fault applies to %s", spec, d)
		}
		return out
	}
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
		// One database fault at a time: a lock cannot be taken on a
		// server that is down.
		c.dbmu.Lock()
		defer c.dbmu.Unlock()
		c.dbOutage(time.Duration(2000+rnd.IntN(2000)) * time.Millisecond)
	case faultDBCrash:
		c.dbmu.Lock()
		defer c.dbmu.Unlock()
		if err := c.pg.crash(time.Duration(500+rnd.IntN(2500)) * time.Millisecond); err != nil {
			c.t.Errorf("round %d: crash PostgreSQL: %v", round, err)
		}
	case faultLossLimit, faultBreaker:
		return c.runCrash(round, kind, rnd)
	case faultDiscordGateway:
		c.discordFault(rnd)
	}
	return nil
}
