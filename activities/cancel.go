package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// Cancels are the activities of a cancel signal (`"action":"cancel"`):
// they pick the trader's open orders in the symbol (trade.CancelTargets)
// and have each order's own TradeWorkflow cancel it with its `cancel`
// signal, the path POST /api/v1/trades/{id}/cancel takes.
type Cancels struct {
	Trading *Trading
	// Temporal signals the TradeWorkflows of the orders to cancel.
	Temporal client.Client
	// Wait bounds how long CancelOpenOrders waits for the orders to end
	// (0: DefaultCancelWait); Poll is how often it looks (0: 100 ms).
	Wait time.Duration
	Poll time.Duration
}

// DefaultCancelWait is how long a cancel signal waits for its orders to
// be cancelled before reporting the rest as still being cancelled.
const DefaultCancelWait = time.Minute

// maxCancelCandidates bounds the open orders one cancel signal looks at.
const maxCancelCandidates = 1000

// SelectCancelTargets routes the cancel signal's trade like any signal
// (broker override, else the trader's default for the asset class) and
// returns the trader's open orders in the symbol that the cancel reaches.
// It only reads, except when there is no connection to route to: then the
// cancel trade is recorded as refused, as any signal is.
func (c *Cancels) SelectCancelTargets(ctx context.Context, in workflows.TradeRef) (workflows.CancelSelection, error) {
	a := c.Trading
	l, err := a.load(ctx, in.TradeID)
	if err != nil {
		return workflows.CancelSelection{}, err
	}
	t := l.Trade
	if trade.Status(t.Status).Terminal() {
		return workflows.CancelSelection{Done: true, Status: t.Status, Message: t.ErrorMessage, ConnectionID: t.BrokerConnectionID, Broker: t.Broker}, nil
	}
	settingsRow, _, err := a.settings(ctx, t.UserID)
	if err != nil {
		return workflows.CancelSelection{}, err
	}
	class := signal.AssetClass(t.AssetClass)
	conn, err := a.Brokers.Route(ctx, t.UserID, class, l.Signal.Broker, settingsRow)
	var noConn *brokerconn.ErrNoConnection
	if errors.As(err, &noConn) {
		stored, err := a.record(ctx, t.ID, func(tx *gorm.DB, tr *schema.Trade) (trade.Change, error) {
			if trade.Status(tr.Status).Terminal() {
				return trade.Change{}, trade.ErrNoChange
			}
			tr.Status = string(trade.StatusRejected)
			tr.ErrorMessage = noConn.Message
			tr.ReservedNotional = decimal.Zero
			return trade.Change{Action: audit.ActionTradeRejected, Failed: true, Message: noConn.Message, Event: realtime.EventTradeRejected,
				Details: map[string]any{"code": codeNoConnection}}, nil
		})
		return workflows.CancelSelection{Done: true, Status: stored.Status, Message: stored.ErrorMessage}, err
	}
	if err != nil {
		return workflows.CancelSelection{}, err
	}

	var rows []schema.Trade
	if err := a.DB.WithContext(ctx).
		Select("id", "signal_id", "user_id", "symbol", "asset_class", "status", "broker_connection_id", "workflow_id", "created_at").
		Where("user_id = ? AND symbol = ? AND id <> ? AND status IN ?", t.UserID, t.Symbol, t.ID, trade.CancellableStatuses()).
		Order("created_at").Limit(maxCancelCandidates).Find(&rows).Error; err != nil {
		return workflows.CancelSelection{}, err
	}
	sigs, err := c.signalsOf(ctx, rows)
	if err != nil {
		return workflows.CancelSelection{}, err
	}
	// Orders not routed yet (queued before the open) go where their own
	// signal would be routed now.
	routes := map[string]string{}
	routeOf := func(override string) (string, error) {
		if id, ok := routes[override]; ok {
			return id, nil
		}
		rc, err := a.Brokers.Route(ctx, t.UserID, class, override, settingsRow)
		if errors.As(err, &noConn) {
			rc, err = schema.BrokerConnection{}, nil
		}
		if err != nil {
			return "", err
		}
		routes[override] = rc.ID
		return rc.ID, nil
	}
	orders := make([]trade.OpenOrder, 0, len(rows))
	for _, r := range rows {
		sig := sigs[r.SignalID]
		o := trade.OpenOrder{TradeID: r.ID, WorkflowID: r.WorkflowID, UserID: r.UserID, Symbol: r.Symbol, AssetClass: r.AssetClass,
			Status: trade.Status(r.Status), Action: sig.Action, ConnectionID: r.BrokerConnectionID, CreatedAt: r.CreatedAt}
		if o.ConnectionID == "" {
			if o.RoutedConnectionID, err = routeOf(sig.Broker); err != nil {
				return workflows.CancelSelection{}, err
			}
		}
		orders = append(orders, o)
	}
	scope := trade.CancelScope{UserID: t.UserID, Symbol: t.Symbol, AssetClass: t.AssetClass, ConnectionID: conn.ID,
		CancelTradeID: t.ID, Before: t.CreatedAt}
	out := workflows.CancelSelection{ConnectionID: conn.ID, Broker: conn.BrokerType}
	for _, o := range trade.CancelTargets(scope, orders) {
		out.Targets = append(out.Targets, workflows.CancelTarget{TradeID: o.TradeID, WorkflowID: o.WorkflowID, Status: string(o.Status)})
	}
	return out, nil
}

