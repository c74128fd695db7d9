package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/objstore"
	"github.com/tradeexec/tradeexec/schema"
)

// ChainStatus is the outcome of verifying a chain against the object store.
type ChainStatus string

const (
	// ChainValid: the chain verifies, its archive boundary matches the
	// stored segment, and it contains its checkpointed head.
	ChainValid ChainStatus = "valid"
	// ChainTampered: the chain was altered; a SECURITY_ALERT is due.
	ChainTampered ChainStatus = "tampered"
	// ChainUnanchored: the chain verifies but began after the newest
	// checkpoint, which therefore cannot vouch for it yet (the next
	// checkpoint will). Not valid, not an alert.
	ChainUnanchored ChainStatus = "unanchored"
	// ChainNoCheckpoint: the store holds no checkpoint at all.
	ChainNoCheckpoint ChainStatus = "no checkpoint"
)

// Reasons found only by comparing with the object store.
const (
	// ReasonCheckpointMismatch: the entry at the checkpointed seq does
	// not carry the checkpointed hash — entries were rewritten and
	// re-chained.
	ReasonCheckpointMismatch Reason = "checkpoint mismatch"
	// ReasonTruncated: the chain ends before its checkpointed head —
	// entries were removed, or the head was moved back.
	ReasonTruncated Reason = "truncated"
	// ReasonCheckpointMissing: the chain is older than the newest
	// checkpoint but the checkpoint does not name it.
	ReasonCheckpointMissing Reason = "missing from checkpoint"
	// ReasonChainMissing: the checkpoint names a chain the database no
	// longer has.
	ReasonChainMissing Reason = "chain missing"
	// ReasonArchiveMismatch: audit_archives does not match the segments
	// in the object store (missing, altered, or not contiguous).
	ReasonArchiveMismatch Reason = "archive mismatch"
)

// ChainReport is VerifyChain's answer.
type ChainReport struct {
	VerifyResult
	Status ChainStatus `json:"status"`
	// CheckpointSeq is the chain's head in the checkpoint (0: none).
	CheckpointSeq int64 `json:"checkpointSeq"`
}

// VerifyChain verifies chain in the database (Verify), then against the
// object store: the newest archive segment must be in the store, signed,
// and be where the database says the chain continues; and the chain must
// still contain its head as of checkpoint cp, with the same hash. cp nil
// (no checkpoint yet) gives ChainNoCheckpoint, never ChainValid.
func VerifyChain(ctx context.Context, db *gorm.DB, objs objstore.Store, keys *SigningKeys, cp *Checkpoint, chain string) (ChainReport, error) {
	r, err := Verify(ctx, db, chain)
	rep := ChainReport{VerifyResult: r}
	if err != nil {
		return rep, err
	}
	if !r.Valid {
		rep.Status = ChainTampered
		return rep, nil
	}
	tampered := func(seq int64, reason Reason, detail string) (ChainReport, error) {
		rep.VerifyResult = broken(rep.VerifyResult, seq, reason, detail)
		rep.Status = ChainTampered
		return rep, nil
	}
	db = db.WithContext(ctx)
	var archives []schema.AuditArchive
	if err := db.Where("user_id = ?", chain).Order("first_seq").Find(&archives).Error; err != nil {
		return rep, fmt.Errorf("audit: read archive records: %w", err)
	}
	prevSeq, prevHash := int64(0), GenesisHash
	for _, a := range archives {
		if a.FirstSeq != prevSeq+1 || a.FirstPreviousHash != prevHash {
			return tampered(a.FirstSeq, ReasonArchiveMismatch,
				fmt.Sprintf("archive segment %d-%d does not continue the segment before it", a.FirstSeq, a.LastSeq))
		}
		prevSeq, prevHash = a.LastSeq, a.LastHash
	}
	var lastSeg *Segment
	if n := len(archives); n > 0 {
		a := archives[n-1]
		seg, sum, err := ReadSegment(ctx, objs, keys, a.ObjectKey)
		switch {
		case errors.Is(err, objstore.ErrNotFound) || errors.Is(err, ErrBadSignature) || errors.Is(err, ErrMalformed):
			return tampered(a.FirstSeq, ReasonArchiveMismatch, fmt.Sprintf("archive segment %s: %v", a.ObjectKey, err))
		case err != nil:
			return rep, err
		case sum != a.ObjectSHA256 || seg.Chain != chain || seg.FirstSeq != a.FirstSeq || seg.LastSeq != a.LastSeq ||
			seg.LastHash != a.LastHash || seg.FirstPreviousHash != a.FirstPreviousHash:
			return tampered(a.FirstSeq, ReasonArchiveMismatch,
				fmt.Sprintf("archive record %d-%d does not match the stored segment %s", a.FirstSeq, a.LastSeq, a.ObjectKey))
		}
		lastSeg = seg
	}

	if cp == nil {
		rep.Valid = false
		rep.Status = ChainNoCheckpoint
		rep.Detail = "no checkpoint exists in the object store: the chain is not anchored"
		return rep, nil
	}
	head, ok := cp.Heads[chain]
	if !ok {
		older, err := chainPredates(db, chain, len(archives) > 0, cp.CreatedAt)
		if err != nil {
			return rep, err
		}
		if older {
			return tampered(1, ReasonCheckpointMissing,
				fmt.Sprintf("the chain has entries older than checkpoint %s, which does not name it", cp.Key))
		}
		rep.Valid = false
		rep.Status = ChainUnanchored
		rep.Detail = fmt.Sprintf("the chain began after checkpoint %s; the next checkpoint anchors it", cp.Key)
		return rep, nil
	}
	rep.CheckpointSeq = head.Seq
	if r.LastSeq < head.Seq {
		return tampered(r.LastSeq+1, ReasonTruncated, fmt.Sprintf(
			"the chain ends at entry %d but checkpoint %s (%s) recorded entry %d: entries were removed or the head was moved back",
			r.LastSeq, cp.Key, cp.CreatedAt.Format(time.RFC3339), head.Seq))
	}
	hash, err := hashAt(ctx, db, objs, keys, chain, head.Seq, archives, lastSeg)
	if err != nil {
		return rep, err
	}
	if hash != head.Hash {
		return tampered(head.Seq, ReasonCheckpointMismatch, fmt.Sprintf(
			"entry %d does not carry the hash checkpoint %s recorded: entries up to it were rewritten and re-chained", head.Seq, cp.Key))
	}
	rep.Status = ChainValid
	return rep, nil
}

