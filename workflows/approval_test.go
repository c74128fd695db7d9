package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/trade"
)

// Approval mode: PrepareOrder asks for approval; the workflow waits on a
// durable timer, and the trader's answer (or the timeout) decides.
func TestApprovalWait(t *testing.T) {
	await := PrepareResult{AwaitApproval: true, ApprovalTimeout: 5 * time.Minute}
	outcome := func(o string) any {
		return mock.MatchedBy(func(in ApprovalInput) bool { return in.Outcome == o })
	}
	for _, tc := range []struct {
		name    string
		send    func(env interface{ SignalWorkflow(string, any) })
		after   time.Duration
		outcome string
		status  trade.Status
	}{
		{"approved: checked again, then sent", func(e interface{ SignalWorkflow(string, any) }) {
			e.SignalWorkflow(SignalApproval, ApprovalDecision{Approve: true, Via: "dashboard"})
		}, time.Minute, "approved", trade.StatusFilled},
		{"rejected: nothing sent", func(e interface{ SignalWorkflow(string, any) }) {
			e.SignalWorkflow(SignalApproval, ApprovalDecision{Approve: false, Via: "discord"})
		}, time.Minute, "rejected", trade.StatusCancelled},
		{"cancelled while waiting is a rejection", func(e interface{ SignalWorkflow(string, any) }) {
			e.SignalWorkflow(SignalCancel, nil)
		}, time.Minute, "rejected", trade.StatusCancelled},
		{"no answer within the timeout: expired", nil, 0, "expired", trade.StatusCancelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			if tc.outcome == "approved" {
				env.OnActivity(ActPrepareOrder, mock.Anything, mock.MatchedBy(func(in PrepareInput) bool { return !in.Recheck })).Return(await, nil).Once()
				env.OnActivity(ActPrepareOrder, mock.Anything, mock.MatchedBy(func(in PrepareInput) bool { return in.Recheck })).Return(prepOK, nil).Once()
				env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(SubmitResult{BrokerOrderID: "b1", Status: "filled", Fill: &filled}, nil).Once()
				env.OnActivity(ActPlaceStopLoss, mock.Anything, mock.Anything).Return(StopLossResult{}, nil).Once()
				env.OnActivity(ActEnsureGuard, mock.Anything, mock.Anything).Return(nil).Maybe()
			} else {
				env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(await, nil).Once()
			}
			env.OnActivity(ActRecordApproval, mock.Anything, outcome("awaiting")).Return(nil).Once()
			env.OnActivity(ActRecordApproval, mock.Anything, outcome(tc.outcome)).Return(nil).Once()
			if tc.send != nil {
				env.RegisterDelayedCallback(func() { tc.send(env) }, tc.after)
			}
			env.ExecuteWorkflow(TradeWorkflow, buyInput())
			r := result(t, env)
			require.Equal(t, string(tc.status), r.Status)
		})
	}
}
