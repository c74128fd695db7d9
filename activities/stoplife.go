package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/performance"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// The protective stop of a position (schema.StopLoss, one row per
// connection and symbol) is changed by the trade path after a fill
// (PlaceStopLoss), before an exit (PrepareOrder lifts it so the broker lets
// the shares go), by the account guard (ReconcileStops: placed again when
// the broker dropped it) and when the guard closes every position. A lease
// on the row lets one of them work on a position at a time; every broker
// order carries a client order id derived from the row and its version, so
// a retried step finds the order its predecessor placed instead of placing
// a second one.

// Stop row statuses.
const (
	stopActive    = "active"    // working at the broker
	stopPlacing   = "placing"   // being placed under Version's client order id
	stopReleased  = "released"  // lifted so an exit can sell the shares
	stopClosed    = "closed"    // no position (or never placed)
	stopTriggered = "triggered" // executed by the broker
)

const (
	// stopLease is how long one step may hold a position's stop.
	stopLease = 30 * time.Second
	// cancelSettle is how long a step waits for a cancelled order to be
	// final at the broker.
	cancelSettle = 5 * time.Second
)

// errStopBusy: another step holds the position's stop; retried.
func errStopBusy(symbol string) error {
	return temporal.NewApplicationError(fmt.Sprintf("the %s stop-loss is being updated; retrying", symbol), "STOP_BUSY")
}

// stopKeeper works on one position's stop while holding its lease.
type stopKeeper struct {
	a     *Trading
	b     broker.Broker
	name  string // broker type, for error messages
	owner string
	row   schema.StopLoss
	// executed are the orders of the row (the stop, a pair's legs) seen
	// filled at the broker; the next save feeds them to the trader's
	// performance, whatever status it records (a stop found executed may
	// be followed at once by a new placement), once per order
	// (performance.RecordOrderFill: by the broker order id).
	executed []broker.Order
}

// stopPosition is the broker's position in the symbol.
type stopPosition struct {
	Quantity decimal.Decimal
	AvgEntry decimal.Decimal
}

// openStop loads (creating when missing) the stop row of a position and
// takes its lease for owner; ok is false while another owner holds it.
func (a *Trading) openStop(ctx context.Context, b broker.Broker, brokerName, userID, connectionID, symbol, class, owner string) (*stopKeeper, bool, error) {
	now := a.now()
	var row schema.StopLoss
	ok := false
	err := store.InTx(ctx, a.DB, func(tx *gorm.DB) error {
		ok = false
		seed := schema.StopLoss{ID: uuid.NewString(), UserID: userID, ConnectionID: connectionID, Symbol: symbol, AssetClass: class,
			Side: string(signal.SideSell), Quantity: decimal.Zero, Status: stopClosed, CreatedAt: now, UpdatedAt: now}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&seed).Error; err != nil {
			return err
		}
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("connection_id = ? AND symbol = ?", connectionID, symbol).Take(&row).Error; err != nil {
			return err
		}
		if row.LeaseOwner != "" && row.LeaseOwner != owner && row.LeaseUntil != nil && row.LeaseUntil.After(now) {
			return nil
		}
		until := now.Add(stopLease)
		row.LeaseOwner, row.LeaseUntil = owner, &until
		ok = true
		return tx.Model(&schema.StopLoss{}).Where("id = ?", row.ID).
			Updates(map[string]any{"lease_owner": owner, "lease_until": until}).Error
	})
	if err != nil || !ok {
		return nil, false, err
	}
	return &stopKeeper{a: a, b: b, name: brokerName, owner: owner, row: row}, true, nil
}

// release gives the lease back (best effort: it expires anyway).
func (k *stopKeeper) release(ctx context.Context) {
	_ = k.a.DB.WithContext(context.WithoutCancel(ctx)).Model(&schema.StopLoss{}).
		Where("id = ? AND lease_owner = ?", k.row.ID, k.owner).
		Updates(map[string]any{"lease_owner": "", "lease_until": nil}).Error
}

