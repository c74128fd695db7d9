package config

import (
	"strings"
	"testing"
	"time"
)

func TestAuditSettings(t *testing.T) {
	cfg, err := Load(envOf(with(productionEnv(), "AUDIT_HOT_WINDOW", "30d", "AUDIT_RETENTION", "10y",
		"AUDIT_S3_ENDPOINT", "https://minio.internal:9000", "AUDIT_S3_PATH_STYLE", "true", "AUDIT_S3_LOCK_MODE", "governance")), ModeWorker)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Audit
	if !a.Enabled() || a.StoreKind != "s3" || a.Bucket != "audit-bucket" || a.Prefix != "tradeexec" || !a.S3PathStyle ||
		a.S3LockMode != "GOVERNANCE" || a.HotWindow != 30*24*time.Hour || a.Retention != 10*365*24*time.Hour {
		t.Fatalf("audit config: %+v", a)
	}
	if s := cfg.String(); strings.Contains(s, "s3-secret-value-xyz") || !strings.Contains(s, "audit_checkpoint_keys=set") {
		t.Fatalf("config string: %s", s)
	}

	dir := t.TempDir()
	dev, err := Load(envOf(map[string]string{"DATA_DIR": dir}), ModeDev)
	if err != nil {
		t.Fatal(err)
	}
	if dev.Audit.StoreKind != "file" || !strings.HasPrefix(dev.Audit.Dir, dir) || !dev.Audit.CheckpointKeys.IsSet() ||
		dev.Audit.HotWindow != DefaultAuditHotWindow || dev.Audit.Retention != DefaultAuditRetention {
		t.Fatalf("dev audit config: %+v", dev.Audit)
	}

	bad := []struct{ name, value, want string }{
		{"AUDIT_STORE", "ftp://x", "unsupported"},
		{"AUDIT_STORE", "s3://", "no bucket"},
		{"AUDIT_HOT_WINDOW", "12h", "at least"},
		{"AUDIT_RETENTION", "seven years", "invalid duration"},
		{"AUDIT_S3_LOCK_MODE", "forever", "unknown mode"},
		{"AUDIT_S3_ENDPOINT", "http://minio.example.com", "https"},
		{"AUDIT_CHECKPOINT_KEYS", "1:c2hvcnQ=", "32"},
		{"AUDIT_ALERT_DISCORD_WEBHOOK_URL", "http://discord.example.com/api/webhooks/1/tok-secret", "https"},
	}
	for _, b := range bad {
		_, err := Load(envOf(with(productionEnv(), b.name, b.value)), ModeWorker)
		if err == nil || !strings.Contains(err.Error(), b.name) || !strings.Contains(err.Error(), b.want) || strings.Contains(err.Error(), "tok-secret") {
			t.Errorf("%s=%q: %v", b.name, b.value, err)
		}
	}
	if _, err := Load(envOf(with(productionEnv(), "AUDIT_S3_SECRET_ACCESS_KEY", "")), ModeWorker); err == nil ||
		!strings.Contains(err.Error(), "AUDIT_S3_ACCESS_KEY_ID") {
		t.Errorf("s3 without credentials: %v", err)
	}
}
