package risk

import (
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/signal"
)

func TestEscalate(t *testing.T) {
	tests := []struct{ a, b, want LossLevel }{
		{LossOK, LossOK, LossOK},
		{"", LossOK, LossOK},
		{LossOK, LossWarning, LossWarning},
		{LossWarning, LossOK, LossWarning},
		{LossLimit, LossWarning, LossLimit},
		{LossWarning, LossCircuitBreaker, LossCircuitBreaker},
		{LossCircuitBreaker, LossLimit, LossCircuitBreaker},
	}
	for _, tt := range tests {
		if got := Escalate(tt.a, tt.b); got != tt.want {
			t.Errorf("Escalate(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestNextResetAndTradingDay(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		at        time.Time
		day       string
		nextReset time.Time
	}{
		{time.Date(2026, 3, 10, 23, 59, 59, 0, time.UTC), "2026-03-10", time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC), "2026-03-11", time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)},
		// 21:00 in New York on Dec 31 is already Jan 1 in UTC.
		{time.Date(2026, 12, 31, 21, 0, 0, 0, ny), "2027-01-01", time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		if got := TradingDay(tt.at); got != tt.day {
			t.Errorf("TradingDay(%s) = %s, want %s", tt.at, got, tt.day)
		}
		if got := NextReset(tt.at); !got.Equal(tt.nextReset) || got.Location() != time.UTC {
			t.Errorf("NextReset(%s) = %s, want %s", tt.at, got, tt.nextReset)
		}
	}
}

func TestDecide(t *testing.T) {
	morning := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	midnight := time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)
	amount := DefaultSettings()
	amount.DailyLossLimitAmount = dec("500")
	tests := []struct {
		name       string
		prev       DayState
		obs        Observation
		want       DayState
		escalated  bool
		lock       bool
		blocking   bool
		lossLevel  LossLevel
		lossAmount string
	}{
		{
			name: "first look of the day takes the broker's start-of-day equity",
			obs:  Observation{Now: morning, Equity: dec("99000"), LastEquity: dec("100000"), Settings: DefaultSettings()},
			want: DayState{Day: "2026-03-10", StartEquity: dec("100000"), Level: LossOK}, lossLevel: LossOK, lossAmount: "1000",
		},
		{
			name: "without a broker start-of-day equity the day starts now",
			obs:  Observation{Now: morning, Equity: dec("99000"), Settings: DefaultSettings()},
			want: DayState{Day: "2026-03-10", StartEquity: dec("99000"), Level: LossOK}, lossLevel: LossOK, lossAmount: "0",
		},
		{
			name: "SPEC US-001 #5: $100,000 → $95,000 reaches the limit and blocks until 00:00 UTC",
			prev: DayState{Day: "2026-03-10", StartEquity: dec("100000"), Level: LossOK},
			obs:  Observation{Now: morning, Equity: dec("95000"), Settings: DefaultSettings()},
			want: DayState{Day: "2026-03-10", StartEquity: dec("100000"), Level: LossLimit,
				Message: "Daily loss limit reached (-5%). Trading disabled until tomorrow.", BlockedUntil: midnight},
			escalated: true, blocking: true, lossLevel: LossLimit, lossAmount: "5000",
		},
		{
			name: "SPEC US-006 #3: -$485 of a -$500 limit warns and blocks",
			prev: DayState{Day: "2026-03-10", StartEquity: dec("100000"), Level: LossOK},
			obs:  Observation{Now: morning, Equity: dec("99515"), Settings: amount},
			want: DayState{Day: "2026-03-10", StartEquity: dec("100000"), Level: LossWarning,
				Message: "Daily loss limit approaching (-$485 of -$500). Trading paused until tomorrow 00:00 UTC", BlockedUntil: midnight},
			escalated: true, blocking: true, lossLevel: LossWarning, lossAmount: "485",
		},
		{
			name:     "a recovery the same day keeps the block and is not announced again",
			prev:     DayState{Day: "2026-03-10", StartEquity: dec("100000"), Level: LossLimit, Message: "m", BlockedUntil: midnight},
			obs:      Observation{Now: morning, Equity: dec("101000"), Settings: DefaultSettings()},
			want:     DayState{Day: "2026-03-10", StartEquity: dec("100000"), Level: LossLimit, Message: "m", BlockedUntil: midnight},
			blocking: true, lossLevel: LossOK, lossAmount: "0",
		},
		{
			name: "SPEC US-006 #5: $50,000 → $46,000 trips the circuit breaker and locks",
			prev: DayState{Day: "2026-03-10", StartEquity: dec("50000"), Level: LossLimit, Message: "m", BlockedUntil: midnight},
			obs:  Observation{Now: morning, Equity: dec("46000"), Settings: DefaultSettings()},
			want: DayState{Day: "2026-03-10", StartEquity: dec("50000"), Level: LossCircuitBreaker,
				Message: "Emergency circuit breaker triggered (-8%). Account under review. Contact support.", BlockedUntil: midnight},
			escalated: true, lock: true, blocking: true, lossLevel: LossCircuitBreaker, lossAmount: "4000",
		},
		{
			name: "the limit resets at 00:00 UTC from the new day's start equity",
			prev: DayState{Day: "2026-03-10", StartEquity: dec("100000"), Level: LossLimit, Message: "m", BlockedUntil: midnight},
			obs:  Observation{Now: midnight, Equity: dec("95000"), LastEquity: dec("95000"), Settings: DefaultSettings()},
			want: DayState{Day: "2026-03-11", StartEquity: dec("95000"), Level: LossOK}, lossLevel: LossOK, lossAmount: "0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.prev, tt.obs)
			got := d.State
			if got.Day != tt.want.Day || !got.StartEquity.Equal(tt.want.StartEquity) || got.Level != tt.want.Level ||
				got.Message != tt.want.Message || !got.BlockedUntil.Equal(tt.want.BlockedUntil) {
				t.Errorf("state = %+v\n want %+v", got, tt.want)
			}
			if d.Escalated != tt.escalated || d.Lock != tt.lock || d.Blocking != tt.blocking {
				t.Errorf("escalated/lock/blocking = %v/%v/%v, want %v/%v/%v", d.Escalated, d.Lock, d.Blocking, tt.escalated, tt.lock, tt.blocking)
			}
			if d.Loss.Level != tt.lossLevel || !d.Loss.DrawdownAmount.Equal(dec(tt.lossAmount)) {
				t.Errorf("loss = %s %s, want %s %s", d.Loss.Level, d.Loss.DrawdownAmount, tt.lossLevel, tt.lossAmount)
			}
		})
	}
}

