package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/metrics"
	"github.com/tradeexec/tradeexec/internal/portfolio"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// Guard is the activity struct of the account guard
// (workflows.AccountGuardWorkflow). It shares the trade path's
// dependencies (database, broker adapters, clock, real-time hook) through
// Trading, a named field so Trading's own activities are not registered a
// second time under Guard.
type Guard struct {
	Trading *Trading
	// Temporal and TaskQueue start and signal guard workflows (EnsureGuard).
	Temporal  client.Client
	TaskQueue string
	// Poll is the guard's interval between checks; zero means
	// workflows.DefaultGuardPoll.
	Poll time.Duration

	// The process's watches (guard_watch.go), started by the first
	// GuardWatch, stopped by StopGuardWatches.
	watchMu      sync.Mutex
	watching     *guardWatches
	watchStopped bool
}

const (
	// flattenSettle bounds how long one round waits for its closing orders.
	flattenSettle = 20 * time.Second
	// stopHandoff is how long after a fill the position's stop is left to
	// the trade's own PlaceStopLoss (with its retries) before the guard
	// looks after it.
	stopHandoff = 2 * time.Minute
)

// GuardCheck looks at the account once: it reads the balance and the
// positions, folds the equity into the day's state (risk.Decide) and, in
// the same transaction, records a rising loss level — audit entry, event,
// Discord DM, and at the circuit breaker the account lock and the alert to
// every administrator. On a blocked account with positions or working
// orders left it starts a new round of closing them. The balance and
// positions are then synced to the dashboard.
func (g *Guard) GuardCheck(ctx context.Context, in workflows.GuardRef) (workflows.GuardCheckResult, error) {
	res, seen, err := g.check(ctx, in)
	if err != nil || !in.Reconcile || res.Inactive || res.Flatten || res.Blocking {
		return res, err
	}
	// versionGuardOneActivity: keep the position stops working in the
	// same activity, on what the look just read (connection, settings,
	// positions). A failure is logged and tried again at the next check,
	// as the separate ReconcileStops activity's was.
	if _, err := g.reconcileStops(ctx, workflows.GuardRef{ConnectionID: in.ConnectionID, UserID: in.UserID}, seen); err != nil {
		g.Trading.log().Warn("stop-loss reconciliation failed; retrying at the next check",
			zap.String("connection_id", in.ConnectionID), zap.Error(err))
	}
	return res, nil
}

// looked is what one look at the account read, for the stops' upkeep in
// the same look.
type looked struct {
	conn      schema.BrokerConnection
	b         broker.Broker
	settings  risk.Settings
	positions []broker.Position
}

