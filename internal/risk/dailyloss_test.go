package risk

import (
	"testing"
)

func TestEvaluateDailyLoss(t *testing.T) {
	amountLimit := func(a string) Settings { s := DefaultSettings(); s.DailyLossLimitAmount = dec(a); return s }
	tests := []struct {
		name          string
		start, equity string
		settings      Settings
		level         LossLevel
		pct, amount   string
		message       string
	}{
		{"flat day", "100000", "100000", DefaultSettings(), LossOK, "0", "0", ""},
		{"up day", "100000", "101000", DefaultSettings(), LossOK, "0", "0", ""},
		{"small loss", "100000", "98000", DefaultSettings(), LossOK, "2", "2000", ""},
		{"just below warning (80% of -5%)", "100000", "96000.01", DefaultSettings(), LossOK, "3.9999", "3999.99", ""},
		{"warning at exactly 80% of the limit", "100000", "96000", DefaultSettings(), LossWarning, "4", "4000",
			"Daily loss limit approaching (-$4,000 of -$5,000). Trading paused until tomorrow 00:00 UTC"},
		{"SPEC US-006 #3: -$485 of a -$500 limit", "100000", "99515", amountLimit("500"), LossWarning, "0.485", "485",
			"Daily loss limit approaching (-$485 of -$500). Trading paused until tomorrow 00:00 UTC"},
		{"warning with cents", "100000", "99514.5", amountLimit("500"), LossWarning, "0.4855", "485.5",
			"Daily loss limit approaching (-$485.50 of -$500). Trading paused until tomorrow 00:00 UTC"},
		{"SPEC US-001 #5: $100,000 → $95,000", "100000", "95000", DefaultSettings(), LossLimit, "5", "5000",
			"Daily loss limit reached (-5%). Trading disabled until tomorrow."},
		{"just below the limit is a warning", "100000", "95000.01", DefaultSettings(), LossWarning, "4.9999", "4999.99",
			"Daily loss limit approaching (-$4,999.99 of -$5,000). Trading paused until tomorrow 00:00 UTC"},
		{"amount limit reached", "100000", "99500", amountLimit("500"), LossLimit, "0.5", "500",
			"Daily loss limit reached (-$500). Trading disabled until tomorrow."},
		{"percent limit tighter than the amount", "5000", "4750", amountLimit("500"), LossLimit, "5", "250",
			"Daily loss limit reached (-5%). Trading disabled until tomorrow."},
		{"fractional percent limit", "100000", "97500", func() Settings { s := DefaultSettings(); s.DailyLossLimitPct = dec("2.5"); return s }(),
			LossLimit, "2.5", "2500", "Daily loss limit reached (-2.5%). Trading disabled until tomorrow."},
		{"between limit and breaker", "50000", "46000.01", DefaultSettings(), LossLimit, "7.9999", "3999.99",
			"Daily loss limit reached (-5%). Trading disabled until tomorrow."},
		{"SPEC US-006 #5: $50,000 → $46,000", "50000", "46000", DefaultSettings(), LossCircuitBreaker, "8", "4000",
			"Emergency circuit breaker triggered (-8%). Account under review. Contact support."},
		{"circuit breaker beats the amount limit", "50000", "40000", amountLimit("500"), LossCircuitBreaker, "20", "10000",
			"Emergency circuit breaker triggered (-8%). Account under review. Contact support."},
		{"drawdown percent rounds to 4 places", "30000", "29000", DefaultSettings(), LossOK, "3.3333", "1000", ""},
		{"no start equity: amount limit still applies", "0", "-600", amountLimit("500"), LossLimit, "0", "600",
			"Daily loss limit reached (-$500). Trading disabled until tomorrow."},
		{"no start equity and no amount limit", "0", "-600", DefaultSettings(), LossOK, "0", "600", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EvaluateDailyLoss(dec(tt.start), dec(tt.equity), tt.settings)
			if got.Level != tt.level || !got.DrawdownPct.Equal(dec(tt.pct)) ||
				!got.DrawdownAmount.Equal(dec(tt.amount)) || got.Message != tt.message {
				t.Errorf("EvaluateDailyLoss() = {%s %s%% $%s %q}\n                 want {%s %s%% $%s %q}",
					got.Level, got.DrawdownPct, got.DrawdownAmount, got.Message, tt.level, tt.pct, tt.amount, tt.message)
			}
		})
	}
}

func TestLossStateErr(t *testing.T) {
	tests := []struct {
		level LossLevel
		code  string // empty: nil
	}{
		{LossOK, ""},
		{LossWarning, CodeDailyLossLimit},
		{LossLimit, CodeDailyLossLimit},
		{LossCircuitBreaker, CodeCircuitBreaker},
	}
	for _, tt := range tests {
		s := LossState{Level: tt.level, Message: "m"}
		err := s.Err()
		if tt.code == "" {
			if err != nil {
				t.Errorf("%s: Err() = %v, want nil", tt.level, err)
			}
			continue
		}
		assertRejection(t, err, tt.code, "m")
	}
}

func TestLossLevelPolicy(t *testing.T) {
	tests := []struct {
		level                 LossLevel
		blocks, closes, locks bool
	}{
		{LossOK, false, false, false},
		{LossWarning, true, true, false},
		{LossLimit, true, true, false},
		{LossCircuitBreaker, true, true, true},
	}
	for _, tt := range tests {
		if tt.level.BlocksTrading() != tt.blocks || tt.level.ClosesPositions() != tt.closes || tt.level.LocksAccount() != tt.locks {
			t.Errorf("%s: blocks=%v closes=%v locks=%v", tt.level,
				tt.level.BlocksTrading(), tt.level.ClosesPositions(), tt.level.LocksAccount())
		}
	}
}
