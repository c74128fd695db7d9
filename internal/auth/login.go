package auth

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	mailout "github.com/tradeexec/tradeexec/internal/mail"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

const (
	maxEmailLength       = 254
	maxDisplayNameLength = 100
)

// NormalizeEmail trims and lower-cases an address and checks it is a plain
// addr-spec (no display name, no comments).
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" || len(e) > maxEmailLength || !utf8.ValidString(e) {
		return "", ErrInvalidEmail
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" || !strings.Contains(e[strings.LastIndex(e, "@"):], ".") {
		return "", ErrInvalidEmail
	}
	return e, nil
}

// Registration is a new email/password account.
type Registration struct {
	Email       string
	Password    string
	DisplayName string
}

// Register creates a trader account with an email and password (policy:
// CheckPasswordPolicy) and signs it in. An address already in use gives
// ErrRegistrationFailed.
func (s *Service) Register(ctx context.Context, r Registration, c Client) (Tokens, error) {
	email, err := NormalizeEmail(r.Email)
	if err != nil {
		return Tokens{}, err
	}
	if err := CheckPasswordPolicy(r.Password); err != nil {
		return Tokens{}, err
	}
	name := strings.TrimSpace(r.DisplayName)
	if name == "" {
		name = email[:strings.Index(email, "@")]
	}
	name = truncate(name, maxDisplayNameLength)
	hash, err := HashPassword(r.Password, s.cfg.Password)
	if err != nil {
		return Tokens{}, err
	}
	key, err := s.keys.signing(ctx)
	if err != nil {
		return Tokens{}, err
	}
	var out Tokens
	err = store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		now := s.now()
		user := schema.User{ID: uuid.NewString(), Email: &email, DisplayName: name, PasswordHash: hash, Role: string(RoleTrader),
			SubscriptionTier: "free", SubscriptionStatus: "active", CreatedAt: now, LastLoginAt: &now}
		if err := tx.Create(&user).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return ErrRegistrationFailed
			}
			return err
		}
		if err := appendAudit(tx, audit.Entry{UserID: user.ID, Action: ActionUserRegistered, ResourceType: "User",
			ResourceID: user.ID, Details: map[string]any{"method": ProviderPassword}}, c); err != nil {
			return err
		}
		if err := appendAudit(tx, audit.Entry{UserID: user.ID, Action: audit.ActionLoginSuccess, ResourceType: "User",
			ResourceID: user.ID, Details: map[string]any{"method": ProviderPassword}}, c); err != nil {
			return err
		}
		out, err = s.startSession(tx, key, user, ProviderPassword, c)
		return err
	})
	if errors.Is(err, ErrRegistrationFailed) {
		return Tokens{}, err
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: register: %w", err)
	}
	return out, nil
}