// signalsOf reads the signals of the trades (action and broker override);
// an unreadable payload counts as an order signal without override.
func (c *Cancels) signalsOf(ctx context.Context, rows []schema.Trade) (map[string]signal.Signal, error) {
	out := map[string]signal.Signal{}
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.SignalID)
	}
	var sigs []schema.Signal
	if err := c.Trading.DB.WithContext(ctx).Select("id", "payload").Where("id IN ?", ids).Find(&sigs).Error; err != nil {
		return nil, err
	}
	for _, s := range sigs {
		var sig signal.Signal
		if err := json.Unmarshal([]byte(s.Payload), &sig); err != nil {
			c.Trading.log().Warn("cancel: unreadable stored signal", zap.String("signal_id", s.ID), zap.Error(err))
			continue
		}
		out[s.ID] = sig
	}
	return out, nil
}

// CancelOpenOrders sends each selected order's TradeWorkflow its `cancel`
// signal, waits (heartbeating, at most Wait) until every one has ended,
// and records the cancel signal's own trade with what happened ("Cancelled
// 2 open AAPL orders."). Idempotent: a retry signals only orders still
// open (a second signal changes nothing) and a recorded outcome is
// returned as it is.
func (c *Cancels) CancelOpenOrders(ctx context.Context, in workflows.CancelOrdersInput) (workflows.CancelOrdersResult, error) {
	a := c.Trading
	var t schema.Trade
	if err := a.DB.WithContext(ctx).First(&t, "id = ?", in.TradeID).Error; err != nil {
		return workflows.CancelOrdersResult{}, fmt.Errorf("load trade %s: %w", in.TradeID, err)
	}
	if trade.Status(t.Status).Terminal() {
		return workflows.CancelOrdersResult{Status: t.Status, Message: t.ErrorMessage}, nil
	}
	ids := make([]string, len(in.Targets))
	for i, tg := range in.Targets {
		ids[i] = tg.TradeID
	}
	targets := func() ([]schema.Trade, error) {
		var rows []schema.Trade
		if len(ids) == 0 {
			return nil, nil
		}
		err := a.DB.WithContext(ctx).Select("id", "user_id", "status", "quantity", "filled_quantity", "workflow_id").
			Where("user_id = ? AND id IN ?", t.UserID, ids).Find(&rows).Error
		return rows, err
	}
	rows, err := targets()
	if err != nil {
		return workflows.CancelOrdersResult{}, err
	}
	for _, r := range rows {
		if trade.Status(r.Status).Terminal() {
			continue
		}
		err := c.Temporal.SignalWorkflow(ctx, r.WorkflowID, "", workflows.SignalCancel, nil)
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			a.log().Warn("cancel: order's workflow not running", zap.String("trade_id", r.ID), zap.String("workflow_id", r.WorkflowID))
			continue
		}
		if err != nil {
			return workflows.CancelOrdersResult{}, fmt.Errorf("signal %s: %w", r.WorkflowID, err)
		}
	}
	wait, poll := c.Wait, c.Poll
	if wait <= 0 {
		wait = DefaultCancelWait
	}
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	deadline := time.Now().Add(wait)
	for {
		open := 0
		for _, r := range rows {
			if !trade.Status(r.Status).Terminal() {
				open++
			}
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, open)
		}
		if open == 0 || !time.Now().Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return workflows.CancelOrdersResult{}, ctx.Err()
		case <-time.After(poll):
		}
		if rows, err = targets(); err != nil {
			return workflows.CancelOrdersResult{}, err
		}
	}

	var tally trade.CancelTally
	byResult := map[trade.CancelResult][]string{}
	for _, r := range rows {
		res := trade.ResultOf(trade.Status(r.Status), r.Quantity, r.FilledQuantity)
		tally.Add(res)
		byResult[res] = append(byResult[res], r.ID)
	}
	msg := trade.CancelOrdersMessage(t.Symbol, tally)
	stored, err := a.record(ctx, t.ID, func(tx *gorm.DB, tr *schema.Trade) (trade.Change, error) {
		if trade.Status(tr.Status).Terminal() {
			return trade.Change{}, trade.ErrNoChange
		}
		tr.Status = string(trade.StatusCancelled)
		tr.ErrorMessage = msg
		tr.BrokerConnectionID, tr.Broker = in.ConnectionID, in.Broker
		tr.ReservedNotional = decimal.Zero
		details := map[string]any{"connectionId": in.ConnectionID, "targets": ids}
		for res, list := range byResult {
			details[string(res)] = list
		}
		return trade.Change{Action: audit.ActionOrderCancelled, Message: msg, Event: realtime.EventTradeCancelled, Details: details}, nil
	})
	if err != nil {
		return workflows.CancelOrdersResult{}, err
	}
	return workflows.CancelOrdersResult{Status: stored.Status, Message: stored.ErrorMessage}, nil
}