// stopNote is the audit entry of a row change, written in the same
// transaction: on the trade's timeline (with a trade.updated event, and the
// trade's stop fields updated) when TradeID is set, else on the position's
// stop (with a risk.stopLoss event).
type stopNote struct {
	Action  string
	Message string
	TradeID string
	// Also writes more rows in the note's transaction (a ladder's leg
	// records that its stop move is done).
	Also func(tx *gorm.DB) error
}

// save writes the row (still under our lease, which it extends) and, with
// a note, its audit entry and event, in one transaction.
func (k *stopKeeper) save(ctx context.Context, note *stopNote) error {
	now := k.a.now()
	until := now.Add(stopLease)
	k.row.UpdatedAt, k.row.LeaseUntil = now, &until
	err := store.InTx(ctx, k.a.DB, func(tx *gorm.DB) error {
		res := tx.Model(&schema.StopLoss{}).Where("id = ? AND lease_owner = ?", k.row.ID, k.owner).Updates(map[string]any{
			"side": k.row.Side, "quantity": k.row.Quantity, "stop_price": k.row.StopPrice, "trail_percent": k.row.TrailPercent,
			"status": k.row.Status, "version": k.row.Version, "order_id": k.row.OrderID, "client_order_id": k.row.ClientOrderID,
			"trade_id": k.row.TradeID, "pair_id": k.row.PairID, "lease_until": until, "updated_at": now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return errors.New("stop-loss lease lost; retrying")
		}
		if err := k.performanceExecuted(tx); err != nil {
			return err
		}
		if note == nil {
			return nil
		}
		if note.Also != nil {
			if err := note.Also(tx); err != nil {
				return err
			}
		}
		if err := positionStopPrice(tx, k.row); err != nil {
			return err
		}
		if note.Action == audit.ActionStopLossTriggered && k.row.Status == stopTriggered {
			// Copy trading: the stop is a fill of a leader (copytrade.go).
			if err := k.a.leaderStopFilled(tx, k.row); err != nil {
				return err
			}
		}
		if note.TradeID != "" {
			return k.noteOnTrade(tx, note)
		}
		if _, err := audit.Append(tx, audit.Entry{UserID: k.row.UserID, Action: note.Action, ResourceType: "StopLoss", ResourceID: k.row.ID,
			Details: map[string]any{"message": note.Message, "symbol": k.row.Symbol, "connectionId": k.row.ConnectionID, "status": k.row.Status,
				"side": k.row.Side, "quantity": k.row.Quantity.String(), "stopPrice": nullString(k.row.StopPrice),
				"trailPercent": nullString(k.row.TrailPercent), "brokerOrderId": k.row.OrderID}, At: now}); err != nil {
			return err
		}
		_, err := realtime.AppendEvent(tx, k.row.UserID, realtime.EventRiskStopLoss, stopView(k.row, note.Message))
		return err
	})
	if err == nil {
		k.executed = nil
	}
	if err == nil && note != nil {
		k.a.committed(k.row.UserID)
	}
	return err
}

// performanceExecuted feeds the orders seen executed at the broker (no
// trade row fills for them) to the trader's performance, in the
// transaction that saves the row. Each order counts once, whichever path
// saw it (the guard, the trade's own steps, a pair's follower) and however
// often: performance.RecordOrderFill keeps what it counted per order id.
func (k *stopKeeper) performanceExecuted(tx *gorm.DB) error {
	for _, o := range k.executed {
		if err := k.performanceOrder(tx, o); err != nil {
			return err
		}
	}
	return nil
}

func (k *stopKeeper) performanceOrder(tx *gorm.DB, o broker.Order) error {
	if !o.FilledQuantity.IsPositive() {
		return nil
	}
	side := string(o.Side)
	if side == "" {
		side = k.row.Side
	}
	if side != string(signal.SideBuy) && side != string(signal.SideSell) {
		return nil
	}
	orderID := o.ID
	if orderID == "" {
		orderID = k.row.OrderID
	}
	source := ""
	if k.row.TradeID != "" {
		var t []schema.Trade
		if err := tx.Select("source").Where("id = ?", k.row.TradeID).Limit(1).Find(&t).Error; err != nil {
			return err
		}
		if len(t) == 1 {
			source = t[0].Source
		}
	}
	return performance.RecordOrderFill(tx, performance.FillEvent{UserID: k.row.UserID, ConnectionID: k.row.ConnectionID, Symbol: k.row.Symbol,
		Source: source, TradeID: k.row.TradeID, Side: side, At: k.a.now()}, orderID, o.FilledQuantity, o.AvgFillPrice)
}

// noteOnTrade records a stop change made for a trade on that trade: its
// stop fields follow the working stop, and the audit entry and event go on
// its timeline.
func (k *stopKeeper) noteOnTrade(tx *gorm.DB, note *stopNote) error {
	var t schema.Trade
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&t, "id = ?", note.TradeID).Error; err != nil {
		return err
	}
	if k.row.Status == stopActive {
		t.StopLossOrderID = k.row.OrderID
		t.StopLossPrice = k.row.StopPrice
		t.UpdatedAt = k.a.now()
		if err := tx.Model(&schema.Trade{}).Where("id = ?", t.ID).Updates(map[string]any{
			"stop_loss_order_id": t.StopLossOrderID, "stop_loss_price": t.StopLossPrice, "updated_at": t.UpdatedAt,
		}).Error; err != nil {
			return err
		}
	}
	return trade.AppendAuditAndEvent(tx, t, trade.Change{Action: note.Action, Message: note.Message, Event: realtime.EventTradeUpdated,
		Details: map[string]any{"stopPrice": nullString(k.row.StopPrice), "trailPercent": nullString(k.row.TrailPercent),
			"quantity": k.row.Quantity.String(), "brokerOrderId": k.row.OrderID, "stopStatus": k.row.Status}})
}

