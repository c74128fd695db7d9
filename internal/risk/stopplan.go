package risk

import (
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// The stop-loss of a position lives as long as the position (FR-007): it is
// placed after the first fill, amended when the position changes, cancelled
// when the position is closed and placed again when the broker drops it.
// There is one protective stop per position, covering all of it.

// Stop is a protective stop order: Side closes the position; a trailing
// stop has TrailPercent > 0 (StopPrice is then its initial level).
type Stop struct {
	Side         signal.Side     `json:"side"`
	Quantity     decimal.Decimal `json:"quantity"`
	StopPrice    decimal.Decimal `json:"stopPrice"`
	TrailPercent decimal.Decimal `json:"trailPercent"`
}

// Same reports whether two stops are the same order.
func (s Stop) Same(o Stop) bool {
	return s.Side == o.Side && s.Quantity.Equal(o.Quantity) && s.StopPrice.Equal(o.StopPrice) && s.TrailPercent.Equal(o.TrailPercent)
}

// StopAction is what PlanStop decides.
type StopAction string

const (
	StopNone    StopAction = "none"    // no position, no stop
	StopKeep    StopAction = "keep"    // the working stop is right
	StopPlace   StopAction = "place"   // no working stop: place one
	StopReplace StopAction = "replace" // cancel the working stop, then place the new one
	StopCancel  StopAction = "cancel"  // position closed: cancel the working stop
)

// PlanStop compares the working stop (active false when there is none)
// with the one the position needs.
func PlanStop(current Stop, active bool, position decimal.Decimal, desired Stop) StopAction {
	switch {
	case position.IsZero() && active:
		return StopCancel
	case position.IsZero():
		return StopNone
	case !active:
		return StopPlace
	case current.Same(desired):
		return StopKeep
	}
	return StopReplace
}

// StopRequest says how to protect a position.
type StopRequest struct {
	AssetClass signal.AssetClass
	// Position is the broker's position after the fill (< 0 short).
	Position decimal.Decimal
	// AvgEntry is the position's average entry price.
	AvgEntry decimal.Decimal
	// Price is an explicit stop price (the signal's stop_loss price, or the
	// working stop's price when the position only shrank); zero computes
	// it from Pct.
	Price decimal.Decimal
	// Pct is the stop distance in percent of AvgEntry (the signal's
	// stop_loss percent, else the trader's setting).
	Pct decimal.Decimal
	// Trailing places a trailing stop at Pct instead of a fixed price.
	Trailing bool
}

// DesiredStop is the stop a position needs: the exit side, the whole
// quantity, at Price or Pct below the average entry for a long (above for
// a short), rounded toward the entry on the asset's tick (StopLossPrice).
// A trailing stop trails by Pct and starts at that level.
func DesiredStop(req StopRequest) (Stop, error) {
	qty := req.Position.Abs()
	exit := ExitSide(req.Position)
	entrySide := signal.SideBuy
	if req.Position.IsNegative() {
		entrySide = signal.SideSell
	}
	price := req.Price
	if price.IsZero() || req.Trailing {
		tick := decimal.New(1, -2)
		if req.AssetClass == signal.AssetStock {
			tick = StockTick(req.AvgEntry)
		}
		p, err := StopLossPrice(entrySide, req.AvgEntry, req.Pct, tick)
		if err != nil {
			return Stop{}, err
		}
		price = p
	}
	s := Stop{Side: exit, Quantity: qty, StopPrice: price, TrailPercent: decimal.Zero}
	if req.Trailing {
		s.TrailPercent = req.Pct
	}
	return s, nil
}
