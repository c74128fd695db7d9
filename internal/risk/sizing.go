package risk

import (
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// SizeRequest is everything Size needs to turn a signal's quantity into an
// order quantity for one trader.
type SizeRequest struct {
	Symbol       string
	AssetClass   signal.AssetClass
	Side         signal.Side
	QuantityType signal.QuantityType
	// Quantity is read per QuantityType: shares/units, dollars, or percent
	// (10 = 10%). Ignored for QtyDefault.
	Quantity decimal.Decimal
	// Price is the reference price: the limit price, else the last price,
	// else the signal's price.
	Price  decimal.Decimal
	Equity decimal.Decimal
	// CurrentPositionQty is the trader's position in Symbol: >0 long, <0 short.
	CurrentPositionQty decimal.Decimal
	// Step is the smallest tradable quantity; zero means 1 share for stocks
	// and 0.00000001 for crypto. Quantities are rounded down to it.
	Step     decimal.Decimal
	Settings Settings
	// Manual marks a dashboard order: it is rejected, never reduced, when it
	// breaks the max-position rule (SPEC US-006 #4).
	Manual bool
}

// SizeResult is the order quantity after the risk rules.
type SizeResult struct {
	Quantity decimal.Decimal `json:"quantity"`
	Notional decimal.Decimal `json:"notional"` // Quantity × Price
	Reduced  bool            `json:"reduced"`  // cut down by the max-position rule
	Note     string          `json:"note,omitempty"`
}

// DefaultStep is the quantity step used when SizeRequest.Step is zero.
func DefaultStep(class signal.AssetClass) decimal.Decimal {
	if class == signal.AssetCrypto {
		return decimal.New(1, -8)
	}
	return decimal.NewFromInt(1)
}

// Size computes the order quantity (SPEC FR-005, US-006 #1 and #4):
//
//  1. the quantity the signal asks for, rounded down to Step: fixed_quantity
//     as is; dollar_amount ÷ Price; percent_of_equity of Equity ÷ Price;
//     percent_of_position of |CurrentPositionQty|; default: the largest
//     quantity the max-position rule allows;
//  2. the max-position rule: the position after the order may be worth at
//     most MaxPositionPct% of Equity at Price. An order that only reduces the
//     position is never limited; one that adds counts the existing position;
//     one that flips it counts only the new side. An automated order above the
//     limit is reduced to the largest allowed quantity (Reduced, Note); a
//     manual one is rejected; when nothing is allowed the order is rejected.
//
// Errors are *Rejection with CodePositionLimit or CodeInvalidOrder.
func Size(req SizeRequest) (SizeResult, error) {
	if !req.Price.IsPositive() {
		return SizeResult{}, reject(CodeInvalidOrder, msgNoPrice(req.Symbol))
	}
	dir, err := direction(req.Side)
	if err != nil {
		return SizeResult{}, err
	}
	step := req.Step
	if !step.IsPositive() {
		step = DefaultStep(req.AssetClass)
	}
	lot := req.Price.Mul(step) // value of one step
	position := req.CurrentPositionQty
	held := position.Abs()
	reducing := !position.IsZero() && position.Sign() != dir

	allowed := maxAllowed(req, lot, step, held, reducing)

	var qty decimal.Decimal
	switch req.QuantityType {
	case signal.QtyDefault:
		if !allowed.IsPositive() {
			return SizeResult{}, positionLimitZero(req)
		}
		return result(allowed, req.Price, false, ""), nil
	case signal.QtyFixed:
		if !req.Quantity.IsPositive() {
			return SizeResult{}, reject(CodeInvalidOrder, msgQuantityNotPositive())
		}
		qty = floorTo(req.Quantity, step)
	case signal.QtyDollarAmount:
		if !req.Quantity.IsPositive() {
			return SizeResult{}, reject(CodeInvalidOrder, msgQuantityNotPositive())
		}
		qty = floorDiv(req.Quantity, lot).Mul(step)
	case signal.QtyPercentOfEquity:
		if !inRange(req.Quantity, true) {
			return SizeResult{}, reject(CodeInvalidOrder, msgPercentOutOfRange(req.QuantityType))
		}
		notional := nonNegative(req.Equity).Mul(req.Quantity).Shift(-2)
		qty = floorDiv(notional, lot).Mul(step)
	case signal.QtyPercentOfPosition:
		if !inRange(req.Quantity, true) {
			return SizeResult{}, reject(CodeInvalidOrder, msgPercentOutOfRange(req.QuantityType))
		}
		if held.IsZero() {
			return SizeResult{}, reject(CodeInvalidOrder, msgNoPosition(req.Symbol))
		}
		qty = floorTo(held.Mul(req.Quantity).Shift(-2), step)
	default:
		return SizeResult{}, reject(CodeInvalidOrder, msgUnsupportedQuantityType(req.QuantityType))
	}
	if !qty.IsPositive() {
		return SizeResult{}, reject(CodeInvalidOrder,
			msgRoundsToZero(unitsOf(req.AssetClass, req.Symbol), req.Price))
	}

	if reducing && qty.LessThanOrEqual(held) {
		return result(qty, req.Price, false, ""), nil
	}
	if qty.LessThanOrEqual(allowed) {
		return result(qty, req.Price, false, ""), nil
	}
	if req.Manual {
		return SizeResult{}, reject(CodePositionLimit,
			msgManualOverLimit(maxNotional(req), req.Settings.MaxPositionPct, nonNegative(req.Equity)))
	}
	if !allowed.IsPositive() {
		return SizeResult{}, positionLimitZero(req)
	}
	note := msgPositionReduced(quantityText(allowed, req.AssetClass, req.Symbol), req.Settings.MaxPositionPct)
	return result(allowed, req.Price, true, note), nil
}

// maxAllowed is the largest order quantity (a multiple of step) that keeps
// the resulting position within MaxPositionPct% of equity.
func maxAllowed(req SizeRequest, lot, step, held decimal.Decimal, reducing bool) decimal.Decimal {
	limit := maxNotional(req)
	if reducing {
		// Closing the held quantity is always allowed; beyond it the new
		// opposite position must fit the limit on its own.
		return held.Add(floorDiv(limit, lot).Mul(step))
	}
	headroom := limit.Sub(held.Mul(req.Price))
	if !headroom.IsPositive() {
		return decimal.Zero
	}
	return floorDiv(headroom, lot).Mul(step)
}

func maxNotional(req SizeRequest) decimal.Decimal {
	return nonNegative(req.Equity).Mul(req.Settings.MaxPositionPct).Shift(-2)
}

func positionLimitZero(req SizeRequest) *Rejection {
	return reject(CodePositionLimit, msgPositionLimitZero(unitsOf(req.AssetClass, req.Symbol),
		req.Price, req.Settings.MaxPositionPct, nonNegative(req.Equity)))
}

func result(qty, price decimal.Decimal, reduced bool, note string) SizeResult {
	return SizeResult{Quantity: qty, Notional: qty.Mul(price), Reduced: reduced, Note: note}
}

// direction is +1 for a buy and -1 for a sell.
func direction(side signal.Side) (int, error) {
	switch side {
	case signal.SideBuy:
		return 1, nil
	case signal.SideSell:
		return -1, nil
	}
	return 0, reject(CodeInvalidOrder, msgUnsupportedSide(side))
}

// floorDiv returns floor(a / b) for a >= 0, b > 0, exactly (no division
// precision involved); zero for a <= 0.
func floorDiv(a, b decimal.Decimal) decimal.Decimal {
	if !a.IsPositive() {
		return decimal.Zero
	}
	q, _ := a.QuoRem(b, 0)
	return q
}

// floorTo rounds q >= 0 down to a multiple of step.
func floorTo(q, step decimal.Decimal) decimal.Decimal {
	return floorDiv(q, step).Mul(step)
}

func nonNegative(d decimal.Decimal) decimal.Decimal {
	if d.IsNegative() {
		return decimal.Zero
	}
	return d
}