// check is one look at the account (GuardCheck without the stops).
func (g *Guard) check(ctx context.Context, in workflows.GuardRef) (workflows.GuardCheckResult, *looked, error) {
	a := g.Trading
	conn, err := a.Brokers.Load(ctx, in.UserID, in.ConnectionID)
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && !conn.IsActive) {
		return workflows.GuardCheckResult{Inactive: true}, nil, nil
	}
	if err != nil {
		return workflows.GuardCheckResult{}, nil, err
	}
	b, err := a.Brokers.Open(ctx, conn)
	if err != nil {
		return workflows.GuardCheckResult{}, nil, err
	}
	bal, positions, err := broker.ReadAccount(ctx, b)
	if err != nil {
		return workflows.GuardCheckResult{}, nil, brokerFailure(conn.BrokerType, err)
	}
	_, settings, err := a.settings(ctx, in.UserID)
	if err != nil {
		return workflows.GuardCheckResult{}, nil, err
	}
	seen := &looked{conn: conn, b: b, settings: settings, positions: positions}
	open := 0
	for _, p := range positions {
		if !p.Quantity.IsZero() {
			open++
		}
	}
	var working int64
	if err := a.DB.WithContext(ctx).Model(&schema.Trade{}).Where("broker_connection_id = ? AND status IN ?", conn.ID,
		[]string{string(trade.StatusSubmitted), string(trade.StatusPartialFill)}).Count(&working).Error; err != nil {
		return workflows.GuardCheckResult{}, nil, err
	}

	// Copy trading's loss limit at the broker's prices (issue 17).
	a.copyLossCheck(ctx, in.UserID, positions)

	now := a.now()
	var out workflows.GuardCheckResult
	var escalated *risk.GuardDecision
	// Most looks change nothing: decided on a plain read, they write
	// nothing (the guard of every connection looks every poll).
	quiet, out, err := g.unchanged(ctx, in, conn.ID, bal, settings, open+int(working), now)
	if err != nil {
		return workflows.GuardCheckResult{}, nil, err
	}
	if quiet {
		return out, seen, nil
	}
	balanceMoved := true
	err = store.InTx(ctx, a.DB, func(tx *gorm.DB) error {
		out, escalated = workflows.GuardCheckResult{}, nil
		// The trader's row first: the same lock order as PrepareOrder's
		// reservation and the administrator's unlock.
		var u schema.User
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&u, "id = ?", in.UserID).Error; err != nil {
			return err
		}
		row, err := lockGuardRow(tx, conn.ID, in.UserID)
		if err != nil {
			return err
		}
		d := risk.Decide(dayStateOf(row), risk.Observation{Now: now, Equity: bal.Equity, LastEquity: bal.LastEquity, Settings: settings})
		if d.State.Day != row.Day {
			row.FlattenedAt, row.FlattenOrders = nil, ""
		}
		row.Day, row.DayStartEquity, row.Level, row.Message = d.State.Day, d.State.StartEquity, string(d.State.Level), d.State.Message
		row.BlockedUntil = nil
		if !d.State.BlockedUntil.IsZero() {
			until := d.State.BlockedUntil
			row.BlockedUntil = &until
		}
		balanceMoved = !row.Equity.Equal(bal.Equity) || !row.Cash.Equal(bal.Cash) || !row.BuyingPower.Equal(bal.BuyingPower) || row.ObservedAt.IsZero()
		row.Equity, row.Cash, row.BuyingPower = bal.Equity, bal.Cash, bal.BuyingPower
		row.ObservedAt, row.UpdatedAt = now, now
		if d.Escalated {
			if err := g.announce(tx, &u, row, d, now); err != nil {
				return err
			}
			escalated = &d
		}
		out.Level = row.Level
		out.Locked = u.Locked
		out.Blocking = d.Blocking || u.Locked
		if out.Blocking && (open > 0 || working > 0) {
			row.FlattenRound++
			out.Flatten, out.Round = true, row.FlattenRound
		}
		return tx.Save(&row).Error
	})
	if err != nil {
		return workflows.GuardCheckResult{}, nil, err
	}
	if escalated != nil {
		metrics.GuardAction(guardActionOf(escalated.State.Level))
		a.log().Warn("account guard: loss rule reached", zap.String("user_id", in.UserID), zap.String("connection_id", conn.ID),
			zap.String("level", string(escalated.State.Level)), zap.String("drawdown_pct", escalated.Loss.DrawdownPct.String()))
		if escalated.Lock {
			a.log().Error("account guard: circuit breaker locked the account; administrators alerted",
				zap.String("user_id", in.UserID), zap.String("connection_id", conn.ID))
		}
		a.committed(in.UserID)
	}
	// The trade of a fill has synced the portfolio already.
	if balanceMoved && !in.AfterFill {
		if err := g.syncPortfolio(ctx, in.UserID, conn.ID, positions, bal, now); err != nil {
			a.log().Warn("account guard: portfolio sync", zap.String("connection_id", conn.ID), zap.Error(err))
		}
	}
	return out, seen, nil
}

// unchanged reports, from a plain read, whether a look at the account
// changes nothing worth a write: the guard row exists for today, the
// balance is the one it holds, the loss level does not rise, nothing needs
// closing, and the row was refreshed within two polls (StartGuards treats
// a guard as gone after three). out is then the check's result.
func (g *Guard) unchanged(ctx context.Context, in workflows.GuardRef, connectionID string, bal broker.Balance, settings risk.Settings, open int, now time.Time) (bool, workflows.GuardCheckResult, error) {
	db := g.Trading.DB.WithContext(ctx)
	var row schema.RiskGuard
	err := db.Where("connection_id = ?", connectionID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, workflows.GuardCheckResult{}, nil
	}
	if err != nil {
		return false, workflows.GuardCheckResult{}, err
	}
	var u schema.User
	if err := db.Select("id", "locked").Take(&u, "id = ?", in.UserID).Error; err != nil {
		return false, workflows.GuardCheckResult{}, err
	}
	d := risk.Decide(dayStateOf(row), risk.Observation{Now: now, Equity: bal.Equity, LastEquity: bal.LastEquity, Settings: settings})
	blocking := d.Blocking || u.Locked
	same := d.State.Day == row.Day && !d.Escalated && !(blocking && open > 0) &&
		row.Equity.Equal(bal.Equity) && row.Cash.Equal(bal.Cash) && row.BuyingPower.Equal(bal.BuyingPower) &&
		now.Sub(row.ObservedAt) < 2*g.poll() && (row.BlockedUntil == nil) == d.State.BlockedUntil.IsZero()
	if !same {
		return false, workflows.GuardCheckResult{}, nil
	}
	return true, workflows.GuardCheckResult{Level: row.Level, Locked: u.Locked, Blocking: blocking}, nil
}

