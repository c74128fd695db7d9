package risk

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

func targets(spec ...string) []signal.Target {
	out := make([]signal.Target, len(spec))
	for i, s := range spec {
		price, share, _ := strings.Cut(s, "@")
		if pct, ok := strings.CutSuffix(price, "%"); ok {
			out[i].Percent = decimal.RequireFromString(pct)
		} else {
			out[i].Price = decimal.RequireFromString(price)
		}
		if share != "" {
			out[i].Share = decimal.RequireFromString(share)
		}
	}
	return out
}

// legsString renders legs as "qty@target" ("-" for a merged leg: ">k").
func legsString(legs []LadderLeg) string {
	parts := make([]string, len(legs))
	for i, l := range legs {
		if l.Merged() {
			parts[i] = fmt.Sprintf(">%d", l.MergedInto)
			continue
		}
		parts[i] = l.Quantity.String() + "@" + l.Target.String()
	}
	return strings.Join(parts, " ")
}

func TestSplitLadder(t *testing.T) {
	d := decimal.RequireFromString
	for _, tc := range []struct {
		name    string
		side    signal.Side
		fill    string
		filled  string
		targets []signal.Target
		step    string
		min     string
		want    string
	}{
		{"equal shares, whole shares", signal.SideBuy, "100", "9", targets("110", "120", "130"), "1", "", "3@110 3@120 3@130"},
		{"equal shares, remainder to the earliest legs", signal.SideBuy, "100", "10", targets("110", "120", "130"), "1", "", "4@110 3@120 3@130"},
		{"given shares", signal.SideBuy, "100", "20", targets("110@25", "120@25", "130@50"), "1", "", "5@110 5@120 10@130"},
		{"largest remainder gets the step", signal.SideBuy, "100", "7", targets("110@25", "120@25", "130@50"), "1", "", "2@110 2@120 3@130"},
		{"percent targets from the fill, short", signal.SideSell, "200", "4", targets("5%", "10%"), "1", "", "2@190 2@180"},
		{"crypto step", signal.SideBuy, "40000", "0.1", targets("41000", "42000", "43000"), "0.001", "0.001", "0.034@41000 0.033@42000 0.033@43000"},
		{"last leg below the minimum merges into the one before", signal.SideBuy, "100", "2", targets("110", "120", "130"), "1", "", "1@110 1@120 >2"},
		{"first leg below the minimum merges into the next", signal.SideBuy, "100", "10", targets("110@5", "120@45", "130@50"), "1", "2", ">2 5@120 5@130"},
		{"exchange minimum above the step", signal.SideBuy, "40000", "0.02", targets("41000@50", "42000@40", "43000@10"), "0.001", "0.003", "0.01@41000 0.01@42000 >2"},
		{"equal shares written out round like equal shares", signal.SideBuy, "100", "2", targets("110@33.33333333", "120@33.33333333", "130@33.33333334"), "1", "", "1@110 1@120 >2"},
		{"everything merges into one leg", signal.SideBuy, "100", "1", targets("110", "120", "130"), "1", "", "1@110 >1 >1"},
		{"off-grid remainder to the last leg", signal.SideBuy, "100", "10.5", targets("110", "120"), "1", "", "5@110 5.5@120"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			legs, err := SplitLadder(LadderRequest{Side: tc.side, Fill: d(tc.fill), Filled: d(tc.filled), Targets: tc.targets, Step: d(tc.step), Min: dOrZero(tc.min)})
			if err != nil {
				t.Fatal(err)
			}
			if got := legsString(legs); got != tc.want {
				t.Fatalf("legs %s, want %s", got, tc.want)
			}
			sum := decimal.Zero
			for _, l := range legs {
				sum = sum.Add(l.Quantity)
			}
			if !sum.Equal(d(tc.filled)) {
				t.Fatalf("legs sum to %s, position %s", sum, tc.filled)
			}
		})
	}
}

func dOrZero(s string) decimal.Decimal {
	if s == "" {
		return decimal.Zero
	}
	return decimal.RequireFromString(s)
}

