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
	"github.com/tradeexec/tradeexec/internal/auth"
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
	// APIToken is a JWT access token (1 hour) of the demo trader, written
	// afresh by RefreshDemoToken at each start and every 30 minutes.
	APIToken       string    `json:"api_token"`
	APITokenExpiry time.Time `json:"api_token_expires_at"`
	ConnectionID   string    `json:"connection_id"`
	PaperAccount   string    `json:"paper_account"`
	// Password is the demo trader's generated password, set only by the
	// EnsureDemo call that created it (print it once; only its hash is
	// stored, never in demo.json).
	Password string `json:"-"`
}

// DemoTokenIssuer issues the demo's access token (*auth.Service).
type DemoTokenIssuer interface {
	IssueScriptToken(ctx context.Context, userID string) (auth.Tokens, error)
}

// DemoTokenRefresh is how often KeepDemoTokenFresh rewrites the token.
const DemoTokenRefresh = 30 * time.Minute

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
// token and a generated password, returned once in Demo.Password) and
// reuses it afterwards. The webhook token is stored hashed, the password as
// its argon2id hash; the webhook URL lives in dataDir/demo.json. The API
// token is added by RefreshDemoToken once the API runs.
func EnsureDemo(ctx context.Context, db *gorm.DB, vault Encrypter, engine *paper.Engine, dataDir, publicURL string) (Demo, error) {
	path := filepath.Join(dataDir, "demo.json")
	var d Demo
	if b, err := os.ReadFile(path); err == nil /* #nosec G304 -- DATA_DIR/demo.json, a path from the operator's configuration */ && json.Unmarshal(b, &d) == nil && d.UserID != "" {
		if demoValid(ctx, db, d) {
			d.WebhookURL = webhookURL(publicURL, d.WebhookToken)
			if d.Password, err = ensureDemoPassword(ctx, db, d.UserID); err != nil {
				return d, err
			}
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
	if d.Password, err = ensureDemoPassword(ctx, db, user.ID); err != nil {
		return d, err
	}
	if err := engine.CreateAccount(ctx, d.PaperAccount, DemoCash); err != nil {
		return d, fmt.Errorf("create paper account: %w", err)
	}
	if d.WebhookToken, err = NewToken(); err != nil {
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
		return tx.Create(&schema.WebhookToken{ID: uuid.NewString(), UserID: user.ID, TokenHash: api.HashToken(d.WebhookToken), CreatedAt: now}).Error
	})
	if err != nil {
		return d, fmt.Errorf("create demo trader: %w", err)
	}
	d.WebhookURL = webhookURL(publicURL, d.WebhookToken)
	return d, writeDemo(path, d)
}

// ensureDemoPassword gives the demo trader a generated password when it
// has none and returns it; "" when one was set before.
func ensureDemoPassword(ctx context.Context, db *gorm.DB, userID string) (string, error) {
	var user schema.User
	if err := db.WithContext(ctx).Select("id", "password_hash").Take(&user, "id = ?", userID).Error; err != nil {
		return "", fmt.Errorf("load demo user: %w", err)
	}
	if user.PasswordHash != "" {
		return "", nil
	}
	pw, err := auth.GeneratePassword()
	if err != nil {
		return "", err
	}
	hash, err := auth.HashPassword(pw, auth.DefaultPasswordParams)
	if err != nil {
		return "", err
	}
	res := db.WithContext(ctx).Model(&schema.User{}).Where("id = ? AND password_hash = ''", userID).Update("password_hash", hash)
	if res.Error != nil {
		return "", fmt.Errorf("set demo password: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return "", nil
	}
	return pw, nil
}

func demoValid(ctx context.Context, db *gorm.DB, d Demo) bool {
	var n int64
	db.WithContext(ctx).Model(&schema.WebhookToken{}).Where("user_id = ? AND token_hash = ? AND revoked_at IS NULL", d.UserID, api.HashToken(d.WebhookToken)).Count(&n)
	return n == 1
}

// RefreshDemoToken issues a fresh access token for the demo trader and
// rewrites dataDir/demo.json with it (at each start of `tradeexec dev`).
func RefreshDemoToken(ctx context.Context, issuer DemoTokenIssuer, dataDir string, d *Demo) error {
	t, err := issuer.IssueScriptToken(ctx, d.UserID)
	if err != nil {
		return fmt.Errorf("demo api token: %w", err)
	}
	d.APIToken, d.APITokenExpiry = t.AccessToken, t.AccessExpiresAt.UTC()
	return writeDemo(filepath.Join(dataDir, "demo.json"), *d)
}

// KeepDemoTokenFresh rewrites the demo token every DemoTokenRefresh until
// ctx ends, so demo.json always holds a token valid for 30 minutes or
// more. Failures are reported to onError (nil: ignored) and retried at the
// next tick.
func KeepDemoTokenFresh(ctx context.Context, issuer DemoTokenIssuer, dataDir string, d Demo, onError func(error)) {
	t := time.NewTicker(DemoTokenRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := RefreshDemoToken(ctx, issuer, dataDir, &d); err != nil && onError != nil {
				onError(err)
			}
		}
	}
}

func webhookURL(publicURL, token string) string {
	return publicURL + "/webhooks/tradingview/" + token
}

func writeDemo(path string, d Demo) error {
	b, err := json.MarshalIndent(d, "", "  ") // #nosec G117 -- demo.json is the demo's script credential by design (mode 0600, dev only)
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
