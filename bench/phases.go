package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// tradePhases reads the Temporal histories of (a sample of) trade workflows
// and reports where the time between the message and the order went, as
// medians and p95 per phase:
//
//	start   message posted → TradeWorkflow started (bot, SignalWorkflow, paging)
//	task    started → first workflow task started (matching, worker pickup)
//	prepare first task started → SubmitOrder scheduled (PrepareOrder, local)
//	submit  SubmitOrder scheduled → started (activity dispatch)
//	local   first task started → completed, when SubmitOrder is a local
//	        activity (inProcessSteps: the whole trade in that task)
func tradePhases(ctx context.Context, c client.Client, posted time.Time, workflowIDs []string, sample int) string {
	if len(workflowIDs) == 0 {
		return ""
	}
	step := max(1, len(workflowIDs)/sample)
	phases := map[string][]time.Duration{}
	order := []string{"start", "task", "prepare", "submit", "local"}
	for i := 0; i < len(workflowIDs); i += step {
		var started, firstTask, firstDone, scheduled, actStarted time.Time
		it := c.GetWorkflowHistory(ctx, workflowIDs[i], "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				break
			}
			at := ev.GetEventTime().AsTime()
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
				started = at
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
				if firstTask.IsZero() {
					firstTask = at
				}
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				if firstDone.IsZero() {
					firstDone = at
				}
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				if scheduled.IsZero() && isSubmit(ev) {
					scheduled = at
				}
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
				if actStarted.IsZero() && !scheduled.IsZero() {
					actStarted = at
				}
			}
		}
		if started.IsZero() || firstTask.IsZero() {
			continue
		}
		phases["start"] = append(phases["start"], started.Sub(posted))
		phases["task"] = append(phases["task"], firstTask.Sub(started))
		if scheduled.IsZero() || actStarted.IsZero() {
			if !firstDone.IsZero() {
				phases["local"] = append(phases["local"], firstDone.Sub(firstTask))
			}
			continue
		}
		phases["prepare"] = append(phases["prepare"], scheduled.Sub(firstTask))
		phases["submit"] = append(phases["submit"], actStarted.Sub(scheduled))
	}
	var parts []string
	for _, name := range order {
		d := phases[name]
		if len(d) == 0 {
			continue
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		parts = append(parts, fmt.Sprintf("%s p50 %.0f/p95 %.0f ms", name, msf(d[len(d)/2]), msf(d[len(d)*95/100])))
	}
	return strings.Join(parts, "; ")
}

func isSubmit(ev *historypb.HistoryEvent) bool {
	a := ev.GetActivityTaskScheduledEventAttributes()
	return a != nil && a.GetActivityType().GetName() == "SubmitOrder"
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// serverWork counts, over a sample of trade workflows, what the server
// persisted per trade: history events, workflow tasks (each a round trip
// worker ↔ server and a persistence write of its own), activity tasks and
// local-activity markers. Medians; the fewer the better (DESIGN §6).
func serverWork(ctx context.Context, c client.Client, workflowIDs []string, sample int) string {
	if len(workflowIDs) == 0 {
		return ""
	}
	step := max(1, len(workflowIDs)/sample)
	var events, tasks, acts, markers []int
	var seqs [][]string
	for i := 0; i < len(workflowIDs); i += step {
		var ev, wt, at, mk int
		var seq []string
		it := c.GetWorkflowHistory(ctx, workflowIDs[i], "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				break
			}
			ev++
			name := strings.TrimPrefix(e.GetEventType().String(), "EVENT_TYPE_")
			if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
				name += "(" + a.GetActivityType().GetName() + ")"
			}
			if a := e.GetMarkerRecordedEventAttributes(); a != nil {
				name += "(" + a.GetMarkerName() + ")"
			}
			seq = append(seq, name)
			switch e.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				wt++
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
				at++
			case enumspb.EVENT_TYPE_MARKER_RECORDED:
				mk++
			}
		}
		events, tasks, acts, markers = append(events, ev), append(tasks, wt), append(acts, at), append(markers, mk)
		seqs = append(seqs, seq)
	}
	med := func(v []int) int { c := append([]int(nil), v...); sort.Ints(c); return c[len(c)/2] }
	// The history shown is one whose length is the median's.
	var sequence []string
	m := med(events)
	for i, n := range events {
		if n == m {
			sequence = seqs[i]
			break
		}
	}
	return fmt.Sprintf("per trade (median of %d): %d history events, %d workflow tasks, %d activity tasks, %d local activities/markers\n  one trade's history: %s",
		len(events), med(events), med(tasks), med(acts), med(markers), strings.Join(sequence, " "))
}