func TestSplitLadderRefuses(t *testing.T) {
	d := decimal.RequireFromString
	for _, tc := range []struct {
		name string
		req  LadderRequest
		want string
	}{
		{"one target", LadderRequest{Filled: d("5"), Step: d("1"), Targets: targets("110")}, "at least two targets"},
		{"shares not summing to 100", LadderRequest{Filled: d("5"), Step: d("1"), Targets: targets("110@30", "120@30")}, "sum to 100%"},
		{"some shares missing", LadderRequest{Filled: d("5"), Step: d("1"), Targets: targets("110@30", "120")}, "sum to 100%"},
		{"nothing filled", LadderRequest{Filled: d("0"), Step: d("1"), Targets: targets("110", "120")}, "nothing filled"},
		{"no step", LadderRequest{Filled: d("5"), Targets: targets("110", "120")}, "step"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := SplitLadder(tc.req); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestEqualSharesSumToHundred(t *testing.T) {
	s, err := Shares(targets("1", "2", "3"))
	if err != nil {
		t.Fatal(err)
	}
	sum := decimal.Zero
	for _, x := range s {
		sum = sum.Add(x)
	}
	if !sum.Equal(hundred) {
		t.Fatalf("shares %v sum to %s", s, sum)
	}
}

func TestStopMoveLeg(t *testing.T) {
	d := decimal.RequireFromString
	three, _ := SplitLadder(LadderRequest{Side: signal.SideBuy, Fill: d("100"), Filled: d("9"), Targets: targets("110", "120", "130"), Step: d("1")})
	firstMerged, _ := SplitLadder(LadderRequest{Side: signal.SideBuy, Fill: d("100"), Filled: d("10"), Targets: targets("110@5", "120@45", "130@50"), Step: d("1"), Min: d("2")})
	lastMerged, _ := SplitLadder(LadderRequest{Side: signal.SideBuy, Fill: d("100"), Filled: d("2"), Targets: targets("110", "120", "130"), Step: d("1")})
	for _, tc := range []struct {
		name string
		plan LadderStopPlan
		legs []LadderLeg
		want int
	}{
		{"none", LadderStopPlan{Mode: LadderStopNone}, three, 0},
		{"breakeven after TP1", LadderStopPlan{Mode: LadderStopBreakeven}, three, 1},
		{"trail after TP2", LadderStopPlan{Mode: LadderStopTrail, TrailAfter: 2}, three, 2},
		{"trail after the last leg: nothing left", LadderStopPlan{Mode: LadderStopTrail, TrailAfter: 3}, three, 0},
		{"trail after a target the signal does not have", LadderStopPlan{Mode: LadderStopTrail, TrailAfter: 5}, three, 0},
		{"TP1 merged into TP2: breakeven after TP2", LadderStopPlan{Mode: LadderStopBreakeven}, firstMerged, 2},
		{"TP2 is the last leg trading", LadderStopPlan{Mode: LadderStopTrail, TrailAfter: 2}, lastMerged, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.plan.StopMoveLeg(tc.legs); got != tc.want {
				t.Fatalf("StopMoveLeg = %d, want %d (legs %s)", got, tc.want, legsString(tc.legs))
			}
		})
	}
}

func TestBreakevenPrice(t *testing.T) {
	d := decimal.RequireFromString
	for _, tc := range []struct {
		side   signal.Side
		class  signal.AssetClass
		fill   string
		offset string
		want   string
	}{
		{signal.SideBuy, signal.AssetStock, "180", "0", "180"},
		{signal.SideBuy, signal.AssetStock, "180", "0.5", "180.9"},
		{signal.SideBuy, signal.AssetStock, "180.37", "0.1", "180.55"}, // 180.55037 floored to the cent
		{signal.SideSell, signal.AssetStock, "250", "1", "247.5"},
		{signal.SideSell, signal.AssetStock, "250.03", "0.1", "249.78"}, // 249.77997 ceiled to the cent
		{signal.SideBuy, signal.AssetCrypto, "42000", "0.25", "42105"},
	} {
		if got := BreakevenPrice(tc.side, tc.class, d(tc.fill), d(tc.offset)); !got.Equal(d(tc.want)) {
			t.Errorf("BreakevenPrice(%s %s %s +%s%%) = %s, want %s", tc.side, tc.class, tc.fill, tc.offset, got, tc.want)
		}
	}
}

func TestLadderSettingsValidate(t *testing.T) {
	s := DefaultSettings()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	s.LadderStop, s.BreakevenOffsetPct, s.TrailAfterTarget, s.LadderTrailPct = "moon", decimal.NewFromInt(-1), 0, decimal.NewFromInt(100)
	err := s.Validate()
	se, ok := err.(*SettingsError)
	if !ok {
		t.Fatalf("err %v", err)
	}
	var fields []string
	for _, f := range se.Fields {
		fields = append(fields, f.Field)
	}
	if got := strings.Join(fields, ","); got != "ladderStop,breakevenOffsetPct,trailAfterTarget,ladderTrailPct" {
		t.Fatalf("fields %s", got)
	}
	if p := DefaultSettings().LadderStopPlan(LadderStopBreakeven); p.Mode != LadderStopBreakeven {
		t.Fatalf("subscription override ignored: %+v", p)
	}
	if p := DefaultSettings().LadderStopPlan(""); p.Mode != LadderStopNone {
		t.Fatalf("trader's setting not followed: %+v", p)
	}
}
