package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// DemoEmail identifies the demo trader of `tradeexec dev`.
const DemoEmail = "demo@tradeexec.local"

// DemoCash is the demo trader's starting paper cash.
var DemoCash = decimal.NewFromInt(100_000)

// Demo is what `tradeexec dev` writes to .data/demo.json (mode 0600) so
// scripts can drive the demo trader.
type Demo struct {
	UserID       string `json:"user_id"`
	Email        string `json:"email"`
	WebhookURL   string `json:"webhook_url"`
	WebhookToken string `json:"webhook_token"`
	APIToken     string `json:"api_token"`
	ConnectionID string `json:"connection_id"`
	PaperAccount string `json:"paper_account"`
}

// Encrypter seals broker credentials for a row.
type Encrypter interface {
	EncryptJSON(userID, rowID string, v any) ([]byte, int, error)
}

// NewToken returns a 256-bit random URL-safe token.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// EnsureDemo creates the demo trader on first start (paper account with
// $100,000, a paper broker connection, default risk settings, a webhook
// token and an API token) and reuses it afterwards. The tokens are stored
// hashed; their plain values live only in dataDir/demo.json.
func EnsureDemo(ctx context.Context, db *gorm.DB, vault Encrypter, engine *paper.Engine, dataDir, publicURL string) (Demo, error) {
	path := filepath.Join(dataDir, "demo.json")
	var d Demo
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &d) == nil && d.UserID != "" {
		if demoValid(ctx, db, d) {
			d.WebhookURL = webhookURL(publicURL, d.WebhookToken)
			return d, writeDemo(path, d)
		}
	}
	now := time.Now().UTC()
	var user schema.User
	err := db.WithContext(ctx).Where("email = ?", DemoEmail).First(&user).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		email := DemoEmail
		user = schema.User{ID: uuid.NewString(), Email: &email, DisplayName: "Demo Trader", Role: "trader",
			SubscriptionTier: "premium", SubscriptionStatus: "active", CreatedAt: now}
		if err := db.WithContext(ctx).Create(&user).Error; err != nil {
			return d, fmt.Errorf("create demo user: %w", err)
		}
	} else if err != nil {
		return d, err
	}
	d = Demo{UserID: user.ID, Email: DemoEmail, PaperAccount: uuid.NewString()}
	if err := engine.CreateAccount(ctx, d.PaperAccount, DemoCash); err != nil {
		return d, fmt.Errorf("create paper account: %w", err)
	}
	if d.WebhookToken, err = NewToken(); err != nil {
		return d, err
	}
	if d.APIToken, err = NewToken(); err != nil {
		return d, err
	}
	err = store.InTx(ctx, db, func(tx *gorm.DB) error {
		var conn schema.BrokerConnection
		err := tx.Where("user_id = ? AND broker_type = ?", user.ID, "paper").First(&conn).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			conn = schema.BrokerConnection{ID: uuid.NewString(), UserID: user.ID, BrokerType: "paper", Label: "Paper trading",
				Paper: true, IsActive: true, CreatedAt: now, UpdatedAt: now}
			blob, ver, err := vault.EncryptJSON(user.ID, conn.ID, broker.Credentials{"account_id": d.PaperAccount})
			if err != nil {
				return err
			}
			conn.Credentials, conn.KeyVersion = blob, ver
			if err := tx.Create(&conn).Error; err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		d.ConnectionID = conn.ID
		var rs schema.RiskSettings
		if err := tx.Where("user_id = ?", user.ID).First(&rs).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			def := risk.DefaultSettings()
			rs = schema.RiskSettings{UserID: user.ID, MaxPositionPct: def.MaxPositionPct, DailyLossLimitPct: def.DailyLossLimitPct,
				DailyLossLimitAmount: def.DailyLossLimitAmount, CircuitBreakerPct: def.CircuitBreakerPct, StopLossPct: def.StopLossPct,
				DefaultStockConnection: &conn.ID, DefaultCryptoConnection: &conn.ID, UpdatedAt: now}
			if err := tx.Create(&rs).Error; err != nil {
				return err
			}
		}
		if err := tx.Model(&schema.WebhookToken{}).Where("user_id = ? AND revoked_at IS NULL", user.ID).Update("revoked_at", now).Error; err != nil {
			return err
		}
		if err := tx.Create(&schema.WebhookToken{ID: uuid.NewString(), UserID: user.ID, TokenHash: api.HashToken(d.WebhookToken), CreatedAt: now}).Error; err != nil {
			return err
		}
		return tx.Create(&schema.APIToken{ID: uuid.NewString(), UserID: user.ID, TokenHash: api.HashToken(d.APIToken), Name: "demo", CreatedAt: now}).Error
	})
	if err != nil {
		return d, fmt.Errorf("create demo trader: %w", err)
	}
	d.WebhookURL = webhookURL(publicURL, d.WebhookToken)
	return d, writeDemo(path, d)
}

func demoValid(ctx context.Context, db *gorm.DB, d Demo) bool {
	var n int64
	db.WithContext(ctx).Model(&schema.WebhookToken{}).Where("user_id = ? AND token_hash = ? AND revoked_at IS NULL", d.UserID, api.HashToken(d.WebhookToken)).Count(&n)
	if n != 1 {
		return false
	}
	db.WithContext(ctx).Model(&schema.APIToken{}).Where("user_id = ? AND token_hash = ? AND revoked_at IS NULL", d.UserID, api.HashToken(d.APIToken)).Count(&n)
	return n == 1
}

func webhookURL(publicURL, token string) string {
	return publicURL + "/webhooks/tradingview/" + token
}

func writeDemo(path string, d Demo) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Chmod(path, 0o600)
}
