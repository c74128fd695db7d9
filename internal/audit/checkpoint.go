package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/objstore"
	"github.com/tradeexec/tradeexec/internal/store"
)

// A checkpoint is a signed snapshot of every chain's head, written to
// append-only object storage. Verification compares the database with the
// newest checkpoint: an attacker who rewrites and re-chains entries,
// removes the newest ones or moves a head back cannot also rewrite the
// checkpoint (no key) nor remove it (Object Lock).

const (
	checkpointFormat = "tradeexec-audit-checkpoint/1"
	checkpointPrefix = "checkpoints/"
)

// ChainHead is one chain's tip in a checkpoint.
type ChainHead struct {
	Chain string `json:"chain"`
	Seq   int64  `json:"seq"`
	Hash  string `json:"hash"`
}

// Checkpoint is a verified checkpoint.
type Checkpoint struct {
	Key       string
	CreatedAt time.Time
	KeyID     int
	Heads     map[string]ChainHead
}

type checkpointHeader struct {
	Format    string    `json:"format"`
	Key       string    `json:"key"`
	CreatedAt time.Time `json:"created_at"`
	Chains    int       `json:"chains"`
}

// checkpointKey names a checkpoint so that the newest sorts first: the
// store lists keys in ascending order, and finding the newest of tens of
// thousands is then one request.
func checkpointKey(at time.Time) (string, error) {
	var nonce [4]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", err
	}
	inv := math.MaxInt64 - at.UTC().UnixNano()
	return fmt.Sprintf("%s%019d-%s-%s.jsonl.gz", checkpointPrefix, inv, at.UTC().Format("20060102T150405Z"), hex.EncodeToString(nonce[:])), nil
}

// ErrNoCheckpoint: the store holds no checkpoint yet.
var ErrNoCheckpoint = errors.New("audit: no checkpoint in the object store: no chain is anchored")

// LatestCheckpoint returns the newest checkpoint, verified, or nil when
// the store has none. A newest object that does not verify is an error
// (never skipped in favour of an older one).
func LatestCheckpoint(ctx context.Context, objs objstore.Store, keys *SigningKeys) (*Checkpoint, error) {
	names, err := objs.List(ctx, checkpointPrefix, "", 1)
	if err != nil {
		return nil, fmt.Errorf("audit: list checkpoints: %w", err)
	}
	if len(names) == 0 {
		return nil, nil
	}
	return ReadCheckpoint(ctx, objs, keys, names[0])
}

// ReadCheckpoint fetches and verifies the checkpoint stored under key.
func ReadCheckpoint(ctx context.Context, objs objstore.Store, keys *SigningKeys, key string) (*Checkpoint, error) {
	obj, err := objs.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("audit: read checkpoint: %w", err)
	}
	lines, keyID, err := openSigned(keys, obj)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint %s: %w", key, err)
	}
	var h checkpointHeader
	if err := decodeLine(lines[0], &h); err != nil {
		return nil, fmt.Errorf("audit: checkpoint %s: %w", key, err)
	}
	if h.Format != checkpointFormat || h.Key != key || h.Chains != len(lines)-1 {
		return nil, fmt.Errorf("audit: checkpoint %s: %w: header names %q (%s), %d chains for %d lines",
			key, ErrMalformed, h.Key, h.Format, h.Chains, len(lines)-1)
	}
	cp := &Checkpoint{Key: key, CreatedAt: h.CreatedAt.UTC(), KeyID: keyID, Heads: make(map[string]ChainHead, h.Chains)}
	for _, l := range lines[1:] {
		var c ChainHead
		if err := decodeLine(l, &c); err != nil {
			return nil, fmt.Errorf("audit: checkpoint %s: %w", key, err)
		}
		cp.Heads[c.Chain] = c
	}
	return cp, nil
}

// CheckpointOptions say what WriteCheckpoint keeps from the previous one.
type CheckpointOptions struct {
	// Previous is the checkpoint being succeeded (nil for the first).
	Previous *Checkpoint
	// Hold lists chains that failed verification: they keep their
	// previous head, so a tampered chain is never re-anchored as it now is.
	Hold []string
	// Retention is how long the store must keep the object (Object Lock).
	Retention time.Duration
	Now       time.Time
}

// WriteCheckpoint signs the current head of every chain and stores it,
// returning its key and how many chains it names. A chain keeps its
// previous head when it is held, when its head row does not point at a
// stored entry with that hash, or when its head is behind the previous
// checkpoint (a rolled-back head is never anchored). Chains of the
// previous checkpoint that are gone from the database are kept too.
func WriteCheckpoint(ctx context.Context, db *gorm.DB, objs objstore.Store, keys *SigningKeys, o CheckpointOptions) (string, int, error) {
	heads := map[string]ChainHead{}
	if o.Previous != nil {
		for c, h := range o.Previous.Heads {
			heads[c] = h
		}
	}
	held := map[string]bool{}
	for _, c := range o.Hold {
		held[c] = true
	}
	after := ""
	for {
		var page []ChainHead
		err := db.WithContext(ctx).Raw(`SELECT h.user_id AS chain, h.last_seq AS seq, h.last_hash AS hash
			FROM audit_heads h JOIN audit_logs l ON l.user_id = h.user_id AND l.seq = h.last_seq AND l.current_hash = h.last_hash
			WHERE `+chainAfter(db, "h.user_id")+` ORDER BY `+chainOrder(db, "h.user_id")+` LIMIT ?`, after, verifyBatch).Scan(&page).Error
		if err != nil {
			return "", 0, fmt.Errorf("audit: read chain heads: %w", err)
		}
		for _, h := range page {
			prev, had := heads[h.Chain]
			if held[h.Chain] || (had && h.Seq < prev.Seq) {
				continue
			}
			heads[h.Chain] = h
		}
		if len(page) < verifyBatch {
			break
		}
		after = page[len(page)-1].Chain
	}
	now := o.Now.UTC()
	if now.IsZero() {
		now = time.Now().UTC()
	}
	key, err := checkpointKey(now)
	if err != nil {
		return "", 0, err
	}
	chains := make([]string, 0, len(heads))
	for c := range heads {
		chains = append(chains, c)
	}
	slices.Sort(chains)
	var b signedBuilder
	b.line(checkpointHeader{Format: checkpointFormat, Key: key, CreatedAt: now, Chains: len(chains)})
	for _, c := range chains {
		b.line(heads[c])
	}
	obj, _, err := b.finish(keys)
	if err != nil {
		return "", 0, err
	}
	if err := objs.Put(ctx, key, obj, objstore.PutOptions{RetainUntil: retainUntil(now, o.Retention)}); err != nil {
		return "", 0, fmt.Errorf("audit: store checkpoint: %w", err)
	}
	return key, len(chains), nil
}

func retainUntil(now time.Time, retention time.Duration) time.Time {
	if retention <= 0 {
		return time.Time{}
	}
	return now.Add(retention)
}

// chainOrder and chainAfter compare chain ids in byte order on both
// engines (PostgreSQL's default collation may not), so pages of chains
// line up with the sorted chains of a checkpoint.
func chainOrder(db *gorm.DB, col string) string {
	if isPostgres(db) {
		return col + ` COLLATE "C"`
	}
	return col
}

func chainAfter(db *gorm.DB, col string) string {
	return chainOrder(db, col) + " > ?"
}

func isPostgres(db *gorm.DB) bool { return store.DialectOf(db) == store.Postgres }
