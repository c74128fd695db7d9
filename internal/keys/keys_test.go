package keys

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/vault"
	"github.com/tradeexec/tradeexec/schema"
)

// fixture is a database with users and credentials and a rotator over a
// keyring file.
type fixture struct {
	t     *testing.T
	db    *gorm.DB
	store *vault.FileStore
	live  *vault.Live
	rot   *Rotator
	// want is each row's plaintext credentials (table/id → api_key).
	want map[string]string
	ids  []string // broker connection ids, in id order
}

func newFixture(t *testing.T, db *gorm.DB, conns int) *fixture {
	t.Helper()
	ctx := context.Background()
	fs := &vault.FileStore{Path: filepath.Join(t.TempDir(), "vault.keyring")}
	created, err := fs.Generate(ctx, 1)
	require.NoError(t, err)
	require.True(t, created)
	live, err := vault.OpenLive(ctx, fs)
	require.NoError(t, err)
	f := &fixture{t: t, db: db, store: fs, live: live, rot: &Rotator{DB: db, Vault: live}, want: map[string]string{}}
	users := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	for i, u := range users {
		email := fmt.Sprintf("u%d-%s@example.com", i, u[:8])
		require.NoError(t, db.Create(&schema.User{ID: u, Email: &email, CreatedAt: time.Now().UTC()}).Error)
	}
	for i := 0; i < conns; i++ {
		f.addConnection(users[i%len(users)], fmt.Sprintf("AK-%03d", i), live.Keyring())
	}
	// A pending Schwab authorization: its options are vault ciphertext too.
	st := schema.BrokerOAuthState{ID: uuid.NewString(), StateHash: strings.ReplaceAll(uuid.NewString()+uuid.NewString(), "-", "")[:64], UserID: users[0], Broker: "schwab",
		CreatedAt: time.Now().UTC(), ExpiresAt: time.Now().UTC().Add(5 * time.Minute)}
	st.Options, st.KeyVersion, err = live.EncryptJSON(st.UserID, st.ID, map[string]string{"api_key": "OAUTH"})
	require.NoError(t, err)
	require.NoError(t, db.Create(&st).Error)
	f.want["broker_oauth_states/"+st.ID] = "OAUTH"
	return f
}

func (f *fixture) addConnection(userID, apiKey string, kr *vault.Keyring) string {
	f.t.Helper()
	now := time.Now().UTC()
	c := schema.BrokerConnection{ID: uuid.NewString(), UserID: userID, BrokerType: "alpaca", IsActive: true, CreatedAt: now, UpdatedAt: now}
	var err error
	c.Credentials, c.KeyVersion, err = kr.EncryptJSON(c.UserID, c.ID, broker.Credentials{"api_key": apiKey})
	require.NoError(f.t, err)
	require.NoError(f.t, f.db.Create(&c).Error)
	f.want["broker_connections/"+c.ID] = apiKey
	f.ids = append(f.ids, c.ID)
	return c.ID
}

// blobs reads every stored blob (table/id → blob, key version).
func (f *fixture) blobs() map[string]blobRow {
	f.t.Helper()
	out := map[string]blobRow{}
	for _, t := range Tables {
		var rows []blobRow
		require.NoError(f.t, f.db.Table(t.Name).Select("id, user_id, "+t.Column+" AS blob, key_version").
			Where(t.Column+" IS NOT NULL").Scan(&rows).Error)
		for _, r := range rows {
			out[t.Name+"/"+r.ID] = r
		}
	}
	return out
}

// requireDecryptable checks every row opens with a keyring loaded from the
// store now (a freshly started process) to what was stored, and that the
// column names the blob's version.
func (f *fixture) requireDecryptable(kr *vault.Keyring, msg string) {
	f.t.Helper()
	got := f.blobs()
	require.Len(f.t, got, len(f.want), msg)
	for key, row := range got {
		var creds map[string]string
		require.NoError(f.t, kr.DecryptJSON(row.UserID, row.ID, row.Blob, &creds), "%s: %s (key version %d)", msg, key, row.KeyVersion)
		require.Equal(f.t, f.want[key], creds["api_key"], "%s: %s", msg, key)
		v, err := vault.Version(row.Blob)
		require.NoError(f.t, err)
		require.Equal(f.t, v, row.KeyVersion, "%s: %s column and blob disagree", msg, key)
	}
}

