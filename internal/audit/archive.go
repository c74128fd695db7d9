package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/objstore"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// The archive moves a chain's entries older than the hot window to object
// storage as segments: signed JSON lines (see signed.go), gzip compressed,
// one object per run of at most SegmentEntries consecutive entries of one
// chain, under archive/<chain>/<first seq>-<last seq>.jsonl.gz, kept by
// Object Lock for the retention period. audit_archives records each one
// (with the SHA-256 of the object's bytes) in the transaction that removes
// its entries from audit_logs; Verify then starts from the newest
// segment's last hash, so the chain stays verifiable across the boundary.
// A chain's newest entry always stays in the database.

const (
	segmentFormat = "tradeexec-audit-segment/1"
	// SegmentEntries is the most entries one segment holds.
	SegmentEntries = 5000
)

type segmentHeader struct {
	Format            string    `json:"format"`
	Key               string    `json:"key"`
	Chain             string    `json:"chain"`
	FirstSeq          int64     `json:"first_seq"`
	LastSeq           int64     `json:"last_seq"`
	FirstPreviousHash string    `json:"first_previous_hash"`
	LastHash          string    `json:"last_hash"`
	Entries           int64     `json:"entries"`
	CreatedAt         time.Time `json:"created_at"`
}

// segmentEntry is an archived entry: every stored column.
type segmentEntry struct {
	ID           string    `json:"id"`
	Seq          int64     `json:"seq"`
	Timestamp    time.Time `json:"timestamp"`
	UserID       string    `json:"user_id"`
	Action       string    `json:"action"`
	ResourceType string    `json:"resource_type"`
	ResourceID   string    `json:"resource_id"`
	IPAddress    string    `json:"ip_address"`
	UserAgent    string    `json:"user_agent"`
	Status       string    `json:"status"`
	ErrorMessage string    `json:"error_message"`
	Details      string    `json:"details"`
	PreviousHash string    `json:"previous_hash"`
	CurrentHash  string    `json:"current_hash"`
}

func toSegmentEntry(e schema.AuditLog) segmentEntry {
	return segmentEntry{e.ID, e.Seq, e.Timestamp.UTC(), e.UserID, e.Action, e.ResourceType, e.ResourceID, e.IPAddress,
		e.UserAgent, e.Status, e.ErrorMessage, e.Details, e.PreviousHash, e.CurrentHash}
}

func (s segmentEntry) row() schema.AuditLog {
	return schema.AuditLog{ID: s.ID, Seq: s.Seq, Timestamp: s.Timestamp.UTC(), UserID: s.UserID, Action: s.Action,
		ResourceType: s.ResourceType, ResourceID: s.ResourceID, IPAddress: s.IPAddress, UserAgent: s.UserAgent,
		Status: s.Status, ErrorMessage: s.ErrorMessage, Details: s.Details, PreviousHash: s.PreviousHash, CurrentHash: s.CurrentHash}
}

// Segment is a verified archive segment.
type Segment struct {
	Key               string
	Chain             string
	FirstSeq, LastSeq int64
	FirstPreviousHash string
	LastHash          string
	CreatedAt         time.Time
	KeyID             int
	Entries           []schema.AuditLog
}

// SegmentKey is where a chain's segment of entries first…last is stored.
func SegmentKey(chain string, first, last int64) string {
	return fmt.Sprintf("archive/%s/%020d-%020d.jsonl.gz", url.PathEscape(chain), first, last)
}

// ReadSegment fetches the segment stored under key and verifies its
// signature and every entry's hash and link.
func ReadSegment(ctx context.Context, objs objstore.Store, keys *SigningKeys, key string) (*Segment, string, error) {
	obj, err := objs.Get(ctx, key)
	if err != nil {
		return nil, "", fmt.Errorf("audit: read segment: %w", err)
	}
	sum := sha256.Sum256(obj)
	seg, err := parseSegment(keys, key, obj)
	if err != nil {
		return nil, "", fmt.Errorf("audit: segment %s: %w", key, err)
	}
	return seg, hex.EncodeToString(sum[:]), nil
}

