package churn

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/shopspring/decimal"
)

// The synthetic trader histories (there is no production data to train
// on). Every number below is an assumption, chosen to look like a copy-
// trading SaaS and documented in DESIGN.md ("Churn scoring"):
//
//   - tenure: 7 days plus an exponential with a mean of 8 months (cap 40);
//   - plan: 40% free, 25% basic, 25% pro, 10% premium; a paid plan is
//     active (88%), past_due (7%) or trial (5%);
//   - each trader has a latent engagement e ~ N(0,1) scaling how often
//     they sign in (12/month at e=0) and trade (2 + 3 per followed
//     source per month);
//   - 28% are disengaging: this month they sign in and trade a fraction
//     (0-40%) of last month, drop each followed source with p=0.4, and
//     schedule a cancellation of a paid plan with p=0.25 (others 0.02);
//   - failed payments in 90 days ~ Poisson(1.5) when past due, else
//     Poisson(0.15) on a paid plan, none on free;
//   - realized P&L ~ N(0, $1,500), and 20% are losing traders (-$2,000 more);
//   - support contacts in 90 days ~ Poisson(0.3), plus Poisson(0.8) for a
//     losing trader and Poisson(0.5) when past due (problems bring people
//     to support);
//   - churn within the next 30 days ~ Bernoulli(sigmoid(h)), with h rising
//     with disengagement (+5.0), a scheduled cancellation (+2.0), failed
//     payments (+0.9 each, up to 3), heavy losses (+0.9), support contacts
//     (+0.35 each, up to 3), inactivity of
//     more than 3 weeks (+1.0) and a free plan (+0.4), and falling with
//     tenure (-0.35 per log month) and each followed source (-0.2).
//
// The label is drawn, not computed: two traders with the same features
// may end differently, so no model reaches F1 = 1.