// syncPortfolio keeps the dashboard's positions and balance current between
// fills. An account the dashboard has no snapshot of and that holds no
// position is left to its first fill (connecting records its value).
func (g *Guard) syncPortfolio(ctx context.Context, userID, connectionID string, positions []broker.Position, bal broker.Balance, now time.Time) error {
	a := g.Trading
	if len(positions) == 0 {
		var n int64
		if err := a.DB.WithContext(ctx).Model(&schema.PortfolioBalance{}).Where("broker_connection_id = ?", connectionID).Count(&n).Error; err != nil || n == 0 {
			return err
		}
	}
	if err := portfolio.Sync(ctx, a.DB, userID, connectionID, positions, bal, now); err != nil {
		return err
	}
	a.committed(userID)
	return nil
}

// lockGuardRow loads (or starts) a connection's guard row, locked.
func lockGuardRow(tx *gorm.DB, connectionID, userID string) (schema.RiskGuard, error) {
	var row schema.RiskGuard
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("connection_id = ?", connectionID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return schema.RiskGuard{ConnectionID: connectionID, UserID: userID, Level: string(risk.LossOK),
			DayStartEquity: decimal.Zero, Equity: decimal.Zero, Cash: decimal.Zero, BuyingPower: decimal.Zero}, nil
	}
	return row, err
}

func dayStateOf(row schema.RiskGuard) risk.DayState {
	st := risk.DayState{Day: row.Day, StartEquity: row.DayStartEquity, Level: risk.LossLevel(row.Level), Message: row.Message}
	if row.BlockedUntil != nil {
		st.BlockedUntil = row.BlockedUntil.UTC()
	}
	return st
}

// RiskView is the payload of risk.warning / risk.locked / risk.unlocked
// and the state GET /api/v1/risk shows per connection.
type RiskView struct {
	ConnectionID   string          `json:"connectionId"`
	Level          string          `json:"level"`
	Message        string          `json:"message,omitempty"`
	Locked         bool            `json:"locked"`
	BlockedUntil   *time.Time      `json:"blockedUntil,omitempty"`
	Day            string          `json:"day"`
	StartEquity    decimal.Decimal `json:"startEquity"`
	Equity         decimal.Decimal `json:"equity"`
	DrawdownPct    decimal.Decimal `json:"drawdownPct"`
	DrawdownAmount decimal.Decimal `json:"drawdownAmount"`
}

// RiskViewOf renders a guard row.
func RiskViewOf(row schema.RiskGuard, locked bool, loss risk.LossState) RiskView {
	v := RiskView{ConnectionID: row.ConnectionID, Level: row.Level, Message: row.Message, Locked: locked, Day: row.Day,
		StartEquity: row.DayStartEquity, Equity: row.Equity, DrawdownPct: loss.DrawdownPct, DrawdownAmount: loss.DrawdownAmount}
	if row.BlockedUntil != nil {
		t := row.BlockedUntil.UTC()
		v.BlockedUntil = &t
	}
	return v
}