// positionStopPrice shows the working stop (or none) on the open position.
func positionStopPrice(tx *gorm.DB, row schema.StopLoss) error {
	price := decimal.NullDecimal{}
	if row.Status == stopActive {
		price = row.StopPrice
	}
	return tx.Model(&schema.Position{}).
		Where("user_id = ? AND broker_connection_id = ? AND symbol = ? AND closed_at IS NULL", row.UserID, row.ConnectionID, row.Symbol).
		Update("stop_loss_price", price).Error
}

// StopView is the risk.stopLoss event payload.
type StopView struct {
	Symbol       string           `json:"symbol"`
	ConnectionID string           `json:"connectionId"`
	Status       string           `json:"status"`
	Side         string           `json:"side"`
	Quantity     decimal.Decimal  `json:"quantity"`
	StopPrice    *decimal.Decimal `json:"stopPrice,omitempty"`
	TrailPercent *decimal.Decimal `json:"trailPercent,omitempty"`
	Message      string           `json:"message"`
}

func stopView(row schema.StopLoss, msg string) StopView {
	v := StopView{Symbol: row.Symbol, ConnectionID: row.ConnectionID, Status: row.Status, Side: row.Side, Quantity: row.Quantity, Message: msg}
	if row.StopPrice.Valid {
		p := row.StopPrice.Decimal
		v.StopPrice = &p
	}
	if row.TrailPercent.Valid {
		p := row.TrailPercent.Decimal
		v.TrailPercent = &p
	}
	return v
}

func nullString(d decimal.NullDecimal) string {
	if !d.Valid {
		return ""
	}
	return d.Decimal.String()
}

