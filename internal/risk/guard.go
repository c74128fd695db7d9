package risk

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// The account guard (one per broker connection) keeps a DayState: the
// equity the UTC day started with and the most severe loss level reached
// that day. Decide folds each new observation of the account into it.

// Severity orders the loss levels: ok < warning < limit < circuit breaker.
func (l LossLevel) Severity() int {
	switch l {
	case LossWarning:
		return 1
	case LossLimit:
		return 2
	case LossCircuitBreaker:
		return 3
	}
	return 0
}

// Escalate returns the more severe of two levels. Within a day a level
// never drops: an account that recovers after reaching its limit stays
// blocked until the reset.
func Escalate(a, b LossLevel) LossLevel {
	if b.Severity() > a.Severity() {
		return b
	}
	if a == "" {
		return LossOK
	}
	return a
}

// TradingDay is the UTC calendar day containing t ("2006-01-02"); the daily
// loss limit resets at 00:00 UTC.
func TradingDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// NextReset is the first 00:00 UTC strictly after t.
func NextReset(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// DayStartEquity is the base of a day's drawdown when the guard first sees
// the account that day: the broker's start-of-day equity when it reports
// one (the paper broker's equity at 00:00 UTC, Alpaca's last close), else
// the equity observed now.
func DayStartEquity(lastEquity, equity decimal.Decimal) decimal.Decimal {
	if lastEquity.IsPositive() {
		return lastEquity
	}
	return equity
}

// DayState is what the guard remembers about one account for one UTC day.
type DayState struct {
	Day         string          `json:"day"` // TradingDay; "" before the first observation
	StartEquity decimal.Decimal `json:"startEquity"`
	Level       LossLevel       `json:"level"`
	// Message is the trader-facing notice of Level ("" at LossOK).
	Message string `json:"message,omitempty"`
	// BlockedUntil is when new trades are allowed again (the next reset)
	// once Level blocks trading; zero while trading is allowed.
	BlockedUntil time.Time `json:"blockedUntil"`
}

// Observation is one look at the account.
type Observation struct {
	Now        time.Time
	Equity     decimal.Decimal
	LastEquity decimal.Decimal // broker's start-of-day equity; zero when unknown
	Settings   Settings
}

// GuardDecision is the outcome of Decide.
type GuardDecision struct {
	State DayState  // to store
	Loss  LossState // the observation evaluated against State.StartEquity
	// Escalated: the level rose with this observation; the trader is
	// notified and the change audited once.
	Escalated bool
	// Lock: the circuit breaker was reached with this observation; the
	// account is locked until an administrator unlocks it.
	Lock bool
	// Blocking: new trades are refused and open positions must be closed.
	Blocking bool
}

// Decide folds an observation into the day's state: a new UTC day starts a
// fresh state from DayStartEquity; the loss is evaluated against the day's
// start equity; the level only ever rises within a day.
func Decide(prev DayState, obs Observation) GuardDecision {
	day := TradingDay(obs.Now)
	st := prev
	if st.Day != day {
		st = DayState{Day: day, StartEquity: DayStartEquity(obs.LastEquity, obs.Equity), Level: LossOK}
	}
	loss := EvaluateDailyLoss(st.StartEquity, obs.Equity, obs.Settings)
	d := GuardDecision{Loss: loss}
	if next := Escalate(st.Level, loss.Level); next != st.Level {
		st.Level, st.Message = next, loss.Message
		d.Escalated = true
		d.Lock = next.LocksAccount()
	}
	if st.Level.BlocksTrading() {
		st.BlockedUntil = NextReset(obs.Now)
		d.Blocking = true
	} else {
		st.BlockedUntil = time.Time{}
	}
	d.State = st
	return d
}

// CheckTrading is the guard's verdict on a new order (PrepareOrder): a
// locked account, a day already blocked by the guard (until BlockedUntil),
// or a live evaluation of the current equity at a blocking level refuse
// it. live is EvaluateDailyLoss of the equity just read; pass a LossState
// at LossOK when the day's start equity is unknown.
func CheckTrading(locked bool, st DayState, now time.Time, live LossState) error {
	if locked {
		return AccountLocked()
	}
	if !st.BlockedUntil.IsZero() && now.Before(st.BlockedUntil) && st.Level.BlocksTrading() {
		return LossState{Level: st.Level, Message: st.Message}.Err()
	}
	return live.Err()
}

// Holding is an open position as the broker reports it (quantity < 0 for
// a short).
type Holding struct {
	Symbol     string
	AssetClass signal.AssetClass
	Quantity   decimal.Decimal
}

// CloseOrder is a market order that closes one position.
type CloseOrder struct {
	Symbol     string
	AssetClass signal.AssetClass
	Side       signal.Side
	Quantity   decimal.Decimal
}

// FlattenOrders are the orders that close every open position: a sell for
// a long, a buy for a short, for the whole quantity. Flat positions are
// skipped; order follows the input.
func FlattenOrders(holdings []Holding) []CloseOrder {
	var out []CloseOrder
	for _, h := range holdings {
		if h.Quantity.IsZero() {
			continue
		}
		out = append(out, CloseOrder{Symbol: h.Symbol, AssetClass: h.AssetClass, Side: ExitSide(h.Quantity), Quantity: h.Quantity.Abs()})
	}
	return out
}

// ExitSide is the side of an order that reduces a position: sell for a
// long (or flat), buy for a short.
func ExitSide(position decimal.Decimal) signal.Side {
	if position.IsNegative() {
		return signal.SideBuy
	}
	return signal.SideSell
}

// Rebase restarts the day from equity: after an administrator reviewed and
// unlocked an account stopped by the circuit breaker, its drawdown counts
// from the equity it has now, so the breaker does not fire again at once
// on the loss already taken.
func Rebase(now time.Time, equity decimal.Decimal) DayState {
	return DayState{Day: TradingDay(now), StartEquity: equity, Level: LossOK}
}
