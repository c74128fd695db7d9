package brokerconn_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// US-002 #1 and US-010 #1: a connection is checked at the broker, sealed,
// activated and announced with the account value, in one transaction.
func TestConnectConfirms(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		e := newEnv(t, db, d)
		cases := []struct {
			name    string
			req     brokerconn.Request
			message string
			value   string
			cur     string
		}{
			{"alpaca", brokerconn.Request{Broker: "alpaca", Paper: true, Credentials: e.alpacaCreds(50_000)},
				"Alpaca connected successfully", "50000", "USD"},
			{"binance", brokerconn.Request{Broker: "binance", Credentials: e.binance.NewAccount(decimal.NewFromInt(12_450))},
				"Binance connected: $12,450.00 USDT balance", "12450", "USDT"},
			{"paper", brokerconn.Request{Broker: "paper", Credentials: map[string]string{"starting_cash": "25000"}},
				"Paper broker connected successfully", "25000", "USD"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				out := e.connect(e.userID, c.req, "")
				require.True(t, out.Connected, "%+v", out)
				require.Equal(t, c.message, out.Message)
				require.Equal(t, c.value, out.AccountValue.String())
				require.Equal(t, c.cur, out.Currency)
				row, ok := e.row(out.ConnectionID)
				require.True(t, ok)
				require.True(t, row.IsActive)
				require.Equal(t, brokerconn.HealthHealthy, row.HealthStatus)
				require.True(t, row.AccountValue.Decimal.Equal(decimal.RequireFromString(c.value)))
				require.NotNil(t, row.LastHealthCheck)

				entries := e.audits(e.userID, audit.ActionBrokerConnected)
				require.NotEmpty(t, entries)
				require.Equal(t, out.ConnectionID, entries[0].ResourceID)
				require.Equal(t, audit.StatusSuccess, entries[0].Status)

				// A retried activity returns the recorded decision.
				again, err := e.svc.Connect(context.Background(), brokerconn.Attempt{ConnectionID: out.ConnectionID, UserID: e.userID, Broker: c.req.Broker})
				require.NoError(t, err)
				require.Equal(t, out.Message, again.Message)
				require.True(t, again.Connected)
			})
		}
		types := eventTypes(e.events(e.userID))
		require.Equal(t, []string{realtime.EventConnectionConnected, realtime.EventConnectionConnected, realtime.EventConnectionConnected}, types)
		res, err := audit.Verify(context.Background(), db, e.userID)
		require.NoError(t, err)
		require.True(t, res.Valid)
	})
}

// Refused keys: a precise reason, the pending row (and its sealed secrets)
// deleted, the failure audited and announced.
func TestConnectRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		e := newEnv(t, db, d)
		creds := e.alpacaCreds(10_000)
		creds["api_secret"] = "not-the-secret-0123456789"
		a, err := e.svc.CreatePending(context.Background(), e.userID, brokerconn.Request{Broker: "alpaca", Credentials: creds}, "")
		require.NoError(t, err)
		pending, ok := e.row(a.ConnectionID)
		require.True(t, ok)
		require.False(t, pending.IsActive)
		require.Equal(t, brokerconn.HealthValidating, pending.HealthStatus)
		require.NotContains(t, string(pending.Credentials), "not-the-secret", "sealed")

		out, err := e.svc.Connect(context.Background(), a)
		require.NoError(t, err)
		require.False(t, out.Connected)
		require.Equal(t, broker.KindAuthFailed, out.Kind)
		require.Equal(t, "Alpaca rejected these API keys. Check the key and secret and try again.", out.Message)
		_, ok = e.row(a.ConnectionID)
		require.False(t, ok, "a refused attempt leaves no row")

		entries := e.audits(e.userID, audit.ActionBrokerConnected)
		require.Len(t, entries, 1)
		require.Equal(t, audit.StatusFailure, entries[0].Status)
		require.Equal(t, out.Message, entries[0].ErrorMessage)
		require.Equal(t, []string{realtime.EventConnectionFailed}, eventTypes(e.events(e.userID)))

		// The broker being down is not the trader's fault.
		e.proxy.down.Store(true)
		out = e.connect(e.userID, brokerconn.Request{Broker: "alpaca", Credentials: e.alpacaCreds(10_000)}, "")
		require.Equal(t, broker.KindUnavailable, out.Kind)
		require.Equal(t, "Alpaca is not reachable right now. Nothing was saved; try again in a few minutes.", out.Message)

		// The retry of a refused attempt finds it decided.
		again, err := e.svc.Connect(context.Background(), a)
		require.NoError(t, err)
		require.Equal(t, brokerconn.KindAbandoned, again.Kind)
	})
}

