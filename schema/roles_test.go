package schema_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// Issue 13 item 9: the app connects as a role that owns nothing. Its
// normal writes work; switching off or dropping the audit log's
// append-only triggers, truncating or rewriting the log fails.
func TestAppRoleCannotDisableAuditTriggers(t *testing.T) {
	if _, ok := storetest.PostgresURL(); !ok {
		t.Skip(storetest.EnvPostgresURL + " is not set: the app role is a PostgreSQL feature (SQLite has no roles)")
	}
	ctx := context.Background()
	owner, app, role := storetest.OpenPostgresAppRole(t) // migrated throwaway schema; app is a role created here
	require.ErrorIs(t, schema.GrantAppRole(ctx, owner, "Robert'); DROP TABLE users;--"), schema.ErrInvalidRoleName)
	require.NoError(t, schema.GrantAppRole(ctx, owner, role), "idempotent")
	owns, err := schema.OwnsAuditLog(ctx, app)
	require.NoError(t, err)
	require.False(t, owns)
	owns, err = schema.OwnsAuditLog(ctx, owner)
	require.NoError(t, err)
	require.True(t, owns, "positive control: the migration role owns the table")

	// The app's normal writes: users, audit entries (hash chain head),
	// outbox events (identity column → sequence), updates and deletes.
	userID, gone := uuid.NewString(), uuid.NewString()
	now := time.Now().UTC()
	require.NoError(t, store.InTx(ctx, app, func(tx *gorm.DB) error {
		for _, id := range []string{userID, gone} {
			if err := tx.Create(&schema.User{ID: id, DisplayName: "app role", CreatedAt: now}).Error; err != nil {
				return err
			}
		}
		for range 2 { // the first creates the chain's head, the second locks and advances it
			if _, err := audit.Append(tx, audit.Entry{UserID: userID, Action: audit.ActionTradeCreated, ResourceType: "Trade",
				ResourceID: uuid.NewString(), Status: audit.StatusSuccess}); err != nil {
				return err
			}
		}
		if _, err := realtime.AppendEvent(tx, userID, realtime.EventTradeUpdated, map[string]any{"x": 1}); err != nil {
			return err
		}
		if err := tx.Model(&schema.User{}).Where("id = ?", userID).Update("display_name", "renamed").Error; err != nil {
			return err
		}
		return tx.Delete(&schema.User{}, "id = ?", gone).Error
	}))
	var n int64
	require.NoError(t, app.Model(&schema.AuditLog{}).Where("user_id = ?", userID).Count(&n).Error)
	require.EqualValues(t, 2, n)
	report, err := audit.Verify(ctx, app, userID)
	require.NoError(t, err)
	require.True(t, report.Valid, "the chain written by the app role verifies: %s", report.Detail)

	// What the app role must never do.
	for _, stmt := range []string{
		"ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_update",
		"ALTER TABLE audit_logs DISABLE TRIGGER ALL",
		"DROP TRIGGER audit_logs_no_delete ON audit_logs",
		"DROP FUNCTION audit_logs_append_only() CASCADE",
		"CREATE OR REPLACE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$",
		"ALTER TABLE audit_logs OWNER TO " + role,
		"DROP TABLE audit_logs",
		"TRUNCATE audit_logs",
		"UPDATE audit_logs SET action = 'X'",
		"DELETE FROM audit_logs",
		"DELETE FROM schema_migrations",
		"CREATE TABLE audit_logs_copy (id int)",
		"SET session_replication_role = replica", // would skip triggers
	} {
		err := app.Exec(stmt).Error
		require.Error(t, err, "the app role could: %s", stmt)
	}
	// The triggers are all still there and enabled (tgenabled 'O').
	var enabled int64
	require.NoError(t, owner.Raw(`SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relname = 'audit_logs' AND NOT t.tgisinternal AND t.tgenabled = 'O'`).Scan(&enabled).Error)
	require.EqualValues(t, 3, enabled)
}
