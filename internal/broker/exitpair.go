package broker

import (
	"context"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// ExitPairRequest asks for a position's stop-loss and take-profit as ONE
// broker-native one-cancels-other pair (DESIGN §8 Take-profit): both legs
// close the same Quantity on the exit Side; when one fills, the broker
// itself cancels the other. Brokers map it to their own construct:
// Alpaca order_class=oco, IBKR two orders in one OCA group, Schwab an OCO
// order strategy, Binance orderList/oco, Coinbase trigger_bracket_gtc.
// A broker without one (Kraken spot) does not implement ExitPairPlacer and
// the take-profit is emulated server-side.
type ExitPairRequest struct {
	// ClientOrderID identifies the pair; a second PlaceExitPair with the
	// same id must not create a second pair. Adapters whose broker needs a
	// client id per leg derive them from it (documented per adapter).
	ClientOrderID string            `json:"clientOrderId"`
	Symbol        string            `json:"symbol"`
	AssetClass    signal.AssetClass `json:"assetClass"`
	// Side is the exit side (sell closes a long, buy covers a short).
	Side     signal.Side     `json:"side"`
	Quantity decimal.Decimal `json:"quantity"`
	// TakeProfitPrice is the take-profit leg's limit price.
	TakeProfitPrice decimal.Decimal `json:"takeProfitPrice"`
	// StopPrice is the stop leg's trigger; the stop leg is a stop-market
	// order where the broker has one for the pair, else a stop-limit whose
	// limit the adapter sets (documented per adapter).
	StopPrice   decimal.Decimal `json:"stopPrice"`
	TimeInForce TimeInForce     `json:"timeInForce"` // gtc unless the session table says otherwise
}

// ExitPair is the broker's view of a placed pair.
type ExitPair struct {
	// ID is the broker's handle for the whole pair (Alpaca's parent order
	// id, Binance's orderListId, Schwab's parent order id, Coinbase's order
	// id, the IBKR OCA group); GetExitPair and CancelExitPair take it.
	ID            string `json:"id"`
	ClientOrderID string `json:"clientOrderId"`
	// The legs. A broker whose pair is one order (Coinbase) reports that
	// order in both, each leg's status saying which side of it executed:
	// the leg that did not execute is cancelled once the other filled.
	TakeProfit Order `json:"takeProfit"`
	StopLoss   Order `json:"stopLoss"`
}

// Done reports whether neither leg can fill any more.
func (p ExitPair) Done() bool { return p.TakeProfit.Status.Terminal() && p.StopLoss.Status.Terminal() }

// ExitPairPlacer is implemented by adapters whose broker has a native
// one-cancels-other pair for a position's exits.
type ExitPairPlacer interface {
	// PlaceExitPair places the pair (idempotent by ClientOrderID: it looks
	// the pair up first, or relies on the broker's duplicate-id rejection
	// and then looks it up). A broker that refuses the combination for this
	// instrument answers KindInvalidOrder / KindRejected; the caller then
	// emulates the pair server-side.
	PlaceExitPair(ctx context.Context, req ExitPairRequest) (ExitPair, error)
	// GetExitPair reads both legs' state.
	GetExitPair(ctx context.Context, id string) (ExitPair, error)
	// FindExitPair returns the pair with that client order id, or
	// found=false when the broker has none.
	FindExitPair(ctx context.Context, clientOrderID string) (pair ExitPair, found bool, err error)
	// CancelExitPair cancels both legs (a leg already filled stays filled;
	// cancelling a pair that is done is not an error).
	CancelExitPair(ctx context.Context, id string) error
}
