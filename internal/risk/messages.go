package risk

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// Every sentence this package shows to a trader. Wording marked SPEC is
// quoted from SPEC.md and covered by tests; change it only with the spec.

// SPEC US-001 #2.
func msgInsufficientBuyingPower(available, required decimal.Decimal) string {
	return fmt.Sprintf("Insufficient buying power: %s available, %s required",
		FormatUSD(available), FormatUSD(required))
}

// SPEC US-006 #1 ("Position sized reduced" in the spec is read as a typo).
func msgPositionReduced(quantity string, maxPct decimal.Decimal) string {
	return fmt.Sprintf("Position size reduced to %s (%s%% max rule)", quantity, formatPercent(maxPct))
}

// SPEC US-006 #4.
func msgManualOverLimit(maxNotional, maxPct, equity decimal.Decimal) string {
	return fmt.Sprintf("Manual orders subject to risk limits. Max position: %s (%s%% of %s equity)",
		FormatUSD(maxNotional), formatPercent(maxPct), FormatUSD(equity))
}

func msgPositionLimitZero(what string, price, maxPct, equity decimal.Decimal) string {
	return fmt.Sprintf("Position size limit allows 0 %s at %s (%s%% of %s equity)",
		what, FormatPrice(price), formatPercent(maxPct), FormatUSD(equity))
}

// SPEC US-001 #5.
func msgDailyLimitReachedPct(pct decimal.Decimal) string {
	return fmt.Sprintf("Daily loss limit reached (-%s%%). Trading disabled until tomorrow.", formatPercent(pct))
}

func msgDailyLimitReachedAmount(limit decimal.Decimal) string {
	return fmt.Sprintf("Daily loss limit reached (%s). Trading disabled until tomorrow.", FormatUSD(limit.Neg()))
}

// SPEC US-006 #3.
func msgDailyLimitApproaching(loss, limit decimal.Decimal) string {
	return fmt.Sprintf("Daily loss limit approaching (%s of %s). Trading paused until tomorrow 00:00 UTC",
		FormatUSD(loss.Neg()), FormatUSD(limit.Neg()))
}

// SPEC US-006 #5.
func msgCircuitBreaker(pct decimal.Decimal) string {
	return fmt.Sprintf("Emergency circuit breaker triggered (-%s%%). Account under review. Contact support.",
		formatPercent(pct))
}

func msgAccountLocked() string {
	return "Trading is locked: account under review after the emergency circuit breaker. Contact support."
}

func msgNoPrice(symbol string) string {
	return fmt.Sprintf("No price available for %s, so the order cannot be sized", symbol)
}

func msgQuantityNotPositive() string { return "Quantity must be greater than 0" }

func msgPercentOutOfRange(qt signal.QuantityType) string {
	what := "Percent of equity"
	if qt == signal.QtyPercentOfPosition {
		what = "Percent of position"
	}
	return what + " must be greater than 0% and at most 100%"
}

func msgNoPosition(symbol string) string {
	return fmt.Sprintf("No open %s position to take a percentage of", symbol)
}

func msgRoundsToZero(what string, price decimal.Decimal) string {
	return fmt.Sprintf("Order size too small: it buys 0 %s at %s", what, FormatPrice(price))
}

func msgUnsupportedQuantityType(qt signal.QuantityType) string {
	return fmt.Sprintf("Unsupported quantity type %q", string(qt))
}

func msgUnsupportedSide(side signal.Side) string {
	return fmt.Sprintf("Unsupported order side %q", string(side))
}

func msgFillPriceNotPositive() string { return "Fill price must be greater than 0" }

func msgStopBelowTick(fill, tick decimal.Decimal) string {
	return fmt.Sprintf("No stop loss price exists below %s at a %s tick size", FormatPrice(fill), FormatPrice(tick))
}

// Settings validation.
const (
	msgMaxPositionRange     = "Max position size must be greater than 0% and at most 100%"
	msgDailyLossPctRange    = "Daily loss limit must be greater than 0% and at most 100%"
	msgDailyLossAmountRange = "Daily loss limit amount cannot be negative (0 means no amount limit)"
	msgCircuitBreakerRange  = "Circuit breaker must be greater than 0% and at most 100%"
	msgStopLossRange        = "Stop loss must be greater than 0% and less than 100%"
)

// quantityText renders an order quantity with its unit: "5 shares",
// "1 share", "0.01538461 BTC" (the base asset of a crypto pair).
func quantityText(qty decimal.Decimal, class signal.AssetClass, symbol string) string {
	if class == signal.AssetCrypto {
		return qty.String() + " " + baseAsset(symbol)
	}
	if qty.Equal(decimal.NewFromInt(1)) {
		return "1 share"
	}
	return qty.String() + " shares"
}

// unitsOf names what is being bought, for "0 ... at $price": "shares of
// AAPL", "BTC".
func unitsOf(class signal.AssetClass, symbol string) string {
	if class == signal.AssetCrypto {
		return baseAsset(symbol)
	}
	return "shares of " + symbol
}

func baseAsset(symbol string) string {
	if base, _, ok := strings.Cut(symbol, "-"); ok && base != "" {
		return base
	}
	if base, _, ok := strings.Cut(symbol, "/"); ok && base != "" {
		return base
	}
	return symbol
}
