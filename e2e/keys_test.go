package e2e

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/apptest"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/keys"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/worker"
	"github.com/tradeexec/tradeexec/workflows"
)

// TestKeyRotationWorkflow runs the key-rotation workflow for real (Temporal
// dev server, database, keyring file): 25 credentials a page each, so the
// run continues as new; one page's activity fails mid-way (a worker killed)
// and is retried from its heartbeat; every credential ends under the new
// version and decrypts to what was stored, the old version is retired once
// unreferenced, the old JWT signing key is retired after its tokens
// expired. The key-rotation schedule exists once across two worker starts.
func TestKeyRotationWorkflow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		env := apptest.Start(t, db, d, apptest.Options{KeyringFile: true, Keys: apptestKeys()})
		st := env.Stack
		require.NotNil(t, st.Keys)
		require.NotNil(t, st.Keys.Signing)

		// The schedule: created at the first start, kept (not recreated) at the second.
		sc := env.Temporal.ScheduleClient()
		id := worker.KeyRotationScheduleID(env.Queue)
		first, err := sc.GetHandle(ctx, id).Describe(ctx)
		require.NoError(t, err)
		require.Equal(t, 2160*time.Hour, first.Schedule.Spec.Intervals[0].Every)
		require.Equal(t, enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, first.Schedule.Policy.Overlap)
		st.Stop()
		env.StartStack(zap.NewNop())
		st = env.Stack
		second, err := sc.GetHandle(ctx, id).Describe(ctx)
		require.NoError(t, err)
		require.Equal(t, first.Info.CreatedAt, second.Info.CreatedAt, "the second worker start updates, never recreates")
		n := 0
		iter, err := sc.List(ctx, client.ScheduleListOptions{Query: fmt.Sprintf("ScheduleId = '%s'", id)})
		if err == nil { // older dev servers list without a query filter
			for iter.HasNext() {
				if s, err := iter.Next(); err == nil && s.ID == id {
					n++
				}
			}
			require.LessOrEqual(t, n, 1)
		}

		// 24 more credentials (the demo's paper connection is the 25th).
		want := map[string]string{}
		var demo schema.BrokerConnection
		require.NoError(t, db.Take(&demo, "id = ?", env.Demo.ConnectionID).Error)
		var creds broker.Credentials
		require.NoError(t, st.Vault.DecryptJSON(demo.UserID, demo.ID, demo.Credentials, &creds))
		want[demo.ID] = creds["account_id"]
		for i := 0; i < 24; i++ {
			now := time.Now().UTC()
			c := schema.BrokerConnection{ID: uuid.NewString(), UserID: env.Demo.UserID, BrokerType: "alpaca", IsActive: true, CreatedAt: now, UpdatedAt: now}
			c.Credentials, c.KeyVersion, err = st.Vault.EncryptJSON(c.UserID, c.ID, broker.Credentials{"account_id": fmt.Sprint("ACCT-", i)})
			require.NoError(t, err)
			require.NoError(t, db.Create(&c).Error)
			want[c.ID] = fmt.Sprint("ACCT-", i)
		}

		// The old signing key retires soon after the rotation in this test.
		st.Keys.Signing.VerifyAfter = 3 * time.Second
		var writes atomic.Int32
		st.Keys.SetFault(func(string, string) error {
			if writes.Add(1) == 7 {
				return errors.New("worker killed")
			}
			return nil
		})
		run, err := env.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: env.Queue}, workflows.KeyRotationWorkflowName,
			workflows.KeyRotationInput{PageSize: 1, By: "test", Settle: 15 * time.Second})
		require.NoError(t, err)
		firstRun := run.GetRunID() // Get follows the continue-as-new chain
		var rep keys.Report
		require.NoError(t, run.Get(ctx, &rep))
		require.Equal(t, 2, rep.Vault.Target)
		require.True(t, rep.Vault.Created)
		require.Equal(t, []int{1}, rep.Retired.Retired)
		require.NotEmpty(t, rep.SigningKID)
		require.Len(t, rep.SigningRetired, 1)
		require.EqualValues(t, 26, writes.Load(), "25 rows written once each, plus the write the kill cut off")

		// Every credential: under v2, decrypting with a process started now.
		fresh, err := env.Opts.Keys.Store.Load(ctx)
		require.NoError(t, err)
		require.Equal(t, []int{2}, fresh.Versions())
		var rows []schema.BrokerConnection
		require.NoError(t, db.Where("credentials IS NOT NULL").Find(&rows).Error)
		require.Len(t, rows, 25)
		for _, r := range rows {
			require.Equal(t, 2, r.KeyVersion)
			var got broker.Credentials
			require.NoError(t, fresh.DecryptJSON(r.UserID, r.ID, r.Credentials, &got))
			require.Equal(t, want[r.ID], got["account_id"])
		}
		for _, action := range []string{audit.ActionVaultKeyCreated, audit.ActionVaultKeyReencrypted, audit.ActionVaultKeyRetired,
			audit.ActionSigningKeyRotated, audit.ActionSigningKeyRetired} {
			entries, err := audit.List(ctx, db, audit.Filter{UserID: audit.SystemUserID, Action: action})
			require.NoError(t, err)
			require.Len(t, entries, 1, action)
		}
		status, err := st.Keys.Status(ctx)
		require.NoError(t, err)
		require.Equal(t, []keys.VersionStatus{{Version: 2, Rows: 25, Current: true}}, status.Versions)

		if d == store.SQLite {
			h := &harness{t: t, temporal: env.Temporal}
			h.recordChain(run.GetID(), firstRun, "key_rotation")
		}
	})
}

func apptestKeys() app.KeysOptions { return app.KeysOptions{RotationEvery: 2160 * time.Hour} }