// CancelEntry cancels the trade's entry order at the broker because a
// `cancel` reached its TradeWorkflow while the order works there. It
// records the request on the trade's timeline (once) and asks the broker
// to cancel; the workflow's AwaitFill sees the order end and records the
// outcome (cancelled, or filled meanwhile), so the trade keeps one writer.
// Idempotent: an order already final at the broker is left as it is.
func (a *Trading) CancelEntry(ctx context.Context, in workflows.TradeRef) error {
	working := false
	t, err := a.record(ctx, in.TradeID, func(tx *gorm.DB, t *schema.Trade) (trade.Change, error) {
		if trade.Status(t.Status).Terminal() || t.BrokerOrderID == "" {
			return trade.Change{}, trade.ErrNoChange
		}
		working = true
		var n int64
		if err := tx.Model(&schema.AuditLog{}).Where("user_id = ? AND resource_id = ? AND action = ?",
			t.UserID, t.ID, audit.ActionOrderCancelRequested).Count(&n).Error; err != nil {
			return trade.Change{}, err
		}
		if n > 0 {
			return trade.Change{}, trade.ErrNoChange
		}
		return trade.Change{Action: audit.ActionOrderCancelRequested, Message: trade.CancelRequestedMessage(t.Broker),
			Details: map[string]any{"brokerOrderId": t.BrokerOrderID}}, nil
	})
	if err != nil || !working {
		return err
	}
	b, err := a.brokerFor(ctx, t)
	if err != nil {
		return err
	}
	if err := b.CancelOrder(ctx, t.BrokerOrderID); err != nil {
		if broker.KindOf(err).Retryable() {
			return brokerFailure(t.Broker, err)
		}
		// Already final at the broker (filled, cancelled) or unknown to
		// it: AwaitFill reports what the order became.
		a.log().Info("cancel: broker did not cancel the order", zap.String("trade_id", t.ID), zap.Error(err))
	}
	return nil
}
