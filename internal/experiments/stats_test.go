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

// The chi-square test of FR-050 against values computed independently:
// the statistic by hand (Python, Pearson's formula) and the p-value in
// closed form — df 1: erfc(√(x/2)), df 2: e^(−x/2) — and the textbook
// critical values of the chi-square table.
func TestChiSquare(t *testing.T) {
	for _, tc := range []struct {
		name      string
		conv, exp []int64
		x, p      float64
		df        int
		valid     bool
	}{
		{"three variants, significant", []int64{200, 250, 230}, []int64{1000, 1000, 1000}, 7.2261663286004065, 0.026968570021902883, 2, true},
		{"two variants: the z-test's p (z² = χ²)", []int64{30, 45}, []int64{100, 100}, 4.8, 0.02845973691631057, 1, true},
		{"three variants, not significant", []int64{120, 150, 130}, []int64{2000, 2000, 2000}, 3.75, 0.1533549668449285, 2, true},
		{"a variant without exposures is left out", []int64{30, 0, 45}, []int64{100, 0, 100}, 4.8, 0.02845973691631057, 1, true},
		{"one variant with exposures", []int64{30, 0}, []int64{100, 0}, 0, 1, 0, false},
		{"nobody converted", []int64{0, 0, 0}, []int64{10, 10, 10}, 0, 1, 0, false},
		{"everybody converted", []int64{10, 10}, []int64{10, 10}, 0, 1, 0, false},
		{"more conversions than exposures", []int64{11, 1}, []int64{10, 10}, 0, 1, 0, false},
		{"lengths differ", []int64{1}, []int64{10, 10}, 0, 1, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ChiSquare(tc.conv, tc.exp)
			if r.Valid != tc.valid || r.DF != tc.df {
				t.Fatalf("Valid, DF = %v, %d; want %v, %d", r.Valid, r.DF, tc.valid, tc.df)
			}
			if math.Abs(r.ChiSquare-tc.x) > 1e-9 || math.Abs(r.PValue-tc.p) > 1e-9 {
				t.Fatalf("χ² = %.12f p = %.12f; want %.12f, %.12f", r.ChiSquare, r.PValue, tc.x, tc.p)
			}
			if r.Significant != (tc.valid && tc.p < 0.05) {
				t.Fatalf("Significant = %v", r.Significant)
			}
		})
	}
	if z := ZTest(30, 100, 45, 100); math.Abs(z.Z*z.Z-4.8) > 1e-9 {
		t.Fatalf("z² = %v, want the χ² 4.8", z.Z*z.Z)
	}
}

// Textbook chi-square critical values (upper tail 0.05 and 0.01).
func TestChiSquareSF(t *testing.T) {
	for _, tc := range []struct{ x, df, p float64 }{
		{3.841458820694124, 1, 0.05}, {6.634896601021214, 1, 0.01},
		{5.991464547107979, 2, 0.05}, {7.814727903251178, 3, 0.05}, {11.344866730144373, 3, 0.01},
		{9.487729036781154, 4, 0.05}, {18.307038053275146, 10, 0.05}, {0.3518463177674413, 3, 0.95},
	} {
		if got := chiSquareSF(tc.x, tc.df); math.Abs(got-tc.p) > 1e-9 {
			t.Errorf("Q(χ²=%v, df=%v) = %.12f, want %v", tc.x, tc.df, got, tc.p)
		}
	}
}
