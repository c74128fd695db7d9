package experiments

import (
	"context"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// VariantResult is one variant's counts and, for every variant but the
// control, its test against the control.
type VariantResult struct {
	Name        string  `json:"name"`
	Weight      int     `json:"weight"`
	Control     bool    `json:"control"`
	Exposures   int64   `json:"exposures"`
	Conversions int64   `json:"conversions"`
	Rate        float64 `json:"rate"`
	// Against the control (zero for the control itself).
	Lift     float64 `json:"lift"`
	LiftLow  float64 `json:"liftLow"`
	LiftHigh float64 `json:"liftHigh"`
	Z        float64 `json:"z"`
	PValue   float64 `json:"pValue"`
	Tested   bool    `json:"tested"` // a z-test was possible
}

// Result is one experiment with its variants' results.
type Result struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Status      string          `json:"status"`
	Variants    []VariantResult `json:"variants"`
	// ChiSquare tests every variant together (FR-050's significance).
	ChiSquare ChiResult `json:"chiSquare"`
}

type variantCount struct {
	ExperimentID string
	Variant      string
	N            int64
}

// Report lists every experiment (by id) with exposures, conversions and
// conversion rate per variant and each variant's z-test against the
// control. It reads two GROUP BY counts; events of a variant no longer
// configured are shown under their own name.
func Report(ctx context.Context, db *gorm.DB) ([]Result, error) {
	db = db.WithContext(ctx)
	var rows []schema.Experiment
	if err := db.Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	var exposures, conversions []variantCount
	if err := db.Model(&schema.ExperimentExposure{}).Select("experiment_id, variant, COUNT(*) AS n").
		Group("experiment_id, variant").Scan(&exposures).Error; err != nil {
		return nil, err
	}
	if err := db.Model(&schema.ExperimentConversion{}).Select("experiment_id, variant, COUNT(*) AS n").
		Group("experiment_id, variant").Scan(&conversions).Error; err != nil {
		return nil, err
	}
	type key struct{ exp, variant string }
	exp, conv := map[key]int64{}, map[key]int64{}
	for _, c := range exposures {
		exp[key{c.ExperimentID, c.Variant}] = c.N
	}
	for _, c := range conversions {
		conv[key{c.ExperimentID, c.Variant}] = c.N
	}
	out := make([]Result, 0, len(rows))
	for _, r := range rows {
		e, err := fromRow(r)
		if err != nil {
			return nil, err
		}
		res := Result{ID: e.ID, Name: e.Name, Description: e.Description, Status: e.Status}
		seen := map[string]bool{}
		for _, v := range e.Variants {
			seen[v.Name] = true
			res.Variants = append(res.Variants, VariantResult{Name: v.Name, Weight: v.Weight})
		}
		for _, list := range [][]variantCount{exposures, conversions} {
			for _, c := range list {
				if c.ExperimentID == e.ID && !seen[c.Variant] {
					seen[c.Variant] = true
					res.Variants = append(res.Variants, VariantResult{Name: c.Variant})
				}
			}
		}
		for i := range res.Variants {
			v := &res.Variants[i]
			v.Exposures, v.Conversions = exp[key{e.ID, v.Name}], conv[key{e.ID, v.Name}]
			if v.Exposures > 0 {
				v.Rate = float64(v.Conversions) / float64(v.Exposures)
			}
		}
		ctl := &res.Variants[0]
		ctl.Control = true
		for i := 1; i < len(res.Variants); i++ {
			v := &res.Variants[i]
			z := ZTest(ctl.Conversions, ctl.Exposures, v.Conversions, v.Exposures)
			v.Lift, v.LiftLow, v.LiftHigh, v.Z, v.PValue, v.Tested = z.Lift, z.LiftLow, z.LiftHigh, z.Z, z.PValue, z.Valid
		}
		convs, exps := make([]int64, len(res.Variants)), make([]int64, len(res.Variants))
		for i, v := range res.Variants {
			convs[i], exps[i] = v.Conversions, v.Exposures
		}
		res.ChiSquare = ChiSquare(convs, exps)
		out = append(out, res)
	}
	return out, nil
}
