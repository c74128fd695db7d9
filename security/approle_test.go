package security

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/apptest"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// Issue 13 item 9, end to end: the whole system (demo trader, sign-up,
// webhook → trade → paper fill → stop, audit chain, outbox) runs on
// PostgreSQL connected as a role that owns nothing, and that role cannot
// switch the audit log's triggers off.
func TestSystemRunsAsNonOwnerDatabaseRole(t *testing.T) {
	if _, ok := storetest.PostgresURL(); !ok {
		t.Skip(storetest.EnvPostgresURL + " is not set: database roles are a PostgreSQL feature")
	}
	_, db, _ := storetest.OpenPostgresAppRole(t)
	c := &clock{}
	o := app.AuthOptions{PublicURL: publicURL, TrustedProxies: []string{"127.0.0.1", "::1"}, Now: c.Now}
	s := &suite{t: t, env: apptest.Start(t, db, store.Postgres, apptest.Options{Auth: o}), clock: c}

	trader := s.user(auth.RoleTrader)
	require.NotEmpty(t, trader.userID)
	hook := s.newClient().do(http.MethodPost, "/webhooks/tradingview/"+s.env.Demo.WebhookToken,
		`{"ticker":"AAPL","action":"buy","quantity":2,"type":"market","id":"approle-1"}`)
	require.Equal(t, http.StatusAccepted, hook.Status, hook.Raw)
	ctx := context.Background()
	require.NoError(t, s.env.Temporal.GetWorkflow(ctx, hook.Body["workflowId"].(string), "").Get(ctx, nil))
	var tr schema.Trade
	require.NoError(t, db.Take(&tr, "id = ?", hook.Body["tradeId"].(string)).Error)
	require.Equal(t, "filled", tr.Status)
	require.NotEmpty(t, tr.StopLossOrderID)
	res, err := audit.Verify(ctx, db, s.env.Demo.UserID)
	require.NoError(t, err)
	require.True(t, res.Valid, res.Detail)

	owns, err := schema.OwnsAuditLog(ctx, db)
	require.NoError(t, err)
	require.False(t, owns)
	require.Error(t, db.Exec("ALTER TABLE audit_logs DISABLE TRIGGER ALL").Error)
	require.Error(t, db.Exec("DROP TRIGGER audit_logs_no_update ON audit_logs").Error)
}