// chainPredates reports whether the chain has an entry stamped before t.
func chainPredates(db *gorm.DB, chain string, archived bool, t time.Time) (bool, error) {
	if archived {
		return true, nil
	}
	var n int64
	err := db.Model(&schema.AuditLog{}).Where("user_id = ? AND timestamp < ?", chain, t.UTC()).Limit(1).Count(&n).Error
	return n > 0, err
}

// hashAt returns the CurrentHash of entry seq of chain, from the database
// or, when archived, from its segment.
func hashAt(ctx context.Context, db *gorm.DB, objs objstore.Store, keys *SigningKeys, chain string, seq int64,
	archives []schema.AuditArchive, lastSeg *Segment) (string, error) {
	for i, a := range archives {
		if seq < a.FirstSeq || seq > a.LastSeq {
			continue
		}
		seg := lastSeg
		if i != len(archives)-1 {
			var sum string
			var err error
			seg, sum, err = ReadSegment(ctx, objs, keys, a.ObjectKey)
			if err != nil || sum != a.ObjectSHA256 {
				return "", nil // reported as a checkpoint mismatch
			}
		}
		return seg.Entries[seq-seg.FirstSeq].CurrentHash, nil
	}
	var hashes []string
	if err := db.Model(&schema.AuditLog{}).Where("user_id = ? AND seq = ?", chain, seq).Pluck("current_hash", &hashes).Error; err != nil {
		return "", fmt.Errorf("audit: read entry %d: %w", seq, err)
	}
	if len(hashes) == 0 {
		return "", nil
	}
	return hashes[0], nil
}

// Page is the outcome of verifying one page of chains.
type Page struct {
	Checked    int `json:"checked"`
	Valid      int `json:"valid"`
	Failed     int `json:"failed"`
	Unanchored int `json:"unanchored"`
	// NoCheckpoint counts chains verified without any checkpoint.
	NoCheckpoint int `json:"noCheckpoint"`
	// Problems are the reports of every chain that is not valid.
	Problems []ChainReport `json:"problems,omitempty"`
	// ValidChains are the chains that verified.
	ValidChains []string `json:"validChains,omitempty"`
	// Last is the last chain id of the page; Done when no chain follows.
	Last string `json:"last"`
	Done bool   `json:"done"`
}

// VerifyPage verifies up to limit chains after chain id after (byte
// order), plus the chains the checkpoint names in that range that the
// database no longer has. progress, if not nil, is called before each
// chain (activity heartbeats).
func VerifyPage(ctx context.Context, db *gorm.DB, objs objstore.Store, keys *SigningKeys, cp *Checkpoint, after string, limit int,
	progress func(chain string)) (Page, error) {
	var p Page
	chains, err := ListChains(ctx, db, after, limit)
	if err != nil {
		return p, err
	}
	p.Done = len(chains) < limit
	p.Last = after
	if len(chains) > 0 {
		p.Last = chains[len(chains)-1]
	}
	add := func(r ChainReport) {
		p.Checked++
		switch r.Status {
		case ChainValid:
			p.Valid++
			p.ValidChains = append(p.ValidChains, r.UserID)
			return
		case ChainUnanchored:
			p.Unanchored++
		case ChainNoCheckpoint:
			p.NoCheckpoint++
		default:
			p.Failed++
		}
		p.Problems = append(p.Problems, r)
	}
	present := map[string]bool{}
	for _, c := range chains {
		present[c] = true
		if progress != nil {
			progress(c)
		}
		r, err := VerifyChain(ctx, db, objs, keys, cp, c)
		if err != nil {
			return p, err
		}
		add(r)
	}
	if cp != nil {
		for c, h := range cp.Heads {
			if c <= after || present[c] || (!p.Done && c > p.Last) {
				continue
			}
			r := ChainReport{VerifyResult: VerifyResult{UserID: c, LastHash: GenesisHash}, Status: ChainTampered, CheckpointSeq: h.Seq}
			r.VerifyResult = broken(r.VerifyResult, 1, ReasonChainMissing,
				fmt.Sprintf("checkpoint %s names this chain at entry %d but the database has none of it", cp.Key, h.Seq))
			add(r)
		}
	}
	return p, nil
}

// ListChains returns up to limit chain ids after after, in byte order:
// every chain with a head, an entry or an archive segment.
func ListChains(ctx context.Context, db *gorm.DB, after string, limit int) ([]string, error) {
	var chains []string
	q := `SELECT user_id FROM (SELECT user_id FROM audit_heads UNION SELECT user_id FROM audit_logs
		UNION SELECT user_id FROM audit_archives) c WHERE ` + chainAfter(db, "user_id") + ` ORDER BY ` + chainOrder(db, "user_id") + ` LIMIT ?`
	if err := db.WithContext(ctx).Raw(q, after, limit).Scan(&chains).Error; err != nil {
		return nil, fmt.Errorf("audit: list chains: %w", err)
	}
	return chains, nil
}
