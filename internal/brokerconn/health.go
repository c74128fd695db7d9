package brokerconn

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// Health checks (FR-019): every active connection's balance endpoint is
// polled every five minutes. A failure is tried again after reconnecting
// (a fresh adapter: new session, new token, new HTTP connections); when it
// still fails the connection is marked unhealthy and the trader is told
// once (event connection.unhealthy + audit BROKER_UNHEALTHY); the first
// success after that announces the recovery (connection.recovered +
// BROKER_RECOVERED). An unhealthy connection stays active: orders routed to
// it fail with the broker's own reason, and a broker that is only briefly
// down recovers without the trader doing anything.

// HealthResult is the outcome of one check. It holds no secret.
type HealthResult struct {
	ConnectionID string      `json:"connectionId"`
	Broker       string      `json:"broker"`
	Checked      bool        `json:"checked"` // false: the connection is not active any more
	Healthy      bool        `json:"healthy"`
	Changed      bool        `json:"changed"` // the status changed (the trader was told)
	Attempts     int         `json:"attempts"`
	Kind         broker.Kind `json:"kind,omitempty"`
	Message      string      `json:"message,omitempty"`
}

// Check probes one connection and records the result. progress, when not
// nil, is called between tries (activity heartbeats).
func (s *Service) Check(ctx context.Context, connectionID string, progress func()) (HealthResult, error) {
	var row schema.BrokerConnection
	err := s.DB.WithContext(ctx).Where("id = ?", connectionID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return HealthResult{ConnectionID: connectionID}, nil
	}
	if err != nil {
		return HealthResult{}, err
	}
	res := HealthResult{ConnectionID: row.ID, Broker: row.BrokerType}
	if !row.IsActive {
		return res, nil
	}
	attempts := s.HealthAttempts
	if attempts <= 0 {
		attempts = 3
	}
	backoff := s.HealthBackoff
	if backoff <= 0 {
		backoff = 2 * time.Second
	}
	var (
		bal     broker.Balance
		lastErr error
		secrets []string
	)
	for i := 0; i < attempts; i++ {
		res.Attempts = i + 1
		if i > 0 {
			if progress != nil {
				progress()
			}
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(backoff << (i - 1)):
			}
			s.forget(row.ID) // reconnect: a fresh adapter
		}
		var b broker.Broker
		b, lastErr = s.Resolver.Open(ctx, row)
		if lastErr == nil {
			if i == 0 {
				bal, lastErr = b.GetBalance(ctx)
			} else {
				bal, lastErr = b.Connect(ctx)
			}
		}
		if lastErr == nil {
			break
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if secrets == nil {
			secrets = s.secretsOf(row)
		}
		s.log().Info("broker health check failed", zap.String("connection_id", row.ID), zap.String("broker", row.BrokerType),
			zap.Int("attempt", i+1), zap.String("kind", string(broker.KindOf(lastErr))), zap.String("error", scrub(lastErr.Error(), secrets)))
		var be *broker.Error
		if errors.As(lastErr, &be) && be.Kind == broker.KindAuthFailed && i > 0 {
			break // refused credentials do not heal by retrying
		}
	}
	res.Checked = true
	if lastErr == nil {
		res.Healthy = true
	} else {
		res.Kind = broker.KindOf(lastErr)
		detail := ""
		var be *broker.Error
		if errors.As(lastErr, &be) {
			detail = be.Message
		}
		res.Message = scrub(trade.UnhealthyMessage(row.BrokerType, res.Kind, scrub(detail, secrets)), secrets)
	}
	changed, err := s.recordHealth(ctx, row.ID, res, bal)
	if err != nil {
		return res, err
	}
	res.Changed = changed
	return res, nil
}

// secretsOf lists a row's credential values for scrubbing.
func (s *Service) secretsOf(row schema.BrokerConnection) []string {
	creds := broker.Credentials{}
	if len(row.Credentials) == 0 || s.Vault.DecryptJSON(row.UserID, row.ID, row.Credentials, &creds) != nil {
		return []string{}
	}
	defer clear(creds)
	return credentialValues(creds)
}

