package trade

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/schema"
)

// View is the trade as the API, WebSocket events and the dashboard show it.
// It holds nothing secret and nothing of another user.
type View struct {
	ID                string           `json:"id"`
	SignalID          string           `json:"signalId"`
	Source            string           `json:"source"`
	Broker            string           `json:"broker"`
	Symbol            string           `json:"symbol"`
	AssetClass        string           `json:"assetClass"`
	Side              string           `json:"side"`
	OrderType         string           `json:"orderType"`
	RequestedQuantity decimal.Decimal  `json:"requestedQuantity"`
	Quantity          decimal.Decimal  `json:"quantity"`
	LimitPrice        *decimal.Decimal `json:"limitPrice,omitempty"`
	StopPrice         *decimal.Decimal `json:"stopPrice,omitempty"`
	Status            string           `json:"status"`
	FilledQuantity    decimal.Decimal  `json:"filledQuantity"`
	FillPrice         *decimal.Decimal `json:"fillPrice,omitempty"`
	StopLossPrice     *decimal.Decimal `json:"stopLossPrice,omitempty"`
	// TakeProfit is the trade's take-profit: target, state (armed,
	// triggered, filled, cancelled) and the exit trade that took it.
	TakeProfit    *TakeProfitView `json:"takeProfit,omitempty"`
	BrokerOrderID string          `json:"brokerOrderId,omitempty"`
	SizingNote    string          `json:"sizingNote,omitempty"`
	Message       string          `json:"message,omitempty"`
	QueuedUntil   *time.Time      `json:"queuedUntil,omitempty"`
	SubmittedAt   *time.Time      `json:"submittedAt,omitempty"`
	FilledAt      *time.Time      `json:"filledAt,omitempty"`
	WorkflowID    string          `json:"workflowId"`
	CreatedAt     time.Time       `json:"createdAt"`
	UpdatedAt     time.Time       `json:"updatedAt"`
}

// ViewOf renders a trade row.
func ViewOf(t schema.Trade) View {
	return View{
		ID: t.ID, SignalID: t.SignalID, Source: t.Source, Broker: t.Broker, Symbol: t.Symbol,
		AssetClass: t.AssetClass, Side: t.Side, OrderType: t.OrderType,
		RequestedQuantity: t.RequestedQuantity, Quantity: t.Quantity,
		LimitPrice: nullable(t.LimitPrice), StopPrice: nullable(t.StopPrice),
		Status: t.Status, FilledQuantity: t.FilledQuantity, FillPrice: nullable(t.FillPrice),
		StopLossPrice: nullable(t.StopLossPrice), TakeProfit: takeProfitOf(t), BrokerOrderID: t.BrokerOrderID,
		SizingNote: t.SizingNote, Message: t.ErrorMessage,
		QueuedUntil: utc(t.QueuedUntil), SubmittedAt: utc(t.SubmittedAt), FilledAt: utc(t.FilledAt),
		WorkflowID: t.WorkflowID, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(),
	}
}

// TakeProfitView is a trade's take-profit as the dashboard shows it.
type TakeProfitView struct {
	Price       decimal.Decimal `json:"price"`
	Status      string          `json:"status"`
	ExitTradeID string          `json:"exitTradeId,omitempty"`
	// Mode is "native" (one one-cancels-other pair with the stop at the
	// broker: PairID, the take-profit leg OrderID, the stop leg
	// StopOrderID) or "emulated" (watched by TradeExec).
	Mode        string `json:"mode,omitempty"`
	OrderID     string `json:"orderId,omitempty"`
	PairID      string `json:"pairId,omitempty"`
	StopOrderID string `json:"stopOrderId,omitempty"`
	// StopStatus is the pair's stop leg: working, filled or cancelled.
	StopStatus string `json:"stopStatus,omitempty"`
}

func takeProfitOf(t schema.Trade) *TakeProfitView {
	if !t.TakeProfitPrice.Valid {
		return nil
	}
	v := &TakeProfitView{Price: t.TakeProfitPrice.Decimal, Status: t.TakeProfitStatus, ExitTradeID: t.TakeProfitTradeID, Mode: t.TakeProfitMode}
	if t.TakeProfitPairID != "" {
		v.OrderID, v.PairID, v.StopOrderID, v.StopStatus = t.TakeProfitOrderID, t.TakeProfitPairID, t.StopLossOrderID, t.TakeProfitStopStatus
	}
	return v
}

func nullable(d decimal.NullDecimal) *decimal.Decimal {
	if !d.Valid {
		return nil
	}
	v := d.Decimal
	return &v
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Step is one entry of a trade's timeline (from its audit entries).
type Step struct {
	At      time.Time      `json:"at"`
	Action  string         `json:"action"`
	Status  string         `json:"status"`
	Message string         `json:"message,omitempty"`
	Details map[string]any `json:"details,omitempty"`
}
