package chaos

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Violation kinds: each is a column of the table that must read 0.
const (
	vDuplicate = "duplicates"
	vBreach    = "limit breaches"
	vLost      = "lost signals"
	vUnended   = "trades left unfinished"
	vBook      = "broker book mismatches"
	vRisk      = "risk rules not enforced"
	vAudit     = "audit chains broken"
	vEvents    = "events lost"
	vAnswer    = "bad webhook answers"
)

var violationKinds = []string{vDuplicate, vBreach, vLost, vUnended, vBook, vRisk, vAudit, vEvents, vAnswer}

// violations records each invariant violation once (by key), with the
// round it was first seen in, and fails the test at that moment: a
// duplicate or breach in round k fails the run even when a later exit
// closes it.
type violations struct {
	t      errorReporter
	mu     sync.Mutex
	seen   map[string]bool
	byKind map[string]int
	notes  []string
}

// errorReporter is where a violation fails the run (the test's
// *testing.T; a recorder in the checks' own tests).
type errorReporter interface {
	Errorf(format string, args ...any)
}

func newViolations(t errorReporter) *violations {
	return &violations{t: t, seen: map[string]bool{}, byKind: map[string]int{}}
}

// add records a violation of kind identified by key (the same key is
// reported once, in the first round that sees it).
func (v *violations) add(round int, kind, key, format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen[kind+"|"+key] {
		return
	}
	v.seen[kind+"|"+key] = true
	v.byKind[kind]++
	msg := fmt.Sprintf("round %s: %s: %s", roundName(round), kind, fmt.Sprintf(format, args...))
	if len(v.notes) < 40 {
		v.notes = append(v.notes, msg)
	}
	v.t.Errorf("%s", msg)
}

func (v *violations) count(kind string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.byKind[kind]
}

func (v *violations) list() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.notes...)
}

// finalRound numbers the checks after the drain.
const finalRound = -1

func roundName(r int) string {
	if r == finalRound {
		return "end"
	}
	return strconv.Itoa(r)
}

// report is what a run did and found.
type report struct {
	Database string
	Rounds   int
	Faults   map[string]int
	// Work done (each must be > 0 on a full run).
	Signals, Accepted, NotAccepted int
	ChannelPosted, ChannelFired    int
	Trades, Filled, Rejected       int
	Cancelled                      int
	EntryOrders, BrokerFills       int
	StopsExecuted                  int
	DailyLimits, Breakers          int
	BrokerFaults, Workers          int
	PriceMoves                     int
	Reconnects                     int
	Violations                     map[string]int
	Notes                          []string
}

// renderTable prints the summary of every run: one line per column (the
// table is tall), a value per database.
func renderTable(reports []*report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nchaos suite — invariants checked after every round and after the drain\n\n")
	type row struct {
		name string
		val  func(r *report) string
	}
	num := func(f func(r *report) int) func(r *report) string {
		return func(r *report) string { return strconv.Itoa(f(r)) }
	}
	rows := []row{
		{"rounds", num(func(r *report) int { return r.Rounds })},
		{"signals sent", num(func(r *report) int { return r.Signals })},
		{"  accepted (202 / fired)", num(func(r *report) int { return r.Accepted })},
		{"  not accepted (503 / not logged)", num(func(r *report) int { return r.NotAccepted })},
		{"  Discord channel messages fired/posted", func(r *report) string {
			return fmt.Sprintf("%d/%d", r.ChannelFired, r.ChannelPosted)
		}},
		{"trades", num(func(r *report) int { return r.Trades })},
		{"  filled / rejected / cancelled", func(r *report) string {
			return fmt.Sprintf("%d/%d/%d", r.Filled, r.Rejected, r.Cancelled)
		}},
		{"entry orders at the broker", num(func(r *report) int { return r.EntryOrders })},
		{"orders filled at the broker", num(func(r *report) int { return r.BrokerFills })},
		{"stop-losses executed", num(func(r *report) int { return r.StopsExecuted })},
		{"daily loss limits reached", num(func(r *report) int { return r.DailyLimits })},
		{"circuit breakers tripped", num(func(r *report) int { return r.Breakers })},
		{"price moves", num(func(r *report) int { return r.PriceMoves })},
	}
	kinds := append(append([]string{}, allFaultKinds...), dupWebhook, dupDiscord)
	for _, k := range kinds {
		rows = append(rows, row{"fault: " + k, num(func(r *report) int { return r.Faults[k] })})
	}
	rows = append(rows,
		row{"broker requests faulted", num(func(r *report) int { return r.BrokerFaults })},
		row{"worker processes", num(func(r *report) int { return r.Workers })},
		row{"ws reconnects", num(func(r *report) int { return r.Reconnects })},
	)
	for _, k := range violationKinds {
		rows = append(rows, row{k + " (must be 0)", num(func(r *report) int { return r.Violations[k] })})
	}
	w := len("database")
	for _, r := range rows {
		w = max(w, len(r.name))
	}
	fmt.Fprintf(&b, "| %-*s |", w, "database")
	for _, r := range reports {
		fmt.Fprintf(&b, " %12s |", r.Database)
	}
	fmt.Fprintf(&b, "\n|%s|", strings.Repeat("-", w+2))
	for range reports {
		fmt.Fprintf(&b, "%s|", strings.Repeat("-", 14))
	}
	b.WriteString("\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %-*s |", w, r.name)
		for _, rep := range reports {
			fmt.Fprintf(&b, " %12s |", r.val(rep))
		}
		b.WriteString("\n")
	}
	for _, r := range reports {
		if len(r.Notes) > 0 {
			notes := append([]string(nil), r.Notes...)
			sort.Strings(notes)
			fmt.Fprintf(&b, "\n%s:\n  %s\n", r.Database, strings.Join(notes, "\n  "))
		}
	}
	return b.String()
}

func (v *violations) byKindCopy() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]int, len(v.byKind))
	for k, n := range v.byKind {
		out[k] = n
	}
	return out
}
