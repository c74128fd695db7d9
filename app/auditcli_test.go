package app_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/config"
	"github.com/tradeexec/tradeexec/internal/objstore"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

func devConfig(t *testing.T) config.Config {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Load(func(k string) string {
		if k == "DATA_DIR" {
			return dir
		}
		return ""
	}, config.ModeDev)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func runCLI(t *testing.T, cfg config.Config, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := app.RunAuditCLI(context.Background(), cfg, zap.NewNop(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// tradeexec audit verify|export|archive on the embedded default.
func TestAuditCLI(t *testing.T) {
	cfg := devConfig(t)
	ctx := context.Background()
	if code, out, _ := runCLI(t, cfg, "verify"); code != app.AuditExitUnanchored || !strings.Contains(out, "NO CHECKPOINT") {
		t.Fatalf("empty verify: %d %s", code, out)
	}
	db, err := app.OpenDB(ctx, cfg, zap.NewNop(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(db)
	old := time.Now().UTC().Add(-200 * 24 * time.Hour)
	for i := 0; i < 4; i++ {
		for _, u := range []string{"u1", "u2"} {
			if err := store.InTx(ctx, db, func(tx *gorm.DB) error {
				_, err := audit.Append(tx, audit.Entry{UserID: u, Action: audit.ActionLoginSuccess, ResourceID: "=HYPERLINK()", At: old.Add(time.Duration(i) * time.Hour)})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ao, err := app.AuditOptionsFrom(cfg.Audit)
	if err != nil || ao == nil {
		t.Fatalf("audit options: %v %v", ao, err)
	}
	if _, ok := ao.Store.(*objstore.Dir); !ok {
		t.Fatalf("dev store is %T", ao.Store)
	}
	if _, _, err := audit.WriteCheckpoint(ctx, db, ao.Store, ao.Keys, audit.CheckpointOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, cfg, "verify", "--dev")
	if code != app.AuditExitOK || !strings.Contains(out, "VALID       u1") || !strings.Contains(out, "2 chains: 2 valid, 0 tampered") {
		t.Fatalf("verify: %d\n%s", code, out)
	}

	code, out, errOut := runCLI(t, cfg, "export", "--from", "2000-01-01", "--to", time.Now().UTC().Add(time.Hour).Format(time.RFC3339), "--user", "u2")
	records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(records) != 5 || records[1][1] != "u2" || records[1][4] != "'=HYPERLINK()" ||
		!strings.Contains(errOut, "4 entries exported") {
		t.Fatalf("export: %d %v %q %s", code, err, out, errOut)
	}
	for _, bad := range [][]string{{"export"}, {"export", "--from", "2024-02-01", "--to", "2024-01-01"},
		{"export", "--from", "yesterday", "--to", "2024-01-01"}, {"export", "--from", "2024-01-01", "--to", "2024-02-01", "--format", "xml"},
		{"frobnicate"}, {}} {
		if code, _, errOut := runCLI(t, cfg, bad...); code != app.AuditExitUsage || errOut == "" {
			t.Errorf("%v: %d %q", bad, code, errOut)
		}
	}

	code, out, _ = runCLI(t, cfg, "archive")
	if code != 0 || !strings.Contains(out, "archived 6 entries in 2 segments") {
		t.Fatalf("archive: %d %s", code, out)
	}
	if code, out, _ := runCLI(t, cfg, "verify", "--quiet"); code != 0 || strings.Contains(out, "VALID ") {
		t.Fatalf("verify after archive: %d %s", code, out)
	}

	// Head rollback on u1: the CLI says TAMPERED and exits 1.
	var hot int64
	if err := db.Model(&schema.AuditLog{}).Where("user_id = 'u1'").Count(&hot).Error; err != nil || hot != 1 {
		t.Fatalf("u1 keeps %d hot entries, want its newest only (%v)", hot, err)
	}
	if err := db.Exec("UPDATE audit_heads SET last_seq = 3 WHERE user_id = 'u1'").Error; err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, cfg, "verify")
	if code != app.AuditExitFailed || !strings.Contains(out, "TAMPERED    u1") {
		t.Fatalf("tampered verify: %d %s", code, out)
	}
	if code, out, _ := runCLI(t, cfg, "verify", "--user", "u2"); code != 0 || !strings.Contains(out, "VALID") {
		t.Fatalf("verify --user: %d %s", code, out)
	}
}
