package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tradeexec/tradeexec/internal/vault"
)

// Audit tamper-evidence defaults.
const (
	DefaultAuditHotWindow = 90 * 24 * time.Hour
	DefaultAuditRetention = 7 * 365 * 24 * time.Hour
	// AuditStoreOff is the AUDIT_STORE value that turns checkpoints and
	// the archive off (the worker says so at start).
	AuditStoreOff = "off"
)

// AuditConfig is where the audit log's checkpoints and archive segments
// go and what signs them (DESIGN §8 "Tamper evidence").
type AuditConfig struct {
	// Store is AUDIT_STORE: s3://bucket[/prefix], file:///path, or off.
	// StoreKind is "s3", "file" or "off"; Bucket/Prefix or Dir follow.
	Store     string
	StoreKind string
	Bucket    string
	Prefix    string
	Dir       string

	S3Endpoint  string // AUDIT_S3_ENDPOINT (MinIO, Ceph …; empty: AWS)
	S3Region    string // AUDIT_S3_REGION (default us-east-1)
	S3PathStyle bool   // AUDIT_S3_PATH_STYLE
	S3AccessKey string // AUDIT_S3_ACCESS_KEY_ID
	S3SecretKey Secret // AUDIT_S3_SECRET_ACCESS_KEY
	S3LockMode  string // AUDIT_S3_LOCK_MODE: COMPLIANCE (default), GOVERNANCE, NONE

	// CheckpointKeys is AUDIT_CHECKPOINT_KEYS (VAULT_KEYS' format).
	CheckpointKeys Secret

	HotWindow time.Duration // AUDIT_HOT_WINDOW (default 90d)
	Retention time.Duration // AUDIT_RETENTION (default 7y)

	// AlertDiscordWebhook is AUDIT_ALERT_DISCORD_WEBHOOK_URL (optional).
	AlertDiscordWebhook Secret
}

// Enabled reports whether checkpoints and the archive run.
func (a AuditConfig) Enabled() bool { return a.StoreKind != "" && a.StoreKind != AuditStoreOff }

func (l *loader) audit() {
	a := &l.cfg.Audit
	needed := l.needs(ModeWorker, ModeAudit)
	a.Store = l.env("AUDIT_STORE")
	if a.Store == "" {
		switch {
		case l.dev && l.cfg.DataDir != "":
			a.Store = "file://" + filepath.ToSlash(filepath.Join(l.cfg.DataDir, "audit-store"))
		case needed:
			l.required("AUDIT_STORE")
		}
	}
	l.auditStore(a)
	a.S3Endpoint = strings.TrimRight(l.env("AUDIT_S3_ENDPOINT"), "/")
	a.S3Region = l.env("AUDIT_S3_REGION")
	if a.S3Region == "" {
		a.S3Region = "us-east-1"
	}
	if raw := l.env("AUDIT_S3_PATH_STYLE"); raw != "" {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			l.c.add("AUDIT_S3_PATH_STYLE", fmt.Sprintf("invalid boolean %q", raw))
		}
		a.S3PathStyle = b
	}
	a.S3AccessKey = l.env("AUDIT_S3_ACCESS_KEY_ID")
	a.S3SecretKey = Secret(l.env("AUDIT_S3_SECRET_ACCESS_KEY"))
	a.S3LockMode = strings.ToUpper(l.env("AUDIT_S3_LOCK_MODE"))
	switch a.S3LockMode {
	case "":
		a.S3LockMode = "COMPLIANCE"
	case "COMPLIANCE", "GOVERNANCE", "NONE":
	default:
		l.c.add("AUDIT_S3_LOCK_MODE", fmt.Sprintf("unknown mode %q (COMPLIANCE, GOVERNANCE or NONE)", a.S3LockMode))
	}
	if a.StoreKind == "s3" {
		if a.S3Endpoint != "" {
			u, err := url.Parse(a.S3Endpoint)
			if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && (l.dev || isLoopback(u.Hostname())))) {
				l.c.add("AUDIT_S3_ENDPOINT", fmt.Sprintf("invalid %q: an https URL (http only on localhost)", a.S3Endpoint))
			}
		}
		if a.S3AccessKey == "" || !a.S3SecretKey.IsSet() {
			l.c.add("AUDIT_S3_ACCESS_KEY_ID", "AUDIT_S3_ACCESS_KEY_ID and AUDIT_S3_SECRET_ACCESS_KEY are required with an s3:// AUDIT_STORE")
		}
	}
	l.auditKeys(a, needed)
	a.HotWindow = l.days("AUDIT_HOT_WINDOW", DefaultAuditHotWindow, 24*time.Hour)
	a.Retention = l.days("AUDIT_RETENTION", DefaultAuditRetention, 24*time.Hour)
	a.AlertDiscordWebhook = Secret(l.env("AUDIT_ALERT_DISCORD_WEBHOOK_URL"))
	if raw := a.AlertDiscordWebhook.Reveal(); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
			// The URL holds the webhook's token: not quoted.
			l.c.add("AUDIT_ALERT_DISCORD_WEBHOOK_URL", "not an https URL (https://discord.com/api/webhooks/<id>/<token>)")
		}
	}
}

