package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/keys"
)

// KeyRotationWorkflowName rotates the vault master key and the JWT signing
// keys (issue 15, DESIGN "Key lifecycle"); the key-rotation Temporal
// Schedule starts it (yearly by default, KEY_ROTATION_INTERVAL), and
// `tradeexec keys rotate` and POST /api/v1/admin/keys/rotate start it now.
const (
	KeyRotationWorkflowName = "KeyRotationWorkflow"
	// KeyRotationScheduleID names the schedule (per task queue).
	KeyRotationScheduleID = "key-rotation"
	// KeyRotationManualID is the workflow id of a rotation started by hand:
	// one at a time.
	KeyRotationManualID = "key-rotation-manual"
	// DefaultKeyRotationInterval: yearly.
	DefaultKeyRotationInterval = 365 * 24 * time.Hour

	ActRotateSigningKey    = "RotateSigningKey"
	ActCurrentVaultVersion = "CurrentVaultVersion"
	ActGenerateVaultKey    = "GenerateVaultKey"
	ActReencryptPage       = "ReencryptCredentialsPage"
	ActRecordReencryption  = "RecordReencryption"
	ActRetireVaultKeys     = "RetireVaultKeys"
	ActRetireSigningKeys   = "RetireSigningKeys"

	// ErrTypeNoSigningKeys is the application error type of
	// ActRotateSigningKey in a worker without JWT_SECRET.
	ErrTypeNoSigningKeys = "NoSigningKeys"

	keyPagesPerRun = 20 // then continue-as-new, keeping histories short
)

// KeyRotationInput starts a rotation; Progress carries it across
// continue-as-new (nil on the first run).
type KeyRotationInput struct {
	PageSize int    `json:"pageSize,omitempty"`
	By       string `json:"by,omitempty"` // schedule, cli, admin <user id>
	// Settle overrides keys.SettleTime, the wait between the new vault
	// version becoming current and counting the older ones (tests).
	Settle time.Duration `json:"settle,omitempty"`
	// Progress is the state of a rotation under way.
	Progress *KeyRotationProgress `json:"progress,omitempty"`
}

// KeyRotationProgress is a rotation's state between runs.
type KeyRotationProgress struct {
	Since          time.Time            `json:"since"`
	Signing        auth.SigningRotation `json:"signing"`
	SigningSkipped string               `json:"signingSkipped,omitempty"`
	Vault          keys.VaultGeneration `json:"vault"`
	Table          int                  `json:"table"`
	AfterID        string               `json:"afterId,omitempty"`
	Total          keys.PageResult      `json:"total"`
}

