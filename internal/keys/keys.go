// Package keys is the key lifecycle of tradeexec (issue 15, DESIGN "Key
// lifecycle"): the rules the key-rotation workflow, `tradeexec keys` and the
// admin API run.
//
// Vault keys: GenerateVaultKey makes the next master key version through the
// vault.KeyStore; ReencryptPage moves a page of stored credentials to it,
// each row written with compare-and-set on its ciphertext, so a retried page
// rewrites nothing twice and a credential a user saved meanwhile is never
// overwritten with the stale value; RetireVaultKeys removes a version only
// when no row names it (counted by version). JWT signing keys: Rotate makes
// a new key, the old one verifies until its last token expired, then
// RetireExpired deletes it. Every step is audited on the system chain.
package keys

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/vault"
)

// Table is one table of vault ciphertext: Column holds the blob, bound to
// (user_id, id), and key_version names its key version.
type Table struct {
	Name   string
	Column string
}

// Tables are every column holding vault ciphertext. A new encrypted column
// must be listed here, or rotation would leave it behind and retirement
// would strand it (TestTablesCoverEveryVaultColumn).
var Tables = []Table{
	{Name: "broker_connections", Column: "credentials"},
	{Name: "broker_oauth_states", Column: "options"},
}

// ErrNoSigningKeys: the process has no JWT_SECRET, so it cannot rotate the
// JWT signing keys.
var ErrNoSigningKeys = errors.New("keys: JWT_SECRET is not configured in this process; the signing keys cannot be rotated here")

// Rotator runs the key lifecycle. DB and Vault are required; Signing is
// nil in a process without JWT_SECRET.
type Rotator struct {
	DB      *gorm.DB
	Vault   *vault.Live
	Signing *auth.SigningKeys
	Log     *zap.Logger

	// fault is SetFault's hook (nil in production).
	fault atomic.Pointer[func(table, id string) error]
}

// SetFault installs fault injection for tests (a worker killed, a trader
// saving meanwhile): fn runs between reading a row and its compare-and-set
// write, and an error fails the page there. nil removes it.
func (r *Rotator) SetFault(fn func(table, id string) error) {
	if fn == nil {
		r.fault.Store(nil)
		return
	}
	r.fault.Store(&fn)
}

func (r *Rotator) log() *zap.Logger {
	if r.Log == nil {
		return zap.NewNop()
	}
	return r.Log
}

// VaultGeneration is the outcome of GenerateVaultKey.
type VaultGeneration struct {
	// Target is the version the credentials are re-encrypted under.
	Target int `json:"target"`
	// Created: this call created it (false: a retried call, or a read-only
	// store whose current version an operator added by hand).
	Created bool `json:"created"`
	// ReadOnly: the store cannot generate (VAULT_KEYS); Target is its
	// current version.
	ReadOnly bool   `json:"readOnly"`
	Store    string `json:"store"`
	// At is when Target became current in the store (this call's time):
	// every process writes under it at most SettleTime later.
	At time.Time `json:"at"`
}

// SettleTime is how long after a new version became current every process
// has reloaded its keyring (vault.Live reloads a keyring older than
// DefaultMaxAge) and stopped writing under the older versions. Retiring
// earlier could count a version as unused just before a stale process
// writes a credential under it.
const SettleTime = 2 * vault.DefaultMaxAge

// GenerateVaultKey makes the next key version current, or, when a rotation
// started with the same base already generated it, returns that one. base
// is the current version the rotation started from (0: read it now). With
// a read-only store (VAULT_KEYS) the target is the configured current
// version: the operator generated it by hand.
func (r *Rotator) GenerateVaultKey(ctx context.Context, base int, by string) (VaultGeneration, error) {
	st := r.Vault.Store()
	kr, err := st.Load(ctx)
	if err != nil {
		return VaultGeneration{}, err
	}
	if base == 0 {
		base = kr.Current
	}
	next := base + 1
	created, err := st.Generate(ctx, next)
	if errors.Is(err, vault.ErrReadOnlyStore) {
		return VaultGeneration{Target: kr.Current, ReadOnly: true, Store: st.Name(), At: time.Now().UTC()}, nil
	}
	if err != nil {
		return VaultGeneration{}, err
	}
	if err := r.Vault.Reload(ctx); err != nil {
		return VaultGeneration{}, err
	}
	g := VaultGeneration{Target: next, Created: created, Store: st.Name(), At: time.Now().UTC()}
	if created {
		r.log().Info("generated vault key version", zap.Int("version", next), zap.String("store", st.Name()))
		err = store.InTx(ctx, r.DB, func(tx *gorm.DB) error {
			_, err := audit.Append(tx, audit.Entry{UserID: audit.SystemUserID, Action: audit.ActionVaultKeyCreated,
				ResourceType: "VaultKey", ResourceID: fmt.Sprint(next), Details: map[string]any{"store": st.Name(), "by": by}})
			return err
		})
	}
	return g, err
}

