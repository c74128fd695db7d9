package brokerconn

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/schwab"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// SchwabTokens persists the tokens the Schwab adapter refreshes: it merges
// them into the connection's sealed credentials, in one transaction, and
// bumps the row's updated_at so every process's Resolver reopens the
// adapter with them. It implements schwab.TokenStore.
type SchwabTokens struct {
	DB    *gorm.DB
	Vault Vault
	Log   *zap.Logger
}

var _ schwab.TokenStore = (*SchwabTokens)(nil)

// Save implements schwab.TokenStore. A failure is logged (never with a
// token) and returned; the adapter keeps the tokens in memory.
func (s *SchwabTokens) Save(ctx context.Context, t schwab.Tokens) error {
	err := store.InTx(ctx, s.DB, func(tx *gorm.DB) error {
		row, err := lockConnection(tx, "id = ?", t.ConnectionID)
		if err != nil {
			return err
		}
		if row.BrokerType != schwab.Name || len(row.Credentials) == 0 {
			return errors.New("brokerconn: not a connected Schwab connection")
		}
		creds := broker.Credentials{}
		if err := s.Vault.DecryptJSON(row.UserID, row.ID, row.Credentials, &creds); err != nil {
			return err
		}
		defer clear(creds)
		if creds[CredAuthorizationCode] != "" {
			return errors.New("brokerconn: the connection still waits for its authorization code")
		}
		for k, v := range t.Credentials() {
			creds[k] = v
		}
		blob, ver, err := s.Vault.EncryptJSON(row.UserID, row.ID, creds)
		if err != nil {
			return err
		}
		return tx.Model(&schema.BrokerConnection{}).Where("id = ?", row.ID).
			UpdateColumns(map[string]any{"credentials": blob, "key_version": ver, "updated_at": time.Now().UTC()}).Error
	})
	if err != nil && s.Log != nil {
		s.Log.Warn("refreshed Schwab tokens not saved", zap.String("connection_id", t.ConnectionID), zap.String("error", err.Error()))
	}
	return err
}

// SchwabClaims is the database ClaimStore of the Schwab adapter: unique
// indexes on (account, order id) and (account, client order id) make each
// claim atomic across worker processes. It implements schwab.ClaimStore.
type SchwabClaims struct {
	DB *gorm.DB
}

var _ schwab.ClaimStore = (*SchwabClaims)(nil)

// Claim implements schwab.ClaimStore.
func (c *SchwabClaims) Claim(ctx context.Context, account, orderID, clientOrderID string) (bool, error) {
	row := schema.SchwabOrderClaim{Account: account, OrderID: orderID, ClientOrderID: clientOrderID, CreatedAt: time.Now().UTC()}
	err := store.InTx(ctx, c.DB, func(tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error
	})
	if err != nil {
		return false, err
	}
	var owner schema.SchwabOrderClaim
	err = c.DB.WithContext(ctx).Where("account = ? AND order_id = ?", account, orderID).Take(&owner).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil // clientOrderID already owns another order
	}
	if err != nil {
		return false, err
	}
	return owner.ClientOrderID == clientOrderID, nil
}

// Lookup implements schwab.ClaimStore.
func (c *SchwabClaims) Lookup(ctx context.Context, account, clientOrderID string) (string, bool, error) {
	var row schema.SchwabOrderClaim
	err := c.DB.WithContext(ctx).Where("account = ? AND client_order_id = ?", account, clientOrderID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return row.OrderID, true, nil
}
