package config

import (
	"fmt"
	"regexp"
)

var egressIDRe = regexp.MustCompile(`^[A-Za-z0-9.:_-]{1,64}$`)

// binanceEgress reads BINANCE_EGRESS_ID: Binance limits request weight per
// IP, and processes that leave from one address share one budget in the
// database. Set it per egress address (e.g. the NAT gateway's IP) when
// replicas leave from different addresses; unset, every process is taken
// to share one (safe, but conservative).
func (l *loader) binanceEgress() {
	v := l.env("BINANCE_EGRESS_ID")
	if v != "" && !egressIDRe.MatchString(v) {
		l.c.add("BINANCE_EGRESS_ID", fmt.Sprintf("invalid value %q (letters, digits, '.', ':', '_', '-'; at most 64)", v))
		return
	}
	l.cfg.BinanceEgressID = v
}
