package brokerconn

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

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

// KindAbandoned is the outcome kind of an attempt that was no longer
// pending when it was checked.
const KindAbandoned broker.Kind = "ABANDONED"

// Outcome is the result of a connection attempt. It holds no secret.
type Outcome struct {
	// ConnectionID is the connection that is active now: the new row, or
	// the existing one whose credentials were replaced.
	ConnectionID string          `json:"connectionId"`
	Broker       string          `json:"broker"`
	Connected    bool            `json:"connected"`
	Reconnect    bool            `json:"reconnect"`
	Kind         broker.Kind     `json:"kind,omitempty"` // why not, when !Connected
	Message      string          `json:"message"`
	Detail       string          `json:"detail,omitempty"` // the broker's own words, scrubbed
	AccountValue decimal.Decimal `json:"accountValue"`
	Cash         decimal.Decimal `json:"cash"`
	Currency     string          `json:"currency,omitempty"`
}

// Connect checks an attempt's credentials with the broker's account
// endpoint and records the result: the connection becomes active (a
// re-connect moves the credentials into the existing connection), or the
// pending row is deleted. Broker refusals are outcomes, not errors; an
// error means the attempt could not be decided (database) and may be
// retried: a retry after the decision returns it again.
func (s *Service) Connect(ctx context.Context, a Attempt) (Outcome, error) {
	out := Outcome{ConnectionID: a.ConnectionID, Broker: a.Broker, Reconnect: a.Reconnect()}
	var pending schema.BrokerConnection
	err := s.DB.WithContext(ctx).Where("id = ? AND user_id = ?", a.ConnectionID, a.UserID).Take(&pending).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return s.decided(ctx, a)
	}
	if err != nil {
		return out, err
	}
	out.Broker = pending.BrokerType
	if pending.IsActive {
		return outcomeOf(pending, false), nil
	}
	if pending.HealthStatus != HealthValidating {
		out.Kind, out.Message = KindAbandoned, trade.ConnectAbandonedMessage(pending.BrokerType)
		return out, nil
	}

	creds := broker.Credentials{}
	if err := s.Vault.DecryptJSON(pending.UserID, pending.ID, pending.Credentials, &creds); err != nil {
		return out, fmt.Errorf("brokerconn: credentials of pending connection %s cannot be decrypted: %w", pending.ID, err)
	}
	defer func() { clear(creds) }()
	secrets := credentialValues(creds)

	if pending.BrokerType == "schwab" && creds[CredAuthorizationCode] != "" {
		tokens, err := s.exchangeSchwabCode(ctx, pending, creds)
		var be *broker.Error
		if errors.As(err, &be) {
			return s.refused(ctx, a, pending, err, secrets)
		}
		if err != nil {
			return out, err
		}
		creds = tokens
		secrets = append(secrets, credentialValues(creds)...)
	}
	if pending.BrokerType == "paper" {
		if err := s.openPaperAccount(ctx, creds); err != nil {
			return out, err
		}
	}

	bal, berr := s.check(ctx, pending, creds)
	if berr != nil {
		return s.refused(ctx, a, pending, berr, secrets)
	}
	return s.confirmed(ctx, a, pending, creds, bal)
}

// check opens a fresh adapter (never the cache: the credentials are new)
// and calls its Connect.
func (s *Service) check(ctx context.Context, row schema.BrokerConnection, creds broker.Credentials) (broker.Balance, error) {
	b, err := s.Resolver.Registry.Open(row.BrokerType, broker.Config{
		ConnectionID: row.ID, UserID: row.UserID, Paper: row.Paper, Credentials: creds,
	})
	if err != nil {
		var be *broker.Error
		if !errors.As(err, &be) {
			// A factory refusing the configuration: the credentials cannot be used.
			return broker.Balance{}, broker.NewError(row.BrokerType, broker.KindAuthFailed, "", err)
		}
		return broker.Balance{}, err
	}
	return b.Connect(ctx)
}

func (s *Service) openPaperAccount(ctx context.Context, creds broker.Credentials) error {
	if s.Paper == nil {
		return errors.New("brokerconn: paper trading is not configured")
	}
	cash := DefaultStartingCash
	if v := creds[CredStartingCash]; v != "" {
		d, err := decimal.NewFromString(v)
		if err != nil {
			return fmt.Errorf("brokerconn: stored starting cash is not a number")
		}
		cash = d
	}
	return s.Paper.CreateAccount(ctx, creds[CredAccountID], cash)
}

