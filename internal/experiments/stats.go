// Package experiments runs A/B tests (SPEC FR-050, issue 16 item 4):
// experiments with weighted variants, a deterministic variant per user
// (Assign), exposure and conversion events (Expose, Convert) and the
// significance of each variant against the control (ZTest).
package experiments

import "math"

// z95 is the two-sided 95% quantile of the standard normal distribution.
const z95 = 1.959963984540054

// ZResult is a two-proportion z-test of a variant (B) against the control
// (A). Lift is the absolute difference of the conversion rates pB − pA;
// [LiftLow, LiftHigh] its 95% confidence interval (unpooled standard
// error, Wald). Z uses the pooled standard error; PValue is two-sided.
// For two variants z² equals the 2×2 chi-square statistic (FR-050), so
// the p-values are the same. Valid is false when a rate cannot be tested
// (a group without exposures, or no variance: every user converted or
// none did); the numbers are then zero and PValue 1.
type ZResult struct {
	RateA, RateB      float64
	Lift              float64
	LiftLow, LiftHigh float64
	Z                 float64
	PValue            float64
	Valid             bool
}

// ZTest compares convA of nA against convB of nB.
func ZTest(convA, nA, convB, nB int64) ZResult {
	r := ZResult{PValue: 1}
	if nA <= 0 || nB <= 0 || convA < 0 || convB < 0 || convA > nA || convB > nB {
		return r
	}
	pA, pB := float64(convA)/float64(nA), float64(convB)/float64(nB)
	r.RateA, r.RateB, r.Lift = pA, pB, pB-pA
	pooled := float64(convA+convB) / float64(nA+nB)
	se := math.Sqrt(pooled * (1 - pooled) * (1/float64(nA) + 1/float64(nB)))
	if se == 0 {
		return r
	}
	r.Z = (pB - pA) / se
	r.PValue = math.Erfc(math.Abs(r.Z) / math.Sqrt2)
	seu := math.Sqrt(pA*(1-pA)/float64(nA) + pB*(1-pB)/float64(nB))
	r.LiftLow, r.LiftHigh = r.Lift-z95*seu, r.Lift+z95*seu
	r.Valid = true
	return r
}
