package audit

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// Reason says why a chain failed verification.
type Reason string

const (
	// ReasonHashMismatch: the entry's stored CurrentHash is not the hash of
	// its stored fields — the entry was edited.
	ReasonHashMismatch Reason = "hash mismatch"
	// ReasonPreviousHashMismatch: the entry's PreviousHash is not the
	// CurrentHash of the entry before it — an entry was replaced or edited
	// together with its hash.
	ReasonPreviousHashMismatch Reason = "previous-hash mismatch"
	// ReasonGap: a sequence number is missing — an entry was deleted.
	ReasonGap Reason = "gap"
	// ReasonHeadMismatch: the chain does not end where audit_heads says it
	// does — entries at the end were deleted, or the head was tampered with.
	ReasonHeadMismatch Reason = "head mismatch"
)

// verifyBatch is how many entries Verify reads per query.
const verifyBatch = 500

// VerifyResult is the outcome of verifying one user's chain.
type VerifyResult struct {
	UserID    string
	Entries   int64  // entries checked
	Valid     bool   // the whole chain verified
	BrokenSeq int64  // first offending sequence number when !Valid
	Reason    Reason // why, when !Valid
	Detail    string // human-readable explanation when !Valid
	LastHash  string // CurrentHash of the last verified entry
	// LastSeq is the last verified entry (the archive boundary when no
	// hot entry follows it).
	LastSeq int64
	// ArchivedSeq is the last entry moved to the archive (0: none); the
	// walk starts after it, from the segment's last hash.
	ArchivedSeq int64
}

// Verify walks userID's chain in Seq order up to the head recorded in
// audit_heads when it starts (entries appended meanwhile are not checked),
// recomputing every hash, and reports the first broken entry. Archived
// entries are not in the database: the walk starts after the newest
// archive segment (audit_archives), from its last hash; VerifyChain checks
// that segment against the object store and the chain against its
// checkpoint. Verify alone only checks the database against itself.
func Verify(ctx context.Context, db *gorm.DB, userID string) (VerifyResult, error) {
	res := VerifyResult{UserID: userID, LastHash: GenesisHash}
	db = db.WithContext(ctx)

	var arch []schema.AuditArchive
	if err := db.Where("user_id = ?", userID).Order("last_seq DESC").Limit(1).Find(&arch).Error; err != nil {
		return res, fmt.Errorf("audit: read archive boundary: %w", err)
	}
	prevSeq, prevHash := int64(0), GenesisHash
	if len(arch) == 1 {
		prevSeq, prevHash = arch[0].LastSeq, arch[0].LastHash
		res.ArchivedSeq, res.LastSeq, res.LastHash = prevSeq, prevSeq, prevHash
	}

	var head schema.AuditHead
	err := db.Where("user_id = ?", userID).Take(&head).Error
	haveHead := err == nil
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return res, fmt.Errorf("audit: read chain head: %w", err)
	}

	for {
		q := db.Where("user_id = ? AND seq > ?", userID, prevSeq).Order("seq").Limit(verifyBatch)
		if haveHead {
			q = q.Where("seq <= ?", head.LastSeq)
		}
		var batch []schema.AuditLog
		if err := q.Find(&batch).Error; err != nil {
			return res, fmt.Errorf("audit: read chain: %w", err)
		}
		for _, e := range batch {
			if want := prevSeq + 1; e.Seq != want {
				return broken(res, want, ReasonGap,
					fmt.Sprintf("entry %d is missing (the next stored entry is %d)", want, e.Seq)), nil
			}
			if e.PreviousHash != prevHash {
				return broken(res, e.Seq, ReasonPreviousHashMismatch,
					fmt.Sprintf("entry %d does not link to entry %d: it was replaced, or entry %d was altered", e.Seq, prevSeq, prevSeq)), nil
			}
			if ComputeHash(e) != e.CurrentHash {
				return broken(res, e.Seq, ReasonHashMismatch,
					fmt.Sprintf("entry %d was altered after it was written", e.Seq)), nil
			}
			prevSeq, prevHash = e.Seq, e.CurrentHash
			res.Entries++
			res.LastHash, res.LastSeq = prevHash, prevSeq
		}
		if len(batch) < verifyBatch {
			break
		}
	}

	switch {
	case !haveHead && prevSeq > 0:
		return broken(res, prevSeq, ReasonHeadMismatch, "the chain has entries but no head record"), nil
	case haveHead && head.LastSeq != prevSeq:
		return broken(res, prevSeq+1, ReasonHeadMismatch,
			fmt.Sprintf("the chain ends at entry %d but its head records entry %d: entries were removed", prevSeq, head.LastSeq)), nil
	case haveHead && head.LastHash != prevHash:
		return broken(res, prevSeq, ReasonHeadMismatch,
			fmt.Sprintf("the head hash does not match entry %d", prevSeq)), nil
	}
	res.Valid = true
	return res, nil
}

func broken(res VerifyResult, seq int64, reason Reason, detail string) VerifyResult {
	res.Valid = false
	res.BrokenSeq = seq
	res.Reason = reason
	res.Detail = detail
	return res
}

// VerifyAll verifies the chain of every user that has a head or an entry,
// in user id order, and returns one result per chain.
func VerifyAll(ctx context.Context, db *gorm.DB) ([]VerifyResult, error) {
	var users []string
	err := db.WithContext(ctx).Raw(
		"SELECT user_id FROM audit_heads UNION SELECT DISTINCT user_id FROM audit_logs UNION SELECT DISTINCT user_id FROM audit_archives ORDER BY 1").
		Scan(&users).Error
	if err != nil {
		return nil, fmt.Errorf("audit: list chains: %w", err)
	}
	results := make([]VerifyResult, 0, len(users))
	for _, u := range users {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		r, err := Verify(ctx, db, u)
		if err != nil {
			return results, err
		}
		results = append(results, r)
	}
	return results, nil
}
