package churn

import "sort"

// Metrics are a classifier's results on labelled traders.
type Metrics struct {
	N         int     `json:"n"`
	Positives int     `json:"positives"` // traders who churned
	Threshold float64 `json:"threshold"`
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	FN        int     `json:"fn"`
	TN        int     `json:"tn"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Accuracy  float64 `json:"accuracy"`
	AUC       float64 `json:"auc"`
}

// Measure counts the confusion matrix of scores at threshold against y.
func Measure(scores []float64, y []bool, threshold float64) Metrics {
	m := Metrics{N: len(scores), Threshold: threshold}
	for i, s := range scores {
		pred := s >= threshold
		switch {
		case pred && y[i]:
			m.TP++
		case pred && !y[i]:
			m.FP++
		case !pred && y[i]:
			m.FN++
		default:
			m.TN++
		}
		if y[i] {
			m.Positives++
		}
	}
	if m.TP+m.FP > 0 {
		m.Precision = float64(m.TP) / float64(m.TP+m.FP)
	}
	if m.TP+m.FN > 0 {
		m.Recall = float64(m.TP) / float64(m.TP+m.FN)
	}
	if m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
	if m.N > 0 {
		m.Accuracy = float64(m.TP+m.TN) / float64(m.N)
	}
	m.AUC = auc(scores, y)
	return m
}

// auc is the ROC area (Mann-Whitney U, ties counted half).
func auc(scores []float64, y []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var pos, neg, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // mean 1-based rank of the tie group
		for k := i; k < j; k++ {
			if y[idx[k]] {
				rankSum += avg
				pos++
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return 0
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}
