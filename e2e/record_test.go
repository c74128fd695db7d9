package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/workflows"
)

// recordHistory writes a workflow's history to workflows/testdata/<name>.json
// when TRADEEXEC_RECORD_HISTORY=1, for the replay tests that guard workflow
// changes. Regenerate after a deliberate, versioned workflow change.
func (h *harness) recordHistory(workflowID, name string) {
	h.t.Helper()
	h.recordRun(workflowID, "", name)
}

// recordRun is recordHistory for one run of the workflow ("": the latest).
func (h *harness) recordRun(workflowID, runID, name string) {
	h.t.Helper()
	if os.Getenv("TRADEEXEC_RECORD_HISTORY") != "1" {
		return
	}
	h.writeHistory(h.history(workflowID, runID), name)
}

// recordChain records every run of a workflow that continues as new, from
// firstRunID on, as <name>_run1.json, <name>_run2.json, …
func (h *harness) recordChain(workflowID, firstRunID, name string) {
	h.t.Helper()
	if os.Getenv("TRADEEXEC_RECORD_HISTORY") != "1" {
		return
	}
	for n, runID := 1, firstRunID; runID != ""; n++ {
		hist := h.history(workflowID, runID)
		h.writeHistory(hist, fmt.Sprintf("%s_run%d", name, n))
		runID = hist.Events[len(hist.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
	}
}

func (h *harness) history(workflowID, runID string) *historypb.History {
	h.t.Helper()
	iter := h.temporal.GetWorkflowHistory(context.Background(), workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var hist historypb.History
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(h.t, err)
		hist.Events = append(hist.Events, ev)
	}
	require.NotEmpty(h.t, hist.Events)
	return &hist
}

// writeHistory writes workflows/testdata/<name>.json, decrypted: the replay
// tests read them with any key.
func (h *harness) writeHistory(hist *historypb.History, name string) {
	h.t.Helper()
	require.NoError(h.t, testenv.Decrypt(hist))
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(hist)
	require.NoError(h.t, err)
	require.NoError(h.t, os.WriteFile(filepath.Join("..", "workflows", "testdata", name+".json"), b, 0o644))
}

// waitGuardIdle waits until an account guard has finished its current
// check and waits for the next — on its GuardWatch activity (scheduled
// last, the only activity pending) or, in runs from before
// versionGuardWatch, on its poll timer (started last, no activity
// pending) — so its recorded history ends at a quiet point.
func (h *harness) waitGuardIdle(workflowID string) {
	h.t.Helper()
	if os.Getenv("TRADEEXEC_RECORD_HISTORY") != "1" {
		return
	}
	require.Eventually(h.t, func() bool { return h.guardIdle(workflowID) }, 20*time.Second, 50*time.Millisecond, "guard %s does not go idle", workflowID)
}

// guardIdle: the guard waits for its next look (see waitGuardIdle).
func (h *harness) guardIdle(workflowID string) bool {
	d, err := h.temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
	if err != nil {
		return false
	}
	for _, p := range d.GetPendingActivities() {
		if p.GetActivityType().GetName() != workflows.ActGuardWatch {
			return false
		}
	}
	iter := h.temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var last *historypb.HistoryEvent
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return false
		}
		last = ev
	}
	if len(d.GetPendingActivities()) == 0 {
		return last.GetEventType() == enums.EVENT_TYPE_TIMER_STARTED
	}
	return last.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == workflows.ActGuardWatch
}

// recordDone waits for the trade's workflow to finish and records its
// history (on SQLite only: one file per path).
func (h *harness) recordDone(d store.Dialect, tradeID, name string) {
	h.t.Helper()
	if os.Getenv("TRADEEXEC_RECORD_HISTORY") != "1" || d != store.SQLite {
		return
	}
	wfID := h.trade(tradeID).WorkflowID
	require.NoError(h.t, h.temporal.GetWorkflow(context.Background(), wfID, "").Get(context.Background(), nil))
	h.recordHistory(wfID, name)
}
