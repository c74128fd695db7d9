package broker

import (
	"context"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// QuantityRules are the quantity constraints of one symbol at a broker:
// the quantity increment (whole shares, an exchange's lot size) and the
// smallest order quantity (zero: one step). A take-profit ladder's legs
// are split on them (DESIGN §8).
type QuantityRules struct {
	Step decimal.Decimal
	Min  decimal.Decimal
}

// QuantityRuler is implemented by adapters that know a symbol's quantity
// rules: the paper broker (whole shares; 0.00000001 for crypto) and the
// crypto exchanges from their published pair rules (Binance LOT_SIZE,
// Kraken lot_decimals/ordermin, Coinbase base_increment/base_min_size).
// Without it, whole shares for stocks and 0.00000001 for crypto apply.
type QuantityRuler interface {
	QuantityRules(ctx context.Context, symbol string, class signal.AssetClass) (QuantityRules, error)
}
