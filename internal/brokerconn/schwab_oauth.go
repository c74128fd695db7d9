package brokerconn

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/schwab"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Schwab connects through its OAuth consent: the dashboard asks for the
// authorization URL (BeginSchwab), the trader signs in at Schwab, Schwab
// redirects the browser to our callback with a code and the state, and
// CompleteSchwab seals the code into a pending row whose check
// (ConnectBrokerWorkflow → Connect) trades it for tokens. The code and the
// tokens never leave the vault and activity memory.

// CredAuthorizationCode holds the OAuth code of a pending Schwab row until
// the check trades it for tokens.
const CredAuthorizationCode = "authorization_code"

// OAuthStateTTL is how long the trader has to finish Schwab's sign-in.
const OAuthStateTTL = 10 * time.Minute

var (
	// ErrSchwabNotConfigured: the server has no Schwab app (SCHWAB_CLIENT_ID).
	ErrSchwabNotConfigured = errors.New("brokerconn: Schwab is not configured on this server")
	// ErrOAuthState: the callback's state is unknown, already used or expired.
	ErrOAuthState = errors.New("brokerconn: unknown, used or expired authorization state")
)

type oauthOptions struct {
	AccountNumber string `json:"account_number,omitempty"`
}

// SchwabAuthorization is where to send the trader.
type SchwabAuthorization struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// BeginSchwab prepares a Schwab consent for the trader: a new connection,
// or connectionID's re-authorization (its refresh token expires after seven
// days). accountNumber chooses the account when the login holds several.
func (s *Service) BeginSchwab(ctx context.Context, userID, connectionID, label, accountNumber string) (SchwabAuthorization, error) {
	if s.Schwab == nil {
		return SchwabAuthorization{}, ErrSchwabNotConfigured
	}
	if err := ValidateLabel(label); err != nil {
		return SchwabAuthorization{}, err
	}
	accountNumber = strings.TrimSpace(accountNumber)
	if accountNumber != "" && (len(accountNumber) > 20 || strings.ContainsFunc(accountNumber, func(r rune) bool { return !unicode.IsDigit(r) })) {
		return SchwabAuthorization{}, &FieldError{Field: "accountNumber", Message: "The Schwab account number is digits only."}
	}
	if connectionID == "" {
		if err := s.checkPlanForNew(ctx, userID, "schwab"); err != nil {
			return SchwabAuthorization{}, err
		}
	}
	if connectionID != "" {
		var c schema.BrokerConnection
		err := s.DB.WithContext(ctx).Where("id = ? AND user_id = ? AND broker_type = ?", connectionID, userID, "schwab").Take(&c).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return SchwabAuthorization{}, ErrNotFound
		}
		if err != nil {
			return SchwabAuthorization{}, err
		}
		if label == "" {
			label = c.Label
		}
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return SchwabAuthorization{}, err
	}
	state := base64.RawURLEncoding.EncodeToString(raw)
	now := s.now()
	row := schema.BrokerOAuthState{ID: uuid.NewString(), StateHash: hashState(state), UserID: userID, Broker: "schwab",
		ConnectionID: connectionID, Label: label, CreatedAt: now, ExpiresAt: now.Add(OAuthStateTTL)}
	if accountNumber != "" {
		blob, ver, err := s.Vault.EncryptJSON(userID, row.ID, oauthOptions{AccountNumber: accountNumber})
		if err != nil {
			return SchwabAuthorization{}, err
		}
		row.Options, row.KeyVersion = blob, ver
	}
	if err := store.InTx(ctx, s.DB, func(tx *gorm.DB) error { return tx.Create(&row).Error }); err != nil {
		return SchwabAuthorization{}, err
	}
	return SchwabAuthorization{URL: s.Schwab.AuthCodeURL(state), ExpiresAt: row.ExpiresAt}, nil
}

