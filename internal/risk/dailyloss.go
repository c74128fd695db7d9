package risk

import (
	"github.com/shopspring/decimal"
)

// LossLevel is how far a trader's account is into its daily loss rules.
type LossLevel string

const (
	LossOK LossLevel = "ok"
	// LossWarning: the loss reached ApproachingPercent of the daily loss
	// limit. SPEC US-006 #3: new signals are blocked and positions closed,
	// "Trading paused until tomorrow 00:00 UTC".
	LossWarning LossLevel = "warning"
	// LossLimit: the daily loss limit is reached (SPEC US-001 #5): new trades
	// blocked and positions closed until the next UTC day.
	LossLimit LossLevel = "limit"
	// LossCircuitBreaker: drawdown reached CircuitBreakerPct (SPEC US-006 #5):
	// sell everything, lock the account until an admin unlocks it.
	LossCircuitBreaker LossLevel = "circuit_breaker"
)

// BlocksTrading reports whether new orders must be refused at this level.
func (l LossLevel) BlocksTrading() bool {
	return l == LossWarning || l == LossLimit || l == LossCircuitBreaker
}

// ClosesPositions reports whether open positions must be closed at this level.
func (l LossLevel) ClosesPositions() bool { return l.BlocksTrading() }

// LocksAccount reports whether the account must be locked for admin review.
func (l LossLevel) LocksAccount() bool { return l == LossCircuitBreaker }

// ApproachingPercent is the share of the daily loss limit (in percent) at
// which the "approaching" warning level starts.
const ApproachingPercent = 80

// LossState is the outcome of EvaluateDailyLoss.
type LossState struct {
	Level LossLevel `json:"level"`
	// DrawdownPct is the loss since the start of the day in percent of the
	// start equity, truncated to 4 decimals so it never shows a threshold as
	// reached before it is; zero when flat or up, or when the start equity is
	// not positive.
	DrawdownPct decimal.Decimal `json:"drawdownPct"`
	// DrawdownAmount is the loss since the start of the day in dollars; zero
	// when flat or up.
	DrawdownAmount decimal.Decimal `json:"drawdownAmount"`
	// Message is the trader-facing notice; empty at LossOK.
	Message string `json:"message,omitempty"`
}

// Err is the rejection for a new order at this state, nil when trading is
// allowed: CodeCircuitBreaker at LossCircuitBreaker, CodeDailyLossLimit at
// LossWarning and LossLimit.
func (s LossState) Err() error {
	switch s.Level {
	case LossCircuitBreaker:
		return reject(CodeCircuitBreaker, s.Message)
	case LossWarning, LossLimit:
		return reject(CodeDailyLossLimit, s.Message)
	}
	return nil
}

// EvaluateDailyLoss compares the current equity with the equity at the start
// of the trading day (00:00 UTC) against the trader's settings. Checked from
// the most severe level down, thresholds inclusive:
//
//   - circuit breaker: drawdown >= CircuitBreakerPct% of start equity;
//   - limit: loss >= the daily limit, the tighter in dollars of
//     DailyLossLimitPct% of start equity and DailyLossLimitAmount (when set);
//   - warning: loss >= ApproachingPercent% of that limit.
//
// Percentage rules need a positive start equity; the amount limit does not.
// Comparisons are exact (no division).
func EvaluateDailyLoss(startEquity, equity decimal.Decimal, s Settings) LossState {
	loss := startEquity.Sub(equity)
	if !loss.IsPositive() {
		return LossState{Level: LossOK, DrawdownPct: decimal.Zero, DrawdownAmount: decimal.Zero}
	}
	state := LossState{Level: LossOK, DrawdownPct: decimal.Zero, DrawdownAmount: loss}
	hasBase := startEquity.IsPositive()
	if hasBase {
		state.DrawdownPct, _ = loss.Shift(2).QuoRem(startEquity, 4)
	}

	// loss >= pct% of start  ⇔  loss × 100 >= pct × start
	if hasBase && s.CircuitBreakerPct.IsPositive() &&
		loss.Shift(2).GreaterThanOrEqual(s.CircuitBreakerPct.Mul(startEquity)) {
		state.Level = LossCircuitBreaker
		state.Message = msgCircuitBreaker(s.CircuitBreakerPct)
		return state
	}

	limit, byAmount, ok := dailyLimit(startEquity, s)
	if !ok {
		return state
	}
	switch {
	case loss.GreaterThanOrEqual(limit):
		state.Level = LossLimit
		if byAmount {
			state.Message = msgDailyLimitReachedAmount(limit)
		} else {
			state.Message = msgDailyLimitReachedPct(s.DailyLossLimitPct)
		}
	case loss.Shift(2).GreaterThanOrEqual(limit.Mul(decimal.NewFromInt(ApproachingPercent))):
		state.Level = LossWarning
		state.Message = msgDailyLimitApproaching(loss, limit)
	}
	return state
}

// dailyLimit is the effective daily loss limit in dollars: the tighter of the
// percentage limit (needs a positive start equity) and the amount limit (when
// set). byAmount says the amount limit is the effective one; ok is false when
// neither applies.
func dailyLimit(startEquity decimal.Decimal, s Settings) (limit decimal.Decimal, byAmount, ok bool) {
	if startEquity.IsPositive() && s.DailyLossLimitPct.IsPositive() {
		limit, ok = startEquity.Mul(s.DailyLossLimitPct).Shift(-2), true
	}
	if amount := s.DailyLossLimitAmount; amount.IsPositive() && (!ok || amount.LessThan(limit)) {
		limit, byAmount, ok = amount, true, true
	}
	return limit, byAmount, ok
}
