// Package portfolio keeps the positions table in step with the broker and
// announces what changed (portfolio.positionAdded / positionClosed /
// balanceChanged) through the outbox, in the same transaction as the change.
package portfolio

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// PositionView is a position as events and the API show it.
type PositionView struct {
	Symbol            string          `json:"symbol"`
	ConnectionID      string          `json:"connectionId"`
	Quantity          decimal.Decimal `json:"quantity"`
	AverageEntryPrice decimal.Decimal `json:"averageEntryPrice"`
	CurrentPrice      decimal.Decimal `json:"currentPrice"`
	UnrealizedPnL     decimal.Decimal `json:"unrealizedPnl"`
}

// BalanceView is the balance event payload.
type BalanceView struct {
	ConnectionID string          `json:"connectionId"`
	Cash         decimal.Decimal `json:"cash"`
	Equity       decimal.Decimal `json:"equity"`
	BuyingPower  decimal.Decimal `json:"buyingPower"`
}

// Sync replaces the stored open positions of one connection with the
// broker's, and emits an event per added/changed/closed position plus a
// balance event, all in one transaction.
func Sync(ctx context.Context, db *gorm.DB, userID, connectionID string, positions []broker.Position, bal broker.Balance, now time.Time) error {
	return store.InTx(ctx, db, func(tx *gorm.DB) error {
		var stored []schema.Position
		if err := tx.Where("user_id = ? AND broker_connection_id = ? AND closed_at IS NULL", userID, connectionID).Find(&stored).Error; err != nil {
			return err
		}
		bySymbol := map[string]schema.Position{}
		for _, p := range stored {
			bySymbol[p.Symbol] = p
		}
		seen := map[string]bool{}
		for _, bp := range positions {
			if bp.Quantity.IsZero() {
				continue
			}
			seen[bp.Symbol] = true
			p, ok := bySymbol[bp.Symbol]
			changed := !ok || !p.Quantity.Equal(bp.Quantity) || !p.AverageEntryPrice.Equal(bp.AvgEntryPrice)
			if !ok {
				var old schema.Position
				err := tx.Where("user_id = ? AND broker_connection_id = ? AND symbol = ?", userID, connectionID, bp.Symbol).First(&old).Error
				if err == nil {
					p = old
				} else {
					p = schema.Position{ID: uuid.NewString(), UserID: userID, BrokerConnectionID: connectionID, Symbol: bp.Symbol}
				}
				p.OpenedAt = now
				p.ClosedAt = nil
			}
			p.Quantity = bp.Quantity
			p.AverageEntryPrice = bp.AvgEntryPrice
			p.CurrentPrice = bp.CurrentPrice
			p.UnrealizedPnL = bp.UnrealizedPnL
			p.UpdatedAt = now
			if err := tx.Save(&p).Error; err != nil {
				return err
			}
			if changed {
				if _, err := realtime.AppendEvent(tx, userID, realtime.EventPositionAdded, viewOf(p)); err != nil {
					return err
				}
			}
		}
		for sym, p := range bySymbol {
			if seen[sym] {
				continue
			}
			closed := now
			p.ClosedAt = &closed
			p.Quantity = decimal.Zero
			p.UpdatedAt = now
			if err := tx.Save(&p).Error; err != nil {
				return err
			}
			if _, err := realtime.AppendEvent(tx, userID, realtime.EventPositionClosed, viewOf(p)); err != nil {
				return err
			}
		}
		_, err := realtime.AppendEvent(tx, userID, realtime.EventBalanceChanged, BalanceView{
			ConnectionID: connectionID, Cash: bal.Cash, Equity: bal.Equity, BuyingPower: bal.BuyingPower,
		})
		return err
	})
}

func viewOf(p schema.Position) PositionView {
	return PositionView{
		Symbol: p.Symbol, ConnectionID: p.BrokerConnectionID, Quantity: p.Quantity,
		AverageEntryPrice: p.AverageEntryPrice, CurrentPrice: p.CurrentPrice, UnrealizedPnL: p.UnrealizedPnL,
	}
}
