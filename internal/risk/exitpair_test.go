package risk

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func TestChooseExitPair(t *testing.T) {
	ten := decimal.NewFromInt(10)
	base := ExitPairFacts{Broker: "Alpaca", Native: true, Filled: ten, Position: ten}
	if ok, why := ChooseExitPair(base); !ok {
		t.Fatalf("whole position, native broker: emulated (%s)", why)
	}
	for name, c := range map[string]struct {
		f    func(*ExitPairFacts)
		want string
	}{
		"no native pair": {func(f *ExitPairFacts) { f.Native = false }, "no one-cancels-other"},
		"ladder leg":     {func(f *ExitPairFacts) { f.LadderLeg = true }, "ladder"},
		"trailing":       {func(f *ExitPairFacts) { f.Trailing = true }, "trailing"},
		"shared":         {func(f *ExitPairFacts) { f.Position = decimal.NewFromInt(15) }, "not this trade's"},
		"other stop":     {func(f *ExitPairFacts) { f.OtherStop = true }, "not this trade's"},
	} {
		f := base
		c.f(&f)
		ok, why := ChooseExitPair(f)
		if ok || !strings.Contains(why, c.want) {
			t.Errorf("%s: native=%v reason %q, want emulated with %q", name, ok, why, c.want)
		}
	}
	if !IsLadderLeg("u1:msg9/tp2") || IsLadderLeg("u1:msg9") || IsLadderLeg("takeprofit:x") {
		t.Fatal("IsLadderLeg")
	}
}