// PageRequest asks ReencryptPage for one page of a table.
type PageRequest struct {
	Table   int    `json:"table"` // index into Tables
	AfterID string `json:"afterId,omitempty"`
	Limit   int    `json:"limit"`
	Target  int    `json:"target"`
}

// PageResult counts one page. LastID is where the next page starts; Done
// says the table has no rows after it.
type PageResult struct {
	Rows        int      `json:"rows"`        // rows not yet under Target that the page read
	Reencrypted int      `json:"reencrypted"` // rows this call moved to Target
	Conflicts   int      `json:"conflicts"`   // rows written meanwhile by someone else: left as they are
	Failed      int      `json:"failed"`      // rows that do not decrypt (tampered, retired key)
	FailedIDs   []string `json:"failedIds,omitempty"`
	LastID      string   `json:"lastId,omitempty"`
	Done        bool     `json:"done"`
	// Tables is len(Tables), so the workflow walks the tables without
	// depending on this package's list (which may grow between releases).
	Tables int `json:"tables"`
}

type blobRow struct {
	ID         string
	UserID     string
	Blob       []byte
	KeyVersion int
}

// ReencryptPage moves up to Limit rows of one table, after AfterID in id
// order, that are not under Target yet, to Target. Each row is written
// with compare-and-set on its key version and ciphertext: a row someone
// changed since it was read is left alone (the writer's value stands;
// RetireVaultKeys counts it if it is still under an old version), and a
// row already moved (a retried page) is not read again. progress, when
// set, is called after each row with the page's counts so far (the
// activity heartbeats them and a retry resumes after LastID).
func (r *Rotator) ReencryptPage(ctx context.Context, in PageRequest, progress func(PageResult)) (PageResult, error) {
	if in.Table < 0 || in.Table >= len(Tables) {
		return PageResult{}, fmt.Errorf("keys: no table %d", in.Table)
	}
	if in.Limit <= 0 {
		return PageResult{}, errors.New("keys: page limit must be positive")
	}
	t := Tables[in.Table]
	kr := r.Vault.Keyring()
	if !kr.Accepts(in.Target) {
		if err := r.Vault.Reload(ctx); err != nil {
			return PageResult{}, err
		}
		if kr = r.Vault.Keyring(); !kr.Accepts(in.Target) {
			return PageResult{}, fmt.Errorf("keys: this process's keyring has no version %d (%s)", in.Target, r.Vault.Store().Name())
		}
	}
	var rows []blobRow
	q := r.DB.WithContext(ctx).Table(t.Name).
		Select("id, user_id, "+t.Column+" AS blob, key_version").
		Where(t.Column+" IS NOT NULL AND key_version <> ?", in.Target)
	if in.AfterID != "" {
		q = q.Where("id > ?", in.AfterID)
	}
	if err := q.Order("id").Limit(in.Limit).Scan(&rows).Error; err != nil {
		return PageResult{}, fmt.Errorf("keys: read %s: %w", t.Name, err)
	}
	res := PageResult{LastID: in.AfterID, Done: len(rows) < in.Limit, Tables: len(Tables)}
	for _, row := range rows {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		moved, conflict, err := r.reencryptRow(ctx, kr, t, row, in.Target)
		switch {
		case err != nil && isRowError(err):
			res.Failed++
			res.FailedIDs = append(res.FailedIDs, row.ID)
			r.log().Warn("stored credentials do not decrypt; left under their key version",
				zap.String("table", t.Name), zap.String("id", row.ID), zap.Int("key_version", row.KeyVersion), zap.Error(err))
		case err != nil:
			return res, err
		case conflict:
			res.Conflicts++
		case moved:
			res.Reencrypted++
		}
		res.Rows++
		res.LastID = row.ID
		if progress != nil {
			progress(res)
		}
	}
	return res, nil
}

