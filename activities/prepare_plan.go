package activities

import (
	"context"

	"github.com/tradeexec/tradeexec/internal/billing"
	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// codePlanLimit is the rejection code of a trade refused by the plan.
const codePlanLimit = "PLAN_LIMIT"

// planAllows applies the trader's plan to the routed connection (FR-069):
// paper always trades; a live connection trades when it is among the
// oldest active live connections the plan allows. After a downgrade the
// others are paused (never deleted) and trade again after an upgrade or a
// disconnect. Every entry point (webhook, Discord, slash commands,
// dashboard, copy) reaches the broker only through PrepareOrder, so this is
// the one place the plan is enforced for trading.
func (a *Trading) planAllows(ctx context.Context, u schema.User, conn schema.BrokerConnection) error {
	if !brokerconn.IsLive(conn) {
		return nil
	}
	var older int64
	if err := a.DB.WithContext(ctx).Model(&schema.BrokerConnection{}).
		Where("user_id = ? AND is_active = ? AND paper = ? AND broker_type <> ? AND (created_at < ? OR (created_at = ? AND id < ?))",
			u.ID, true, false, "paper", conn.CreatedAt, conn.CreatedAt, conn.ID).Count(&older).Error; err != nil {
		return err
	}
	return billing.CheckTradeThrough(billing.Tier(u.SubscriptionTier), int(older), trade.BrokerDisplayName(conn.BrokerType))
}