// KeyRotationWorkflow rotates the keys:
//
//  1. a new JWT signing key (the old ones stop signing and verify until
//     their last token expired);
//  2. the next vault key version, generated through the key store;
//  3. every stored credential re-encrypted under it, a page per activity
//     (heartbeating; compare-and-set per row), continuing as new every
//     keyPagesPerRun pages;
//  4. once every process has loaded the new version (keys.SettleTime
//     after it became current), every older vault version that no row
//     names retired;
//  5. after the old signing keys' last token expired, those keys retired.
//
// Each step is idempotent (a retried activity or a replayed run repeats
// nothing) and audited by internal/keys.
func KeyRotationWorkflow(ctx workflow.Context, in KeyRotationInput) (keys.Report, error) {
	size := in.PageSize
	if size <= 0 {
		size = keys.DefaultPageSize
	}
	by := in.By
	if by == "" {
		by = "schedule"
	}
	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			MaximumAttempts: 10, NonRetryableErrorTypes: []string{ErrTypeNoSigningKeys}},
	})
	page := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 20},
	})

	p := in.Progress
	if p == nil {
		p = &KeyRotationProgress{Since: workflow.Now(ctx).UTC()}
		err := workflow.ExecuteActivity(short, ActRotateSigningKey, RotateSigningInput{Since: p.Since, By: by}).Get(ctx, &p.Signing)
		var appErr *temporal.ApplicationError
		switch {
		case errors.As(err, &appErr) && appErr.Type() == ErrTypeNoSigningKeys:
			p.SigningSkipped = appErr.Message()
		case err != nil:
			return keys.Report{}, err
		}
		var base int
		if err := workflow.ExecuteActivity(short, ActCurrentVaultVersion).Get(ctx, &base); err != nil {
			return keys.Report{}, err
		}
		if err := workflow.ExecuteActivity(short, ActGenerateVaultKey, GenerateVaultKeyInput{Base: base, By: by}).Get(ctx, &p.Vault); err != nil {
			return keys.Report{}, err
		}
	}

	for n := 0; ; n++ {
		if n == keyPagesPerRun {
			return keys.Report{}, workflow.NewContinueAsNewError(ctx, KeyRotationWorkflowName, KeyRotationInput{PageSize: size, By: by, Settle: in.Settle, Progress: p})
		}
		var r keys.PageResult
		req := keys.PageRequest{Table: p.Table, AfterID: p.AfterID, Limit: size, Target: p.Vault.Target}
		if err := workflow.ExecuteActivity(page, ActReencryptPage, req).Get(ctx, &r); err != nil {
			return keys.Report{}, err
		}
		p.Total = p.Total.Sum(r)
		p.Total.FailedIDs = nil // named in the worker's log; the history keeps counts only
		p.AfterID = r.LastID
		if r.Done {
			p.Table++
			p.AfterID = ""
			if p.Table >= r.Tables {
				break
			}
		}
	}

	rep := keys.Report{Vault: p.Vault, Reencrypted: p.Total, SigningKID: p.Signing.KID, SigningSkipped: p.SigningSkipped}
	if err := workflow.ExecuteActivity(short, ActRecordReencryption, RecordReencryptionInput{Target: p.Vault.Target, Total: p.Total, By: by}).Get(ctx, nil); err != nil {
		return rep, err
	}
	settle := in.Settle
	if settle <= 0 {
		settle = keys.SettleTime
	}
	if wait := p.Vault.At.Add(settle).Sub(workflow.Now(ctx)); wait > 0 {
		if err := workflow.Sleep(ctx, wait); err != nil {
			return rep, err
		}
	}
	if err := workflow.ExecuteActivity(short, ActRetireVaultKeys, RetireVaultKeysInput{Target: p.Vault.Target, By: by}).Get(ctx, &rep.Retired); err != nil {
		return rep, err
	}
	if p.SigningSkipped != "" {
		return rep, nil
	}
	if wait := p.Signing.RetireAt.Sub(workflow.Now(ctx)); wait > 0 {
		if err := workflow.Sleep(ctx, wait+time.Second); err != nil {
			return rep, err
		}
	}
	err := workflow.ExecuteActivity(short, ActRetireSigningKeys, RetireSigningInput{By: by}).Get(ctx, &rep.SigningRetired)
	return rep, err
}

// RotateSigningInput starts the JWT signing key rotation begun at Since.
type RotateSigningInput struct {
	Since time.Time `json:"since"`
	By    string    `json:"by"`
}

// GenerateVaultKeyInput asks for version Base+1.
type GenerateVaultKeyInput struct {
	Base int    `json:"base"`
	By   string `json:"by"`
}

// RecordReencryptionInput records the re-encryption's totals.
type RecordReencryptionInput struct {
	Target int             `json:"target"`
	Total  keys.PageResult `json:"total"`
	By     string          `json:"by"`
}

// RetireVaultKeysInput retires the versions older than Target no row names.
type RetireVaultKeysInput struct {
	Target int    `json:"target"`
	By     string `json:"by"`
}

// RetireSigningInput retires the signing keys whose tokens have expired.
type RetireSigningInput struct {
	By string `json:"by"`
}

// KeyRotationWorkflowOptions registers KeyRotationWorkflow by its name.
func KeyRotationWorkflowOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: KeyRotationWorkflowName}
}
