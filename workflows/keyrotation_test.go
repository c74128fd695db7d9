package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/keys"
)

func newKeyRotationEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(KeyRotationWorkflow, KeyRotationWorkflowOptions())
	reg := func(name string, fn any) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(ActRotateSigningKey, func(context.Context, RotateSigningInput) (auth.SigningRotation, error) {
		return auth.SigningRotation{}, nil
	})
	reg(ActCurrentVaultVersion, func(context.Context) (int, error) { return 0, nil })
	reg(ActGenerateVaultKey, func(context.Context, GenerateVaultKeyInput) (keys.VaultGeneration, error) {
		return keys.VaultGeneration{}, nil
	})
	reg(ActReencryptPage, func(context.Context, keys.PageRequest) (keys.PageResult, error) { return keys.PageResult{}, nil })
	reg(ActRecordReencryption, func(context.Context, RecordReencryptionInput) error { return nil })
	reg(ActRetireVaultKeys, func(context.Context, RetireVaultKeysInput) (keys.VaultRetirement, error) {
		return keys.VaultRetirement{}, nil
	})
	reg(ActRetireSigningKeys, func(context.Context, RetireSigningInput) ([]string, error) { return nil, nil })
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

// Without JWT_SECRET in the worker the vault still rotates; the result says
// the signing keys were not, and nothing waits for them.
func TestKeyRotationWorkflowWithoutJWTSecret(t *testing.T) {
	env := newKeyRotationEnv(t)
	env.OnActivity(ActRotateSigningKey, mock.Anything, mock.Anything).
		Return(auth.SigningRotation{}, temporal.NewNonRetryableApplicationError("no JWT_SECRET", ErrTypeNoSigningKeys, nil)).Once()
	env.OnActivity(ActCurrentVaultVersion, mock.Anything).Return(3, nil).Once()
	env.OnActivity(ActGenerateVaultKey, mock.Anything, GenerateVaultKeyInput{Base: 3, By: "schedule"}).Return(keys.VaultGeneration{Target: 4, Created: true}, nil).Once()
	env.OnActivity(ActReencryptPage, mock.Anything, keys.PageRequest{Table: 0, Limit: 2, Target: 4}).Return(keys.PageResult{Rows: 2, Reencrypted: 2, LastID: "b", Tables: 2}, nil).Once()
	env.OnActivity(ActReencryptPage, mock.Anything, keys.PageRequest{Table: 0, AfterID: "b", Limit: 2, Target: 4}).Return(keys.PageResult{Rows: 1, Reencrypted: 1, LastID: "c", Done: true, Tables: 2}, nil).Once()
	env.OnActivity(ActReencryptPage, mock.Anything, keys.PageRequest{Table: 1, Limit: 2, Target: 4}).Return(keys.PageResult{Done: true, Tables: 2}, nil).Once()
	env.OnActivity(ActRecordReencryption, mock.Anything, mock.Anything).Return(nil).Once()
	env.OnActivity(ActRetireVaultKeys, mock.Anything, RetireVaultKeysInput{Target: 4, By: "schedule"}).Return(keys.VaultRetirement{Retired: []int{3}}, nil).Once()
	env.ExecuteWorkflow(KeyRotationWorkflowName, KeyRotationInput{PageSize: 2})
	require.NoError(t, env.GetWorkflowError())
	var rep keys.Report
	require.NoError(t, env.GetWorkflowResult(&rep))
	require.Equal(t, 3, rep.Reencrypted.Reencrypted)
	require.Equal(t, []int{3}, rep.Retired.Retired)
	require.Equal(t, "no JWT_SECRET", rep.SigningSkipped)
}

// A continued run resumes where the progress says, generates nothing again,
// counts the old vault versions only once every process reloaded, and
// retires the old signing keys only after their retirement time.
func TestKeyRotationWorkflowResumesAndWaitsForSigningKeys(t *testing.T) {
	env := newKeyRotationEnv(t)
	start := env.Now().UTC()
	p := &KeyRotationProgress{Since: start, Signing: auth.SigningRotation{KID: "k2", RetireAt: start.Add(time.Hour)},
		Vault: keys.VaultGeneration{Target: 2, At: start}, Table: 1, AfterID: "x", Total: keys.PageResult{Reencrypted: 40}}
	env.OnActivity(ActReencryptPage, mock.Anything, keys.PageRequest{Table: 1, AfterID: "x", Limit: 5, Target: 2}).Return(keys.PageResult{Rows: 1, Reencrypted: 1, LastID: "y", Done: true, Tables: 2}, nil).Once()
	env.OnActivity(ActRecordReencryption, mock.Anything, mock.Anything).Return(nil).Once()
	var vaultRetiredAt time.Time
	env.OnActivity(ActRetireVaultKeys, mock.Anything, mock.Anything).Return(func(context.Context, RetireVaultKeysInput) (keys.VaultRetirement, error) {
		vaultRetiredAt = env.Now()
		return keys.VaultRetirement{Retired: []int{1}}, nil
	}).Once()
	var retiredAt time.Time
	env.OnActivity(ActRetireSigningKeys, mock.Anything, mock.Anything).Return(func(context.Context, RetireSigningInput) ([]string, error) {
		retiredAt = env.Now()
		return []string{"k1"}, nil
	}).Once()
	env.ExecuteWorkflow(KeyRotationWorkflowName, KeyRotationInput{PageSize: 5, By: "cli", Progress: p})
	require.NoError(t, env.GetWorkflowError())
	var rep keys.Report
	require.NoError(t, env.GetWorkflowResult(&rep))
	require.Equal(t, 41, rep.Reencrypted.Reencrypted)
	require.Equal(t, []string{"k1"}, rep.SigningRetired)
	require.False(t, retiredAt.Before(start.Add(time.Hour)), "retired at %s, before the last token expired", retiredAt)
	require.False(t, vaultRetiredAt.Before(start.Add(keys.SettleTime)), "vault versions counted before every process reloaded")
}

// Every keyPagesPerRun pages the run continues as new with its progress.
func TestKeyRotationWorkflowContinuesAsNew(t *testing.T) {
	env := newKeyRotationEnv(t)
	p := &KeyRotationProgress{Vault: keys.VaultGeneration{Target: 2}, SigningSkipped: "no"}
	env.OnActivity(ActReencryptPage, mock.Anything, mock.Anything).Return(keys.PageResult{Rows: 1, Reencrypted: 1, LastID: "z", Tables: 2}, nil).Times(keyPagesPerRun)
	env.ExecuteWorkflow(KeyRotationWorkflowName, KeyRotationInput{PageSize: 1, Progress: p})
	err := env.GetWorkflowError()
	require.Error(t, err)
	require.Contains(t, err.Error(), "continue as new")
}