// announce records a rising loss level inside tx: the audit entry and
// event for the trader, a Discord DM when they linked Discord and want
// risk notices, and at the circuit breaker the lock (audited), the alert
// on the system chain and an event to every administrator.
func (g *Guard) announce(tx *gorm.DB, u *schema.User, row schema.RiskGuard, d risk.GuardDecision, now time.Time) error {
	action, event := audit.ActionDailyLossWarning, realtime.EventRiskWarning
	switch d.State.Level {
	case risk.LossLimit:
		action = audit.ActionDailyLossLimitReached
	case risk.LossCircuitBreaker:
		action, event = audit.ActionCircuitBreakerTriggered, realtime.EventRiskLocked
	}
	details := map[string]any{
		"message": d.State.Message, "connectionId": row.ConnectionID, "day": row.Day, "level": row.Level,
		"startEquity": row.DayStartEquity.String(), "equity": row.Equity.String(),
		"drawdownPct": d.Loss.DrawdownPct.String(), "drawdownAmount": d.Loss.DrawdownAmount.String(),
		"blockedUntil": d.State.BlockedUntil.Format(time.RFC3339),
	}
	if _, err := audit.Append(tx, audit.Entry{UserID: u.ID, Action: action, ResourceType: "BrokerConnection", ResourceID: row.ConnectionID,
		Details: details, At: now}); err != nil {
		return err
	}
	if d.Lock && !u.Locked {
		if err := tx.Model(&schema.User{}).Where("id = ?", u.ID).Update("locked", true).Error; err != nil {
			return err
		}
		u.Locked = true
		if _, err := audit.Append(tx, audit.Entry{UserID: u.ID, Action: audit.ActionAccountLocked, ResourceType: "User", ResourceID: u.ID,
			Details: map[string]any{"reason": "circuit_breaker", "connectionId": row.ConnectionID, "message": d.State.Message}, At: now}); err != nil {
			return err
		}
		if _, err := audit.Append(tx, audit.Entry{UserID: audit.SystemUserID, Action: audit.ActionCircuitBreakerTriggered, ResourceType: "User",
			ResourceID: u.ID, Details: details, At: now}); err != nil {
			return err
		}
	}
	if _, err := realtime.AppendEvent(tx, u.ID, event, RiskViewOf(row, u.Locked, d.Loss)); err != nil {
		return err
	}
	if d.Lock {
		var admins []string
		if err := tx.Model(&schema.User{}).Where("role = ?", "admin").Order("id").Pluck("id", &admins).Error; err != nil {
			return err
		}
		for _, id := range admins {
			if _, err := realtime.AppendEvent(tx, id, realtime.EventRiskAdminAlert, map[string]any{
				"userId": u.ID, "connectionId": row.ConnectionID, "message": d.State.Message,
				"drawdownPct": d.Loss.DrawdownPct, "drawdownAmount": d.Loss.DrawdownAmount, "at": now,
			}); err != nil {
				return err
			}
		}
	}
	return g.dmRiskNotice(tx, *u, row, d.State.Message, now)
}

// dmRiskNotice queues the notice as a Discord DM (once per connection, day
// and level) when the trader linked Discord and wants risk notices.
func (g *Guard) dmRiskNotice(tx *gorm.DB, u schema.User, row schema.RiskGuard, msg string, now time.Time) error {
	if u.DiscordID == nil || *u.DiscordID == "" {
		return nil
	}
	prefs, err := sources.GetPreferences(tx.Statement.Context, tx, u.ID)
	if err != nil || !prefs.Allows(sources.KindRiskLock) {
		return err
	}
	_, err = sources.Enqueue(tx, sources.Outgoing{DedupeKey: "risk:" + row.ConnectionID + ":" + row.Day + ":" + row.Level,
		Kind: sources.KindRiskLock, UserID: u.ID, Content: "🛑 " + msg}, now)
	return err
}

// flattenState is the guard row's record of a round of closing orders.
type flattenState struct {
	Round    int64          `json:"round"`
	Orders   []flattenOrder `json:"orders"`
	Recorded bool           `json:"recorded"`
}

type flattenOrder struct {
	Symbol  string `json:"symbol"`
	OrderID string `json:"orderId"`
}