func (f *fixture) fresh() *vault.Keyring {
	f.t.Helper()
	kr, err := f.store.Load(context.Background())
	require.NoError(f.t, err)
	return kr
}

func auditCount(t *testing.T, db *gorm.DB, action string) int {
	t.Helper()
	rows, err := audit.List(context.Background(), db, audit.Filter{UserID: audit.SystemUserID, Action: action, Limit: 1000})
	require.NoError(t, err)
	return len(rows)
}

func newKey(t *testing.T) string {
	t.Helper()
	k, err := vault.NewMasterKey()
	require.NoError(t, err)
	return k
}

// TestFiveRotationsLeaveEveryCredentialDecryptable: five rotations in a row,
// by hand and by the workflow's steps, never strand a credential. By hand
// (versions added to VAULT_KEYS, credentials untouched) the old keyring
// decrypted only current-2…current, so the third manual rotation stranded
// every untouched credential.
func TestFiveRotationsLeaveEveryCredentialDecryptable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, db, 12)

		// By hand: five versions added to VAULT_KEYS, nothing re-encrypted.
		spec := []string{"1:" + base64.StdEncoding.EncodeToString(f.fresh().Keys[1])}
		for v := 2; v <= 6; v++ {
			spec = append(spec, fmt.Sprintf("%d:%s", v, newKey(t)))
			manual, err := vault.ParseKeyring(strings.Join(spec, ","))
			require.NoError(t, err)
			f.requireDecryptable(manual, fmt.Sprintf("manual rotation %d", v-1))
		}
		// Then `tradeexec keys rotate` on the read-only VAULT_KEYS store:
		// everything moves to the hand-made v6; v1…v5 are left to the
		// operator to remove.
		manual, err := vault.ParseKeyring(strings.Join(spec, ","))
		require.NoError(t, err)
		static, err := vault.OpenLive(ctx, vault.StaticStore{Keyring: manual})
		require.NoError(t, err)
		rep, err := (&Rotator{DB: db, Vault: static}).RunInProcess(ctx, 5, 0, "test")
		require.NoError(t, err)
		require.True(t, rep.Vault.ReadOnly)
		require.Equal(t, 6, rep.Vault.Target)
		require.Equal(t, []int{1, 2, 3, 4, 5}, rep.Retired.Manual)
		f.requireDecryptable(manual, "after re-encrypting under the hand-made version")

		// By the workflow's steps on the keyring file: five rotations (on
		// fresh rows: the first part's were under another keyring).
		require.NoError(t, db.Exec("DELETE FROM broker_oauth_states").Error)
		require.NoError(t, db.Exec("DELETE FROM broker_connections").Error)
		f2 := newFixture(t, db, 12)
		stale := f2.live // a replica that loaded before the rotations
		for i := 1; i <= 5; i++ {
			rep, err := f2.rot.RunInProcess(ctx, 5, 0, "test")
			require.NoError(t, err)
			require.Equal(t, i+1, rep.Vault.Target)
			require.True(t, rep.Vault.Created)
			kr := f2.fresh()
			require.Equal(t, i+1, kr.Current)
			f2.requireDecryptable(kr, fmt.Sprintf("rotation %d", i))
			for key, row := range f2.blobs() {
				if strings.HasPrefix(key, "broker_connections/") && row.UserID != "" {
					var creds map[string]string
					require.NoError(t, stale.DecryptJSON(row.UserID, row.ID, row.Blob, &creds), "a replica loaded before rotation %d reloads", i)
				}
			}
		}
		require.Equal(t, []int{6}, f2.fresh().Versions(), "every older version retired once unreferenced")
	})
}

