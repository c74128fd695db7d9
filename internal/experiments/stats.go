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

// ChiResult is Pearson's chi-square test of independence over every
// variant of an experiment (a k×2 table: converted / not converted per
// variant, FR-050), without continuity correction. DF = k − 1 counts only
// the variants with exposures. Significant: PValue < 0.05. Valid is false
// when the test cannot be made (fewer than two variants with exposures,
// or nobody or everybody converted); PValue is then 1.
type ChiResult struct {
	ChiSquare   float64 `json:"chiSquare"`
	DF          int     `json:"df"`
	PValue      float64 `json:"pValue"`
	Significant bool    `json:"significant"`
	Valid       bool    `json:"valid"`
}

// Alpha is the significance level of FR-050.
const Alpha = 0.05

// ChiSquare tests conversions[i] of exposures[i] across the variants.
func ChiSquare(conversions, exposures []int64) ChiResult {
	r := ChiResult{PValue: 1}
	if len(conversions) != len(exposures) {
		return r
	}
	var n, conv float64
	k := 0
	for i := range exposures {
		if exposures[i] < 0 || conversions[i] < 0 || conversions[i] > exposures[i] {
			return r
		}
		if exposures[i] > 0 {
			k++
			n += float64(exposures[i])
			conv += float64(conversions[i])
		}
	}
	if k < 2 || conv == 0 || conv == n {
		return r
	}
	p := conv / n
	var x float64
	for i := range exposures {
		if exposures[i] == 0 {
			continue
		}
		e1 := float64(exposures[i]) * p
		e0 := float64(exposures[i]) * (1 - p)
		o1 := float64(conversions[i])
		o0 := float64(exposures[i]) - o1
		x += (o1-e1)*(o1-e1)/e1 + (o0-e0)*(o0-e0)/e0
	}
	r.ChiSquare, r.DF = x, k-1
	r.PValue = chiSquareSF(x, float64(k-1))
	r.Significant = r.PValue < Alpha
	r.Valid = true
	return r
}

// chiSquareSF is P(X ≥ x) for X chi-square with df degrees of freedom:
// the regularised upper incomplete gamma Q(df/2, x/2).
func chiSquareSF(x, df float64) float64 {
	if x <= 0 {
		return 1
	}
	return gammaQ(df/2, x/2)
}

// gammaQ is the regularised upper incomplete gamma function Q(a, x): a
// series for x < a+1, else a continued fraction (modified Lentz).
func gammaQ(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	if x < a+1 {
		sum, term := 1/a, 1/a
		for n := 1; n < 1000; n++ {
			term *= x / (a + float64(n))
			sum += term
			if math.Abs(term) < math.Abs(sum)*1e-15 {
				break
			}
		}
		return 1 - sum*math.Exp(-x+a*math.Log(x)-lg)
	}
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i < 1000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-15 {
			break
		}
	}
	return math.Exp(-x+a*math.Log(x)-lg) * h
}