// A re-connect replaces the credentials of the existing connection (its id
// stays: trades and defaults name it) and audits the changed field names.
func TestReconnectReplacesCredentials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		e := newEnv(t, db, d)
		first := e.connect(e.userID, brokerconn.Request{Broker: "alpaca", Label: "Main", Credentials: e.alpacaCreds(10_000)}, "")
		require.True(t, first.Connected)
		old, _ := e.row(first.ConnectionID)
		oldCreds := e.creds(old)

		// Bad new keys: the connection keeps its old ones.
		bad := e.alpacaCreds(1)
		bad["api_secret"] = "wrong-wrong-wrong-wrong"
		out := e.connect(e.userID, brokerconn.Request{Credentials: bad}, first.ConnectionID)
		require.False(t, out.Connected)
		kept, _ := e.row(first.ConnectionID)
		require.Equal(t, oldCreds["api_key"], e.creds(kept)["api_key"])
		require.True(t, kept.IsActive)

		next := e.alpacaCreds(20_000)
		out = e.connect(e.userID, brokerconn.Request{Credentials: next}, first.ConnectionID)
		require.True(t, out.Connected, "%+v", out)
		require.True(t, out.Reconnect)
		require.Equal(t, first.ConnectionID, out.ConnectionID)
		require.Equal(t, "Alpaca credentials updated; the connection is active.", out.Message)
		row, _ := e.row(first.ConnectionID)
		require.Equal(t, next["api_key"], e.creds(row)["api_key"])
		require.Equal(t, "Main", row.Label)
		require.True(t, row.AccountValue.Decimal.Equal(decimal.NewFromInt(20_000)))
		var n int64
		require.NoError(t, db.Model(&schema.BrokerConnection{}).Where("user_id = ?", e.userID).Count(&n).Error)
		require.EqualValues(t, 1, n, "the attempt's row is gone")

		entries := e.audits(e.userID, audit.ActionCredentialsUpdated)
		require.Len(t, entries, 2)
		require.Equal(t, audit.StatusSuccess, entries[0].Status)
		var details map[string]any
		require.NoError(t, json.Unmarshal([]byte(entries[0].Details), &details))
		require.Equal(t, []any{"apiKey", "apiSecret"}, details["changedFields"])
		require.NotContains(t, entries[0].Details, next["api_secret"])
		require.NotContains(t, entries[0].Details, next["api_key"])
		require.Equal(t, audit.StatusFailure, entries[1].Status)

		// Another broker's form cannot replace it, nor can another trader.
		_, err := e.svc.CreatePending(context.Background(), e.userID, brokerconn.Request{Broker: "binance", Credentials: e.binance.NewAccount(decimal.NewFromInt(1))}, first.ConnectionID)
		var fe *brokerconn.FieldError
		require.ErrorAs(t, err, &fe)
		_, err = e.svc.CreatePending(context.Background(), e.newUser(), brokerconn.Request{Credentials: e.alpacaCreds(1)}, first.ConnectionID)
		require.ErrorIs(t, err, brokerconn.ErrNotFound)
	})
}

// Disconnect: inactive, secrets erased, defaults cleared, audited once.
func TestDisconnect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		e := newEnv(t, db, d)
		out := e.connect(e.userID, brokerconn.Request{Broker: "alpaca", Credentials: e.alpacaCreds(10_000)}, "")
		who := brokerconn.Actor{UserID: e.userID, IPAddress: "192.0.2.1", UserAgent: "test"}
		_, err := e.svc.SetDefaults(context.Background(), who, brokerconn.DefaultsRequest{Stocks: brokerconn.DefaultChange{Set: true, ConnectionID: out.ConnectionID}})
		require.NoError(t, err)

		other := brokerconn.Actor{UserID: e.newUser()}
		_, _, err = e.svc.Disconnect(context.Background(), other, out.ConnectionID)
		require.ErrorIs(t, err, brokerconn.ErrNotFound, "another trader's connection is not found")

		msg, done, err := e.svc.Disconnect(context.Background(), who, out.ConnectionID)
		require.NoError(t, err)
		require.True(t, done)
		require.Equal(t, "Alpaca disconnected. Its credentials were deleted.", msg)
		row, _ := e.row(out.ConnectionID)
		require.False(t, row.IsActive)
		require.Empty(t, row.Credentials)
		require.Equal(t, brokerconn.HealthDisconnected, row.HealthStatus)
		defs, err := e.svc.GetDefaults(context.Background(), e.userID)
		require.NoError(t, err)
		require.Nil(t, defs.Stocks)

		_, done, err = e.svc.Disconnect(context.Background(), who, out.ConnectionID)
		require.NoError(t, err)
		require.False(t, done, "idempotent")
		entries := e.audits(e.userID, audit.ActionBrokerDisconnected)
		require.Len(t, entries, 1)
		require.Equal(t, "192.0.2.1", entries[0].IPAddress)
		views, err := e.svc.List(context.Background(), e.userID)
		require.NoError(t, err)
		require.Empty(t, views)

		// A pending attempt disconnected before its check is abandoned.
		a, err := e.svc.CreatePending(context.Background(), e.userID, brokerconn.Request{Broker: "alpaca", Credentials: e.alpacaCreds(1)}, "")
		require.NoError(t, err)
		_, _, err = e.svc.Disconnect(context.Background(), who, a.ConnectionID)
		require.NoError(t, err)
		res, err := e.svc.Connect(context.Background(), a)
		require.NoError(t, err)
		require.Equal(t, brokerconn.KindAbandoned, res.Kind)
		row, _ = e.row(a.ConnectionID)
		require.False(t, row.IsActive)
	})
}