// decided answers a retry whose attempt row is gone: a re-connect that
// succeeded (its credentials moved into the existing connection) or an
// attempt that failed or was abandoned.
func (s *Service) decided(ctx context.Context, a Attempt) (Outcome, error) {
	if a.ReplaceID != "" {
		var existing schema.BrokerConnection
		err := s.DB.WithContext(ctx).Where("id = ? AND user_id = ?", a.ReplaceID, a.UserID).Take(&existing).Error
		if err == nil && existing.IsActive && existing.HealthStatus == HealthHealthy && !existing.UpdatedAt.Before(a.RequestedAt) {
			return outcomeOf(existing, true), nil
		}
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return Outcome{}, err
		}
	}
	return Outcome{ConnectionID: a.ConnectionID, Broker: a.Broker, Reconnect: a.Reconnect(),
		Kind: KindAbandoned, Message: trade.ConnectAbandonedMessage(a.Broker)}, nil
}

func outcomeOf(c schema.BrokerConnection, reconnect bool) Outcome {
	o := Outcome{ConnectionID: c.ID, Broker: c.BrokerType, Connected: true, Reconnect: reconnect,
		AccountValue: c.AccountValue.Decimal, Currency: c.AccountCurrency}
	if reconnect {
		o.Message = trade.CredentialsUpdatedMessage(c.BrokerType)
	} else {
		o.Message = trade.ConnectedMessage(c.BrokerType, o.AccountValue, o.Currency)
	}
	return o
}

