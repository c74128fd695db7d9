package audit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/objstore"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/vault"
	"github.com/tradeexec/tradeexec/schema"
)

func testKeys(t *testing.T) *audit.SigningKeys {
	t.Helper()
	k1, _ := vault.NewMasterKey()
	k2, _ := vault.NewMasterKey()
	keys, err := audit.ParseSigningKeys("1:" + k1 + ",2:" + k2)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func testStore(t *testing.T) objstore.Store {
	t.Helper()
	s, err := objstore.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func checkpoint(t *testing.T, db *gorm.DB, s objstore.Store, keys *audit.SigningKeys, prev *audit.Checkpoint, hold ...string) *audit.Checkpoint {
	t.Helper()
	ctx := context.Background()
	// Checkpoint keys sort newest first by nanosecond: keep them apart.
	time.Sleep(2 * time.Millisecond)
	key, _, err := audit.WriteCheckpoint(ctx, db, s, keys, audit.CheckpointOptions{Previous: prev, Hold: hold, Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := audit.LatestCheckpoint(ctx, s, keys)
	if err != nil || cp == nil || cp.Key != key {
		t.Fatalf("latest checkpoint: %v %v", cp, err)
	}
	return cp
}

func verifyChain(t *testing.T, db *gorm.DB, s objstore.Store, keys *audit.SigningKeys, cp *audit.Checkpoint, chain string) audit.ChainReport {
	t.Helper()
	r, err := audit.VerifyChain(context.Background(), db, s, keys, cp, chain)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rechain rewrites entry from of user's chain and re-chains every later
// entry, the way an attacker with the formula but no checkpoint key would,
// and moves the head to the new tip (or to upTo when upTo > 0, after
// deleting the entries past it).
func rechain(t *testing.T, db *gorm.DB, user string, from int64, upTo int64) {
	t.Helper()
	var rows []schema.AuditLog
	if err := db.Where("user_id = ?", user).Order("seq").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if upTo > 0 {
		if err := db.Exec("DELETE FROM audit_logs WHERE user_id = ? AND seq > ?", user, upTo).Error; err != nil {
			t.Fatal(err)
		}
		rows = rows[:upTo]
	}
	prev := audit.GenesisHash
	for i := range rows {
		e := &rows[i]
		if e.Seq == from {
			e.Details = `{"forged":true}`
		}
		if e.Seq >= from {
			e.PreviousHash = prev
			e.CurrentHash = audit.ComputeHash(*e)
			if err := db.Exec("UPDATE audit_logs SET details = ?, previous_hash = ?, current_hash = ? WHERE id = ?",
				e.Details, e.PreviousHash, e.CurrentHash, e.ID).Error; err != nil {
				t.Fatal(err)
			}
		}
		prev = e.CurrentHash
	}
	last := rows[len(rows)-1]
	if err := db.Exec("UPDATE audit_heads SET last_seq = ?, last_hash = ? WHERE user_id = ?", last.Seq, last.CurrentHash, user).Error; err != nil {
		t.Fatal(err)
	}
}

func moveHead(t *testing.T, db *gorm.DB, user string, seq int64) {
	t.Helper()
	var e schema.AuditLog
	if err := db.Where("user_id = ? AND seq = ?", user, seq).Take(&e).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("UPDATE audit_heads SET last_seq = ?, last_hash = ? WHERE user_id = ?", seq, e.CurrentHash, user).Error; err != nil {
		t.Fatal(err)
	}
}

// The attack of issue 15 — rewrite entry 3, re-chain every later hash,
// delete the last two entries, move audit_heads back — and each of its
// parts alone: the database alone cannot tell (Verify answers Valid for
// most), the checkpoint can.
func TestCheckpointDetectsRewriteTruncationAndHeadRollback(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		cases := []struct {
			name        string
			edit        func(user string)
			dbOnlyValid bool // Verify without the checkpoint is fooled
			reason      audit.Reason
			seq         int64
		}{
			{"full attack", func(u string) { rechain(t, db, u, 3, 8) }, true, audit.ReasonTruncated, 9},
			{"rewrite and re-chain", func(u string) { rechain(t, db, u, 3, 0) }, true, audit.ReasonCheckpointMismatch, 10},
			{"truncation with head rollback", func(u string) {
				if err := db.Exec("DELETE FROM audit_logs WHERE user_id = ? AND seq > 8", u).Error; err != nil {
					t.Fatal(err)
				}
				moveHead(t, db, u, 8)
			}, true, audit.ReasonTruncated, 9},
			{"head rollback", func(u string) { moveHead(t, db, u, 8) }, true, audit.ReasonTruncated, 9},
			{"truncation", func(u string) {
				if err := db.Exec("DELETE FROM audit_logs WHERE user_id = ? AND seq > 8", u).Error; err != nil {
					t.Fatal(err)
				}
			}, false, audit.ReasonHeadMismatch, 9},
		}
		keys, s := testKeys(t), testStore(t)
		appendN(t, db, "intact", 10)
		for i := range cases {
			appendN(t, db, fmt.Sprintf("victim-%d", i), 10)
		}
		cp := checkpoint(t, db, s, keys, nil)
		for i, tc := range cases {
			user := fmt.Sprintf("victim-%d", i)
			tamper(t, db, d, func() { tc.edit(user) })
			if got := mustVerify(t, db, user).Valid; got != tc.dbOnlyValid {
				t.Errorf("%s: database-only Verify valid=%v, want %v", tc.name, got, tc.dbOnlyValid)
			}
			r := verifyChain(t, db, s, keys, cp, user)
			if r.Status != audit.ChainTampered || r.Valid || r.Reason != tc.reason || r.BrokenSeq != tc.seq || r.Detail == "" {
				t.Errorf("%s: status=%s valid=%v reason=%q seq=%d (%s), want tampered %q at %d",
					tc.name, r.Status, r.Valid, r.Reason, r.BrokenSeq, r.Detail, tc.reason, tc.seq)
			}
		}
		if r := verifyChain(t, db, s, keys, cp, "intact"); r.Status != audit.ChainValid || !r.Valid || r.CheckpointSeq != 10 {
			t.Fatalf("intact chain: %+v", r)
		}
		// Appending after the checkpoint keeps a chain valid.
		appendN(t, db, "intact", 2)
		if r := verifyChain(t, db, s, keys, cp, "intact"); r.Status != audit.ChainValid {
			t.Fatalf("intact chain after appends: %+v", r)
		}

		// A new checkpoint holds the tampered chains at their old heads:
		// re-anchoring does not launder them.
		var held []string
		for i := range cases {
			held = append(held, fmt.Sprintf("victim-%d", i))
		}
		cp2 := checkpoint(t, db, s, keys, cp, held...)
		for _, u := range held {
			if r := verifyChain(t, db, s, keys, cp2, u); r.Status != audit.ChainTampered {
				t.Errorf("%s after re-checkpoint: %+v", u, r)
			}
		}
		if cp2.Heads["intact"].Seq != 12 {
			t.Fatalf("intact not advanced: %+v", cp2.Heads["intact"])
		}
		// Even unheld, a head behind the checkpoint is not anchored.
		cp3 := checkpoint(t, db, s, keys, cp2)
		if r := verifyChain(t, db, s, keys, cp3, "victim-3"); r.Status != audit.ChainTampered || cp3.Heads["victim-3"].Seq != 10 {
			t.Fatalf("rolled-back head re-anchored: %+v %+v", r, cp3.Heads["victim-3"])
		}
	})
}

func TestMissingCheckpointIsNeverValid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		keys, s := testKeys(t), testStore(t)
		appendN(t, db, "u1", 3)
		cp, err := audit.LatestCheckpoint(ctx, s, keys)
		if err != nil || cp != nil {
			t.Fatalf("empty store: %v %v", cp, err)
		}
		if r := verifyChain(t, db, s, keys, nil, "u1"); r.Valid || r.Status != audit.ChainNoCheckpoint || r.Detail == "" {
			t.Fatalf("no checkpoint: %+v", r)
		}
		cp = checkpoint(t, db, s, keys, nil)

		// A chain that began after the checkpoint is unanchored, not valid.
		appendN(t, db, "new", 2)
		if r := verifyChain(t, db, s, keys, cp, "new"); r.Valid || r.Status != audit.ChainUnanchored {
			t.Fatalf("new chain: %+v", r)
		}
		// A chain with entries older than the checkpoint that it does not
		// name was slipped in behind it.
		appendOne(t, db, audit.Entry{UserID: "backdated", Action: audit.ActionLogout, At: cp.CreatedAt.Add(-time.Hour)})
		if r := verifyChain(t, db, s, keys, cp, "backdated"); r.Status != audit.ChainTampered || r.Reason != audit.ReasonCheckpointMissing {
			t.Fatalf("backdated chain: %+v", r)
		}
		// A chain the checkpoint names but the database lost entirely.
		tamper(t, db, d, func() {
			if err := db.Exec("DELETE FROM audit_logs WHERE user_id = 'u1'").Error; err != nil {
				t.Fatal(err)
			}
			if err := db.Exec("DELETE FROM audit_heads WHERE user_id = 'u1'").Error; err != nil {
				t.Fatal(err)
			}
		})
		p, err := audit.VerifyPage(ctx, db, s, keys, cp, "", 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		var reasons []string
		for _, r := range p.Problems {
			reasons = append(reasons, fmt.Sprintf("%s:%s:%s", r.UserID, r.Status, r.Reason))
		}
		want := "[backdated:tampered:missing from checkpoint new:unanchored: u1:tampered:chain missing]"
		if fmt.Sprint(reasons) != want || p.Failed != 2 || p.Unanchored != 1 || p.Valid != 0 || !p.Done {
			t.Fatalf("page: %+v\n%v", p, reasons)
		}
		// The chain missing is found on whichever page covers its id.
		p1, err := audit.VerifyPage(ctx, db, s, keys, cp, "", 1, nil)
		if err != nil || p1.Last != "backdated" || p1.Done || p1.Checked != 1 {
			t.Fatalf("page 1: %+v %v", p1, err)
		}
		p2, err := audit.VerifyPage(ctx, db, s, keys, cp, p1.Last, 1, nil)
		if err != nil || p2.Last != "new" || p2.Done || p2.Checked != 1 {
			t.Fatalf("page 2: %+v %v", p2, err)
		}
		p3, err := audit.VerifyPage(ctx, db, s, keys, cp, p2.Last, 1, nil)
		if err != nil || !p3.Done || p3.Failed != 1 || p3.Problems[0].UserID != "u1" {
			t.Fatalf("page 3: %+v %v", p3, err)
		}
	})
}

func TestForgedOrMovedCheckpointIsRefused(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	keys, s := testKeys(t), testStore(t)
	appendN(t, db, "u1", 2)
	cp := checkpoint(t, db, s, keys, nil)

	// Signed with a key the verifier does not have.
	other := testKeys(t)
	time.Sleep(2 * time.Millisecond)
	if _, _, err := audit.WriteCheckpoint(ctx, db, s, other, audit.CheckpointOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.LatestCheckpoint(ctx, s, keys); !errors.Is(err, audit.ErrBadSignature) {
		t.Fatalf("forged checkpoint: %v", err)
	}
	// A genuine checkpoint copied under a newer name.
	s2 := testStore(t)
	obj, err := s.Get(ctx, cp.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Put(ctx, "checkpoints/0000000000000000001-copy.jsonl.gz", obj, objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.LatestCheckpoint(ctx, s2, keys); !errors.Is(err, audit.ErrMalformed) {
		t.Fatalf("moved checkpoint: %v", err)
	}
	// Rotation: a checkpoint signed by version 1 still verifies once
	// version 2 signs, and only while version 1 stays listed.
	k1, _ := vault.NewMasterKey()
	k2, _ := vault.NewMasterKey()
	v1, _ := audit.ParseSigningKeys("1:" + k1)
	v12, _ := audit.ParseSigningKeys("1:" + k1 + ",2:" + k2)
	v2, _ := audit.ParseSigningKeys("2:" + k2)
	s3 := testStore(t)
	if _, _, err := audit.WriteCheckpoint(ctx, db, s3, v1, audit.CheckpointOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := audit.LatestCheckpoint(ctx, s3, v12); err != nil || got.KeyID != 1 || v12.Current() != 2 {
		t.Fatalf("old version after rotation: %+v %v", got, err)
	}
	if _, err := audit.LatestCheckpoint(ctx, s3, v2); !errors.Is(err, audit.ErrBadSignature) {
		t.Fatalf("retired version: %v", err)
	}
	if _, err := audit.ParseSigningKeys("1:short"); err == nil || strings.Contains(err.Error(), "short") {
		t.Fatalf("bad key accepted or echoed: %v", err)
	}
}