func (l *loader) auditStore(a *AuditConfig) {
	raw := a.Store
	switch {
	case raw == "":
	case strings.EqualFold(raw, AuditStoreOff):
		a.StoreKind = AuditStoreOff
	case strings.HasPrefix(raw, "s3://"):
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(raw, "s3://"), "/")
		if bucket == "" || strings.ContainsAny(bucket, " ?#") {
			l.c.add("AUDIT_STORE", fmt.Sprintf("no bucket in %q (s3://bucket/prefix)", raw))
		}
		a.StoreKind, a.Bucket, a.Prefix = "s3", bucket, strings.Trim(prefix, "/")
	case strings.HasPrefix(raw, "file://"):
		dir := strings.TrimPrefix(raw, "file://")
		if dir == "" {
			l.c.add("AUDIT_STORE", "no path in the file:// URL")
		}
		a.StoreKind, a.Dir = "file", filepath.FromSlash(dir)
	default:
		l.c.add("AUDIT_STORE", fmt.Sprintf("unsupported %q (s3://bucket/prefix, file:///path or off)", raw))
	}
}

func (l *loader) auditKeys(a *AuditConfig, needed bool) {
	const name = "AUDIT_CHECKPOINT_KEYS"
	raw, source := l.env(name), ""
	if raw == "" {
		switch {
		case l.dev:
			raw, source = l.devSecret(name, "audit-checkpoint.keys", func() (string, error) {
				k, err := vault.NewMasterKey()
				return "1:" + k, err
			})
			if raw == "" {
				return
			}
		case needed && a.StoreKind != AuditStoreOff:
			l.required(name)
			return
		default:
			return
		}
	}
	if _, err := vault.ParseKeyring(raw); err != nil {
		reason := strings.TrimPrefix(err.Error(), vault.ErrInvalidKeyring.Error()+": ")
		if source != "" {
			reason = source + ": " + reason
		}
		l.c.add(name, reason+` (format "2:base64key,1:base64key", 32-byte keys)`)
		return
	}
	a.CheckpointKeys = Secret(raw)
}

// days reads a duration given as Nd (days), Ny (years of 365 days) or a Go
// duration, at least min.
func (l *loader) days(name string, def, min time.Duration) time.Duration {
	raw := l.env(name)
	if raw == "" {
		return def
	}
	var d time.Duration
	var err error
	switch {
	case strings.HasSuffix(raw, "d") || strings.HasSuffix(raw, "y"):
		var n int
		n, err = strconv.Atoi(raw[:len(raw)-1])
		unit := 24 * time.Hour
		if strings.HasSuffix(raw, "y") {
			unit = 365 * 24 * time.Hour
		}
		if err == nil && n > 0 && n < 100*365 {
			d = time.Duration(n) * unit
		}
	default:
		d, err = time.ParseDuration(raw)
	}
	if err != nil || d < min {
		l.c.add(name, fmt.Sprintf("invalid duration %q (e.g. 90d, 7y or 2160h; at least %s)", raw, min))
		return def
	}
	return d
}