// Login signs in with email and password. Every failure — unknown
// account, account without a password, wrong password, malformed email —
// is ErrAuthFailed and takes the same time (a password hash is always
// checked). Failures are recorded (LOGIN_FAILED); more than
// FailedLoginThreshold for one account within FailedLoginWindow raise a
// security alert.
func (s *Service) Login(ctx context.Context, email, password string, c Client) (Tokens, error) {
	normalized, emailErr := NormalizeEmail(email)
	if emailErr != nil {
		normalized = strings.ToLower(strings.TrimSpace(email))
	}
	if err := s.checkThrottle(ctx, HashToken(normalized)); err != nil {
		return Tokens{}, err
	}
	var user schema.User
	found := false
	if emailErr == nil {
		err := s.db.WithContext(ctx).Take(&user, "email = ?", normalized).Error
		switch {
		case err == nil:
			found = user.PasswordHash != ""
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return Tokens{}, fmt.Errorf("auth: load user: %w", err)
		}
	}
	hash := s.dummyHash
	if found {
		hash = user.PasswordHash
	}
	ok, rehash := VerifyPassword(hash, password, s.cfg.Password)
	ok = ok && found
	if !ok {
		if err := s.recordFailure(ctx, normalized, user.ID, c); err != nil {
			return Tokens{}, err
		}
		return Tokens{}, ErrAuthFailed
	}
	newHash := ""
	if rehash {
		if h, err := HashPassword(password, s.cfg.Password); err == nil {
			newHash = h
		}
	}
	key, err := s.keys.signing(ctx)
	if err != nil {
		return Tokens{}, err
	}
	var out Tokens
	notified := false
	err = store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		now := s.now()
		updates := map[string]any{"last_login_at": now}
		if newHash != "" {
			updates["password_hash"] = newHash
		}
		if err := tx.Model(&schema.User{}).Where("id = ?", user.ID).Updates(updates).Error; err != nil {
			return err
		}
		if err := tx.Create(&schema.LoginAttempt{ID: uuid.NewString(), EmailHash: HashToken(normalized), UserID: user.ID,
			IPAddress: truncate(c.IP, 64), Succeeded: true, CreatedAt: now}).Error; err != nil {
			return err
		}
		if err := appendAudit(tx, audit.Entry{UserID: user.ID, Action: audit.ActionLoginSuccess, ResourceType: "User",
			ResourceID: user.ID, Details: map[string]any{"method": ProviderPassword}}, c); err != nil {
			return err
		}
		var err error
		if notified, err = s.noticeIfNewClient(tx, user.ID, c); err != nil {
			return err
		}
		out, err = s.startSession(tx, key, user, ProviderPassword, c)
		return err
	})
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: login: %w", err)
	}
	if notified {
		s.committed(user.ID)
	}
	return out, nil
}

// recordFailure stores a failed attempt, records LOGIN_FAILED (on the
// account's chain when it exists, else the anonymous chain) and raises a
// security alert when the account crosses the threshold.
func (s *Service) recordFailure(ctx context.Context, email, userID string, c Client) error {
	emailHash := HashToken(email)
	return store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		now := s.now()
		if err := tx.Create(&schema.LoginAttempt{ID: uuid.NewString(), EmailHash: emailHash, UserID: userID,
			IPAddress: truncate(c.IP, 64), CreatedAt: now}).Error; err != nil {
			return err
		}
		chain := audit.AnonymousUserID
		if userID != "" {
			chain = userID
		}
		if err := appendAudit(tx, audit.Entry{UserID: chain, Action: audit.ActionLoginFailed, ResourceType: "User",
			ResourceID: userID, Status: audit.StatusFailure, ErrorMessage: "Authentication failed",
			Details: map[string]any{"method": ProviderPassword, "email_sha256": emailHash}}, c); err != nil {
			return err
		}
		var failures []schema.LoginAttempt
		if err := tx.Where("email_hash = ? AND succeeded = ? AND created_at >= ?", emailHash, false, now.Add(-FailedLoginWindow)).
			Find(&failures).Error; err != nil {
			return err
		}
		if len(failures) != FailedLoginThreshold+1 {
			return nil
		}
		var ips []string
		seen := map[string]bool{}
		for _, f := range failures {
			if !seen[f.IPAddress] {
				seen[f.IPAddress] = true
				ips = append(ips, f.IPAddress)
			}
		}
		return s.cfg.Alerts.Alert(tx, SecurityAlert{Kind: "failed_logins", UserID: userID, EmailHash: emailHash,
			Count: len(failures), Window: FailedLoginWindow, IPs: ips})
	})
}