// GuardFlatten runs one round of closing every position of a blocked
// account: it cancels the working entry orders of the connection's trades,
// the positions' stops (brokers hold the shares a stop covers) and the
// previous round's closing orders, then sends a market order closing each
// position (client order id from the round and symbol: a retried round
// finds its orders instead of sending them again), waits for them, and
// records the round (audit entry + risk.positionsClosed event). A market
// that is closed defers that position to a later round.
func (g *Guard) GuardFlatten(ctx context.Context, in workflows.FlattenInput) (workflows.FlattenResult, error) {
	a := g.Trading
	conn, err := a.Brokers.Load(ctx, in.UserID, in.ConnectionID)
	if err != nil {
		return workflows.FlattenResult{}, err
	}
	b, err := a.Brokers.Open(ctx, conn)
	if err != nil {
		return workflows.FlattenResult{}, err
	}
	var row schema.RiskGuard
	if err := a.DB.WithContext(ctx).Where("connection_id = ?", conn.ID).Take(&row).Error; err != nil {
		return workflows.FlattenResult{}, err
	}
	if row.FlattenRound != in.Round {
		return workflows.FlattenResult{Message: "superseded by a later round"}, nil
	}
	var prev flattenState
	if row.FlattenOrders != "" {
		_ = json.Unmarshal([]byte(row.FlattenOrders), &prev)
	}
	heartbeat := func(step string) { activity.RecordHeartbeat(ctx, step) }

	// 1. Working entry orders of the connection's trades.
	var working []schema.Trade
	if err := a.DB.WithContext(ctx).Where("broker_connection_id = ? AND status IN ? AND broker_order_id <> ''", conn.ID,
		[]string{string(trade.StatusSubmitted), string(trade.StatusPartialFill)}).Find(&working).Error; err != nil {
		return workflows.FlattenResult{}, err
	}
	for _, t := range working {
		heartbeat("cancel entry " + t.ID)
		if _, err := cancelAndSettle(ctx, b, conn.BrokerType, t.BrokerOrderID); err != nil {
			return workflows.FlattenResult{}, err
		}
	}
	// 2. The positions' stops.
	var stops []schema.StopLoss
	if err := a.DB.WithContext(ctx).Where("connection_id = ? AND status IN ?", conn.ID, []string{stopActive, stopPlacing}).Find(&stops).Error; err != nil {
		return workflows.FlattenResult{}, err
	}
	for _, s := range stops {
		heartbeat("cancel stop " + s.Symbol)
		if err := g.cancelStopForFlatten(ctx, b, conn.BrokerType, s); err != nil {
			return workflows.FlattenResult{}, err
		}
	}
	// 3. The previous round's closing orders still working.
	if prev.Round != in.Round {
		for _, o := range prev.Orders {
			heartbeat("cancel close " + o.Symbol)
			if _, err := cancelAndSettle(ctx, b, conn.BrokerType, o.OrderID); err != nil {
				return workflows.FlattenResult{}, err
			}
		}
	}

	// 4. Close what is left.
	positions, err := b.GetPositions(ctx)
	if err != nil {
		return workflows.FlattenResult{}, brokerFailure(conn.BrokerType, err)
	}
	holdings := make([]risk.Holding, 0, len(positions))
	for _, p := range positions {
		holdings = append(holdings, risk.Holding{Symbol: p.Symbol, AssetClass: classOfSymbol(p.Symbol), Quantity: p.Quantity})
	}
	closes := risk.FlattenOrders(holdings)
	state := flattenState{Round: in.Round}
	if prev.Round == in.Round {
		state = prev
	}
	var sent []risk.CloseOrder
	var orders []broker.Order
	res := workflows.FlattenResult{}
	var deferred []string
	for _, c := range closes {
		heartbeat("close " + c.Symbol)
		clientID := trade.ClientOrderID(fmt.Sprintf("guard/%s/%d/%s", conn.ID, in.Round, c.Symbol), "flatten")
		o, found, err := b.FindOrderByClientID(ctx, clientID)
		if err != nil {
			return res, brokerFailure(conn.BrokerType, err)
		}
		if !found {
			req := broker.OrderRequest{ClientOrderID: clientID, Symbol: c.Symbol, AssetClass: c.AssetClass, Side: c.Side,
				Type: signal.OrderMarket, Quantity: c.Quantity, TimeInForce: broker.TIFDay}
			if c.AssetClass == signal.AssetCrypto {
				req.TimeInForce = broker.TIFGTC
			}
			o, err = b.PlaceOrder(ctx, req)
			switch kind := broker.KindOf(err); {
			case err == nil:
			case kind == broker.KindMarketClosed || kind == broker.KindHalted:
				res.Deferred = true
				deferred = append(deferred, risk.PositionsCloseDeferredMessage(c.Symbol))
				continue
			case kind.Retryable():
				return res, brokerFailure(conn.BrokerType, err)
			default:
				// Refused (e.g. shares still held by an order we do not
				// know): this round leaves it; the next one tries again.
				a.log().Warn("account guard: closing order refused", zap.String("connection_id", conn.ID),
					zap.String("symbol", c.Symbol), zap.Error(err))
				continue
			}
		}
		sent = append(sent, c)
		orders = append(orders, o)
		if !hasFlattenOrder(state.Orders, o.ID) {
			state.Orders = append(state.Orders, flattenOrder{Symbol: c.Symbol, OrderID: o.ID})
		}
	}
	if err := saveFlattenState(ctx, a.DB, conn.ID, in.Round, state, nil); err != nil {
		return res, err
	}
	res.Orders = len(sent)

	// 5. Wait for the closing orders.
	deadline := time.Now().Add(flattenSettle)
	for i := range orders {
		for !orders[i].Status.Terminal() && time.Now().Before(deadline) {
			heartbeat("await " + orders[i].ID)
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			o, err := b.GetOrderStatus(ctx, orders[i].ID)
			if err == nil {
				orders[i] = o
			}
		}
	}
	left, err := b.GetPositions(ctx)
	if err != nil {
		return res, brokerFailure(conn.BrokerType, err)
	}
	res.Flat = true
	for _, p := range left {
		if !p.Quantity.IsZero() {
			res.Flat = false
		}
	}
	res.Message = risk.PositionsClosedMessage(sent)
	for _, d := range deferred {
		res.Message += " " + d
	}

	// 6. Record the round once.
	if !state.Recorded && (len(sent) > 0 || res.Deferred) {
		state.Recorded = true
		details := map[string]any{"message": res.Message, "round": in.Round, "connectionId": conn.ID, "flat": res.Flat}
		var list []map[string]any
		for i, c := range sent {
			list = append(list, map[string]any{"symbol": c.Symbol, "side": string(c.Side), "quantity": c.Quantity.String(),
				"brokerOrderId": orders[i].ID, "status": string(orders[i].Status), "filledQuantity": orders[i].FilledQuantity.String(),
				"avgFillPrice": orders[i].AvgFillPrice.String()})
		}
		details["orders"] = list
		now := a.now()
		err := saveFlattenState(ctx, a.DB, conn.ID, in.Round, state, func(tx *gorm.DB) error {
			if res.Flat {
				if err := tx.Model(&schema.RiskGuard{}).Where("connection_id = ?", conn.ID).Update("flattened_at", now).Error; err != nil {
					return err
				}
			}
			if _, err := audit.Append(tx, audit.Entry{UserID: in.UserID, Action: audit.ActionPositionsFlattened, ResourceType: "BrokerConnection",
				ResourceID: conn.ID, Details: details, At: now}); err != nil {
				return err
			}
			_, err := realtime.AppendEvent(tx, in.UserID, realtime.EventRiskPositionsClosed, map[string]any{
				"connectionId": conn.ID, "message": res.Message, "orders": list, "flat": res.Flat})
			return err
		})
		if err != nil {
			return res, err
		}
		metrics.GuardAction(metrics.GuardFlatten)
		a.committed(in.UserID)
	}
	if bal, err := b.GetBalance(ctx); err == nil {
		if err := portfolio.Sync(ctx, a.DB, in.UserID, conn.ID, left, bal, a.now()); err != nil {
			a.log().Warn("account guard: portfolio sync", zap.String("connection_id", conn.ID), zap.Error(err))
		} else {
			a.committed(in.UserID)
		}
	}
	return res, nil
}