// refused records a failed attempt: the pending row is deleted, the
// trader's audit chain gets the failure and the dashboard an event.
func (s *Service) refused(ctx context.Context, a Attempt, pending schema.BrokerConnection, berr error, secrets []string) (Outcome, error) {
	kind := broker.KindOf(berr)
	detail := ""
	var be *broker.Error
	if errors.As(berr, &be) {
		detail = scrub(be.Message, secrets)
	}
	msg := scrub(trade.ConnectFailureMessage(pending.BrokerType, kind, detail), secrets)
	if kind == KindAbandoned {
		msg = trade.ConnectAbandonedMessage(pending.BrokerType)
	}
	out := Outcome{ConnectionID: pending.ID, Broker: pending.BrokerType, Reconnect: a.Reconnect(), Kind: kind, Message: msg, Detail: detail}
	s.log().Info("broker connection refused", zap.String("connection_id", pending.ID), zap.String("user_id", pending.UserID),
		zap.String("broker", pending.BrokerType), zap.String("kind", string(kind)), zap.String("detail", detail))

	action, resource := audit.ActionBrokerConnected, pending.ID
	if a.Reconnect() {
		action, resource = audit.ActionCredentialsUpdated, a.ReplaceID
	}
	err := store.InTx(ctx, s.DB, func(tx *gorm.DB) error {
		res := tx.Where("id = ? AND is_active = ? AND health_status = ?", pending.ID, false, HealthValidating).
			Delete(&schema.BrokerConnection{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errNotPending
		}
		view := ViewOf(pending, schema.RiskSettings{})
		view.Status, view.StatusMessage = "failed", msg
		return record(tx, audit.Entry{
			UserID: pending.UserID, Action: action, ResourceType: "BrokerConnection", ResourceID: resource,
			IPAddress: a.IPAddress, UserAgent: a.UserAgent, Status: audit.StatusFailure, ErrorMessage: msg,
			Details: map[string]any{"broker": pending.BrokerType, "label": pending.Label, "reason": string(kind)},
		}, realtime.EventConnectionFailed, eventPayload{Connection: view, Message: msg})
	})
	if errors.Is(err, errNotPending) {
		return s.Connect(ctx, a)
	}
	if err != nil {
		return out, err
	}
	s.committed(pending.UserID)
	return out, nil
}

var errNotPending = errors.New("brokerconn: attempt is no longer pending")

// confirmed records a successful attempt in one transaction.
func (s *Service) confirmed(ctx context.Context, a Attempt, pending schema.BrokerConnection, creds broker.Credentials, bal broker.Balance) (Outcome, error) {
	now := s.now()
	value := bal.Equity
	if value.IsZero() {
		value = bal.Cash
	}
	currency := strings.ToUpper(bal.Currency)
	out := Outcome{ConnectionID: pending.ID, Broker: pending.BrokerType, Connected: true, Reconnect: a.Reconnect(),
		AccountValue: value, Cash: bal.Cash, Currency: currency}
	var userID = pending.UserID
	err := store.InTx(ctx, s.DB, func(tx *gorm.DB) error {
		p, err := lockConnection(tx, "id = ?", pending.ID)
		if errors.Is(err, gorm.ErrRecordNotFound) || err == nil && (p.IsActive || p.HealthStatus != HealthValidating) {
			return errNotPending
		}
		if err != nil {
			return err
		}
		health := map[string]any{
			"is_active": true, "health_status": HealthHealthy, "health_message": "", "last_health_check": now,
			"account_value": decimal.NullDecimal{Decimal: value, Valid: true}, "account_currency": currency, "updated_at": now,
		}
		if !a.Reconnect() {
			if err := tx.Model(&schema.BrokerConnection{}).Where("id = ?", p.ID).UpdateColumns(health).Error; err != nil {
				return err
			}
			if err := tx.Where("id = ?", p.ID).Take(&p).Error; err != nil {
				return err
			}
			out.Message = trade.ConnectedMessage(p.BrokerType, value, currency)
			settings, err := s.riskSettings(ctx, tx, userID)
			if err != nil {
				return err
			}
			details := map[string]any{"broker": p.BrokerType, "label": p.Label, "paper": p.Paper,
				"accountValue": value.String(), "currency": currency}
			return record(tx, audit.Entry{
				UserID: userID, Action: audit.ActionBrokerConnected, ResourceType: "BrokerConnection", ResourceID: p.ID,
				IPAddress: a.IPAddress, UserAgent: a.UserAgent, Status: audit.StatusSuccess, Details: details,
			}, realtime.EventConnectionConnected, eventPayload{Connection: ViewOf(p, settings), Message: out.Message})
		}

		old, err := lockConnection(tx, "id = ? AND user_id = ?", a.ReplaceID, userID)
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return errReplacedGone
		}
		if err != nil {
			return err
		}
		changed := changedFields(s.Vault, old, creds)
		blob, ver, err := s.Vault.EncryptJSON(userID, old.ID, creds)
		if err != nil {
			return err
		}
		health["credentials"], health["key_version"], health["label"] = blob, ver, p.Label
		if err := tx.Model(&schema.BrokerConnection{}).Where("id = ?", old.ID).UpdateColumns(health).Error; err != nil {
			return err
		}
		if err := tx.Where("id = ?", p.ID).Delete(&schema.BrokerConnection{}).Error; err != nil {
			return err
		}
		if err := tx.Where("id = ?", old.ID).Take(&old).Error; err != nil {
			return err
		}
		out.ConnectionID = old.ID
		out.Message = trade.CredentialsUpdatedMessage(old.BrokerType)
		settings, err := s.riskSettings(ctx, tx, userID)
		if err != nil {
			return err
		}
		return record(tx, audit.Entry{
			UserID: userID, Action: audit.ActionCredentialsUpdated, ResourceType: "BrokerConnection", ResourceID: old.ID,
			IPAddress: a.IPAddress, UserAgent: a.UserAgent, Status: audit.StatusSuccess,
			Details: map[string]any{"broker": old.BrokerType, "label": old.Label, "changedFields": changed,
				"accountValue": value.String(), "currency": currency},
		}, realtime.EventConnectionConnected, eventPayload{Connection: ViewOf(old, settings), Message: out.Message})
	})
	switch {
	case errors.Is(err, errNotPending):
		return s.Connect(ctx, a)
	case errors.Is(err, errReplacedGone):
		return s.refused(ctx, a, pending, broker.NewError(pending.BrokerType, KindAbandoned, "", nil), nil)
	case err != nil:
		return out, err
	}
	s.forget(out.ConnectionID)
	s.committed(userID)
	s.log().Info("broker connected", zap.String("connection_id", out.ConnectionID), zap.String("user_id", userID),
		zap.String("broker", pending.BrokerType), zap.Bool("reconnect", a.Reconnect()))
	return out, nil
}

var errReplacedGone = errors.New("brokerconn: the connection to update no longer exists")

// changedFields names the credential fields whose values differ between
// the stored credentials of old and next, in camelCase (the SPEC's
// CREDENTIALS_UPDATED example: ["apiKey", "apiSecret"]). Values are never
// returned.
func changedFields(v Vault, old schema.BrokerConnection, next broker.Credentials) []string {
	prev := broker.Credentials{}
	if len(old.Credentials) > 0 {
		if err := v.DecryptJSON(old.UserID, old.ID, old.Credentials, &prev); err != nil {
			prev = broker.Credentials{}
		}
	}
	defer clear(prev)
	set := map[string]bool{}
	for k, val := range next {
		if prev[k] != val {
			set[k] = true
		}
	}
	for k := range prev {
		if _, ok := next[k]; !ok {
			set[k] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, camelCase(k))
	}
	sort.Strings(out)
	return out
}

func camelCase(snake string) string {
	parts := strings.Split(snake, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}