// stopOf is the row's stop as the risk rules see it.
func stopOf(row schema.StopLoss) risk.Stop {
	s := risk.Stop{Side: signal.Side(row.Side), Quantity: row.Quantity, StopPrice: row.StopPrice.Decimal, TrailPercent: decimal.Zero}
	if row.TrailPercent.Valid {
		s.TrailPercent = row.TrailPercent.Decimal
	}
	return s
}

// clientID is the client order id of the row's current version.
func (k *stopKeeper) clientID() string {
	return trade.ClientOrderID(fmt.Sprintf("stop/%s/%s/%d", k.row.ConnectionID, k.row.Symbol, k.row.Version), "stop")
}

// Observations of the working stop at the broker.
const (
	seenNothing   = ""
	seenTriggered = "triggered" // the broker executed it
	seenDropped   = "dropped"   // the broker cancelled, expired or lost it
	seenAdopted   = "adopted"   // a previous attempt's placement, found working
)

// working settles the row against the broker and reports whether a stop
// is working there: a row being placed adopts the order found under its
// client order id; an active row whose order the broker finished is
// reported as triggered (filled) or dropped (anything else) and is no
// longer active.
func (k *stopKeeper) working(ctx context.Context) (active bool, seen string, err error) {
	if k.pairRow() {
		return k.pairWorking(ctx) // exitpair.go
	}
	var o broker.Order
	switch k.row.Status {
	case stopPlacing:
		var found bool
		o, found, err = k.b.FindOrderByClientID(ctx, k.row.ClientOrderID)
		if err != nil {
			return false, seenNothing, brokerFailure(k.name, err)
		}
		if !found {
			return false, seenNothing, nil // placed again under the same id
		}
		k.row.OrderID = o.ID
	case stopActive:
		o, err = k.b.GetOrderStatus(ctx, k.row.OrderID)
		if broker.KindOf(err) == broker.KindNotFound {
			k.row.Status = stopClosed
			return false, seenDropped, nil
		}
		if err != nil {
			return false, seenNothing, brokerFailure(k.name, err)
		}
	default:
		return false, seenNothing, nil
	}
	switch {
	case o.Status == broker.StatusFilled:
		k.row.Status = stopTriggered
		k.executed = append(k.executed, o)
		return false, seenTriggered, nil
	case o.Status.Terminal():
		k.row.Status = stopClosed
		return false, seenDropped, nil
	}
	if k.row.Status == stopPlacing {
		k.row.Status = stopActive
		return true, seenAdopted, nil
	}
	return true, seenNothing, nil
}

// cancel cancels the working stop and waits until the broker has finished
// it; filled is true when it executed before the cancel took.
func (k *stopKeeper) cancel(ctx context.Context) (filled bool, err error) {
	if k.row.PairID != "" {
		return k.cancelPair(ctx) // exitpair.go
	}
	o, err := cancelAndSettle(ctx, k.b, k.name, k.row.OrderID)
	if err != nil {
		return false, err
	}
	if o.FilledQuantity.IsPositive() {
		k.executed = append(k.executed, o) // filled, or partly before the cancel took
	}
	return o.Status == broker.StatusFilled, nil
}