func parseSegment(keys *SigningKeys, key string, obj []byte) (*Segment, error) {
	lines, keyID, err := openSigned(keys, obj)
	if err != nil {
		return nil, err
	}
	var h segmentHeader
	if err := decodeLine(lines[0], &h); err != nil {
		return nil, err
	}
	if h.Format != segmentFormat || h.Key != key || h.Entries != int64(len(lines)-1) || h.Entries != h.LastSeq-h.FirstSeq+1 {
		return nil, fmt.Errorf("%w: header does not describe this object", ErrMalformed)
	}
	seg := &Segment{Key: key, Chain: h.Chain, FirstSeq: h.FirstSeq, LastSeq: h.LastSeq, FirstPreviousHash: h.FirstPreviousHash,
		LastHash: h.LastHash, CreatedAt: h.CreatedAt.UTC(), KeyID: keyID, Entries: make([]schema.AuditLog, 0, len(lines)-1)}
	prevSeq, prevHash := h.FirstSeq-1, h.FirstPreviousHash
	for _, l := range lines[1:] {
		var se segmentEntry
		if err := decodeLine(l, &se); err != nil {
			return nil, err
		}
		e := se.row()
		if e.UserID != h.Chain || e.Seq != prevSeq+1 || e.PreviousHash != prevHash || ComputeHash(e) != e.CurrentHash {
			return nil, fmt.Errorf("%w: entry %d does not verify", ErrMalformed, e.Seq)
		}
		prevSeq, prevHash = e.Seq, e.CurrentHash
		seg.Entries = append(seg.Entries, e)
	}
	if prevHash != h.LastHash {
		return nil, fmt.Errorf("%w: last hash", ErrMalformed)
	}
	return seg, nil
}

func buildSegment(keys *SigningKeys, entries []schema.AuditLog, now time.Time) (string, []byte, string, error) {
	first, last := entries[0], entries[len(entries)-1]
	key := SegmentKey(first.UserID, first.Seq, last.Seq)
	var b signedBuilder
	b.line(segmentHeader{Format: segmentFormat, Key: key, Chain: first.UserID, FirstSeq: first.Seq, LastSeq: last.Seq,
		FirstPreviousHash: first.PreviousHash, LastHash: last.CurrentHash, Entries: int64(len(entries)), CreatedAt: now.UTC()})
	for _, e := range entries {
		b.line(toSegmentEntry(e))
	}
	obj, sum, err := b.finish(keys)
	return key, obj, sum, err
}

// ArchiveOptions configure ArchiveChain.
type ArchiveOptions struct {
	// Cutoff: entries stamped before it leave the database.
	Cutoff time.Time
	// Retention is how long the store keeps a segment (Object Lock).
	Retention time.Duration
	// Checkpoint is the newest checkpoint; the chain must verify against
	// it before anything is archived (a tampered chain is never sealed).
	Checkpoint *Checkpoint
	Now        time.Time
	// MaxSegments bounds the segments one call writes (0: unbounded).
	MaxSegments int
}

// ArchiveResult counts what ArchiveChain moved.
type ArchiveResult struct {
	Segments int   `json:"segments"`
	Entries  int64 `json:"entries"`
	// Refused is set when the chain did not verify; nothing was archived.
	Refused *ChainReport `json:"refused,omitempty"`
}

