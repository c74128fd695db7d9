package app

import (
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/activities"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/config"
	"github.com/tradeexec/tradeexec/internal/objstore"
)

// AuditOptions configure the audit schedules (audit-verify, audit-archive):
// the append-only object store of checkpoints and archive segments and the
// key that signs them. A nil *AuditOptions in Options leaves them off.
type AuditOptions struct {
	Store     objstore.Store
	Keys      *audit.SigningKeys
	HotWindow time.Duration
	Retention time.Duration
	// DiscordWebhookURL receives every new alert (optional).
	DiscordWebhookURL string
}

// AuditOptionsFrom builds the audit options of cfg; nil when AUDIT_STORE
// is off (or unset outside the modes that need it).
func AuditOptionsFrom(cfg config.AuditConfig) (*AuditOptions, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	if !cfg.CheckpointKeys.IsSet() {
		return nil, errors.New("audit: AUDIT_CHECKPOINT_KEYS is required with AUDIT_STORE")
	}
	keys, err := audit.ParseSigningKeys(cfg.CheckpointKeys.Reveal())
	if err != nil {
		return nil, err
	}
	var s objstore.Store
	switch cfg.StoreKind {
	case "file":
		s, err = objstore.NewDir(cfg.Dir)
	case "s3":
		s, err = objstore.NewS3(objstore.S3Config{Bucket: cfg.Bucket, Prefix: cfg.Prefix, Region: cfg.S3Region, Endpoint: cfg.S3Endpoint,
			PathStyle: cfg.S3PathStyle, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey.Reveal(), LockMode: cfg.S3LockMode,
			HTTPClient: &http.Client{Timeout: 2 * time.Minute}})
	default:
		err = errors.New("audit: unknown store kind " + cfg.StoreKind)
	}
	if err != nil {
		return nil, err
	}
	return &AuditOptions{Store: s, Keys: keys, HotWindow: cfg.HotWindow, Retention: cfg.Retention,
		DiscordWebhookURL: cfg.AlertDiscordWebhook.Reveal()}, nil
}

func (o *AuditOptions) activities(opts Options, log *zap.Logger) *activities.Audit {
	if o == nil {
		return nil
	}
	return &activities.Audit{DB: opts.DB, Store: o.Store, Keys: o.Keys, Log: log.Named("audit"), HotWindow: o.HotWindow,
		Retention: o.Retention, DiscordWebhookURL: o.DiscordWebhookURL, HTTP: &http.Client{Timeout: 15 * time.Second}}
}

// auditFrom builds the audit options of a worker process, logging loudly
// when they are off.
func auditFrom(cfg config.Config, log *zap.Logger, worker bool) (*AuditOptions, error) {
	ao, err := AuditOptionsFrom(cfg.Audit)
	if err != nil {
		return nil, err
	}
	if ao == nil && worker {
		log.Error("audit tamper evidence is OFF (AUDIT_STORE=off): no checkpoints, no verification, no archive; see README: Audit log")
	}
	if ao != nil {
		log.Info("audit checkpoints and archive", zap.String("store", ao.Store.Describe()), zap.Int("key_version", ao.Keys.Current()))
	}
	return ao, nil
}
