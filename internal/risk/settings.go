package risk

import (
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Settings are a trader's risk rules (schema.RiskSettings holds them). All
// percentages are positive numbers of percent: 10 means 10% of equity, a
// daily loss limit of 5 means -5%.
type Settings struct {
	MaxPositionPct       decimal.Decimal `json:"maxPositionPct"`
	DailyLossLimitPct    decimal.Decimal `json:"dailyLossLimitPct"`
	DailyLossLimitAmount decimal.Decimal `json:"dailyLossLimitAmount"` // dollars; 0 = no amount limit
	CircuitBreakerPct    decimal.Decimal `json:"circuitBreakerPct"`
	StopLossPct          decimal.Decimal `json:"stopLossPct"`
	ExtendedHours        bool            `json:"extendedHours"`
	// TrailingStop makes the automatic stop-loss a trailing stop that
	// follows the price at StopLossPct instead of a fixed stop price.
	TrailingStop bool `json:"trailingStop"`
	// AllowReversal: a buy while short (sell while long) that goes through
	// flat exits the position first, then enters the other side once the
	// exit filled; off, it only exits (TradersPost's behaviour).
	AllowReversal bool `json:"allowReversal"`
	// MaxAlertLagSeconds: a webhook alert whose time is older is refused as
	// stale (3Commas' max_lag).
	MaxAlertLagSeconds int `json:"maxAlertLagSeconds"`
	// RequireApproval: every automated signal waits for the trader's
	// approval (dashboard, Discord /approve) for ApprovalTimeoutSeconds,
	// then is cancelled (TradersPost's auto-submit off).
	RequireApproval        bool `json:"requireApproval"`
	ApprovalTimeoutSeconds int  `json:"approvalTimeoutSeconds"`
	// LadderStop moves the stop-loss after a take-profit ladder's leg
	// fills (DESIGN §8): none; breakeven after TP1 (the entry price plus
	// BreakevenOffsetPct in the trade's favour); trail after TPk
	// (TrailAfterTarget) at LadderTrailPct. A channel subscription may
	// override the mode.
	LadderStop         string          `json:"ladderStop"`
	BreakevenOffsetPct decimal.Decimal `json:"breakevenOffsetPct"`
	TrailAfterTarget   int             `json:"trailAfterTarget"`
	LadderTrailPct     decimal.Decimal `json:"ladderTrailPct"`
	// EntryStrategy shares the position among the limit entries of a
	// multi-entry signal: even, decreasing (the first entry, nearest the
	// market, largest) or increasing (EntryShares).
	EntryStrategy string `json:"entryStrategy"`
}

// LadderStopPlan is the trader's stop move for a ladder; mode overrides
// the trader's mode when not empty (a channel subscription's setting).
func (s Settings) LadderStopPlan(mode string) LadderStopPlan {
	if mode == "" {
		mode = s.LadderStop
	}
	if mode == "" {
		mode = LadderStopNone
	}
	p := LadderStopPlan{Mode: mode, OffsetPct: s.BreakevenOffsetPct, TrailAfter: s.TrailAfterTarget, TrailPct: s.LadderTrailPct}
	if p.TrailAfter < 1 {
		p.TrailAfter = 1
	}
	if !p.TrailPct.IsPositive() {
		p.TrailPct = decimal.NewFromInt(1)
	}
	return p
}

// DefaultApprovalTimeoutSeconds is how long a signal waits for approval.
const DefaultApprovalTimeoutSeconds = 300

// ApprovalTimeout is the approval wait (the default when unset).
func (s Settings) ApprovalTimeout() time.Duration {
	if s.ApprovalTimeoutSeconds <= 0 {
		return DefaultApprovalTimeoutSeconds * time.Second
	}
	return time.Duration(s.ApprovalTimeoutSeconds) * time.Second
}

// DefaultMaxAlertLagSeconds is the stale-alert limit of a new account.
const DefaultMaxAlertLagSeconds = 60

// AlertLag is the stale-alert limit (the default when unset).
func (s Settings) AlertLag() time.Duration {
	if s.MaxAlertLagSeconds <= 0 {
		return DefaultMaxAlertLagSeconds * time.Second
	}
	return time.Duration(s.MaxAlertLagSeconds) * time.Second
}

// DefaultSettings are the rules of a new account: 10% max position, -5% daily
// loss limit, no amount limit, -8% circuit breaker, 2% stop loss, regular
// hours only, fixed (not trailing) stops (SPEC FR-005..FR-007, edge case 4).
func DefaultSettings() Settings {
	return Settings{
		MaxPositionPct:         decimal.NewFromInt(10),
		DailyLossLimitPct:      decimal.NewFromInt(5),
		DailyLossLimitAmount:   decimal.Zero,
		CircuitBreakerPct:      decimal.NewFromInt(8),
		StopLossPct:            decimal.NewFromInt(2),
		ExtendedHours:          false,
		TrailingStop:           false,
		MaxAlertLagSeconds:     DefaultMaxAlertLagSeconds,
		ApprovalTimeoutSeconds: DefaultApprovalTimeoutSeconds,
		LadderStop:             LadderStopNone,
		BreakevenOffsetPct:     decimal.Zero,
		TrailAfterTarget:       1,
		LadderTrailPct:         decimal.NewFromInt(1),
		EntryStrategy:          EntryStrategyEven,
	}
}

// FieldError is one invalid setting. Field is the JSON name of the setting.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// SettingsError lists every invalid setting, in field order.
type SettingsError struct {
	Fields []FieldError `json:"fields"`
}

func (e *SettingsError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Message
	}
	return strings.Join(msgs, "; ")
}

var hundred = decimal.NewFromInt(100)

// Validate checks the bounds of every setting and returns a *SettingsError
// naming all invalid ones, or nil.
func (s Settings) Validate() error {
	var errs []FieldError
	check := func(ok bool, field, msg string) {
		if !ok {
			errs = append(errs, FieldError{Field: field, Message: msg})
		}
	}
	check(inRange(s.MaxPositionPct, true), "maxPositionPct", msgMaxPositionRange)
	check(inRange(s.DailyLossLimitPct, true), "dailyLossLimitPct", msgDailyLossPctRange)
	check(!s.DailyLossLimitAmount.IsNegative(), "dailyLossLimitAmount", msgDailyLossAmountRange)
	check(inRange(s.CircuitBreakerPct, true), "circuitBreakerPct", msgCircuitBreakerRange)
	check(inRange(s.StopLossPct, false), "stopLossPct", msgStopLossRange)
	check(s.MaxAlertLagSeconds >= 5 && s.MaxAlertLagSeconds <= 600, "maxAlertLagSeconds", msgAlertLagRange)
	check(s.ApprovalTimeoutSeconds >= 30 && s.ApprovalTimeoutSeconds <= 86400, "approvalTimeoutSeconds", msgApprovalTimeoutRange)
	validLadderSettings(s, check)
	check(s.EntryStrategy == "" || ValidEntryStrategy(s.EntryStrategy), "entryStrategy", msgEntryStrategy)
	if len(errs) > 0 {
		return &SettingsError{Fields: errs}
	}
	return nil
}

// inRange reports 0 < pct < 100, or 0 < pct <= 100 when hundredAllowed.
func inRange(pct decimal.Decimal, hundredAllowed bool) bool {
	if !pct.IsPositive() {
		return false
	}
	if hundredAllowed {
		return pct.LessThanOrEqual(hundred)
	}
	return pct.LessThan(hundred)
}
