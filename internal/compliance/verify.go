package compliance

import (
	"context"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
)

// Verification is what the report says about the audit chains' integrity.
type Verification struct {
	ChainsChecked  int64          `json:"chainsChecked"`
	ChainsValid    int64          `json:"chainsValid"`
	EntriesChecked int64          `json:"entriesChecked"`
	Failures       []ChainFailure `json:"failures"`
}

// ChainFailure is one chain that did not verify.
type ChainFailure struct {
	UserID    string `json:"userId"`
	BrokenSeq int64  `json:"brokenSeq"`
	Reason    string `json:"reason"`
	Detail    string `json:"detail"`
}

// Verifier verifies every audit chain.
type Verifier func(ctx context.Context, db *gorm.DB) (Verification, error)

// VerifyChains is the one place the report asks the audit log whether its
// chains hold (today audit.VerifyAll; checkpoint-based verification
// replaces the call here).
func VerifyChains(ctx context.Context, db *gorm.DB) (Verification, error) {
	results, err := audit.VerifyAll(ctx, db)
	if err != nil {
		return Verification{}, err
	}
	var v Verification
	for _, r := range results {
		v.ChainsChecked++
		v.EntriesChecked += r.Entries
		if r.Valid {
			v.ChainsValid++
			continue
		}
		v.Failures = append(v.Failures, ChainFailure{UserID: r.UserID, BrokenSeq: r.BrokenSeq, Reason: string(r.Reason), Detail: r.Detail})
	}
	return v, nil
}