// TestInterruptedPageResumesExactly: a page cut off mid-way (worker killed,
// activity failed) and retried from its start moves every row exactly
// once: the rows moved before the failure are not rewritten.
func TestInterruptedPageResumesExactly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, db, 25)
		gen, err := f.rot.GenerateVaultKey(ctx, 0, "test")
		require.NoError(t, err)
		require.Equal(t, 2, gen.Target)
		again, err := f.rot.GenerateVaultKey(ctx, 1, "test")
		require.NoError(t, err)
		require.Equal(t, VaultGeneration{Target: 2, Store: gen.Store, At: again.At}, again, "a retried generation keeps the version")

		writes, killAt := 0, 15
		f.rot.SetFault(func(string, string) error {
			writes++
			if writes == killAt {
				return errors.New("worker killed")
			}
			return nil
		})
		var total PageResult
		req := PageRequest{Table: 0, Limit: 10, Target: 2}
		p, err := f.rot.ReencryptPage(ctx, req, nil)
		require.NoError(t, err)
		total = total.Sum(p)
		req.AfterID = p.LastID
		_, err = f.rot.ReencryptPage(ctx, req, nil)
		require.ErrorContains(t, err, "worker killed")
		before := f.blobs()

		// The activity is retried with the same input.
		var heartbeats []string
		for {
			p, err := f.rot.ReencryptPage(ctx, req, func(p PageResult) { heartbeats = append(heartbeats, p.LastID) })
			require.NoError(t, err)
			total = total.Sum(p)
			if p.Done {
				break
			}
			req.AfterID = p.LastID
		}
		require.Equal(t, 26, writes, "25 rows written once each, plus the write the kill cut off")
		require.Equal(t, 21, total.Reencrypted, "the 4 rows of the failed attempt were not moved again")
		require.Zero(t, total.Conflicts)
		after := f.blobs()
		moved := 0
		for key, row := range before {
			if row.KeyVersion == 2 {
				moved++
				require.Equal(t, row.Blob, after[key].Blob, "%s moved before the failure was rewritten", key)
			}
		}
		require.Equal(t, 14, moved, "the failed attempt moved the rows before the kill")
		require.NotEmpty(t, heartbeats)
		f.rot.SetFault(nil)
		p, err = f.rot.ReencryptPage(ctx, PageRequest{Table: 1, Limit: 10, Target: 2}, nil)
		require.NoError(t, err)
		require.Equal(t, 1, p.Reencrypted)
		f.requireDecryptable(f.fresh(), "after the resumed rotation")
		counts, err := f.rot.Counts(ctx)
		require.NoError(t, err)
		require.Equal(t, map[int]int64{2: 26}, counts)
	})
}

// TestCredentialSavedDuringRotationIsNotOverwritten: a trader saves new
// credentials between the rotation reading the row and writing it; the
// rotation's compare-and-set loses and the trader's value stands. The old
// version stays until a later rotation moves that row.
func TestCredentialSavedDuringRotationIsNotOverwritten(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, db, 4)
		staleReplica := f.live.Keyring() // an API replica still on v1
		gen, err := f.rot.GenerateVaultKey(ctx, 0, "test")
		require.NoError(t, err)
		target := f.ids[1]
		f.rot.SetFault(func(table, id string) error {
			if id != target {
				return nil
			}
			var c schema.BrokerConnection
			require.NoError(t, db.Take(&c, "id = ?", id).Error)
			blob, v, err := staleReplica.EncryptJSON(c.UserID, c.ID, broker.Credentials{"api_key": "AK-NEW"})
			require.NoError(t, err)
			require.NoError(t, db.Model(&c).Updates(map[string]any{"credentials": blob, "key_version": v}).Error)
			f.want["broker_connections/"+id] = "AK-NEW"
			return nil
		})
		p, err := f.rot.ReencryptPage(ctx, PageRequest{Table: 0, Limit: 100, Target: gen.Target}, nil)
		require.NoError(t, err)
		require.Equal(t, PageResult{Rows: 4, Reencrypted: 3, Conflicts: 1, LastID: f.sortedLast(), Done: true, Tables: 2}, p)
		f.requireDecryptable(f.fresh(), "after the concurrent save")

		// v1 is still named by the trader's row: not retired.
		ret, err := f.rot.RetireVaultKeys(ctx, gen.Target, "test")
		require.NoError(t, err)
		require.Empty(t, ret.Retired)
		require.Equal(t, map[int]int64{1: 2}, ret.Kept, "the trader's row and the OAuth state")
		require.Contains(t, f.fresh().Versions(), 1)
		require.Equal(t, 1, auditCount(t, db, audit.ActionVaultKeyRetireSkipped))

		// The next pass moves it; then v1 retires.
		f.rot.SetFault(nil)
		rep, err := f.rot.RunInProcess(ctx, 100, 0, "test")
		require.NoError(t, err)
		require.Equal(t, []int{1, 2}, rep.Retired.Retired)
		f.requireDecryptable(f.fresh(), "after the next rotation")
	})
}

