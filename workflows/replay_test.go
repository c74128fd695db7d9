package workflows

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistories replays every history recorded from a real run
// (workflows/testdata/*.json, written by the e2e tests with
// TRADEEXEC_RECORD_HISTORY=1) against the current workflow code. A change
// that would break running workflows (non-determinism) fails here.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories in workflows/testdata")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			hist := loadHistory(t, f)
			replayer := worker.NewWorkflowReplayer()
			Register(replayer)
			require.NoError(t, replayer.ReplayWorkflowHistory(nil, hist))
		})
	}
}

// requiredHistories are the recorded paths (testdata/<name>.json) that
// every workflow change must keep replaying, besides one history per
// workflow type (TestRecordedHistoriesCoverEveryWorkflow). Each is
// recorded by the e2e test named.
var requiredHistories = map[string]string{
	"trade_filled":                   "TestWebhookToFilledOrder",
	"trade_queued_cancelled":         "TestQueuedOrderCancelledFromAPI",
	"trade_cancel_signal":            "TestCancelSignalCancelsOpenOrders",
	"trade_working_cancelled":        "TestCancelSignalCancelsOpenOrders",
	"trade_halted_resumed":           "TestHaltedSymbolWaitsThenFillsPaper",
	"trade_confirm_submit_found":     "TestSubmitConfirmedAfterEveryAttemptFailed",
	"trade_confirm_submit_not_found": "TestSubmitNeverReachedTheBrokerIsRejected",
	"trade_partial_fill":             "TestPartialFillsThenFilled",
	"trade_partial_fill_cancelled":   "TestPartlyFilledOrderCancelledFromAPI",
	"signal_fanout_run1":             "TestChannelSignalFansOutAcrossRuns",
	"signal_fanout_run2":             "TestChannelSignalFansOutAcrossRuns",
	"signal_fanout_run3":             "TestChannelSignalFansOutAcrossRuns",
	// Fan-outs started before versionEagerFanout (no version marker, the
	// trades started as children): recorded by the same test with the
	// GetVersion branch taken out of SignalWorkflow, which is then the
	// code of that time; rename the files to signal_fanout_children_run*.
	"signal_fanout_children_run1": "TestChannelSignalFansOutAcrossRuns",
	"signal_fanout_children_run2": "TestChannelSignalFansOutAcrossRuns",
	"signal_fanout_children_run3": "TestChannelSignalFansOutAcrossRuns",
	"connect_broker_connected":    "TestBrokerConnectionsAPI",
	// A leader's fill copied to followers (SignalInput.CopyFillID).
	"signal_copy_fanout": "TestCopyTradingLeaderAndFollowers",
	// Recorded by ./worker/ (not ./e2e/).
	"audit_verify_tampered_run1":  "TestAuditVerifyWorkflowRaisesAlertOnTamperedChain",
	"audit_verify_tampered_run2":  "TestAuditVerifyWorkflowRaisesAlertOnTamperedChain",
	"audit_archive_moved":         "TestAuditArchiveWorkflowMovesOldEntries",
	"trade_approval_approved":     "TestApprovalMode",
	"trade_approval_rejected":     "TestApprovalMode",
	"trade_approval_expired":      "TestApprovalMode",
	"trade_take_profit_filled":    "TestTakeProfitClosesThePositionAndCancelsTheStop",
	"trade_take_profit_cancelled": "TestStopFirstCancelsTheTakeProfit",
	"trade_take_profit_ladder":    "TestTakeProfitLadderFillsLegByLegAndMovesTheStopToBreakeven",
	"trade_exit_pair_take_profit": "TestExitPairTakeProfitFillCancelsTheStopOnce",
	"trade_exit_pair_stop_filled": "TestExitPairStopFillCancelsTheTakeProfit",
	"connection_health_unhealthy": "TestHealthSweep",
	"guard_after_fill":            "TestWebhookToFilledOrder",
	// A rotation with a page failed mid-way and retried, continuing as new.
	"key_rotation_run1":         "TestKeyRotationWorkflow",
	"key_rotation_run2":         "TestKeyRotationWorkflow",
	"compliance_report_created": "TestComplianceReportSchedule",
	"churn_scoring":             "TestChurnScoringWorkflowScoresAndAlerts",
	// Recorded by ./worker/.
	"analytics_refresh": "TestAnalyticsRefreshScheduleAndWorkflow",
}

// typeRecorder collects the workflow types Register registers (what
// worker.New serves).
type typeRecorder struct{ names []string }

func (r *typeRecorder) RegisterWorkflowWithOptions(_ interface{}, o workflow.RegisterOptions) {
	r.names = append(r.names, o.Name)
}

// TestRecordedHistoriesCoverEveryWorkflow: every workflow type the worker
// registers has at least one recorded history, and every required path is
// recorded, so an unversioned change to any of them fails the replay test.
func TestRecordedHistoriesCoverEveryWorkflow(t *testing.T) {
	var reg typeRecorder
	Register(&reg)
	require.NotEmpty(t, reg.names)

	files, err := filepath.Glob("testdata/*.json")
	require.NoError(t, err)
	recorded := map[string][]string{} // workflow type → files
	for _, f := range files {
		hist := loadHistory(t, f)
		start := hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
		require.NotNil(t, start, "%s does not start with WorkflowExecutionStarted", f)
		name := start.GetWorkflowType().GetName()
		recorded[name] = append(recorded[name], strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	for _, name := range reg.names {
		require.NotEmpty(t, recorded[name], "no recorded history of %s in workflows/testdata", name)
	}
	var all []string
	for _, names := range recorded {
		all = append(all, names...)
	}
	for name, test := range requiredHistories {
		require.True(t, slices.Contains(all, name), "testdata/%s.json is missing: record it with TRADEEXEC_RECORD_HISTORY=1 go test -run %s ./e2e/", name, test)
	}
}

func loadHistory(t *testing.T, path string) *historypb.History {
	t.Helper()
	r, err := os.Open(path)
	require.NoError(t, err)
	defer r.Close()
	hist, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, hist.GetEvents(), path)
	return hist
}