// SynthAt is the "now" of every generated history.
var SynthAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 { // normal approximation
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// Generate returns n synthetic trader histories at SynthAt and whether
// each churned within the following 30 days; the same seed gives the same
// histories.
func Generate(seed uint64, n int) ([]Activity, []bool) {
	r := rand.New(rand.NewPCG(seed, 0x16c4))
	acts := make([]Activity, n)
	churned := make([]bool, n)
	day := 24 * time.Hour
	for i := range acts {
		tenure := 7 + math.Min(r.ExpFloat64()*240, 1200)
		a := Activity{UserID: "synthetic", At: SynthAt, CreatedAt: SynthAt.Add(-time.Duration(tenure * float64(day))), Status: "active"}
		switch u := r.Float64(); {
		case u < 0.40:
			a.Plan = "free"
		case u < 0.65:
			a.Plan = "basic"
		case u < 0.90:
			a.Plan = "pro"
		default:
			a.Plan = "premium"
		}
		paid := a.Plan != "free"
		if paid {
			switch u := r.Float64(); {
			case u < 0.07:
				a.Status = "past_due"
			case u < 0.12:
				a.Status = "trial"
			}
		}
		e := r.NormFloat64()
		dis := r.Float64() < 0.28
		keep := 0.8 + 0.4*r.Float64()
		if dis {
			keep = 0.4 * r.Float64()
		}
		sources := poisson(r, 1.2+0.6*planRank[a.Plan])
		a.SourcesFollowed = sources
		if dis {
			for k := 0; k < sources; k++ {
				if r.Float64() < 0.4 {
					a.SourcesFollowed--
				}
			}
		}
		sRate := 12 * math.Exp(0.5*e)
		tRate := (2 + 3*float64(sources)) * math.Exp(0.5*e)
		a.SessionsPrev30 = poisson(r, sRate)
		a.Sessions30 = poisson(r, sRate*keep)
		a.TradesPrev30 = poisson(r, tRate)
		a.Trades30 = poisson(r, tRate*keep)
		events := a.Sessions30 + a.Trades30
		var inactive float64
		if events > 0 {
			inactive = math.Min(30, r.ExpFloat64()*30/float64(events+1))
		} else {
			inactive = 30 + r.ExpFloat64()*30
		}
		inactive = math.Min(inactive, tenure)
		a.LastActivity = SynthAt.Add(-time.Duration(inactive * float64(day)))
		if paid {
			rate := 0.15
			if a.Status == "past_due" {
				rate = 1.5
			}
			a.FailedPayments90 = poisson(r, rate)
			p := 0.02
			if dis {
				p = 0.25
			}
			a.CancelScheduled = r.Float64() < p
		}
		losing := r.Float64() < 0.2
		pnl := 1500 * r.NormFloat64()
		if losing {
			pnl -= 2000
		}
		a.RealizedPnL = decimal.NewFromFloat(pnl).Round(2)
		a.SupportContacts90 = poisson(r, 0.3)
		if losing {
			a.SupportContacts90 += poisson(r, 0.8)
		}
		if a.Status == "past_due" {
			a.SupportContacts90 += poisson(r, 0.5)
		}

		h := -4.0 - 0.35*math.Log1p(tenure/30) - 0.2*float64(a.SourcesFollowed) + 0.9*float64(min(a.FailedPayments90, 3))
		if dis {
			h += 5.0
		}
		if a.CancelScheduled {
			h += 2.0
		}
		if pnl < -1500 {
			h += 0.9
		}
		if inactive > 21 {
			h += 1.0
		}
		h += 0.35 * float64(min(a.SupportContacts90, 3))
		if !paid {
			h += 0.4
		}
		churned[i] = r.Float64() < sigmoid(h)
		acts[i] = a
	}
	return acts, churned
}

// Split shuffles 0..n-1 with seed and returns the first (1-heldOut) share
// as the training indexes and the rest as the held-out ones.
func Split(seed uint64, n int, heldOut float64) (train, test []int) {
	r := rand.New(rand.NewPCG(seed, 0x5b11))
	idx := r.Perm(n)
	cut := int(math.Round(float64(n) * (1 - heldOut)))
	return idx[:cut], idx[cut:]
}

// Evaluation is a model trained on a synthetic training split and measured
// on its held-out split.
type Evaluation struct {
	Seed      uint64  `json:"seed"`
	Traders   int     `json:"traders"`
	HeldOut   float64 `json:"heldOutShare"`
	ChurnRate float64 `json:"churnRate"`
	Train     Metrics `json:"train"`
	Test      Metrics `json:"heldOut"`
}

// Evaluate generates n histories with seed, trains on 70% and measures the
// other 30% at the threshold chosen on the training set. shuffle (for the
// broken-model check) permutes the training labels first.
func Evaluate(seed uint64, n int, shuffle bool) (*Model, Evaluation, error) {
	acts, y := Generate(seed, n)
	X := make([][]float64, n)
	churned := 0
	for i, a := range acts {
		X[i] = a.Vector()
		if y[i] {
			churned++
		}
	}
	trainIdx, testIdx := Split(seed, n, 0.3)
	pick := func(idx []int) ([][]float64, []bool) {
		xs, ys := make([][]float64, len(idx)), make([]bool, len(idx))
		for k, i := range idx {
			xs[k], ys[k] = X[i], y[i]
		}
		return xs, ys
	}
	trX, trY := pick(trainIdx)
	teX, teY := pick(testIdx)
	if shuffle {
		r := rand.New(rand.NewPCG(seed, 0xbad))
		r.Shuffle(len(trY), func(i, j int) { trY[i], trY[j] = trY[j], trY[i] })
	}
	m, err := Train(trX, trY, DefaultLambda)
	if err != nil {
		return nil, Evaluation{}, err
	}
	ev := Evaluation{Seed: seed, Traders: n, HeldOut: 0.3, ChurnRate: float64(churned) / float64(max(n, 1)),
		Train: Measure(m.scores(trX), trY, m.P.Threshold), Test: Measure(m.scores(teX), teY, m.P.Threshold)}
	return m, ev, nil
}

func (m *Model) scores(X [][]float64) []float64 {
	s := make([]float64, len(X))
	for i, x := range X {
		s[i] = m.Score(x)
	}
	return s
}