func hasFlattenOrder(list []flattenOrder, id string) bool {
	for _, o := range list {
		if o.OrderID == id {
			return true
		}
	}
	return false
}

// saveFlattenState stores a round's closing orders on the guard row (only
// while the round is current), with extra writes in the same transaction.
func saveFlattenState(ctx context.Context, db *gorm.DB, connectionID string, round int64, st flattenState, extra func(tx *gorm.DB) error) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return store.InTx(ctx, db, func(tx *gorm.DB) error {
		if err := tx.Model(&schema.RiskGuard{}).Where("connection_id = ? AND flatten_round = ?", connectionID, round).
			Update("flatten_orders", string(b)).Error; err != nil {
			return err
		}
		if extra == nil {
			return nil
		}
		return extra(tx)
	})
}

// cancelStopForFlatten cancels a position's stop before the guard closes
// the position; a stop that executed meanwhile is recorded as triggered.
func (g *Guard) cancelStopForFlatten(ctx context.Context, b broker.Broker, brokerName string, s schema.StopLoss) error {
	k, ok, err := g.Trading.openStop(ctx, b, brokerName, s.UserID, s.ConnectionID, s.Symbol, s.AssetClass, "guard:"+s.ConnectionID)
	if err != nil || !ok {
		return err // held by a trade step: the next round
	}
	defer k.release(ctx)
	active, seen, err := k.working(ctx)
	if err != nil {
		return err
	}
	note := &stopNote{Action: audit.ActionStopLossCancelled,
		Message: fmt.Sprintf("Stop-loss cancelled: the %s position is being closed by the account's loss rules.", s.Symbol)}
	switch {
	case active:
		filled, err := k.cancel(ctx)
		if err != nil {
			return err
		}
		k.row.Status = stopClosed
		if filled {
			k.row.Status = stopTriggered
			note = &stopNote{Action: audit.ActionStopLossTriggered, Message: risk.StopTriggeredMessage(s.Symbol, k.row.Quantity)}
		}
	case seen == seenTriggered:
		note = &stopNote{Action: audit.ActionStopLossTriggered, Message: risk.StopTriggeredMessage(s.Symbol, k.row.Quantity)}
	case seen == seenNothing:
		k.row.Status = stopClosed
	}
	return k.save(ctx, note)
}