func (f *fixture) sortedLast() string {
	last := ""
	for _, id := range f.ids {
		if id > last {
			last = id
		}
	}
	return last
}

// TestOldestVersionRetiredOnlyWhenUnreferenced counts by version before
// removing a key from the keyring file.
func TestOldestVersionRetiredOnlyWhenUnreferenced(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, db, 3)
		gen, err := f.rot.GenerateVaultKey(ctx, 0, "test")
		require.NoError(t, err)
		// Nothing re-encrypted yet: v1 names 4 rows.
		ret, err := f.rot.RetireVaultKeys(ctx, gen.Target, "test")
		require.NoError(t, err)
		require.Empty(t, ret.Retired)
		require.Equal(t, map[int]int64{1: 4}, ret.Kept)
		f.requireDecryptable(f.fresh(), "v1 kept")

		for ti := range Tables {
			_, err := f.rot.ReencryptPage(ctx, PageRequest{Table: ti, Limit: 100, Target: gen.Target}, nil)
			require.NoError(t, err)
		}
		// A replica that has not reloaded writes one more row under v1.
		staleKR := f.fresh()
		staleKR.Current = 1
		f.addConnection(f.blobs()["broker_connections/"+f.ids[0]].UserID, "AK-LATE", staleKR)
		ret, err = f.rot.RetireVaultKeys(ctx, gen.Target, "test")
		require.NoError(t, err)
		require.Equal(t, map[int]int64{1: 1}, ret.Kept)
		f.requireDecryptable(f.fresh(), "late v1 row kept")

		_, err = f.rot.ReencryptPage(ctx, PageRequest{Table: 0, Limit: 100, Target: gen.Target}, nil)
		require.NoError(t, err)
		ret, err = f.rot.RetireVaultKeys(ctx, gen.Target, "test")
		require.NoError(t, err)
		require.Equal(t, []int{1}, ret.Retired)
		require.Equal(t, []int{2}, f.fresh().Versions())
		require.Equal(t, 1, auditCount(t, db, audit.ActionVaultKeyRetired))
		f.requireDecryptable(f.fresh(), "after retirement")

		// The current version is never retired.
		require.ErrorIs(t, f.store.Retire(ctx, 2), vault.ErrRetireCurrent)

		st, err := f.rot.Status(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, st.Current)
		require.Equal(t, []VersionStatus{{Version: 2, Rows: 5, Current: true}}, st.Versions)
	})
}

// TestTablesCoverEveryVaultColumn: every model column documented as vault
// ciphertext (a key_version column beside it) is in Tables.
func TestTablesCoverEveryVaultColumn(t *testing.T) {
	db := storetest.OpenSQLite(t)
	tables, err := db.Migrator().GetTables()
	require.NoError(t, err)
	var withVersion []string
	for _, name := range tables {
		if db.Migrator().HasColumn(name, "key_version") {
			withVersion = append(withVersion, name)
		}
	}
	var listed []string
	for _, tb := range Tables {
		listed = append(listed, tb.Name)
	}
	require.ElementsMatch(t, withVersion, listed)
}

func TestKeyringFileRefusesOpenPermissions(t *testing.T) {
	ctx := context.Background()
	fs := &vault.FileStore{Path: filepath.Join(t.TempDir(), "k")}
	_, err := fs.Generate(ctx, 1)
	require.NoError(t, err)
	require.NoError(t, os.Chmod(fs.Path, 0o644))
	_, err = fs.Load(ctx)
	require.ErrorIs(t, err, vault.ErrInvalidKeyring)
	require.ErrorContains(t, err, "chmod 600")
	_, err = fs.Generate(ctx, 3)
	require.Error(t, err)
}
