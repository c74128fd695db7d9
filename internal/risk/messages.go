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
	msgApprovalTimeoutRange = "Approval timeout must be between 30 seconds and 24 hours"
	msgAlertLagRange        = "Stale alert limit must be between 5 and 600 seconds (the replay window)"
	msgLadderStop           = "Stop after a take-profit target must be none, breakeven or trail"
	msgBreakevenOffset      = "Breakeven offset must be at least 0% and below 100%"
	msgTrailAfterTarget     = "Trail after target must be between TP1 and TP9"
	msgLadderTrailPct       = "Trail distance must be greater than 0% and less than 100%"
	msgEntryStrategy        = "Entry strategy must be even, decreasing or increasing"
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

// SPEC edge case 6: conflicting directions within the window.
func msgConflictingSignal(symbol string, existing, incoming signal.Side) string {
	return fmt.Sprintf("Conflicting signals for %s within %d seconds: a %s is already being executed, so this %s was not placed.",
		symbol, int(ConcurrentWindow.Seconds()), existing, incoming)
}

// SPEC edge case 6: same direction within the window.
func msgCombined(symbol string, side signal.Side, n int) string {
	what := "signal"
	if n > 1 {
		what = "signals"
	}
	return fmt.Sprintf("Combined with %d earlier %s %s for %s within %d seconds; the max position rule applies to the total.",
		n, side, what, symbol, int(ConcurrentWindow.Seconds()))
}

// HaltedMessage tells the trader an order waits for a trading halt to end
// (SPEC edge case 1).
func HaltedMessage(symbol string) string {
	return fmt.Sprintf("Trading in %s is halted. The order is waiting (market_halted) and will be sent automatically when trading resumes.", symbol)
}

// PositionsClosedMessage reports the orders that closed the positions of
// an account stopped by its loss rules.
func PositionsClosedMessage(orders []CloseOrder) string {
	if len(orders) == 0 {
		return "No open positions to close."
	}
	parts := make([]string, len(orders))
	for i, o := range orders {
		verb := "sold"
		if o.Side == signal.SideBuy {
			verb = "bought back"
		}
		what := quantityText(o.Quantity, o.AssetClass, o.Symbol)
		if o.AssetClass != signal.AssetCrypto {
			what += " of " + o.Symbol
		}
		parts[i] = verb + " " + what
	}
	return "Open positions closed: " + strings.Join(parts, ", ") + "."
}

// PositionsCloseDeferredMessage: a close could not be sent because the
// market is closed; the guard sends it at the open.
func PositionsCloseDeferredMessage(symbol string) string {
	return fmt.Sprintf("The %s position will be closed when the market opens.", symbol)
}

// StopPlacedMessage announces a protective stop: "Stop-loss placed: sell 5
// AAPL @ $176.40". verb is placed, amended or placed again.
func StopPlacedMessage(verb, symbol string, s Stop) string {
	if s.TrailPercent.IsPositive() {
		return fmt.Sprintf("Stop-loss %s: %s %s %s, trailing %s%% (now %s)", verb, s.Side, s.Quantity, symbol,
			formatPercent(s.TrailPercent), FormatPrice(s.StopPrice))
	}
	return fmt.Sprintf("Stop-loss %s: %s %s %s @ %s", verb, s.Side, s.Quantity, symbol, FormatPrice(s.StopPrice))
}

// StopCancelledMessage: the position is closed, its stop cancelled.
func StopCancelledMessage(symbol string) string {
	return fmt.Sprintf("Stop-loss cancelled: the %s position is closed.", symbol)
}

// StopTriggeredMessage: the broker executed the stop.
func StopTriggeredMessage(symbol string, qty decimal.Decimal) string {
	return fmt.Sprintf("Stop-loss triggered: %s %s closed by the broker.", qty, symbol)
}

// UnlockedMessage tells the trader an administrator unlocked the account.
func UnlockedMessage() string {
	return "Your account was reviewed and unlocked. Trading is enabled again."
}