func hashState(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// CompleteSchwab consumes the callback's state (once) and seals the code
// into a pending Schwab row; the returned attempt is checked by
// ConnectBrokerWorkflow. currentUserID is the signed-in user of the
// browser; it must be the user who started the consent (an anonymous or
// other browser cannot finish it: a consent link sent to a victim must not
// connect the victim's Schwab account to the sender's tradeexec account).
func (s *Service) CompleteSchwab(ctx context.Context, state, code, currentUserID string) (Attempt, error) {
	if s.Schwab == nil {
		return Attempt{}, ErrSchwabNotConfigured
	}
	state, code = strings.TrimSpace(state), strings.TrimSpace(code)
	if state == "" || len(state) > 128 {
		return Attempt{}, ErrOAuthState
	}
	if code == "" || len(code) > 2048 || strings.ContainsFunc(code, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) {
		return Attempt{}, &FieldError{Field: "code", Message: "Schwab sent no usable authorization code. Start again from Settings → Brokers."}
	}
	now := s.now()
	var st schema.BrokerOAuthState
	err := store.InTx(ctx, s.DB, func(tx *gorm.DB) error {
		if err := tx.Where("state_hash = ?", hashState(state)).Take(&st).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrOAuthState
			}
			return err
		}
		// Only the trader who started the consent, signed in, may finish it
		// (the API also checks the browser binding cookie).
		if st.UsedAt != nil || !now.Before(st.ExpiresAt) || currentUserID == "" || currentUserID != st.UserID {
			return ErrOAuthState
		}
		res := tx.Model(&schema.BrokerOAuthState{}).Where("id = ? AND used_at IS NULL", st.ID).UpdateColumn("used_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrOAuthState
		}
		return nil
	})
	if err != nil {
		return Attempt{}, err
	}
	var opts oauthOptions
	if len(st.Options) > 0 {
		if err := s.Vault.DecryptJSON(st.UserID, st.ID, st.Options, &opts); err != nil {
			return Attempt{}, err
		}
	}
	creds := broker.Credentials{CredAuthorizationCode: code}
	if opts.AccountNumber != "" {
		creds[schwab.CredAccountNumber] = opts.AccountNumber
	}
	label := st.Label
	if label == "" {
		label = "Schwab"
	}
	if st.ConnectionID != "" {
		var c schema.BrokerConnection
		err := s.DB.WithContext(ctx).Where("id = ? AND user_id = ?", st.ConnectionID, st.UserID).Take(&c).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Attempt{}, ErrNotFound
		}
		if err != nil {
			return Attempt{}, err
		}
		if opts.AccountNumber == "" {
			// Keep the account chosen before.
			prev := broker.Credentials{}
			if len(c.Credentials) > 0 && s.Vault.DecryptJSON(c.UserID, c.ID, c.Credentials, &prev) == nil && prev[schwab.CredAccountNumber] != "" {
				creds[schwab.CredAccountNumber] = prev[schwab.CredAccountNumber]
			}
			clear(prev)
		}
	}
	return s.insertPending(ctx, st.UserID, "schwab", label, false, creds, st.ConnectionID)
}

// exchangeSchwabCode trades a pending row's authorization code for tokens
// and seals them into the row at once (the code works only once, so a
// retried check must find the tokens).
func (s *Service) exchangeSchwabCode(ctx context.Context, pending schema.BrokerConnection, creds broker.Credentials) (broker.Credentials, error) {
	if s.Schwab == nil {
		return nil, broker.NewError("schwab", broker.KindAuthFailed, "Schwab connections are not configured on this server. Contact support.", nil)
	}
	tokens, err := s.Schwab.Exchange(ctx, pending.ID, creds[CredAuthorizationCode])
	if err != nil {
		return nil, err
	}
	next := tokens.Credentials()
	if acct := creds[schwab.CredAccountNumber]; acct != "" {
		next[schwab.CredAccountNumber] = acct
	}
	blob, ver, err := s.Vault.EncryptJSON(pending.UserID, pending.ID, next)
	if err != nil {
		return nil, err
	}
	err = store.InTx(ctx, s.DB, func(tx *gorm.DB) error {
		return tx.Model(&schema.BrokerConnection{}).Where("id = ? AND health_status = ?", pending.ID, HealthValidating).
			UpdateColumns(map[string]any{"credentials": blob, "key_version": ver}).Error
	})
	if err != nil {
		return nil, err
	}
	return next, nil
}
