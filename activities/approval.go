package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// approvalWait is how long the trade must wait for the trader's approval
// before it is routed and sized, or zero when it needs none: dashboard
// orders (the trader placed them), approved trades, follow-ups of a trade
// (a reversal's entry, a take-profit's exit), and traders (or channel
// subscriptions) without
// approval mode. A subscription's setting overrides the trader's.
func (a *Trading) approvalWait(ctx context.Context, t schema.Trade, in workflows.PrepareInput, followUp bool, settings risk.Settings) (time.Duration, error) {
	if in.Manual || t.ApprovedAt != nil || followUp {
		return 0, nil
	}
	required := settings.RequireApproval
	if in.SourceID != "" {
		var sub schema.SourceSubscription
		err := a.DB.WithContext(ctx).Select("require_approval").Where("source_id = ? AND user_id = ?", in.SourceID, t.UserID).Take(&sub).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return 0, err
		}
		if err == nil && sub.RequireApproval != nil {
			required = *sub.RequireApproval
		}
	}
	if !required {
		return 0, nil
	}
	return settings.ApprovalTimeout(), nil
}

// RecordApproval records a step of the approval wait: the trade waits
// (awaiting, with the trader told where to answer), was approved (it goes
// on to the risk check), rejected or expired (cancelled, nothing sent).
// Idempotent: a retry finds the step recorded.
func (a *Trading) RecordApproval(ctx context.Context, in workflows.ApprovalInput) error {
	_, err := a.record(ctx, in.TradeID, func(_ *gorm.DB, t *schema.Trade) (trade.Change, error) {
		if trade.Status(t.Status).Terminal() {
			return trade.Change{}, trade.ErrNoChange
		}
		what := fmt.Sprintf("%s %s %s", t.Symbol, t.Side, t.RequestedQuantity.String())
		if t.OrderType != "" && t.OrderType != "market" {
			what += " " + t.OrderType
		}
		switch in.Outcome {
		case "awaiting":
			if trade.Status(t.Status) == trade.StatusAwaiting {
				return trade.Change{}, trade.ErrNoChange
			}
			t.Status = string(trade.StatusAwaiting)
			t.ErrorMessage = fmt.Sprintf("Waiting for your approval of %s: approve or reject it within %s in the dashboard or with /approve trade:%s in Discord.",
				what, in.Timeout.Round(time.Second), t.ID[:8])
			return trade.Change{Action: audit.ActionTradeAwaitingApproval, Message: t.ErrorMessage, Event: realtime.EventTradeAwaitingApproval,
				Details: map[string]any{"timeoutSeconds": int(in.Timeout.Seconds())}}, nil
		case "approved":
			if t.ApprovedAt != nil {
				return trade.Change{}, trade.ErrNoChange
			}
			now := a.now()
			t.ApprovedAt = &now
			t.Status = string(trade.StatusPending)
			t.ErrorMessage = ""
			return trade.Change{Action: audit.ActionTradeApproved, Message: "Approved by you (" + in.Via + "); the risk check runs now.",
				Event: realtime.EventTradeUpdated, Details: map[string]any{"via": in.Via}}, nil
		case "rejected", "expired":
			t.Status = string(trade.StatusCancelled)
			t.ErrorMessage = "Rejected by you (" + in.Via + "). Order not sent."
			if in.Outcome == "expired" {
				t.ErrorMessage = fmt.Sprintf("Not approved within %s. Order not sent.", in.Timeout.Round(time.Second))
			}
			return trade.Change{Action: audit.ActionTradeNotApproved, Message: t.ErrorMessage, Event: realtime.EventTradeCancelled,
				Details: map[string]any{"outcome": in.Outcome, "via": in.Via}}, nil
		}
		return trade.Change{}, temporal.NewNonRetryableApplicationError("unknown approval outcome "+in.Outcome, "INVALID_INPUT", nil)
	})
	return err
}
