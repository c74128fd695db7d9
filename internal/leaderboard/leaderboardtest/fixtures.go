// Package leaderboardtest writes the rows the leaderboards read (users,
// copy-trading profiles and follows, filled trades, equity points) for
// tests of internal/leaderboard, the API, the worker and the bench.
package leaderboardtest

import (
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// TB is the part of testing.TB the fixtures need (the bench passes its own).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

func must(t TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("leaderboardtest: %v", err)
	}
}

// User creates a trader named name and returns its id.
func User(t TB, db *gorm.DB, name string) string {
	t.Helper()
	id := uuid.NewString()
	email := id + "@example.test"
	must(t, db.Create(&schema.User{ID: id, Email: &email, DisplayName: name, Role: "trader", SubscriptionTier: "premium",
		SubscriptionStatus: "active", CreatedAt: time.Now().UTC()}).Error)
	return id
}

// Profile sets userID's copy-trading profile.
func Profile(t TB, db *gorm.DB, userID string, allowCopy bool, visibility, displayName string) {
	t.Helper()
	now := time.Now().UTC()
	p := schema.CopyLeader{UserID: userID, AllowCopy: allowCopy, Visibility: visibility, DisplayName: displayName, CreatedAt: now, UpdatedAt: now}
	must(t, db.Save(&p).Error)
}

// Follow makes follower follow leader with status (active, paused, stopped).
func Follow(t TB, db *gorm.DB, follower, leader, status string) {
	t.Helper()
	now := time.Now().UTC()
	must(t, db.Create(&schema.CopyFollow{ID: uuid.NewString(), FollowerID: follower, LeaderID: leader, SizingMode: "proportional",
		Multiplier: decimal.NewFromInt(1), FixedAmount: decimal.Zero, MaxPosition: decimal.Zero, LossLimit: decimal.Zero,
		Status: status, CreatedAt: now, UpdatedAt: now}).Error)
}

// Connection gives userID an active paper connection with equity at at
// (an equity point and the current balance) and returns its id.
func Connection(t TB, db *gorm.DB, userID string, equity string, at time.Time) string {
	t.Helper()
	id := uuid.NewString()
	now := time.Now().UTC()
	must(t, db.Create(&schema.BrokerConnection{ID: id, UserID: userID, BrokerType: "paper", Paper: true, IsActive: true,
		HealthStatus: "healthy", CreatedAt: now, UpdatedAt: now}).Error)
	e := decimal.RequireFromString(equity)
	must(t, db.Create(&schema.EquityPoint{UserID: userID, BrokerConnectionID: id, Equity: e, Cash: e, At: at.UTC()}).Error)
	must(t, db.Create(&schema.PortfolioBalance{BrokerConnectionID: id, UserID: userID, Cash: e, Equity: e, BuyingPower: e,
		Currency: "USD", UpdatedAt: now}).Error)
	return id
}

// Fill records a filled trade of userID (with its signal).
func Fill(t TB, db *gorm.DB, userID string, at time.Time, symbol, side, qty, price string) string {
	t.Helper()
	sigID := uuid.NewString()
	must(t, db.Create(&schema.Signal{ID: sigID, Source: "dashboard", ExternalID: sigID, UserID: userID, Symbol: symbol,
		Payload: "{}", ReceivedAt: at.UTC()}).Error)
	q := decimal.RequireFromString(qty)
	at = at.UTC()
	tr := schema.Trade{ID: uuid.NewString(), SignalID: sigID, UserID: userID, Broker: "paper", Source: "dashboard", Symbol: symbol,
		AssetClass: "stock", Side: side, OrderType: "market", RequestedQuantity: q, Quantity: q, Status: "filled",
		FilledQuantity: q, FillPrice: decimal.NewNullDecimal(decimal.RequireFromString(price)), ReservedNotional: decimal.Zero,
		FilledAt: &at, CreatedAt: at, UpdatedAt: at}
	must(t, db.Create(&tr).Error)
	return tr.ID
}
