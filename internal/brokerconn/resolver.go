// Package brokerconn turns a stored broker connection into a live adapter:
// it loads the row (scoped to its owner), decrypts the credentials with the
// vault, builds the adapter through the broker registry and caches it so the
// adapter's per-credential rate limiter survives between activities. It also
// routes a signal to the trader's connection for its asset class, and runs
// a connection's life (Service): connecting with credentials checked at the
// broker, Schwab's OAuth consent, disconnecting, default brokers per asset
// class and health checks.
package brokerconn

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// Decrypter opens credential ciphertext bound to a user and a row.
type Decrypter interface {
	DecryptJSON(userID, rowID string, blob []byte, v any) error
}

// Resolver opens adapters for connections. Safe for concurrent use.
type Resolver struct {
	DB       *gorm.DB
	Registry *broker.Registry
	Vault    Decrypter

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	updatedAt time.Time
	b         broker.Broker
}

// ErrNoConnection is returned by Route when the trader has no usable
// connection; its message is shown to the trader.
type ErrNoConnection struct{ Message string }

func (e *ErrNoConnection) Error() string { return e.Message }

// Open returns the adapter for a connection row.
func (r *Resolver) Open(ctx context.Context, conn schema.BrokerConnection) (broker.Broker, error) {
	r.mu.Lock()
	if c, ok := r.cache[conn.ID]; ok && c.updatedAt.Equal(conn.UpdatedAt) {
		r.mu.Unlock()
		return c.b, nil
	}
	r.mu.Unlock()

	creds := broker.Credentials{}
	if len(conn.Credentials) > 0 {
		if r.Vault == nil {
			return nil, errors.New("brokerconn: no vault configured")
		}
		if err := r.Vault.DecryptJSON(conn.UserID, conn.ID, conn.Credentials, &creds); err != nil {
			return nil, fmt.Errorf("brokerconn: credentials of connection %s cannot be decrypted: %w", conn.ID, err)
		}
	}
	b, err := r.Registry.Open(conn.BrokerType, broker.Config{
		ConnectionID: conn.ID, UserID: conn.UserID, Paper: conn.Paper, Credentials: creds,
	})
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.cache == nil {
		r.cache = map[string]cached{}
	}
	r.cache[conn.ID] = cached{updatedAt: conn.UpdatedAt, b: b}
	r.mu.Unlock()
	return b, nil
}

// Forget drops a cached adapter (after disconnect or credential update).
func (r *Resolver) Forget(connectionID string) {
	r.mu.Lock()
	delete(r.cache, connectionID)
	r.mu.Unlock()
}

// Load reads a connection that must belong to userID.
func (r *Resolver) Load(ctx context.Context, userID, connectionID string) (schema.BrokerConnection, error) {
	var c schema.BrokerConnection
	err := r.DB.WithContext(ctx).Where("id = ? AND user_id = ?", connectionID, userID).First(&c).Error
	return c, err
}

// Supports reports whether a broker type trades an asset class.
func Supports(brokerType string, class signal.AssetClass) bool {
	switch class {
	case signal.AssetStock:
		switch brokerType {
		case "paper", "alpaca", "ibkr", "schwab":
			return true
		}
	case signal.AssetCrypto:
		switch brokerType {
		case "paper", "alpaca", "coinbase", "kraken", "binance":
			return true
		}
	}
	return false
}

// Route picks the connection a signal goes to (FR-020): the per-signal
// override (broker:kraken), else the trader's default for the asset class,
// else the only (or oldest) active connection that trades the class.
func (r *Resolver) Route(ctx context.Context, userID string, class signal.AssetClass, override string, settings schema.RiskSettings) (schema.BrokerConnection, error) {
	var conns []schema.BrokerConnection
	if err := r.DB.WithContext(ctx).Where("user_id = ? AND is_active = ?", userID, true).Find(&conns).Error; err != nil {
		return schema.BrokerConnection{}, err
	}
	sort.Slice(conns, func(i, j int) bool { return conns[i].CreatedAt.Before(conns[j].CreatedAt) })
	what := "stocks"
	if class == signal.AssetCrypto {
		what = "crypto"
	}
	if override != "" {
		for _, c := range conns {
			if c.BrokerType == override {
				if !Supports(c.BrokerType, class) {
					return c, &ErrNoConnection{Message: fmt.Sprintf("%s does not trade %s.", trade.BrokerDisplayName(override), what)}
				}
				return c, nil
			}
		}
		return schema.BrokerConnection{}, &ErrNoConnection{Message: fmt.Sprintf("No active %s connection. Connect it in Settings → Brokers or remove broker:%s from the signal.", trade.BrokerDisplayName(override), override)}
	}
	var def *string
	if class == signal.AssetCrypto {
		def = settings.DefaultCryptoConnection
	} else {
		def = settings.DefaultStockConnection
	}
	if def != nil {
		for _, c := range conns {
			if c.ID == *def && Supports(c.BrokerType, class) {
				return c, nil
			}
		}
	}
	for _, c := range conns {
		if Supports(c.BrokerType, class) {
			return c, nil
		}
	}
	return schema.BrokerConnection{}, &ErrNoConnection{Message: fmt.Sprintf("No broker connected for %s. Connect one in Settings → Brokers.", what)}
}
