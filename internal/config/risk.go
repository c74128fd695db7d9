package config

import (
	"fmt"
	"time"
)

// DefaultGuardPoll is how often the account guard looks at each broker
// account between fills (RISK_GUARD_POLL).
const DefaultGuardPoll = 30 * time.Second

// risk reads RISK_GUARD_POLL: the account guard's interval between checks
// of an account (daily loss limit, circuit breaker, balance sync), 1s–10m.
func (l *loader) risk() {
	l.cfg.GuardPoll = DefaultGuardPoll
	raw := l.env("RISK_GUARD_POLL")
	if raw == "" {
		return
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d < time.Second || d > 10*time.Minute {
		l.c.add("RISK_GUARD_POLL", fmt.Sprintf("invalid duration %q (e.g. 30s; between 1s and 10m)", raw))
		return
	}
	l.cfg.GuardPoll = d
}
