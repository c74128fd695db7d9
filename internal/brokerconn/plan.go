package brokerconn

import (
	"context"

	"github.com/tradeexec/tradeexec/internal/billing"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// IsLive reports whether a connection trades real money (the plans limit
// these; paper accounts at any broker are paper trading).
func IsLive(c schema.BrokerConnection) bool { return !c.Paper && c.BrokerType != "paper" }

// checkPlanForNew refuses a new live connection beyond the trader's plan
// (FR-069) with a *billing.LimitError naming the plan and the upgrade. It
// is the early, friendly refusal; the trade path's check (CheckTradeThrough
// in PrepareOrder) is the one that holds under concurrent connects.
func (s *Service) checkPlanForNew(ctx context.Context, userID, brokerName string) error {
	var u schema.User
	if err := s.DB.WithContext(ctx).Select("id", "subscription_tier").Where("id = ?", userID).Take(&u).Error; err != nil {
		return err
	}
	var live int64
	if err := s.DB.WithContext(ctx).Model(&schema.BrokerConnection{}).
		Where("user_id = ? AND is_active = ? AND paper = ? AND broker_type <> ?", userID, true, false, "paper").Count(&live).Error; err != nil {
		return err
	}
	return billing.CheckLiveConnection(billing.Tier(u.SubscriptionTier), int(live), trade.BrokerDisplayName(brokerName))
}