// ArchiveChain moves chain's entries older than o.Cutoff (a consecutive
// run from its archive boundary, never its newest entry) to segments.
// It is idempotent: a segment already stored (a retry after a crash) is
// read back and must hold the same entries.
func ArchiveChain(ctx context.Context, db *gorm.DB, objs objstore.Store, keys *SigningKeys, chain string, o ArchiveOptions) (ArchiveResult, error) {
	var res ArchiveResult
	rep, err := VerifyChain(ctx, db, objs, keys, o.Checkpoint, chain)
	if err != nil {
		return res, err
	}
	if rep.Status != ChainValid {
		res.Refused = &rep
		return res, nil
	}
	now := o.Now.UTC()
	if now.IsZero() {
		now = time.Now().UTC()
	}
	db = db.WithContext(ctx)
	for o.MaxSegments <= 0 || res.Segments < o.MaxSegments {
		var maxSeq int64
		if err := db.Raw("SELECT COALESCE(MAX(seq), 0) FROM audit_logs WHERE user_id = ?", chain).Scan(&maxSeq).Error; err != nil {
			return res, err
		}
		var arch []schema.AuditArchive
		if err := db.Where("user_id = ?", chain).Order("last_seq DESC").Limit(1).Find(&arch).Error; err != nil {
			return res, err
		}
		baseSeq, baseHash := int64(0), GenesisHash
		if len(arch) == 1 {
			baseSeq, baseHash = arch[0].LastSeq, arch[0].LastHash
		}
		var batch []schema.AuditLog
		if err := db.Where("user_id = ? AND seq > ? AND seq < ?", chain, baseSeq, maxSeq).Order("seq").Limit(SegmentEntries).Find(&batch).Error; err != nil {
			return res, err
		}
		n := 0
		for n < len(batch) && batch[n].Timestamp.Before(o.Cutoff) {
			n++
		}
		if n == 0 {
			return res, nil
		}
		entries := batch[:n]
		prevSeq, prevHash := baseSeq, baseHash
		for _, e := range entries {
			if e.Seq != prevSeq+1 || e.PreviousHash != prevHash || ComputeHash(e) != e.CurrentHash {
				return res, fmt.Errorf("audit: chain %s changed during the archive at entry %d", chain, e.Seq)
			}
			prevSeq, prevHash = e.Seq, e.CurrentHash
		}
		key, obj, sum, err := buildSegment(keys, entries, now)
		if err != nil {
			return res, err
		}
		err = objs.Put(ctx, key, obj, objstore.PutOptions{RetainUntil: retainUntil(now, o.Retention)})
		if errors.Is(err, objstore.ErrExists) {
			// A retry: the stored segment must be this one.
			seg, storedSum, rerr := ReadSegment(ctx, objs, keys, key)
			if rerr != nil {
				return res, rerr
			}
			if seg.Chain != chain || seg.FirstSeq != entries[0].Seq || seg.LastSeq != prevSeq || seg.LastHash != prevHash ||
				seg.FirstPreviousHash != baseHash {
				return res, fmt.Errorf("audit: segment %s exists with other entries", key)
			}
			sum, err = storedSum, nil
		}
		if err != nil {
			return res, fmt.Errorf("audit: store segment: %w", err)
		}
		row := schema.AuditArchive{UserID: chain, FirstSeq: entries[0].Seq, LastSeq: prevSeq, FirstPreviousHash: baseHash,
			LastHash: prevHash, Entries: int64(n), ObjectKey: key, ObjectSHA256: sum, KeyID: keys.Current(), CreatedAt: now}
		err = store.InTx(ctx, db, func(tx *gorm.DB) error {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
				return err
			}
			return pruneArchived(tx, chain, row.FirstSeq, row.LastSeq)
		})
		if err != nil {
			return res, fmt.Errorf("audit: record segment %s: %w", key, err)
		}
		res.Segments++
		res.Entries += int64(n)
	}
	return res, nil
}

// pruneArchived removes the entries of one recorded segment. On
// PostgreSQL the app role has no DELETE on audit_logs: the owner's
// function audit_prune_archived does it, for a recorded segment only.
func pruneArchived(tx *gorm.DB, chain string, first, last int64) error {
	if store.DialectOf(tx) == store.Postgres {
		var n int64
		return tx.Raw("SELECT audit_prune_archived(?, ?, ?)", chain, first, last).Scan(&n).Error
	}
	return tx.Exec("DELETE FROM audit_logs WHERE user_id = ? AND seq BETWEEN ? AND ?", chain, first, last).Error
}

// ArchivePageResult counts one page of ArchivePage.
type ArchivePageResult struct {
	Chains   int
	Segments int
	Entries  int64
	// Refused are the chains that did not verify (nothing archived).
	Refused []ChainReport
	Last    string
	Done    bool
}

// ArchivePage archives up to limit chains after after (byte order).
// progress, if not nil, is called before each chain.
func ArchivePage(ctx context.Context, db *gorm.DB, objs objstore.Store, keys *SigningKeys, o ArchiveOptions, after string, limit int,
	progress func(chain string)) (ArchivePageResult, error) {
	var p ArchivePageResult
	chains, err := ListChains(ctx, db, after, limit)
	if err != nil {
		return p, err
	}
	p.Done, p.Last = len(chains) < limit, after
	for _, c := range chains {
		if progress != nil {
			progress(c)
		}
		r, err := ArchiveChain(ctx, db, objs, keys, c, o)
		if err != nil {
			return p, err
		}
		p.Chains++
		p.Segments += r.Segments
		p.Entries += r.Entries
		if r.Refused != nil {
			p.Refused = append(p.Refused, *r.Refused)
		}
		p.Last = c
	}
	return p, nil
}
