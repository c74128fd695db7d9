package brokerconn

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/shopspring/decimal"
	"go.uber.org/zap"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker/schwab"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// The life of a connection (the Service):
//
//	API  POST /brokers ─► CreatePending: credentials sealed into a NEW row,
//	                      inactive, health "validating"
//	     ConnectBrokerWorkflow ─► Connect (activity): decrypt, (Schwab: trade
//	                      the authorization code for tokens), broker.Connect;
//	                      success: the row becomes active (or, for a
//	                      re-connect, its credentials move into the existing
//	                      row) + audit BROKER_CONNECTED / CREDENTIALS_UPDATED
//	                      + event, in one transaction; failure: the row is
//	                      deleted + audit (status failure) + event
//	     DELETE /brokers/{id} ─► Disconnect: inactive, credentials erased
//	     health schedule ─► Check every 5 minutes per active connection
//
// Credentials exist in plaintext only inside Connect and Check (activity
// memory); every text that leaves them (results, audit, events, logs) is
// built from typed broker errors and scrubbed of the connection's
// credential values.

// Health statuses of a connection.
const (
	HealthValidating   = "validating"
	HealthHealthy      = "healthy"
	HealthUnhealthy    = "unhealthy"
	HealthDisconnected = "disconnected"
)

// Vault seals and opens credentials bound to a user and a row.
type Vault interface {
	Decrypter
	EncryptJSON(userID, rowID string, v any) ([]byte, int, error)
}

// PaperAccounts opens paper-broker accounts (paper.Engine).
type PaperAccounts interface {
	CreateAccount(ctx context.Context, accountID string, cash decimal.Decimal) error
}

// Service manages connections. Safe for concurrent use.
type Service struct {
	DB       *gorm.DB
	Resolver *Resolver // its Registry opens adapters; its cache is dropped on change
	Vault    Vault
	// Paper opens paper accounts; nil refuses paper connections.
	Paper PaperAccounts
	// Schwab runs Schwab's OAuth consent; nil: Schwab is not offered.
	Schwab *schwab.OAuth
	// AllowCustomURLs accepts base_url credentials (fakes, dev); never in
	// production, where they would send a trader's keys anywhere.
	AllowCustomURLs bool
	Log             *zap.Logger
	// Now is the clock (UTC); nil means time.Now.
	Now func() time.Time
	// Committed is called after a transaction wrote outbox events for a user.
	Committed func(userID string)
	// HealthAttempts is how often a failing check is tried (reconnecting
	// between tries) before the connection is marked unhealthy; 0 means 3.
	HealthAttempts int
	// HealthBackoff is the wait before the second try, doubled after; 0
	// means 2 s.
	HealthBackoff time.Duration
}

// ErrNotFound: no such connection of this user.
var ErrNotFound = errors.New("brokerconn: connection not found")

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *zap.Logger {
	if s.Log == nil {
		return zap.NewNop()
	}
	return s.Log
}

func (s *Service) committed(userID string) {
	if s.Committed != nil {
		s.Committed(userID)
	}
}

func (s *Service) forget(id string) {
	if s.Resolver != nil {
		s.Resolver.Forget(id)
	}
}

