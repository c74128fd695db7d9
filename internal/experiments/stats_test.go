package experiments

import (
	"math"
	"testing"
)

// Expected values computed independently (Python, math.erfc; the same as
// statsmodels' proportions_ztest and a 2×2 chi-square without correction).
func TestZTest(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		cA, nA, cB, nB        int64
		z, p, low, high, lift float64
		valid                 bool
	}{
		{"B better, significant", 200, 1000, 250, 1000, 2.677397763008329, 0.007419649261025693, 0.01346362168753984, 0.08653637831246014, 0.05, true},
		{"textbook 30/100 vs 45/100", 30, 100, 45, 100, 2.1908902300206647, 0.02845973691631057, 0.017430493307564826, 0.2825695066924352, 0.15, true},
		{"equal rates", 100, 1000, 100, 1000, 0, 1, -0.026295676217297448, 0.026295676217297448, 0, true},
		{"B worse, unequal groups", 50, 500, 40, 600, -2.0084164675196314, 0.04459905442858821, -0.06634599900964894, -0.0003206676570177494, 40.0/600 - 0.1, true},
		{"not significant", 120, 2000, 150, 2000, 1.8906666011235589, 0.058668863536201626, -0.0005428356996528081, 0.030542835699652805, 0.015, true},
		{"no exposures in B", 10, 100, 0, 0, 0, 1, 0, 0, 0, false},
		{"nobody converted", 0, 100, 0, 100, 0, 1, 0, 0, 0, false},
		{"more conversions than exposures", 5, 4, 1, 10, 0, 1, 0, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ZTest(tc.cA, tc.nA, tc.cB, tc.nB)
			if r.Valid != tc.valid {
				t.Fatalf("Valid = %v, want %v", r.Valid, tc.valid)
			}
			for _, c := range []struct {
				what      string
				got, want float64
			}{{"z", r.Z, tc.z}, {"p", r.PValue, tc.p}, {"low", r.LiftLow, tc.low}, {"high", r.LiftHigh, tc.high}, {"lift", r.Lift, tc.lift}} {
				if math.Abs(c.got-c.want) > 1e-9 {
					t.Errorf("%s = %.12f, want %.12f", c.what, c.got, c.want)
				}
			}
		})
	}
}
