// Package gcpolicy sets the Go garbage collector's policy of a tradeexec
// process: its target (GOGC) and its soft memory limit (GOMEMLIMIT).
//
// The trade path allocates briefly and a lot (SQL rows, JSON, Temporal
// payloads) over a small live heap (~40 MB in a worker at a 1,000-follower
// fan-out), so at the runtime's default GOGC of 100 the collector ran
// every few hundred milliseconds and was a sixth of the worker's CPU. At
// DefaultPercent the heap may grow to five times the live heap before a
// collection (~200 MB there); the soft limit, taken from the container's
// memory limit, makes the collector work harder before the process comes
// near it, so a larger target never costs an out-of-memory kill.
package gcpolicy

import (
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// DefaultPercent is the collector's target when GOGC is not set.
const DefaultPercent = 400

// LimitRatio is the share of the container's memory limit (cgroup) used
// as the soft memory limit when GOMEMLIMIT is not set (AUTOMEMLIMIT, a
// ratio in (0,1], or off, overrides it: automemlimit's own variable).
const LimitRatio = 0.9

// Policy is what Apply left in force.
type Policy struct {
	// Percent is the collector's target (-1: off); PercentFrom says where
	// it came from: "GOGC" or "default".
	Percent     int
	PercentFrom string
	// MemoryLimit is the soft limit in bytes (math.MaxInt64: none);
	// LimitFrom: "GOMEMLIMIT", "container" or "none".
	MemoryLimit int64
	LimitFrom   string
}

// Apply sets the policy: GOGC when set (the runtime has read it; Apply
// only checks it), else DefaultPercent; GOMEMLIMIT when set, else
// LimitRatio of the container's memory limit read by provider
// (memlimit.FromCgroup in the processes; nil means that one), else none.
// getenv reads the environment (os.LookupEnv).
func Apply(getenv func(string) (string, bool), provider memlimit.Provider) (Policy, error) {
	var p Policy
	if v, ok := getenv("GOGC"); ok && v != "" {
		n, err := parsePercent(v)
		if err != nil {
			return p, err
		}
		p.Percent, p.PercentFrom = n, "GOGC"
	} else {
		debug.SetGCPercent(DefaultPercent)
		p.Percent, p.PercentFrom = DefaultPercent, "default"
	}

	if provider == nil {
		provider = memlimit.FromCgroup
	}
	_, limitSet := getenv("GOMEMLIMIT")
	limit, err := memlimit.Set(memlimit.WithRatio(LimitRatio), memlimit.WithProvider(provider))
	switch {
	case limitSet:
		p.LimitFrom = "GOMEMLIMIT"
	case err != nil && hasAuto(getenv):
		return p, fmt.Errorf("AUTOMEMLIMIT: %w (a ratio of the container's memory limit in (0,1], or off)", err)
	case err != nil:
		// No container limit to read (not in a cgroup, or no memory
		// controller): no soft limit, as without this package.
		p.LimitFrom = "none"
		limit = debug.SetMemoryLimit(-1)
	case limit == math.MaxInt64:
		p.LimitFrom = "none"
	default:
		p.LimitFrom = "container"
	}
	p.MemoryLimit = limit
	return p, nil
}

func hasAuto(getenv func(string) (string, bool)) bool {
	v, ok := getenv("AUTOMEMLIMIT")
	return ok && v != "off"
}

// parsePercent checks GOGC as the runtime reads it (a number or off), which
// otherwise takes anything else for 100 without a word.
func parsePercent(v string) (int, error) {
	if strings.EqualFold(v, "off") {
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("GOGC: invalid value %q (a percentage such as %d, or off)", v, DefaultPercent)
	}
	return n, nil
}

// String is the policy for a log line or a bench header.
func (p Policy) String() string {
	pct := "off"
	if p.Percent >= 0 {
		pct = strconv.Itoa(p.Percent)
	}
	lim := "none"
	if p.MemoryLimit != math.MaxInt64 {
		lim = fmt.Sprintf("%d MiB", p.MemoryLimit>>20)
	}
	return fmt.Sprintf("GOGC %s (%s), soft memory limit %s (%s)", pct, p.PercentFrom, lim, p.LimitFrom)
}
