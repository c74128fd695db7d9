package binance

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/symbols"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Each symbol lists the order types it accepts (exchangeInfo orderTypes);
// many accept STOP_LOSS_LIMIT but not STOP_LOSS, some neither, and Binance
// refuses the others ("Stop loss orders are not supported for this
// symbol.", errors.md). The type is chosen before anything is sent:
//   - the requested type when the symbol lists it;
//   - a stop (STOP_LOSS) becomes STOP_LOSS_LIMIT with a limit price
//     DefaultStopLimitBand beyond the stop (below for a sell, above for a
//     buy), so it still fills once triggered unless the price gaps past
//     the band;
//   - anything else is refused with an *OrderTypeError (INVALID_ORDER).

// DefaultStopLimitBand is how far beyond the stop price the limit of a stop
// sent as STOP_LOSS_LIMIT is set (1%).
var DefaultStopLimitBand = decimal.RequireFromString("0.01")

// OrderTypeError is the refusal of an order type the symbol does not
// accept. It is wrapped in a *broker.Error of KindInvalidOrder.
type OrderTypeError struct {
	Symbol  string   // Binance symbol, e.g. ETHBTC
	Type    string   // the Binance type needed, e.g. STOP_LOSS
	Allowed []string // the symbol's orderTypes
}

func (e *OrderTypeError) Error() string {
	return fmt.Sprintf("Binance does not accept %s orders on %s (it accepts %s)", e.Type, e.Symbol, strings.Join(e.Allowed, ", "))
}

// chooseType returns the Binance type to send for typ on a symbol listing
// allowed (an empty list is not checked).
func chooseType(symbol string, allowed []string, typ string) (string, error) {
	if len(allowed) == 0 || slices.Contains(allowed, typ) {
		return typ, nil
	}
	if typ == "STOP_LOSS" && slices.Contains(allowed, "STOP_LOSS_LIMIT") {
		return "STOP_LOSS_LIMIT", nil
	}
	te := &OrderTypeError{Symbol: symbol, Type: typ, Allowed: allowed}
	msg := te.Error()
	if typ == "STOP_LOSS" || typ == "STOP_LOSS_LIMIT" {
		msg += "; place the stop by hand on Binance or trade a symbol that accepts stop orders"
	}
	return "", broker.NewError(Name, broker.KindInvalidOrder, msg, te)
}

// stopLimitPrice is the limit of a stop sent as STOP_LOSS_LIMIT: band
// beyond the stop, rounded to the tick toward a fill (down for a sell, up
// for a buy).
func stopLimitPrice(rules symbols.Rules, side signal.Side, stop, band decimal.Decimal) decimal.Decimal {
	if side == signal.SideSell {
		// NormalizePrice rounds a buy down: the direction that fills a sell.
		return rules.NormalizePrice(stop.Mul(decimal.NewFromInt(1).Sub(band)), signal.SideBuy)
	}
	return rules.NormalizePrice(stop.Mul(decimal.NewFromInt(1).Add(band)), signal.SideSell)
}