// heldPositions reads the broker's positions by symbol.
func heldPositions(ctx context.Context, b broker.Broker) (map[string]stopPosition, error) {
	positions, err := b.GetPositions(ctx)
	if err != nil {
		return nil, err
	}
	return positionsBySymbol(positions), nil
}

func positionsBySymbol(positions []broker.Position) map[string]stopPosition {
	held := make(map[string]stopPosition, len(positions))
	for _, p := range positions {
		held[p.Symbol] = stopPosition{Quantity: p.Quantity, AvgEntry: p.AvgEntryPrice}
	}
	return held
}

// tradeOwnsStop reports whether a trade in flight in the row's symbol, or
// one filled after the row last changed, will set the stop itself.
func tradeOwnsStop(recent []schema.Trade, row schema.StopLoss) bool {
	for _, t := range recent {
		if t.Symbol != row.Symbol {
			continue
		}
		if t.Status != string(trade.StatusFilled) || (t.FilledAt != nil && t.FilledAt.After(row.UpdatedAt)) {
			return true
		}
	}
	return false
}

// classOfSymbol tells a crypto pair ("BTC-USD") from a stock.
func classOfSymbol(symbol string) signal.AssetClass {
	for _, c := range symbol {
		if c == '-' || c == '/' {
			return signal.AssetCrypto
		}
	}
	return signal.AssetStock
}

// ReconcileStops keeps the stops of the connection's positions working
// between trades: a stop the broker executed is recorded, one it dropped
// (cancelled, expired, lost) or that an exit lifted and did not need is
// placed again on what the position is now, and a stop whose position
// closed is cancelled. Positions with a trade in flight are left to that
// trade.
func (g *Guard) ReconcileStops(ctx context.Context, in workflows.GuardRef) (workflows.ReconcileStopsResult, error) {
	return g.reconcileStops(ctx, in, nil)
}