// cancelAndSettle cancels an order and waits (up to cancelSettle) for the
// broker to report it final. An order already final or unknown is fine.
func cancelAndSettle(ctx context.Context, b broker.Broker, brokerName, orderID string) (broker.Order, error) {
	err := b.CancelOrder(ctx, orderID)
	switch k := broker.KindOf(err); {
	case err == nil, k == broker.KindRejected:
	case k == broker.KindNotFound:
		return broker.Order{ID: orderID, Status: broker.StatusCancelled}, nil
	default:
		return broker.Order{}, brokerFailure(brokerName, err)
	}
	deadline := time.Now().Add(cancelSettle)
	for {
		o, err := b.GetOrderStatus(ctx, orderID)
		if broker.KindOf(err) == broker.KindNotFound {
			return broker.Order{ID: orderID, Status: broker.StatusCancelled}, nil
		}
		if err != nil {
			return broker.Order{}, brokerFailure(brokerName, err)
		}
		if o.Status.Terminal() {
			return o, nil
		}
		if time.Now().After(deadline) {
			return o, temporal.NewApplicationError(fmt.Sprintf("order %s is still working after the cancel; retrying", orderID), string(broker.KindUnavailable))
		}
		select {
		case <-ctx.Done():
			return o, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// place sends the stop under the row's next client order id (the same id
// again when the previous attempt left no order) and records it active.
func (k *stopKeeper) place(ctx context.Context, s risk.Stop, tradeID string) error {
	if k.row.OrderID != "" || k.row.Version == 0 {
		k.row.Version++
	}
	k.row.Status = stopPlacing
	k.row.Side, k.row.Quantity = string(s.Side), s.Quantity
	k.row.StopPrice = decimal.NewNullDecimal(s.StopPrice)
	k.row.TrailPercent = decimal.NullDecimal{}
	if s.TrailPercent.IsPositive() {
		k.row.TrailPercent = decimal.NewNullDecimal(s.TrailPercent)
	}
	k.row.OrderID, k.row.PairID = "", ""
	k.row.ClientOrderID = k.clientID()
	if tradeID != "" {
		k.row.TradeID = tradeID
	}
	if err := k.save(ctx, nil); err != nil {
		return err
	}
	o, found, err := k.b.FindOrderByClientID(ctx, k.row.ClientOrderID)
	if err != nil {
		return brokerFailure(k.name, err)
	}
	if !found {
		req := broker.OrderRequest{
			ClientOrderID: k.row.ClientOrderID, Symbol: k.row.Symbol, AssetClass: signal.AssetClass(k.row.AssetClass),
			Side: s.Side, Type: signal.OrderStop, Quantity: s.Quantity, StopPrice: s.StopPrice, TimeInForce: broker.TIFGTC,
		}
		if s.TrailPercent.IsPositive() {
			req.Type, req.StopPrice, req.TrailPercent = signal.OrderTrailingStop, decimal.Zero, s.TrailPercent
		}
		if o, err = k.b.PlaceOrder(ctx, req); err != nil {
			return brokerFailure(k.name, err)
		}
	}
	k.row.OrderID = o.ID
	k.row.Status = stopActive
	return nil // the caller saves, with its audit note
}

// stopChange is what reconcile did.
type stopChange struct {
	Action    risk.StopAction
	Seen      string // what the broker had done meanwhile
	Stop      risk.Stop
	Triggered bool // the stop executed (seen, or during a cancel)
}

// reconcile makes the position's stop match desired (nothing when the
// position is flat): it settles the row, then keeps, places, replaces
// (cancel, then place: brokers hold the shares a working stop covers) or
// cancels the stop. The row is saved with note(change) when note is not
// nil, else without an audit entry (the caller records one on its trade).
func (k *stopKeeper) reconcile(ctx context.Context, position decimal.Decimal, desired risk.Stop, tradeID string, note func(stopChange) *stopNote,
	fresh func() (decimal.Decimal, risk.Stop, error)) (stopChange, error) {
	active, seen, err := k.working(ctx)
	if err != nil {
		return stopChange{}, err
	}
	if seen == seenTriggered && fresh != nil {
		// The stop executed, perhaps after the caller read the position:
		// decide from the position as it is now, read after the order,
		// never place a stop for shares the execution already sold.
		if position, desired, err = fresh(); err != nil {
			return stopChange{Seen: seen, Triggered: true}, err
		}
	}
	ch := stopChange{Seen: seen, Triggered: seen == seenTriggered}
	ch.Action = risk.PlanStop(stopOf(k.row), active, position, desired)
	if ch.Action == risk.StopKeep && seen == seenAdopted {
		ch.Action = risk.StopPlace // placed by the attempt before; record it now
		ch.Stop = stopOf(k.row)
		return ch, k.save(ctx, noteOf(note, ch))
	}
	switch ch.Action {
	case risk.StopKeep, risk.StopNone:
		ch.Stop = stopOf(k.row)
		if ch.Action == risk.StopNone && (k.row.Status == stopReleased || k.row.Status == stopPlacing) {
			k.row.Status = stopClosed // lifted or never placed, and nothing left to protect
			return ch, k.save(ctx, nil)
		}
		if seen == seenNothing {
			return ch, nil
		}
	case risk.StopCancel, risk.StopReplace:
		filled, err := k.cancel(ctx)
		if err != nil {
			return ch, err
		}
		if filled {
			// The stop executed while we were changing it: the position is
			// not what desired was computed from. Record it; the next step
			// (a retry, or the guard) starts over from the new position.
			k.row.Status = stopTriggered
			ch.Triggered, ch.Action = true, risk.StopNone
			ch.Stop = stopOf(k.row)
			if err := k.save(ctx, noteOf(note, ch)); err != nil {
				return ch, err
			}
			return ch, temporal.NewApplicationError(fmt.Sprintf("the %s stop-loss executed while it was being changed; retrying", k.row.Symbol), "STOP_MOVED")
		}
		k.row.Status = stopClosed
		if ch.Action == risk.StopCancel {
			ch.Stop = stopOf(k.row)
			break
		}
		fallthrough
	case risk.StopPlace:
		if err := k.place(ctx, desired, tradeID); err != nil {
			return ch, err
		}
		ch.Stop = desired
	}
	return ch, k.save(ctx, noteOf(note, ch))
}

func noteOf(note func(stopChange) *stopNote, ch stopChange) *stopNote {
	if note == nil {
		return nil
	}
	return note(ch)
}

// positionIn reads the broker's position in symbol.
func positionIn(ctx context.Context, b broker.Broker, brokerName, symbol string) (stopPosition, error) {
	positions, err := b.GetPositions(ctx)
	if err != nil {
		return stopPosition{}, brokerFailure(brokerName, err)
	}
	for _, p := range positions {
		if p.Symbol == symbol {
			return stopPosition{Quantity: p.Quantity, AvgEntry: p.AvgEntryPrice}, nil
		}
	}
	return stopPosition{Quantity: decimal.Zero, AvgEntry: decimal.Zero}, nil
}

// keptStop is the stop a position needs after it changed without a new
// entry (an exit filled in part, the broker dropped the stop): the working
// stop's level (or trail) on the new quantity; the trader's default when
// the position changed side or never had one.
func keptStop(row schema.StopLoss, pos stopPosition, class signal.AssetClass, settings risk.Settings) (risk.Stop, error) {
	req := risk.StopRequest{AssetClass: class, Position: pos.Quantity, AvgEntry: pos.AvgEntry, Pct: settings.StopLossPct, Trailing: settings.TrailingStop}
	if row.Side == string(risk.ExitSide(pos.Quantity)) && row.StopPrice.Valid {
		req.Price = row.StopPrice.Decimal
		req.Trailing = row.TrailPercent.Valid && row.TrailPercent.Decimal.IsPositive()
		if req.Trailing {
			s := stopOf(row)
			s.Quantity = pos.Quantity.Abs()
			return s, nil
		}
	}
	return risk.DesiredStop(req)
}

// tradingBlocked reports whether the trader's account is locked or blocked
// by the daily loss rules right now (the guard is closing positions).
func (a *Trading) tradingBlocked(ctx context.Context, userID string) (bool, error) {
	var u schema.User
	if err := a.DB.WithContext(ctx).Select("id", "locked").Take(&u, "id = ?", userID).Error; err != nil {
		return false, err
	}
	if u.Locked {
		return true, nil
	}
	var n int64
	err := a.DB.WithContext(ctx).Model(&schema.RiskGuard{}).Where("user_id = ? AND blocked_until > ?", userID, a.now()).Count(&n).Error
	return n > 0, err
}
