package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/tradeexec/tradeexec/workflows"
)

// guardRows measures the account guards' steady load (-only guards): n
// traders with a paper account and a running guard, nothing trading; over
// one poll interval every guard looks at its account once. What a look
// costs (tradeexec and the Temporal server) and the share of the machine
// n idle accounts take are the figures; an empty workflow's CPU in the
// same run is the reference.
func guardRows(ctx context.Context, dir, temporalAddr string, n int, ceil ceiling) []row {
	f, err := newFanoutEnvNamed(ctx, dir, temporalAddr, "guards")
	must(err)
	defer f.close()
	src := f.channelSource(ctx, "idle")
	f.followers(ctx, src, n)
	f.startGuards(ctx, n)
	poll := workflows.DefaultGuardPoll
	cpu0 := readCPU()
	time.Sleep(poll)
	used := cpu0.per(1)
	per := cpu0.per(n)
	share := float64(used.total()) / float64(poll) / float64(runtime.NumCPU())
	return []row{{Figure: fmt.Sprintf("%d idle account guards, one poll (%s)", n, poll), Samples: fmt.Sprint(n),
		Other: fmt.Sprintf("CPU per look %s = %s an empty workflow's; %.0f%% of the machine's CPU", per,
			times(per.total(), ceil.RateCPU.total()), share*100),
		Target: "—"}}
}
