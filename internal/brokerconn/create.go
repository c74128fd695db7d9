package brokerconn

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// Attempt is a connection attempt waiting for its check: the pending row
// holding the new credentials, and the existing connection they replace
// (empty for a new connection). It holds no secret and is what
// ConnectBrokerWorkflow carries.
type Attempt struct {
	ConnectionID string    `json:"connectionId"` // the pending row
	UserID       string    `json:"userId"`
	Broker       string    `json:"broker"`
	ReplaceID    string    `json:"replaceId,omitempty"`
	RequestedAt  time.Time `json:"requestedAt"`
	IPAddress    string    `json:"ipAddress,omitempty"`
	UserAgent    string    `json:"userAgent,omitempty"`
}

// Reconnect reports whether the attempt replaces an existing connection's
// credentials.
func (a Attempt) Reconnect() bool { return a.ReplaceID != "" }

// CreatePending validates a request and seals its credentials into a new,
// inactive row (health "validating"). With replaceID it prepares new
// credentials for that existing connection of the trader (the broker type
// must match); the existing connection keeps working until they are
// confirmed.
func (s *Service) CreatePending(ctx context.Context, userID string, req Request, replaceID string) (Attempt, error) {
	var existing schema.BrokerConnection
	if replaceID != "" {
		err := s.DB.WithContext(ctx).Where("id = ? AND user_id = ?", replaceID, userID).Take(&existing).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Attempt{}, ErrNotFound
		}
		if err != nil {
			return Attempt{}, err
		}
		if req.Broker == "" {
			req.Broker = existing.BrokerType
		}
		if req.Broker != existing.BrokerType {
			return Attempt{}, &FieldError{Field: "broker", Message: "A connection keeps its broker; connect " +
				trade.BrokerDisplayName(req.Broker) + " as a new connection instead."}
		}
		if existing.BrokerType == "paper" {
			return Attempt{}, &FieldError{Field: "credentials", Message: "A paper connection has no credentials to update."}
		}
		req.Paper = existing.Paper
		if req.Label == "" {
			req.Label = existing.Label
		}
	}
	creds, err := ValidateRequest(req, s.AllowCustomURLs)
	if err != nil {
		return Attempt{}, err
	}
	name := req.Broker
	paper := req.Paper
	if name == "paper" {
		if s.Paper == nil {
			return Attempt{}, &FieldError{Field: "broker", Message: "Paper trading is not available on this server."}
		}
		paper = true
		creds[CredAccountID] = uuid.NewString()
	}
	if replaceID == "" && !paper {
		if err := s.checkPlanForNew(ctx, userID, name); err != nil {
			return Attempt{}, err
		}
	}
	label := req.Label
	if label == "" {
		label = trade.BrokerDisplayName(name)
		if paper && name != "paper" {
			label += " (paper)"
		}
	}
	return s.insertPending(ctx, userID, name, label, paper, creds, replaceID)
}

// insertPending stores a pending row with sealed credentials.
func (s *Service) insertPending(ctx context.Context, userID, name, label string, paper bool, creds broker.Credentials, replaceID string) (Attempt, error) {
	now := s.now()
	row := schema.BrokerConnection{
		ID: uuid.NewString(), UserID: userID, BrokerType: name, Label: label, Paper: paper,
		IsActive: false, HealthStatus: HealthValidating, CreatedAt: now, UpdatedAt: now,
	}
	blob, ver, err := s.Vault.EncryptJSON(userID, row.ID, creds)
	if err != nil {
		return Attempt{}, err
	}
	row.Credentials, row.KeyVersion = blob, ver
	if err := store.InTx(ctx, s.DB, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		// gorm leaves a false IsActive to the column default (true).
		return tx.Model(&schema.BrokerConnection{}).Where("id = ?", row.ID).UpdateColumn("is_active", false).Error
	}); err != nil {
		return Attempt{}, err
	}
	return Attempt{ConnectionID: row.ID, UserID: userID, Broker: name, ReplaceID: replaceID, RequestedAt: now}, nil
}

// Abandon deletes a pending row whose check could not be started.
func (s *Service) Abandon(ctx context.Context, a Attempt) error {
	return store.InTx(ctx, s.DB, func(tx *gorm.DB) error {
		return tx.Where("id = ? AND user_id = ? AND is_active = ? AND health_status = ?",
			a.ConnectionID, a.UserID, false, HealthValidating).Delete(&schema.BrokerConnection{}).Error
	})
}
