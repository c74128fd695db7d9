package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/compliance"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/worker"
	"github.com/tradeexec/tradeexec/workflows"
)

// The compliance-report schedule exists once (worker start creates it;
// starting again updates it, never a second one), monthly on the 1st; its
// workflow stores the previous month's report once — a second run and a
// run triggered through the schedule find it and write nothing.
func TestComplianceReportSchedule(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		ctx := context.Background()
		var sched worker.Schedule
		for _, s := range worker.Schedules(h.queue) {
			if s.Workflow == workflows.ComplianceReportWorkflowName {
				sched = s
			}
		}
		require.NotEmpty(t, sched.ID)
		handle := h.temporal.ScheduleClient().GetHandle(ctx, sched.ID)
		desc, err := handle.Describe(ctx)
		require.NoError(t, err)
		created := desc.Info.CreatedAt
		cal := desc.Schedule.Spec.Calendars
		require.Len(t, cal, 1)
		require.Equal(t, []client.ScheduleRange{{Start: 1, End: 1, Step: 1}}, cal[0].DayOfMonth)
		require.Equal(t, []client.ScheduleRange{{Start: 2, End: 2, Step: 1}}, cal[0].Hour)
		require.NoError(t, worker.EnsureSchedules(ctx, h.temporal, h.queue))
		require.NoError(t, worker.EnsureSchedules(ctx, h.temporal, h.queue))
		desc, err = handle.Describe(ctx)
		require.NoError(t, err)
		require.Equal(t, created, desc.Info.CreatedAt, "the schedule was updated in place, not made again")

		period := workflows.PreviousMonth(time.Now())
		from, _, err := compliance.ParsePeriod(period)
		require.NoError(t, err)
		require.NoError(t, store.InTx(ctx, db, func(tx *gorm.DB) error {
			_, err := audit.Append(tx, audit.Entry{UserID: h.demo.UserID, Action: audit.ActionLoginFailed, Status: audit.StatusFailure, At: from.Add(time.Hour)})
			return err
		}))
		run := func() (workflows.ComplianceReportResult, string) {
			wr, err := h.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: h.queue}, workflows.ComplianceReportWorkflowName,
				workflows.ComplianceReportInput{})
			require.NoError(t, err)
			var res workflows.ComplianceReportResult
			require.NoError(t, wr.Get(ctx, &res))
			return res, wr.GetID()
		}
		first, firstID := run()
		require.True(t, first.Created)
		require.Equal(t, period, first.Period)
		second, _ := run()
		require.False(t, second.Created)
		require.Equal(t, first.ReportID, second.ReportID)

		// The schedule's own action starts the same workflow.
		require.NoError(t, handle.Trigger(ctx, client.ScheduleTriggerOptions{}))
		var scheduled string
		require.Eventually(t, func() bool {
			d, err := handle.Describe(ctx)
			if err != nil || len(d.Info.RecentActions) == 0 {
				return false
			}
			scheduled = d.Info.RecentActions[0].StartWorkflowResult.WorkflowID
			return true
		}, 20*time.Second, 100*time.Millisecond)
		var res workflows.ComplianceReportResult
		require.NoError(t, h.temporal.GetWorkflow(ctx, scheduled, "").Get(ctx, &res))
		require.Equal(t, first.ReportID, res.ReportID)
		require.False(t, res.Created)

		var rows []schema.ComplianceReport
		require.NoError(t, db.Find(&rows).Error)
		require.Len(t, rows, 1)
		require.Equal(t, period, rows[0].Period)
		require.EqualValues(t, 1, rows[0].FailedLogins)
		require.Zero(t, rows[0].ChainsFailed)

		// Listed and downloadable by an administrator.
		_, admin := h.newUser("admin")
		r := h.do(http.MethodGet, h.stack.URL+"/api/v1/admin/compliance-reports", admin, nil, "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Contains(t, r.Raw, first.ReportID)
		r = h.do(http.MethodGet, h.stack.URL+"/api/v1/admin/compliance-reports/"+first.ReportID+"?format=html", admin, nil, "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Contains(t, r.Raw, "Compliance report — "+period)
		if d == store.SQLite {
			h.recordHistory(firstID, "compliance_report_created")
		}
	})
}
