package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/tradeexec/tradeexec/workflows"
)

// guardRow measures the account guards' steady load (-only guards, after
// the fan-out, on its system): n followers each holding the position the
// fan-out bought and its stop, nobody trading; over one poll interval
// every guard looks at its account once (balance, positions, the day's
// loss level, the stop kept working). What a look costs (tradeexec and the
// Temporal server) and the share of the machine n such accounts take are
// the figures; an empty workflow's CPU in the same run is the reference.
func (f *fanoutEnv) guardRow(n int, ceil ceiling) row {
	settle(time.Minute)
	poll := workflows.DefaultGuardPoll
	cpu0 := readCPU()
	time.Sleep(poll)
	used := cpu0.per(1)
	per := cpu0.per(n)
	share := float64(used.total()) / float64(poll) / float64(runtime.NumCPU())
	return row{Figure: fmt.Sprintf("%d account guards (a position and its stop each, nobody trading), one poll (%s)", n, poll), Samples: fmt.Sprint(n),
		Other: fmt.Sprintf("CPU per look %s = %s an empty workflow's; %.0f%% of the machine's CPU", per,
			times(per.total(), ceil.RateCPU.total()), share*100),
		Target: "—"}
}