// isRowError: the row itself cannot be re-encrypted (not a transient
// failure of the database).
func isRowError(err error) bool {
	return errors.Is(err, vault.ErrTampered) || errors.Is(err, vault.ErrKeyRetired) ||
		errors.Is(err, vault.ErrUnknownKeyVersion) || errors.Is(err, vault.ErrMissingBinding)
}

func (r *Rotator) reencryptRow(ctx context.Context, kr *vault.Keyring, t Table, row blobRow, target int) (moved, conflict bool, err error) {
	if len(row.Blob) == 0 {
		return false, false, nil
	}
	if v, err := vault.Version(row.Blob); err == nil && v == target {
		// Blob already under target, column behind: fix the column only.
		res := r.DB.WithContext(ctx).Table(t.Name).Where("id = ? AND "+t.Column+" = ?", row.ID, row.Blob).
			Update("key_version", target)
		return false, res.Error == nil && res.RowsAffected == 0, res.Error
	}
	pt, err := kr.Decrypt(row.UserID, row.ID, row.Blob)
	if err != nil {
		return false, false, err
	}
	defer clear(pt)
	blob, v, err := kr.EncryptVersion(target, row.UserID, row.ID, pt)
	if err != nil {
		return false, false, err
	}
	if fn := r.fault.Load(); fn != nil {
		if err := (*fn)(t.Name, row.ID); err != nil {
			return false, false, err
		}
	}
	res := r.DB.WithContext(ctx).Table(t.Name).
		Where("id = ? AND key_version = ? AND "+t.Column+" = ?", row.ID, row.KeyVersion, row.Blob).
		Updates(map[string]any{t.Column: blob, "key_version": v})
	if res.Error != nil {
		return false, false, fmt.Errorf("keys: write %s: %w", t.Name, res.Error)
	}
	if res.RowsAffected == 0 {
		return false, true, nil
	}
	return true, false, nil
}

// Counts returns how many stored blobs name each key version, over every
// table of Tables.
func (r *Rotator) Counts(ctx context.Context) (map[int]int64, error) {
	out := map[int]int64{}
	for _, t := range Tables {
		var rows []struct {
			KeyVersion int
			N          int64
		}
		if err := r.DB.WithContext(ctx).Table(t.Name).Select("key_version, COUNT(*) AS n").
			Where(t.Column + " IS NOT NULL").Group("key_version").Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("keys: count %s: %w", t.Name, err)
		}
		for _, row := range rows {
			out[row.KeyVersion] += row.N
		}
	}
	return out, nil
}

// VaultRetirement is the outcome of RetireVaultKeys.
type VaultRetirement struct {
	Retired []int `json:"retired"`
	// Kept are older versions still named by rows (version → rows), or
	// that must be removed from VAULT_KEYS by hand (count 0).
	Kept   map[int]int64 `json:"kept,omitempty"`
	Manual []int         `json:"manual,omitempty"`
}

// RetireVaultKeys retires every version older than target that no stored
// blob names, oldest first (call it SettleTime after target became
// current), and records VAULT_KEY_RETIRED for each; a
// version still referenced is kept (VAULT_KEY_RETIRE_SKIPPED with its
// count) for the next rotation. Versions configured in VAULT_KEYS are
// reported as Manual: the operator removes them.
func (r *Rotator) RetireVaultKeys(ctx context.Context, target int, by string) (VaultRetirement, error) {
	st := r.Vault.Store()
	kr, err := st.Load(ctx)
	if err != nil {
		return VaultRetirement{}, err
	}
	out := VaultRetirement{Kept: map[int]int64{}}
	for _, v := range kr.Versions() {
		if v >= target || v == kr.Current {
			continue
		}
		// Count right before retiring: a row written under v by a process
		// that has not reloaded yet keeps v alive.
		counts, err := r.Counts(ctx)
		if err != nil {
			return out, err
		}
		if n := counts[v]; n > 0 {
			out.Kept[v] = n
			if err := r.auditVault(ctx, audit.ActionVaultKeyRetireSkipped, v, map[string]any{"rows": n, "by": by}); err != nil {
				return out, err
			}
			continue
		}
		err = st.Retire(ctx, v)
		if errors.Is(err, vault.ErrManagedOutside) {
			out.Manual = append(out.Manual, v)
			if err := r.auditVault(ctx, audit.ActionVaultKeyRetireSkipped, v, map[string]any{"rows": 0, "manual": true, "by": by}); err != nil {
				return out, err
			}
			continue
		}
		if err != nil {
			return out, err
		}
		out.Retired = append(out.Retired, v)
		r.log().Info("retired vault key version", zap.Int("version", v))
		if err := r.auditVault(ctx, audit.ActionVaultKeyRetired, v, map[string]any{"by": by}); err != nil {
			return out, err
		}
	}
	if err := r.Vault.Reload(ctx); err != nil {
		return out, err
	}
	if len(out.Kept) == 0 {
		out.Kept = nil
	}
	return out, nil
}

