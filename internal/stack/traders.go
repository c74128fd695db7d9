package stack

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/vault"
	"github.com/tradeexec/tradeexec/schema"
)

// Trader is a generated trader of the stack with its webhook token.
type Trader struct {
	UserID, WebhookToken, PaperAccount string
}

// AddTraders creates n Premium traders, each with a funded paper account
// (cash), a paper broker connection, a position limit of maxPositionPct
// and a webhook token — load from many traders, as production sees it
// (one webhook URL alone is limited to 60 alerts a minute, FR-016).
func (s *Stack) AddTraders(ctx context.Context, n int, cash, maxPositionPct decimal.Decimal) ([]Trader, error) {
	kr, err := vault.ParseKeyring(envValue(s.Env, "VAULT_KEYS"))
	if err != nil {
		return nil, err
	}
	engine := paper.NewEngine(paper.NewGormStore(s.DB), paper.NewRandomWalkFeed(1))
	return CreateTraders(ctx, s.DB, kr, engine, n, cash, maxPositionPct)
}

// CreateTraders creates n Premium paper traders in db (as AddTraders
// does) with the given vault keyring and paper engine; the in-process
// bench uses it too.
func CreateTraders(ctx context.Context, db *gorm.DB, kr *vault.Keyring, engine *paper.Engine, n int, cash, maxPositionPct decimal.Decimal) ([]Trader, error) {
	now := time.Now().UTC()
	def := risk.DefaultSettings()
	out := make([]Trader, n)
	var users []schema.User
	var settings []schema.RiskSettings
	var conns []schema.BrokerConnection
	var hooks []schema.WebhookToken
	for i := range out {
		tok, err := app.NewToken()
		if err != nil {
			return nil, err
		}
		t := Trader{UserID: uuid.NewString(), WebhookToken: tok, PaperAccount: uuid.NewString()}
		out[i] = t
		if err := engine.CreateAccount(ctx, t.PaperAccount, cash); err != nil {
			return nil, err
		}
		email := fmt.Sprintf("trader-%s@stack.local", t.UserID[:8])
		users = append(users, schema.User{ID: t.UserID, Email: &email, DisplayName: "stack trader", Role: "trader",
			SubscriptionTier: "premium", SubscriptionStatus: "active", CreatedAt: now})
		c := schema.BrokerConnection{ID: uuid.NewString(), UserID: t.UserID, BrokerType: "paper", Label: "Paper trading", Paper: true,
			IsActive: true, HealthStatus: "healthy", CreatedAt: now, UpdatedAt: now}
		blob, ver, err := kr.EncryptJSON(t.UserID, c.ID, broker.Credentials{"account_id": t.PaperAccount})
		if err != nil {
			return nil, err
		}
		c.Credentials, c.KeyVersion = blob, ver
		conns = append(conns, c)
		settings = append(settings, schema.RiskSettings{UserID: t.UserID, MaxPositionPct: maxPositionPct, DailyLossLimitPct: def.DailyLossLimitPct,
			DailyLossLimitAmount: def.DailyLossLimitAmount, CircuitBreakerPct: def.CircuitBreakerPct, StopLossPct: def.StopLossPct,
			DefaultStockConnection: &c.ID, DefaultCryptoConnection: &c.ID, UpdatedAt: now})
		hooks = append(hooks, schema.WebhookToken{ID: uuid.NewString(), UserID: t.UserID, TokenHash: api.HashToken(tok), CreatedAt: now})
	}
	err := store.InTx(ctx, db, func(tx *gorm.DB) error {
		for _, batch := range []any{&users, &conns, &settings, &hooks} {
			if err := tx.CreateInBatches(batch, 200).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