// reconcileStops is ReconcileStops; seen, when not nil, is what the
// guard's look just read (the connection, its broker, the settings and the
// positions), used instead of reading them again.
func (g *Guard) reconcileStops(ctx context.Context, in workflows.GuardRef, seen *looked) (workflows.ReconcileStopsResult, error) {
	a := g.Trading
	var res workflows.ReconcileStopsResult
	var rows []schema.StopLoss
	if err := a.DB.WithContext(ctx).Where("connection_id = ? AND status IN ?", in.ConnectionID,
		[]string{stopActive, stopPlacing, stopReleased}).Order("symbol").Find(&rows).Error; err != nil {
		return res, err
	}
	if len(rows) == 0 {
		return res, nil
	}
	if seen == nil {
		conn, err := a.Brokers.Load(ctx, in.UserID, in.ConnectionID)
		if err != nil {
			return res, err
		}
		b, err := a.Brokers.Open(ctx, conn)
		if err != nil {
			return res, err
		}
		_, settings, err := a.settings(ctx, in.UserID)
		if err != nil {
			return res, err
		}
		positions, err := b.GetPositions(ctx)
		if err != nil {
			return res, brokerFailure(conn.BrokerType, err)
		}
		seen = &looked{conn: conn, b: b, settings: settings, positions: positions}
	}
	conn, b, settings := seen.conn, seen.b, seen.settings
	held := positionsBySymbol(seen.positions)
	var err error
	// A trade in flight sets its position's stop itself after its fill
	// (PlaceStopLoss), and so does one that filled since the stop last
	// changed (for stopHandoff, while its own retries run).
	var recent []schema.Trade
	if err := a.DB.WithContext(ctx).Select("symbol", "status", "filled_at").Where("broker_connection_id = ?", in.ConnectionID).
		Where("status IN ? OR (status = ? AND filled_at > ?)",
			[]string{string(trade.StatusPending), string(trade.StatusSubmitted), string(trade.StatusPartialFill), string(trade.StatusHalted)},
			string(trade.StatusFilled), a.now().Add(-stopHandoff)).
		Find(&recent).Error; err != nil {
		return res, err
	}
	for _, r := range rows {
		if tradeOwnsStop(recent, r) {
			continue
		}
		// The broker's word on the stop comes first: the positions were
		// read before it, and a stop that executed in between would
		// otherwise be placed again for shares no longer held (a sell
		// stop that could open a short). An ended stop means reading the
		// positions again, after it.
		var order broker.Order
		orderErr := errors.New("no order")
		if r.OrderID != "" {
			order, orderErr = b.GetOrderStatus(ctx, r.OrderID)
			if orderErr == nil && order.Status.Terminal() {
				if held, err = heldPositions(ctx, b); err != nil {
					return res, brokerFailure(conn.BrokerType, err)
				}
			}
		}
		// The usual case, decided without a write: the stop works and
		// covers the position as it is.
		if pos, ok := held[r.Symbol]; ok && r.Status == stopActive && r.Side == string(risk.ExitSide(pos.Quantity)) &&
			r.Quantity.Equal(pos.Quantity.Abs()) && orderErr == nil && !order.Status.Terminal() {
			res.Checked++
			continue
		}
		k, ok, err := a.openStop(ctx, b, conn.BrokerType, r.UserID, r.ConnectionID, r.Symbol, r.AssetClass, "guard:"+r.ConnectionID)
		if err != nil {
			return res, err
		}
		if !ok {
			continue
		}
		res.Checked++
		pos, ok := held[r.Symbol]
		if !ok {
			pos = stopPosition{Quantity: decimal.Zero, AvgEntry: decimal.Zero}
		}
		var desired risk.Stop
		if !pos.Quantity.IsZero() {
			desired, err = keptStop(k.row, pos, signal.AssetClass(r.AssetClass), settings)
			if err != nil {
				k.release(ctx)
				return res, temporal.NewNonRetryableApplicationError(err.Error(), risk.CodeInvalidOrder, err)
			}
		}
		symbol, class := r.Symbol, signal.AssetClass(r.AssetClass)
		// fresh: the position read again, after the stop's order, when
		// reconcile finds the stop executed.
		fresh := func() (decimal.Decimal, risk.Stop, error) {
			now, err := heldPositions(ctx, b)
			if err != nil {
				return decimal.Zero, risk.Stop{}, brokerFailure(conn.BrokerType, err)
			}
			p, ok := now[symbol]
			if !ok || p.Quantity.IsZero() {
				return decimal.Zero, risk.Stop{}, nil
			}
			d, err := keptStop(k.row, p, class, settings)
			return p.Quantity, d, err
		}
		ch, err := k.reconcile(ctx, pos.Quantity, desired, "", func(ch stopChange) *stopNote {
			switch {
			case ch.Action == risk.StopPlace:
				return &stopNote{Action: audit.ActionStopLossReplaced, Message: risk.StopPlacedMessage("placed again", symbol, ch.Stop)}
			case ch.Action == risk.StopReplace:
				return &stopNote{Action: audit.ActionStopLossAmended, Message: risk.StopPlacedMessage("amended", symbol, ch.Stop)}
			case ch.Triggered:
				return &stopNote{Action: audit.ActionStopLossTriggered, Message: risk.StopTriggeredMessage(symbol, ch.Stop.Quantity)}
			case ch.Action == risk.StopCancel || ch.Seen == seenDropped:
				return &stopNote{Action: audit.ActionStopLossCancelled, Message: risk.StopCancelledMessage(symbol)}
			}
			return nil
		}, fresh)
		k.release(ctx)
		if err != nil {
			a.log().Warn("account guard: stop-loss reconciliation", zap.String("connection_id", in.ConnectionID),
				zap.String("symbol", symbol), zap.Error(err))
			continue
		}
		switch {
		case ch.Triggered:
			res.Triggered++
		case ch.Action == risk.StopPlace:
			res.Replaced++
		case ch.Action == risk.StopCancel:
			res.Closed++
		}
		if ch.Action != risk.StopKeep && ch.Action != risk.StopNone || ch.Seen != seenNothing {
			a.committed(in.UserID)
		}
	}
	return res, nil
}

// guardActionOf is the guard_actions label of an escalation to level.
func guardActionOf(level risk.LossLevel) string {
	switch level {
	case risk.LossLimit:
		return metrics.GuardLimit
	case risk.LossCircuitBreaker:
		return metrics.GuardCircuitBreaker
	}
	return metrics.GuardWarning
}