// FR-020: a default must be an active connection of the trader that trades
// the asset class.
func TestSetDefaults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		e := newEnv(t, db, d)
		al := e.connect(e.userID, brokerconn.Request{Broker: "alpaca", Credentials: e.alpacaCreds(10_000)}, "")
		bn := e.connect(e.userID, brokerconn.Request{Broker: "binance", Credentials: e.binance.NewAccount(decimal.NewFromInt(10_000))}, "")
		who := brokerconn.Actor{UserID: e.userID}
		set := func(stocks, crypto *brokerconn.DefaultChange) error {
			req := brokerconn.DefaultsRequest{}
			if stocks != nil {
				req.Stocks = *stocks
			}
			if crypto != nil {
				req.Crypto = *crypto
			}
			_, err := e.svc.SetDefaults(context.Background(), who, req)
			return err
		}
		var fe *brokerconn.FieldError
		require.ErrorAs(t, set(&brokerconn.DefaultChange{Set: true, ConnectionID: bn.ConnectionID}, nil), &fe)
		require.Equal(t, "stocks", fe.Field)
		require.Equal(t, "Binance does not trade stocks.", fe.Message)
		require.ErrorAs(t, set(nil, nil), &fe)
		require.NoError(t, set(&brokerconn.DefaultChange{Set: true, ConnectionID: al.ConnectionID}, &brokerconn.DefaultChange{Set: true, ConnectionID: bn.ConnectionID}))
		defs, err := e.svc.GetDefaults(context.Background(), e.userID)
		require.NoError(t, err)
		require.Equal(t, al.ConnectionID, *defs.Stocks)
		require.Equal(t, bn.ConnectionID, *defs.Crypto)
		views, err := e.svc.List(context.Background(), e.userID)
		require.NoError(t, err)
		require.Equal(t, []string{"stocks"}, views[0].DefaultFor)
		require.Equal(t, []string{"crypto"}, views[1].DefaultFor)

		// A settings row is created with the rules of a new account.
		var rs schema.RiskSettings
		require.NoError(t, db.Where("user_id = ?", e.userID).Take(&rs).Error)
		require.True(t, rs.MaxPositionPct.Equal(decimal.NewFromInt(10)))

		// Clearing, and another trader's connection refused.
		require.NoError(t, set(nil, &brokerconn.DefaultChange{Set: true}))
		otherConn := e.connect(e.newUser(), brokerconn.Request{Broker: "alpaca", Credentials: e.alpacaCreds(1)}, "")
		require.ErrorAs(t, set(&brokerconn.DefaultChange{Set: true, ConnectionID: otherConn.ConnectionID}, nil), &fe)
		defs, err = e.svc.GetDefaults(context.Background(), e.userID)
		require.NoError(t, err)
		require.Nil(t, defs.Crypto)
		require.Equal(t, al.ConnectionID, *defs.Stocks)
		require.Len(t, e.audits(e.userID, audit.ActionBrokerDefaultsChanged), 2)
	})
}

