package churn

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/optimize"
	"gonum.org/v1/gonum/stat"
)

// Algorithm names the model kind stored with each version.
const Algorithm = "logistic-regression-l2"

// Params is a trained model, serialized as JSON in churn_models.params.
type Params struct {
	Features  []string  `json:"features"`
	Mean      []float64 `json:"mean"`
	Std       []float64 `json:"std"`
	Weights   []float64 `json:"weights"` // per standardized feature
	Intercept float64   `json:"intercept"`
	// Threshold is the decision threshold (chosen on the training set for
	// the best F1): a score at or above it predicts churn.
	Threshold float64 `json:"threshold"`
	Lambda    float64 `json:"lambda"`
}

// Model scores traders with stored Params.
type Model struct{ P Params }

// ErrBadModel: stored parameters that do not fit this code's features.
var ErrBadModel = errors.New("churn: model parameters do not match the features")

// NewModel checks p against FeatureNames.
func NewModel(p Params) (*Model, error) {
	n := len(FeatureNames)
	if len(p.Features) != n || len(p.Mean) != n || len(p.Std) != n || len(p.Weights) != n {
		return nil, ErrBadModel
	}
	for i, f := range p.Features {
		if f != FeatureNames[i] || p.Std[i] <= 0 {
			return nil, ErrBadModel
		}
	}
	return &Model{P: p}, nil
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

func (m *Model) standardize(x []float64) []float64 {
	z := make([]float64, len(x))
	for i := range x {
		z[i] = (x[i] - m.P.Mean[i]) / m.P.Std[i]
	}
	return z
}

// Score is the probability that the trader churns within 30 days.
func (m *Model) Score(x []float64) float64 {
	return sigmoid(m.P.Intercept + floats.Dot(m.P.Weights, m.standardize(x)))
}

// Reason is one feature's share of a score: Contribution is its term of
// the log-odds (weight × standardized value); positive raises the risk.
type Reason struct {
	Feature      string  `json:"feature"`
	Value        float64 `json:"value"`
	Contribution float64 `json:"contribution"`
}

// Reasons are the n features raising the risk most, largest first.
func (m *Model) Reasons(x []float64, n int) []Reason {
	z := m.standardize(x)
	out := make([]Reason, 0, len(z))
	for i := range z {
		if c := m.P.Weights[i] * z[i]; c > 0 {
			out = append(out, Reason{Feature: m.P.Features[i], Value: x[i], Contribution: c})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Contribution > out[j].Contribution })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// DefaultLambda is the L2 penalty on the standardized weights.
const DefaultLambda = 1e-3

// Train fits a logistic regression with an L2 penalty by minimizing the
// mean log loss with gonum's L-BFGS; features are standardized first.
func Train(X [][]float64, y []bool, lambda float64) (*Model, error) {
	if len(X) == 0 || len(X) != len(y) {
		return nil, errors.New("churn: no training data")
	}
	d := len(FeatureNames)
	p := Params{Features: append([]string(nil), FeatureNames...), Mean: make([]float64, d), Std: make([]float64, d), Lambda: lambda}
	col := make([]float64, len(X))
	for j := 0; j < d; j++ {
		for i, x := range X {
			if len(x) != d {
				return nil, ErrBadModel
			}
			col[i] = x[j]
		}
		p.Mean[j], p.Std[j] = stat.MeanStdDev(col, nil)
		if p.Std[j] < 1e-9 || math.IsNaN(p.Std[j]) {
			p.Std[j] = 1
		}
	}
	m := &Model{P: p}
	Z := make([][]float64, len(X))
	for i, x := range X {
		Z[i] = m.standardize(x)
	}
	n := float64(len(Z))
	// theta = [intercept, weights...]
	loss := func(theta []float64) float64 {
		w := theta[1:]
		var l float64
		for i, z := range Z {
			s := theta[0] + floats.Dot(w, z)
			// log(1+e^s) - y*s, stably
			if s > 0 {
				l += s + math.Log1p(math.Exp(-s))
			} else {
				l += math.Log1p(math.Exp(s))
			}
			if y[i] {
				l -= s
			}
		}
		return l/n + lambda/2*floats.Dot(w, w)
	}
	grad := func(g, theta []float64) {
		for k := range g {
			g[k] = 0
		}
		w := theta[1:]
		for i, z := range Z {
			r := sigmoid(theta[0]+floats.Dot(w, z)) - b2f(y[i])
			g[0] += r
			floats.AddScaled(g[1:], r, z)
		}
		floats.Scale(1/n, g)
		floats.AddScaled(g[1:], lambda, w)
	}
	res, err := optimize.Minimize(optimize.Problem{Func: loss, Grad: grad}, make([]float64, d+1),
		&optimize.Settings{GradientThreshold: 1e-8, MajorIterations: 1000}, &optimize.LBFGS{})
	if err != nil && res == nil {
		return nil, fmt.Errorf("churn: training: %w", err)
	}
	m.P.Intercept, m.P.Weights = res.X[0], append([]float64(nil), res.X[1:]...)
	scores := make([]float64, len(X))
	for i, x := range X {
		scores[i] = m.Score(x)
	}
	m.P.Threshold = BestThreshold(scores, y)
	return m, nil
}

// BestThreshold is the threshold (0.05..0.95 in steps of 0.01) with the
// best F1 on scores; ties keep the lower one.
func BestThreshold(scores []float64, y []bool) float64 {
	best, bestF1 := 0.5, -1.0
	for k := 5; k <= 95; k++ {
		t := float64(k) / 100
		if f := Measure(scores, y, t).F1; f > bestF1+1e-12 {
			best, bestF1 = t, f
		}
	}
	return best
}