// noticeIfNewClient tells the user "New login detected from …" when they
// have signed in before but never from this network and user agent.
func (s *Service) noticeIfNewClient(tx *gorm.DB, userID string, c Client) (bool, error) {
	var prior, same int64
	since := s.now().Add(-90 * 24 * time.Hour)
	base := tx.Model(&schema.Session{}).Where("user_id = ? AND kind = ? AND created_at >= ?", userID, KindBrowser, since)
	if err := base.Count(&prior).Error; err != nil {
		return false, err
	}
	if prior == 0 {
		return false, nil
	}
	if err := tx.Model(&schema.Session{}).Where("user_id = ? AND kind = ? AND created_at >= ? AND network = ? AND user_agent_hash = ?",
		userID, KindBrowser, since, c.Network(), c.UserAgentHash()).Count(&same).Error; err != nil {
		return false, err
	}
	if same > 0 {
		return false, nil
	}
	if err := s.cfg.Notifier.Notify(tx, userID, Notice{Kind: NoticeNewLogin, Message: noticeNewLogin(c), IP: c.IP, At: s.now()}); err != nil {
		return false, err
	}
	// And by mail (sent after commit by the mail relay).
	err := mailout.Enqueue(tx, userID, mailout.KindNewSignIn, map[string]string{"Where": c.Describe(),
		"Date": s.now().Format("Jan 2, 2006 15:04 UTC")}, s.now())
	return err == nil, err
}

// FreshSignIn is how recent the Discord sign-in must be to set a first
// password.
const FreshSignIn = 10 * time.Minute

// ChangePassword replaces a user's password after checking the current one
// (accounts that signed up through a provider and have none set their
// first password without it). Every other session of the user ends.
// Records PASSWORD_CHANGED, or CREDENTIALS_UPDATED for a first password.
func (s *Service) ChangePassword(ctx context.Context, userID, sessionID, current, next string, c Client) error {
	var user schema.User
	if err := s.db.WithContext(ctx).Take(&user, "id = ?", userID).Error; err != nil {
		return fmt.Errorf("auth: load user: %w", err)
	}
	first := user.PasswordHash == ""
	if first {
		var sess schema.Session
		if err := s.db.WithContext(ctx).Take(&sess, "id = ? AND user_id = ?", sessionID, userID).Error; err != nil {
			return ErrFreshSignInRequired
		}
		if sess.Provider != ProviderDiscord || s.now().Sub(sess.CreatedAt) > FreshSignIn {
			return ErrFreshSignInRequired
		}
	}
	if !first {
		if ok, _ := VerifyPassword(user.PasswordHash, current, s.cfg.Password); !ok {
			err := store.InTx(ctx, s.db, func(tx *gorm.DB) error {
				return appendAudit(tx, audit.Entry{UserID: userID, Action: audit.ActionPasswordChanged, ResourceType: "User",
					ResourceID: userID, Status: audit.StatusFailure, ErrorMessage: "current password did not match"}, c)
			})
			if err != nil {
				return fmt.Errorf("auth: change password: %w", err)
			}
			return ErrWrongPassword
		}
	}
	if err := CheckPasswordPolicy(next); err != nil {
		return err
	}
	hash, err := HashPassword(next, s.cfg.Password)
	if err != nil {
		return err
	}
	err = store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		if err := tx.Model(&schema.User{}).Where("id = ?", userID).Update("password_hash", hash).Error; err != nil {
			return err
		}
		action, details := audit.ActionPasswordChanged, map[string]any{}
		if first {
			action, details = audit.ActionCredentialsUpdated, map[string]any{"changedFields": []string{"password"}}
		}
		if err := appendAudit(tx, audit.Entry{UserID: userID, Action: action, ResourceType: "User", ResourceID: userID,
			Details: details}, c); err != nil {
			return err
		}
		if _, err := s.revokeUserSessionsTx(tx, userID, sessionID, ReasonPasswordChanged, c); err != nil {
			return err
		}
		return s.cfg.Notifier.Notify(tx, userID, Notice{Kind: NoticePasswordReset, Message: noticePasswordChanged(c), IP: c.IP, At: s.now()})
	})
	if err != nil {
		return fmt.Errorf("auth: change password: %w", err)
	}
	s.committed(userID)
	return nil
}
