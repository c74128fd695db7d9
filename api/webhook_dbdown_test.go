package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
)

// A webhook whose token cannot be looked up because the database is down
// answers 503 (retry later), never 404 (this URL does not exist), and does
// not count against the sender's unknown-URL limit. Found by the chaos
// suite crashing PostgreSQL.
func TestWebhookAnswers503WhileTheDatabaseIsDown(t *testing.T) {
	db := storetest.OpenSQLite(t)
	log := zap.NewNop()
	svc, err := auth.New(context.Background(), auth.Config{DB: db, Secret: []byte("0123456789abcdef0123456789abcdef-dbdown"), Password: cheapPasswords, Log: log})
	require.NoError(t, err)
	limits := api.DefaultRateLimits()
	s := &api.Server{DB: db, Auth: svc, Log: log, Limits: &limits, PublicURL: "http://127.0.0.1"}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	require.NoError(t, store.Close(db))

	body := []byte(`{"ticker":"AAPL","action":"buy","quantity":1,"id":"a1"}`)
	for i := 0; i < api.WebhookUnknownPerIP+2; i++ {
		resp, err := http.Post(srv.URL+"/webhooks/tradingview/abcdefghijklmnopqrstuvwx", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "delivery %d", i+1)
	}
}
