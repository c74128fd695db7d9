package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/alpaca"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// With a database the brokers' rate budgets are shared by every replica
// (FR-016 per account): a request through the registry takes its unit
// from broker_rate_limits, under the broker's namespace.
func TestRegistrySharesRateBudgetsThroughTheDatabase(t *testing.T) {
	db, _ := storetest.Open(t)
	fake := alpaca.NewFake()
	t.Cleanup(fake.Close)
	key, secret := fake.CreateAccount(decimal.NewFromInt(1000))
	reg := app.NewRegistry(nil, app.RegistryOptions{BrokerOptions: app.BrokerOptions{AllowCustomURLs: true}, DB: db})
	b, err := reg.Open(alpaca.Name, broker.Config{ConnectionID: "c1", UserID: "u1", Paper: true, Credentials: fake.Credentials(key, secret)})
	require.NoError(t, err)
	_, err = b.GetBalance(context.Background())
	require.NoError(t, err)
	var keys []string
	require.NoError(t, db.Model(&schema.BrokerRateLimit{}).Pluck("limit_key", &keys).Error)
	found := false
	for _, k := range keys {
		found = found || strings.HasPrefix(k, "alpaca:")
	}
	require.True(t, found, "no shared alpaca budget in %v", keys)
}