// View is a connection as the API and events show it: no credentials.
type View struct {
	ID              string           `json:"id"`
	Broker          string           `json:"broker"`
	BrokerName      string           `json:"brokerName"`
	Label           string           `json:"label"`
	Paper           bool             `json:"paper"`
	Active          bool             `json:"active"`
	Status          string           `json:"status"`
	StatusMessage   string           `json:"statusMessage,omitempty"`
	AccountValue    *decimal.Decimal `json:"accountValue,omitempty"`
	AccountCurrency string           `json:"accountCurrency,omitempty"`
	LastHealthCheck *time.Time       `json:"lastHealthCheck,omitempty"`
	// DefaultFor lists the asset classes routed here by default ("stocks",
	// "crypto").
	DefaultFor []string  `json:"defaultFor"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// ViewOf renders a row; settings marks the defaults (may be zero).
func ViewOf(c schema.BrokerConnection, settings schema.RiskSettings) View {
	v := View{
		ID: c.ID, Broker: c.BrokerType, BrokerName: trade.BrokerDisplayName(c.BrokerType), Label: c.Label,
		Paper: c.Paper, Active: c.IsActive, Status: c.HealthStatus, StatusMessage: c.HealthMessage,
		AccountCurrency: c.AccountCurrency, LastHealthCheck: c.LastHealthCheck,
		DefaultFor: []string{}, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
	}
	if v.Status == "" && c.IsActive {
		v.Status = HealthHealthy
	}
	if c.AccountValue.Valid {
		d := c.AccountValue.Decimal
		v.AccountValue = &d
	}
	if settings.DefaultStockConnection != nil && *settings.DefaultStockConnection == c.ID {
		v.DefaultFor = append(v.DefaultFor, "stocks")
	}
	if settings.DefaultCryptoConnection != nil && *settings.DefaultCryptoConnection == c.ID {
		v.DefaultFor = append(v.DefaultFor, "crypto")
	}
	if v.LastHealthCheck != nil {
		t := v.LastHealthCheck.UTC()
		v.LastHealthCheck = &t
	}
	return v
}

// List returns the trader's connections, oldest first. Disconnected ones
// are left out, and so are attempts still being checked (a re-connect's
// attempt would show as a second connection); Get and the outcome's event
// report on those.
func (s *Service) List(ctx context.Context, userID string) ([]View, error) {
	var rows []schema.BrokerConnection
	if err := s.DB.WithContext(ctx).Where("user_id = ? AND health_status NOT IN ?", userID, []string{HealthDisconnected, HealthValidating}).
		Find(&rows).Error; err != nil {
		return nil, err
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].CreatedAt.Before(rows[j].CreatedAt) })
	settings, err := s.riskSettings(ctx, s.DB, userID)
	if err != nil {
		return nil, err
	}
	out := make([]View, 0, len(rows))
	for _, r := range rows {
		out = append(out, ViewOf(r, settings))
	}
	return out, nil
}

// Get returns one connection of the trader.
func (s *Service) Get(ctx context.Context, userID, id string) (View, error) {
	var row schema.BrokerConnection
	err := s.DB.WithContext(ctx).Where("id = ? AND user_id = ?", id, userID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return View{}, ErrNotFound
	}
	if err != nil {
		return View{}, err
	}
	settings, err := s.riskSettings(ctx, s.DB, userID)
	if err != nil {
		return View{}, err
	}
	return ViewOf(row, settings), nil
}

// riskSettings reads the trader's settings row; zero when there is none.
func (s *Service) riskSettings(ctx context.Context, db *gorm.DB, userID string) (schema.RiskSettings, error) {
	rs, _, err := s.loadSettings(ctx, db, userID)
	return rs, err
}

// loadSettings reads the trader's settings row and whether it exists.
func (s *Service) loadSettings(ctx context.Context, db *gorm.DB, userID string) (schema.RiskSettings, bool, error) {
	var rs schema.RiskSettings
	err := db.WithContext(ctx).Where("user_id = ?", userID).Take(&rs).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return schema.RiskSettings{UserID: userID}, false, nil
	}
	return rs, err == nil, err
}

// lockConnection reads a row inside tx, locking it on PostgreSQL (SQLite
// transactions already hold the write lock).
func lockConnection(tx *gorm.DB, where string, args ...any) (schema.BrokerConnection, error) {
	q := tx.Where(where, args...)
	if store.DialectOf(tx) == store.Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var row schema.BrokerConnection
	err := q.Take(&row).Error
	return row, err
}

// record appends the audit entry, then the outbox event, in tx.
func record(tx *gorm.DB, e audit.Entry, eventType string, payload any) error {
	if _, err := audit.Append(tx, e); err != nil {
		return err
	}
	if eventType == "" {
		return nil
	}
	_, err := realtime.AppendEvent(tx, e.UserID, eventType, payload)
	return err
}

// eventPayload is the body of every connection event.
type eventPayload struct {
	Connection View   `json:"connection"`
	Message    string `json:"message,omitempty"`
}