// RecordReencryption records the re-encryption's totals (VAULT_KEY_REENCRYPTED).
func (r *Rotator) RecordReencryption(ctx context.Context, target int, total PageResult, by string) error {
	return r.auditVault(ctx, audit.ActionVaultKeyReencrypted, target, map[string]any{"reencrypted": total.Reencrypted,
		"conflicts": total.Conflicts, "failed": total.Failed, "by": by})
}

func (r *Rotator) auditVault(ctx context.Context, action string, v int, details map[string]any) error {
	return store.InTx(ctx, r.DB, func(tx *gorm.DB) error {
		_, err := audit.Append(tx, audit.Entry{UserID: audit.SystemUserID, Action: action, ResourceType: "VaultKey",
			ResourceID: fmt.Sprint(v), Details: details})
		return err
	})
}

// RotateSigningKey starts a JWT signing key rotation (auth.SigningKeys.Rotate).
func (r *Rotator) RotateSigningKey(ctx context.Context, since time.Time, by string) (auth.SigningRotation, error) {
	if r.Signing == nil {
		return auth.SigningRotation{}, ErrNoSigningKeys
	}
	return r.Signing.Rotate(ctx, since, by)
}

// RetireSigningKeys retires the signing keys whose tokens have expired.
func (r *Rotator) RetireSigningKeys(ctx context.Context, by string) ([]string, error) {
	if r.Signing == nil {
		return nil, ErrNoSigningKeys
	}
	return r.Signing.RetireExpired(ctx, by)
}

// VersionStatus is one vault key version in Status.
type VersionStatus struct {
	Version int   `json:"version"`
	Rows    int64 `json:"rows"`
	Current bool  `json:"current"`
}

// Status is what `tradeexec keys status` and GET /api/v1/admin/keys show.
type Status struct {
	Store    string          `json:"store"`
	Current  int             `json:"current"`
	Versions []VersionStatus `json:"versions"`
	// Orphans are rows naming a version the keyring lacks (they do not
	// decrypt): version → rows.
	Orphans map[int]int64 `json:"orphans,omitempty"`
	// Signing are the JWT signing keys (nil without JWT_SECRET access).
	Signing []auth.SigningKeyInfo `json:"signing,omitempty"`
	// NextRotation is the key-rotation schedule's next run (zero when
	// unknown: no Temporal in this process).
	NextRotation time.Time `json:"nextRotation,omitzero"`
	Paused       bool      `json:"paused,omitempty"`
}

// Status reads the versions, the rows per version and the signing keys.
func (r *Rotator) Status(ctx context.Context) (Status, error) {
	if err := r.Vault.Reload(ctx); err != nil {
		return Status{}, err
	}
	kr := r.Vault.Keyring()
	counts, err := r.Counts(ctx)
	if err != nil {
		return Status{}, err
	}
	st := Status{Store: r.Vault.Store().Name(), Current: kr.Current}
	for _, v := range kr.Versions() {
		st.Versions = append(st.Versions, VersionStatus{Version: v, Rows: counts[v], Current: v == kr.Current})
		delete(counts, v)
	}
	delete(counts, 0)
	if len(counts) > 0 {
		st.Orphans = counts
	}
	sort.Slice(st.Versions, func(i, j int) bool { return st.Versions[i].Version < st.Versions[j].Version })
	if r.Signing != nil {
		if st.Signing, err = r.Signing.List(ctx); err != nil {
			return st, err
		}
	}
	return st, nil
}

// Sum adds b's counts to a.
func (a PageResult) Sum(b PageResult) PageResult {
	a.Rows += b.Rows
	a.Reencrypted += b.Reencrypted
	a.Conflicts += b.Conflicts
	a.Failed += b.Failed
	a.FailedIDs = append(a.FailedIDs, b.FailedIDs...)
	return a
}

// WithLast returns a with b's position (LastID, Done, Tables): a page's
// counts resumed from a heartbeat, positioned where b ended.
func (a PageResult) WithLast(b PageResult) PageResult {
	a.LastID, a.Done, a.Tables = b.LastID, b.Done, b.Tables
	return a
}