// Schwab: consent URL with a single-use state, the code sealed at the
// callback and traded for tokens by the check, tokens refreshed later saved
// back into the sealed credentials.
func TestSchwabConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		e := newEnv(t, db, d)
		ctx := context.Background()
		az, err := e.svc.BeginSchwab(ctx, e.userID, "", "", "")
		require.NoError(t, err)
		require.Contains(t, az.URL, e.schwab.URL()+"/v1/oauth/authorize?")
		require.Contains(t, az.URL, "client_id="+e.schwab.App().ClientID)
		state := stateOf(t, az.URL)
		code, acct := e.schwab.IssueAuthCode(decimal.NewFromInt(30_000))

		_, err = e.svc.CompleteSchwab(ctx, state, code, e.newUser())
		require.ErrorIs(t, err, brokerconn.ErrOAuthState, "another signed-in user cannot use the state")
		_, err = e.svc.CompleteSchwab(ctx, state, code, "")
		require.ErrorIs(t, err, brokerconn.ErrOAuthState, "a browser without a session cannot finish the consent")
		a, err := e.svc.CompleteSchwab(ctx, state, code, e.userID)
		require.NoError(t, err)
		_, err = e.svc.CompleteSchwab(ctx, state, code, e.userID)
		require.ErrorIs(t, err, brokerconn.ErrOAuthState, "single use")
		pending, _ := e.row(a.ConnectionID)
		require.NotContains(t, string(pending.Credentials), code)

		out, err := e.svc.Connect(ctx, a)
		require.NoError(t, err)
		require.True(t, out.Connected, "%+v", out)
		require.Equal(t, "Schwab connected successfully", out.Message)
		row, _ := e.row(out.ConnectionID)
		creds := e.creds(row)
		require.NotEmpty(t, creds["refresh_token"])
		require.Empty(t, creds[brokerconn.CredAuthorizationCode], "the code is gone once traded")

		// A refresh is saved into the sealed credentials (SchwabTokens).
		before := row.UpdatedAt
		require.NoError(t, (&brokerconn.SchwabTokens{DB: db, Vault: e.kr}).Save(ctx, tokensWith(row.ID, creds["refresh_token"], "new-access-token-0123456789")))
		row, _ = e.row(out.ConnectionID)
		require.Equal(t, "new-access-token-0123456789", e.creds(row)["access_token"])
		require.Equal(t, creds["refresh_token"], e.creds(row)["refresh_token"])
		require.True(t, row.UpdatedAt.After(before) || !row.UpdatedAt.Equal(before))

		// Re-consent of the connection keeps its id; an expired state fails.
		az, err = e.svc.BeginSchwab(ctx, e.userID, out.ConnectionID, "", acct)
		require.NoError(t, err)
		code2, _ := e.schwab.IssueAuthCode(decimal.NewFromInt(1))
		a2, err := e.svc.CompleteSchwab(ctx, stateOf(t, az.URL), code2, e.userID)
		require.NoError(t, err)
		require.Equal(t, out.ConnectionID, a2.ReplaceID)

		late := *e.svc
		late.Now = func() time.Time { return time.Now().Add(brokerconn.OAuthStateTTL + time.Minute) }
		az, err = e.svc.BeginSchwab(ctx, e.userID, "", "", "")
		require.NoError(t, err)
		_, err = late.CompleteSchwab(ctx, stateOf(t, az.URL), "C0.x", e.userID)
		require.ErrorIs(t, err, brokerconn.ErrOAuthState)

		// A code Schwab does not know is refused with Schwab's reason.
		az, err = e.svc.BeginSchwab(ctx, e.userID, "", "", "")
		require.NoError(t, err)
		a3, err := e.svc.CompleteSchwab(ctx, stateOf(t, az.URL), "C0.unknown-code", e.userID)
		require.NoError(t, err)
		out3, err := e.svc.Connect(ctx, a3)
		require.NoError(t, err)
		require.Equal(t, broker.KindAuthFailed, out3.Kind)
		require.True(t, strings.HasPrefix(out3.Message, "Schwab did not accept the authorization."), out3.Message)
	})
}

// Invalid requests are refused before anything is stored.
func TestCreatePendingRefusesBadRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		e := newEnv(t, db, d)
		_, err := e.svc.CreatePending(context.Background(), e.userID, brokerconn.Request{Broker: "kraken", Paper: true,
			Credentials: map[string]string{"api_key": "k", "api_secret": "s"}}, "")
		var fe *brokerconn.FieldError
		require.ErrorAs(t, err, &fe)
		require.Equal(t, "paper", fe.Field)

		prod := *e.svc
		prod.AllowCustomURLs = false
		_, err = prod.CreatePending(context.Background(), e.userID, brokerconn.Request{Broker: "alpaca", Credentials: e.alpacaCreds(1)}, "")
		require.ErrorAs(t, err, &fe)
		require.Equal(t, "credentials.base_url", fe.Field, "no custom endpoints in production")

		var n int64
		require.NoError(t, db.Model(&schema.BrokerConnection{}).Count(&n).Error)
		require.Zero(t, n)
	})
}
