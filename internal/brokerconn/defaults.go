package brokerconn

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// Default brokers per asset class (FR-020): stocks → IBKR, crypto →
// Coinbase, with the per-signal override (broker:kraken) on top (Route).

// DefaultChange is one asset class's requested default: Set says the
// request named it; an empty ConnectionID clears it.
type DefaultChange struct {
	Set          bool
	ConnectionID string
}

// DefaultsRequest changes the defaults named in it.
type DefaultsRequest struct {
	Stocks DefaultChange
	Crypto DefaultChange
}

// Defaults are the trader's default connections (nil: none).
type Defaults struct {
	Stocks *string `json:"stocks"`
	Crypto *string `json:"crypto"`
}

// SetDefaults records the trader's default connection per asset class. A
// default must be an active connection of the trader whose broker trades
// that class.
func (s *Service) SetDefaults(ctx context.Context, who Actor, req DefaultsRequest) (Defaults, error) {
	if !req.Stocks.Set && !req.Crypto.Set {
		return Defaults{}, &FieldError{Field: "stocks", Message: "Name the default connection for stocks, crypto or both."}
	}
	var out Defaults
	err := store.InTx(ctx, s.DB, func(tx *gorm.DB) error {
		rs, found, err := s.loadSettings(ctx, tx, who.UserID)
		if err != nil {
			return err
		}
		details := map[string]any{}
		for _, c := range []struct {
			field  string
			class  signal.AssetClass
			change DefaultChange
			dst    **string
		}{
			{"stocks", signal.AssetStock, req.Stocks, &rs.DefaultStockConnection},
			{"crypto", signal.AssetCrypto, req.Crypto, &rs.DefaultCryptoConnection},
		} {
			if !c.change.Set {
				continue
			}
			if c.change.ConnectionID == "" {
				*c.dst = nil
				details[c.field] = nil
				continue
			}
			var conn schema.BrokerConnection
			err := tx.Where("id = ? AND user_id = ?", c.change.ConnectionID, who.UserID).Take(&conn).Error
			if errors.Is(err, gorm.ErrRecordNotFound) || err == nil && !conn.IsActive {
				return &FieldError{Field: c.field, Message: "No active connection has that id. Choose one from Settings → Brokers."}
			}
			if err != nil {
				return err
			}
			if !Supports(conn.BrokerType, c.class) {
				return &FieldError{Field: c.field, Message: fmt.Sprintf("%s does not trade %s.", trade.BrokerDisplayName(conn.BrokerType), c.field)}
			}
			id := conn.ID
			*c.dst = &id
			details[c.field] = map[string]any{"connectionId": conn.ID, "broker": conn.BrokerType}
		}
		rs.UpdatedAt = s.now()
		if found {
			err = tx.Save(&rs).Error
		} else {
			// No settings row yet: start from the rules of a new account.
			def := risk.DefaultSettings()
			rs.MaxPositionPct, rs.DailyLossLimitPct, rs.DailyLossLimitAmount = def.MaxPositionPct, def.DailyLossLimitPct, def.DailyLossLimitAmount
			rs.CircuitBreakerPct, rs.StopLossPct, rs.ExtendedHours = def.CircuitBreakerPct, def.StopLossPct, def.ExtendedHours
			err = tx.Create(&rs).Error
		}
		if err != nil {
			return err
		}
		out = Defaults{Stocks: rs.DefaultStockConnection, Crypto: rs.DefaultCryptoConnection}
		_, err = audit.Append(tx, audit.Entry{
			UserID: who.UserID, Action: audit.ActionBrokerDefaultsChanged, ResourceType: "RiskSettings", ResourceID: who.UserID,
			IPAddress: who.IPAddress, UserAgent: who.UserAgent, Status: audit.StatusSuccess, Details: details,
		})
		return err
	})
	return out, err
}

// GetDefaults returns the trader's default connections.
func (s *Service) GetDefaults(ctx context.Context, userID string) (Defaults, error) {
	rs, err := s.riskSettings(ctx, s.DB, userID)
	if err != nil {
		return Defaults{}, err
	}
	return Defaults{Stocks: rs.DefaultStockConnection, Crypto: rs.DefaultCryptoConnection}, nil
}