// recordHealth stores a check's result; on a change of status it writes
// the audit entry and the event in the same transaction.
func (s *Service) recordHealth(ctx context.Context, id string, res HealthResult, bal broker.Balance) (bool, error) {
	now := s.now()
	changed := false
	var userID string
	err := store.InTx(ctx, s.DB, func(tx *gorm.DB) error {
		changed = false
		row, err := lockConnection(tx, "id = ?", id)
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !row.IsActive || row.HealthStatus == HealthValidating || row.HealthStatus == HealthDisconnected {
			return nil
		}
		userID = row.UserID
		cols := map[string]any{"last_health_check": now}
		var action, event, msg, status string
		if res.Healthy {
			value := bal.Equity
			if value.IsZero() {
				value = bal.Cash
			}
			cols["health_status"], cols["health_message"] = HealthHealthy, ""
			cols["account_value"] = decimal.NullDecimal{Decimal: value, Valid: true}
			cols["account_currency"] = strings.ToUpper(bal.Currency)
			if row.HealthStatus == HealthUnhealthy {
				action, event, msg, status = audit.ActionBrokerRecovered, realtime.EventConnectionRecovered, trade.RecoveredMessage(row.BrokerType), audit.StatusSuccess
			}
		} else {
			cols["health_status"], cols["health_message"] = HealthUnhealthy, res.Message
			if row.HealthStatus != HealthUnhealthy {
				action, event, msg, status = audit.ActionBrokerUnhealthy, realtime.EventConnectionUnhealthy, res.Message, audit.StatusFailure
			}
		}
		// updated_at stays: it keys the adapter cache, which a health check
		// must not invalidate.
		if err := tx.Model(&schema.BrokerConnection{}).Where("id = ?", row.ID).UpdateColumns(cols).Error; err != nil {
			return err
		}
		if action == "" {
			return nil
		}
		if err := tx.Where("id = ?", row.ID).Take(&row).Error; err != nil {
			return err
		}
		settings, err := s.riskSettings(ctx, tx, row.UserID)
		if err != nil {
			return err
		}
		changed = true
		e := audit.Entry{UserID: row.UserID, Action: action, ResourceType: "BrokerConnection", ResourceID: row.ID, Status: status,
			Details: map[string]any{"broker": row.BrokerType, "label": row.Label, "message": msg}}
		if status == audit.StatusFailure {
			e.ErrorMessage, e.Details["reason"] = msg, string(res.Kind)
		}
		return record(tx, e, event, eventPayload{Connection: ViewOf(row, settings), Message: msg})
	})
	if err == nil && changed {
		s.committed(userID)
	}
	return changed, err
}

// ActivePage lists active connection ids after afterID in id order, at most
// limit of them (the health sweep's pages).
func (s *Service) ActivePage(ctx context.Context, afterID string, limit int) ([]string, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	var ids []string
	// "is_active" as written in the partial index of active ids
	// (migration 0040), so both engines read that index.
	err := s.DB.WithContext(ctx).Model(&schema.BrokerConnection{}).
		Where("is_active AND id > ?", afterID).Order("id").Limit(limit).Pluck("id", &ids).Error
	return ids, err
}

// Housekeeping limits.
const (
	// PendingTTL: a connection attempt still pending after this was never
	// checked (its workflow could not run); it is deleted with its secrets.
	PendingTTL = time.Hour
	// oauthStateRetention keeps used and expired OAuth states for support.
	oauthStateRetention = 24 * time.Hour
	// claimRetention keeps Schwab order claims far beyond any retry.
	claimRetention = 30 * 24 * time.Hour
)

// Purged counts what PurgeStale deleted.
type Purged struct {
	Pending     int64 `json:"pending"`
	OAuthStates int64 `json:"oauthStates"`
	Claims      int64 `json:"claims"`
}

// PurgeStale deletes pending attempts older than PendingTTL (their sealed
// credentials with them), old OAuth states and old Schwab order claims.
func (s *Service) PurgeStale(ctx context.Context) (Purged, error) {
	now := s.now()
	var p Purged
	err := store.InTx(ctx, s.DB, func(tx *gorm.DB) error {
		res := tx.Where("is_active = ? AND health_status = ? AND created_at < ?", false, HealthValidating, now.Add(-PendingTTL)).
			Delete(&schema.BrokerConnection{})
		if res.Error != nil {
			return res.Error
		}
		p.Pending = res.RowsAffected
		res = tx.Where("expires_at < ?", now.Add(-oauthStateRetention)).Delete(&schema.BrokerOAuthState{})
		if res.Error != nil {
			return res.Error
		}
		p.OAuthStates = res.RowsAffected
		res = tx.Where("created_at < ?", now.Add(-claimRetention)).Delete(&schema.SchwabOrderClaim{})
		p.Claims = res.RowsAffected
		return res.Error
	})
	return p, err
}
