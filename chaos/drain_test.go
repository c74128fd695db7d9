package chaos

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// drain waits (up to timeout) until the system is at rest: every trade
// ended, no start request waiting, no trade or signal workflow running.
// The check after it wants every trade ended.
func (c *cluster) drain(timeout time.Duration) {
	var ids []string
	for _, tr := range c.everyone() {
		ids = append(ids, tr.UserID)
	}
	c.waitFor(timeout, func() bool {
		var open, starts int64
		if c.db.Model(&schema.Trade{}).Where("user_id IN ? AND status NOT IN ?", ids, terminalStatuses).Count(&open).Error != nil || open > 0 {
			return false
		}
		if c.db.Model(&schema.WorkflowStart{}).Count(&starts).Error != nil || starts > 0 {
			return false
		}
		n, err := c.runningWorkflows()
		return err == nil && n == 0
	})
}

// runningWorkflows counts trade and signal workflows still running.
func (c *cluster) runningWorkflows() (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q := fmt.Sprintf("ExecutionStatus = 'Running' AND TaskQueue = '%s' AND WorkflowType IN ('%s', '%s')",
		c.queue, workflows.TradeWorkflowName, workflows.SignalWorkflowName)
	res, err := c.tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
	if err != nil {
		return 0, err
	}
	return res.GetCount(), nil
}
