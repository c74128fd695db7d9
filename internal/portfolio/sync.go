// Package portfolio keeps the positions and balances tables in step with the
// broker and announces what changed through the outbox, in the same
// transaction as the change: portfolio.positionAdded (a position opened or
// its quantity or average price changed), portfolio.positionClosed,
// market.quote (a held symbol's price moved) and portfolio.balanceChanged
// (cash, equity or buying power changed — an outside deposit included).
// It also reads the portfolio for the API and the dashboard's state.sync.
package portfolio

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// EquityPointEvery is the least time between two points of a connection's
// equity curve.
const EquityPointEvery = 5 * time.Minute

// PositionView is a position as events and the API show it.
type PositionView struct {
	Symbol            string          `json:"symbol"`
	ConnectionID      string          `json:"connectionId"`
	Quantity          decimal.Decimal `json:"quantity"`
	AverageEntryPrice decimal.Decimal `json:"averageEntryPrice"`
	CurrentPrice      decimal.Decimal `json:"currentPrice"`
	MarketValue       decimal.Decimal `json:"marketValue"`
	UnrealizedPnL     decimal.Decimal `json:"unrealizedPnl"`
	UpdatedAt         time.Time       `json:"updatedAt"`
}

// BalanceView is the balance event payload and one account of the
// portfolio.
type BalanceView struct {
	ConnectionID string          `json:"connectionId"`
	Cash         decimal.Decimal `json:"cash"`
	Equity       decimal.Decimal `json:"equity"`
	BuyingPower  decimal.Decimal `json:"buyingPower"`
	Currency     string          `json:"currency,omitempty"`
	UpdatedAt    time.Time       `json:"updatedAt"`
}

// QuoteView is the market.quote payload: the broker's latest price of a
// held symbol and the position's unrealized P&L at that price.
type QuoteView struct {
	Symbol        string          `json:"symbol"`
	ConnectionID  string          `json:"connectionId"`
	Price         decimal.Decimal `json:"price"`
	MarketValue   decimal.Decimal `json:"marketValue"`
	UnrealizedPnL decimal.Decimal `json:"unrealizedPnl"`
	At            time.Time       `json:"at"`
}

// Sync replaces the stored open positions of one connection with the
// broker's and stores its balance, emitting an event for each change, all
// in one transaction. Nothing changed, nothing is emitted.
func Sync(ctx context.Context, db *gorm.DB, userID, connectionID string, positions []broker.Position, bal broker.Balance, now time.Time) error {
	now = now.UTC()
	return store.InTx(ctx, db, func(tx *gorm.DB) error {
		if err := syncPositions(tx, userID, connectionID, positions, now); err != nil {
			return err
		}
		return syncBalance(tx, userID, connectionID, bal, now)
	})
}

func syncPositions(tx *gorm.DB, userID, connectionID string, positions []broker.Position, now time.Time) error {
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
		if bp.Quantity.IsZero() || seen[bp.Symbol] {
			continue
		}
		seen[bp.Symbol] = true
		p, ok := bySymbol[bp.Symbol]
		changed := !ok || !p.Quantity.Equal(bp.Quantity) || !p.AverageEntryPrice.Equal(bp.AvgEntryPrice)
		moved := ok && (!p.CurrentPrice.Equal(bp.CurrentPrice) || !p.UnrealizedPnL.Equal(bp.UnrealizedPnL))
		if !changed && !moved {
			continue
		}
		if !ok {
			var old schema.Position
			err := tx.Where("user_id = ? AND broker_connection_id = ? AND symbol = ?", userID, connectionID, bp.Symbol).First(&old).Error
			switch {
			case err == nil:
				p = old
			case errors.Is(err, gorm.ErrRecordNotFound):
				p = schema.Position{ID: uuid.NewString(), UserID: userID, BrokerConnectionID: connectionID, Symbol: bp.Symbol}
			default:
				return err
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
		var err error
		if changed {
			_, err = realtime.AppendEvent(tx, userID, realtime.EventPositionAdded, viewOf(p))
		} else {
			_, err = realtime.AppendEvent(tx, userID, realtime.EventMarketQuote, QuoteView{Symbol: p.Symbol, ConnectionID: connectionID,
				Price: p.CurrentPrice, MarketValue: marketValue(p), UnrealizedPnL: p.UnrealizedPnL, At: now})
		}
		if err != nil {
			return err
		}
	}
	for sym, p := range bySymbol {
		if seen[sym] {
			continue
		}
		closed := now
		p.ClosedAt = &closed
		p.Quantity = decimal.Zero
		p.UnrealizedPnL = decimal.Zero
		p.UpdatedAt = now
		if err := tx.Save(&p).Error; err != nil {
			return err
		}
		if _, err := realtime.AppendEvent(tx, userID, realtime.EventPositionClosed, viewOf(p)); err != nil {
			return err
		}
	}
	return nil
}

func syncBalance(tx *gorm.DB, userID, connectionID string, bal broker.Balance, now time.Time) error {
	var cur schema.PortfolioBalance
	err := tx.Where("broker_connection_id = ?", connectionID).Take(&cur).Error
	found := err == nil
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return err
	}
	changed := !found || !cur.Cash.Equal(bal.Cash) || !cur.Equity.Equal(bal.Equity) || !cur.BuyingPower.Equal(bal.BuyingPower) ||
		cur.Currency != bal.Currency
	next := schema.PortfolioBalance{BrokerConnectionID: connectionID, UserID: userID, Cash: bal.Cash, Equity: bal.Equity,
		BuyingPower: bal.BuyingPower, Currency: bal.Currency, UpdatedAt: now}
	if err := tx.Save(&next).Error; err != nil {
		return err
	}
	if err := addEquityPoint(tx, next); err != nil {
		return err
	}
	if !changed {
		return nil
	}
	_, err = realtime.AppendEvent(tx, userID, realtime.EventBalanceChanged, balanceView(next))
	return err
}

// addEquityPoint appends a curve point when the last one is older than
// EquityPointEvery (or when there is none).
func addEquityPoint(tx *gorm.DB, b schema.PortfolioBalance) error {
	var last []time.Time
	if err := tx.Model(&schema.EquityPoint{}).Where("user_id = ? AND broker_connection_id = ?", b.UserID, b.BrokerConnectionID).
		Order("at DESC").Limit(1).Pluck("at", &last).Error; err != nil {
		return err
	}
	if len(last) == 1 && b.UpdatedAt.Sub(last[0]) < EquityPointEvery {
		return nil
	}
	return tx.Create(&schema.EquityPoint{UserID: b.UserID, BrokerConnectionID: b.BrokerConnectionID, Equity: b.Equity,
		Cash: b.Cash, At: b.UpdatedAt}).Error
}

func marketValue(p schema.Position) decimal.Decimal { return p.Quantity.Mul(p.CurrentPrice) }

func viewOf(p schema.Position) PositionView {
	return PositionView{
		Symbol: p.Symbol, ConnectionID: p.BrokerConnectionID, Quantity: p.Quantity,
		AverageEntryPrice: p.AverageEntryPrice, CurrentPrice: p.CurrentPrice, MarketValue: marketValue(p),
		UnrealizedPnL: p.UnrealizedPnL, UpdatedAt: p.UpdatedAt.UTC(),
	}
}

func balanceView(b schema.PortfolioBalance) BalanceView {
	return BalanceView{ConnectionID: b.BrokerConnectionID, Cash: b.Cash, Equity: b.Equity, BuyingPower: b.BuyingPower,
		Currency: b.Currency, UpdatedAt: b.UpdatedAt.UTC()}
}
