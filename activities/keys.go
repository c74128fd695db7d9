package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/keys"
	"github.com/tradeexec/tradeexec/workflows"
)

// Keys are the key-rotation workflow's activities. The rules live in
// internal/keys (keys.Rotator); these methods translate types and
// heartbeat. Key material never crosses this boundary.
type Keys struct {
	Rotator *keys.Rotator
}

// RotateSigningKey starts the JWT signing key rotation (idempotent for
// in.Since). Without JWT_SECRET in this worker it fails with the
// non-retryable NoSigningKeys error: the workflow rotates the vault only.
func (a *Keys) RotateSigningKey(ctx context.Context, in workflows.RotateSigningInput) (auth.SigningRotation, error) {
	r, err := a.Rotator.RotateSigningKey(ctx, in.Since, in.By)
	if errors.Is(err, keys.ErrNoSigningKeys) {
		return r, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeNoSigningKeys, nil)
	}
	return r, err
}

// CurrentVaultVersion returns the key store's current version.
func (a *Keys) CurrentVaultVersion(ctx context.Context) (int, error) {
	kr, err := a.Rotator.Vault.Store().Load(ctx)
	if err != nil {
		return 0, err
	}
	return kr.Current, nil
}

// GenerateVaultKey makes version in.Base+1 (idempotent).
func (a *Keys) GenerateVaultKey(ctx context.Context, in workflows.GenerateVaultKeyInput) (keys.VaultGeneration, error) {
	return a.Rotator.GenerateVaultKey(ctx, in.Base, in.By)
}

// ReencryptCredentialsPage moves one page to the target version. It
// heartbeats its counts after each row; a retry resumes after the last row
// the failed attempt heartbeated, with its counts.
func (a *Keys) ReencryptCredentialsPage(ctx context.Context, in keys.PageRequest) (keys.PageResult, error) {
	var done keys.PageResult
	if activity.HasHeartbeatDetails(ctx) && activity.GetHeartbeatDetails(ctx, &done) == nil && done.LastID != "" {
		in.AfterID = done.LastID
		in.Limit -= done.Rows
		if in.Limit <= 0 {
			return done, nil
		}
	} else {
		done = keys.PageResult{}
	}
	r, err := a.Rotator.ReencryptPage(ctx, in, func(p keys.PageResult) {
		activity.RecordHeartbeat(ctx, done.Sum(p).WithLast(p))
	})
	if err != nil {
		return keys.PageResult{}, err
	}
	return done.Sum(r).WithLast(r), nil
}

// RecordReencryption audits the re-encryption's totals.
func (a *Keys) RecordReencryption(ctx context.Context, in workflows.RecordReencryptionInput) error {
	return a.Rotator.RecordReencryption(ctx, in.Target, in.Total, in.By)
}

// RetireVaultKeys retires the unreferenced older versions.
func (a *Keys) RetireVaultKeys(ctx context.Context, in workflows.RetireVaultKeysInput) (keys.VaultRetirement, error) {
	return a.Rotator.RetireVaultKeys(ctx, in.Target, in.By)
}

// RetireSigningKeys retires the signing keys whose tokens have expired.
func (a *Keys) RetireSigningKeys(ctx context.Context, in workflows.RetireSigningInput) ([]string, error) {
	kids, err := a.Rotator.RetireSigningKeys(ctx, in.By)
	if errors.Is(err, keys.ErrNoSigningKeys) {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeNoSigningKeys, nil)
	}
	return kids, err
}