func TestCheckTrading(t *testing.T) {
	now := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	blocked := DayState{Day: "2026-03-10", Level: LossLimit, Message: "Daily loss limit reached (-5%). Trading disabled until tomorrow.",
		BlockedUntil: NextReset(now)}
	ok := LossState{Level: LossOK}
	tests := []struct {
		name    string
		locked  bool
		st      DayState
		now     time.Time
		live    LossState
		code    string
		message string
	}{
		{"all clear", false, DayState{}, now, ok, "", ""},
		{"locked account", true, DayState{}, now, ok, CodeAccountLocked, msgAccountLocked()},
		{"blocked day", false, blocked, now, ok, CodeDailyLossLimit, blocked.Message},
		{"block expired at the reset", false, blocked, NextReset(now), ok, "", ""},
		{"live breach before the guard saw it", false, DayState{}, now,
			EvaluateDailyLoss(dec("50000"), dec("46000"), DefaultSettings()), CodeCircuitBreaker,
			"Emergency circuit breaker triggered (-8%). Account under review. Contact support."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTrading(tt.locked, tt.st, tt.now, tt.live)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("CheckTrading() = %v, want nil", err)
				}
				return
			}
			assertRejection(t, err, tt.code, tt.message)
		})
	}
}

func TestFlattenOrders(t *testing.T) {
	got := FlattenOrders([]Holding{
		{Symbol: "AAPL", AssetClass: signal.AssetStock, Quantity: dec("10")},
		{Symbol: "MSFT", AssetClass: signal.AssetStock, Quantity: dec("0")},
		{Symbol: "TSLA", AssetClass: signal.AssetStock, Quantity: dec("-3")},
		{Symbol: "BTC-USD", AssetClass: signal.AssetCrypto, Quantity: dec("0.5")},
	})
	want := []CloseOrder{
		{Symbol: "AAPL", AssetClass: signal.AssetStock, Side: signal.SideSell, Quantity: dec("10")},
		{Symbol: "TSLA", AssetClass: signal.AssetStock, Side: signal.SideBuy, Quantity: dec("3")},
		{Symbol: "BTC-USD", AssetClass: signal.AssetCrypto, Side: signal.SideSell, Quantity: dec("0.5")},
	}
	if len(got) != len(want) {
		t.Fatalf("FlattenOrders() = %+v", got)
	}
	for i := range want {
		if got[i].Symbol != want[i].Symbol || got[i].Side != want[i].Side || !got[i].Quantity.Equal(want[i].Quantity) {
			t.Errorf("order %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if msg := PositionsClosedMessage(got); msg != "Open positions closed: sold 10 shares of AAPL, bought back 3 shares of TSLA, sold 0.5 BTC." {
		t.Errorf("PositionsClosedMessage() = %q", msg)
	}
	if msg := PositionsClosedMessage(nil); msg != "No open positions to close." {
		t.Errorf("PositionsClosedMessage(nil) = %q", msg)
	}
}

func TestRebase(t *testing.T) {
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	st := Rebase(now, dec("46000"))
	if st.Day != "2026-03-10" || !st.StartEquity.Equal(dec("46000")) || st.Level != LossOK || !st.BlockedUntil.IsZero() {
		t.Errorf("Rebase() = %+v", st)
	}
	// The loss already taken does not trip the breaker again.
	if d := Decide(st, Observation{Now: now, Equity: dec("45900"), Settings: DefaultSettings()}); d.Blocking {
		t.Errorf("after rebase: %+v", d)
	}
}
