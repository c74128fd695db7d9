package risk

import (
	"testing"

	"github.com/tradeexec/tradeexec/internal/signal"
)

func TestDesiredStop(t *testing.T) {
	tests := []struct {
		name string
		req  StopRequest
		want Stop
	}{
		{"SPEC US-006 #2: TSLA 10 long @ $250, 2% → sell stop $245",
			StopRequest{AssetClass: signal.AssetStock, Position: dec("10"), AvgEntry: dec("250"), Pct: dec("2")},
			Stop{Side: signal.SideSell, Quantity: dec("10"), StopPrice: dec("245"), TrailPercent: dec("0")}},
		{"short 4 @ $180, 2% → buy stop $183.60",
			StopRequest{AssetClass: signal.AssetStock, Position: dec("-4"), AvgEntry: dec("180"), Pct: dec("2")},
			Stop{Side: signal.SideBuy, Quantity: dec("4"), StopPrice: dec("183.6"), TrailPercent: dec("0")}},
		{"explicit price wins",
			StopRequest{AssetClass: signal.AssetStock, Position: dec("15"), AvgEntry: dec("182"), Price: dec("170"), Pct: dec("2")},
			Stop{Side: signal.SideSell, Quantity: dec("15"), StopPrice: dec("170"), TrailPercent: dec("0")}},
		{"grown position: from the average entry, rounded toward it",
			StopRequest{AssetClass: signal.AssetStock, Position: dec("15"), AvgEntry: dec("183.3333333333"), Pct: dec("2")},
			Stop{Side: signal.SideSell, Quantity: dec("15"), StopPrice: dec("179.67"), TrailPercent: dec("0")}},
		{"trailing stop trails by the percentage",
			StopRequest{AssetClass: signal.AssetCrypto, Position: dec("0.5"), AvgEntry: dec("42150"), Pct: dec("3"), Trailing: true},
			Stop{Side: signal.SideSell, Quantity: dec("0.5"), StopPrice: dec("40885.5"), TrailPercent: dec("3")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DesiredStop(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Same(tt.want) {
				t.Errorf("DesiredStop() = %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := DesiredStop(StopRequest{Position: dec("1"), AvgEntry: dec("10"), Pct: dec("0")}); CodeOf(err) != CodeInvalidOrder {
		t.Errorf("zero percent: %v", err)
	}
}

func TestPlanStop(t *testing.T) {
	s := Stop{Side: signal.SideSell, Quantity: dec("10"), StopPrice: dec("245"), TrailPercent: dec("0")}
	grown := s
	grown.Quantity = dec("15")
	tests := []struct {
		name     string
		current  Stop
		active   bool
		position string
		desired  Stop
		want     StopAction
	}{
		{"first fill", Stop{}, false, "10", s, StopPlace},
		{"unchanged", s, true, "10", s, StopKeep},
		{"position grew: amend", s, true, "15", grown, StopReplace},
		{"position closed: cancel", s, true, "0", Stop{}, StopCancel},
		{"nothing to protect", Stop{}, false, "0", Stop{}, StopNone},
		{"dropped by the broker: place again", s, false, "10", s, StopPlace},
	}
	for _, tt := range tests {
		if got := PlanStop(tt.current, tt.active, dec(tt.position), tt.desired); got != tt.want {
			t.Errorf("%s: PlanStop() = %s, want %s", tt.name, got, tt.want)
		}
	}
	if msg := StopPlacedMessage("placed", "AAPL", Stop{Side: signal.SideSell, Quantity: dec("5"), StopPrice: dec("176.4")}); msg != "Stop-loss placed: sell 5 AAPL @ $176.40" {
		t.Errorf("StopPlacedMessage() = %q", msg)
	}
	if msg := StopPlacedMessage("amended", "BTC-USD", Stop{Side: signal.SideSell, Quantity: dec("0.5"), StopPrice: dec("40885.5"), TrailPercent: dec("3")}); msg != "Stop-loss amended: sell 0.5 BTC-USD, trailing 3% (now $40,885.50)" {
		t.Errorf("StopPlacedMessage(trailing) = %q", msg)
	}
}
