package workflows

import "go.temporal.io/sdk/workflow"

func workflowRegisterOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: TradeWorkflowName}
}

// Registrar is the part of worker.Worker this package needs.
type Registrar interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
}

// Register registers every workflow of the trade path on a worker.
func Register(w Registrar) {
	w.RegisterWorkflowWithOptions(TradeWorkflow, workflowRegisterOptions())
	w.RegisterWorkflowWithOptions(SignalWorkflow, workflow.RegisterOptions{Name: SignalWorkflowName})
	w.RegisterWorkflowWithOptions(ConnectBrokerWorkflow, ConnectBrokerWorkflowOptions())
	w.RegisterWorkflowWithOptions(ConnectionHealthWorkflow, ConnectionHealthWorkflowOptions())
	w.RegisterWorkflowWithOptions(AccountGuardWorkflow, workflow.RegisterOptions{Name: AccountGuardWorkflowName})
	w.RegisterWorkflowWithOptions(BillingEventWorkflow, workflow.RegisterOptions{Name: BillingEventWorkflowName})
	w.RegisterWorkflowWithOptions(DunningWorkflow, workflow.RegisterOptions{Name: DunningWorkflowName})
	w.RegisterWorkflowWithOptions(KeyRotationWorkflow, KeyRotationWorkflowOptions())
	w.RegisterWorkflowWithOptions(AuditVerifyWorkflow, workflow.RegisterOptions{Name: AuditVerifyWorkflowName})
	w.RegisterWorkflowWithOptions(AuditArchiveWorkflow, workflow.RegisterOptions{Name: AuditArchiveWorkflowName})
	w.RegisterWorkflowWithOptions(ChurnScoringWorkflow, workflow.RegisterOptions{Name: ChurnScoringWorkflowName})
	w.RegisterWorkflowWithOptions(ComplianceReportWorkflow, ComplianceReportWorkflowOptions())
	w.RegisterWorkflowWithOptions(AnalyticsRefreshWorkflow, AnalyticsRefreshWorkflowOptions())
	registerLeaderboards(w)
}

// registerLeaderboards registers the leaderboard refresh (issue 17).
func registerLeaderboards(w Registrar) {
	w.RegisterWorkflowWithOptions(LeaderboardRefreshWorkflow, workflow.RegisterOptions{Name: LeaderboardRefreshWorkflowName})
}
