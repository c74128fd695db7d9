package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Session kinds and sign-in providers (sessions.kind, sessions.provider).
const (
	KindBrowser = "browser"
	KindScript  = "script"

	ProviderPassword = "password"
	ProviderDev      = "dev"
)

// Reasons a session ended (sessions.revoke_reason).
const (
	ReasonLogout          = "logout"
	ReasonBindingChanged  = "binding_changed"
	ReasonRefreshReuse    = "refresh_token_reuse"
	ReasonPasswordChanged = "password_changed"
	ReasonRevoked         = "revoked"
)

// Tokens is the result of a sign-in or refresh.
type Tokens struct {
	UserID          string
	Role            Role
	SessionID       string
	AccessToken     string
	AccessExpiresAt time.Time
	// RefreshToken is empty when the refresh token was not rotated (a
	// refresh before the window, or a script session).
	RefreshToken     string
	RefreshExpiresAt time.Time
	// CSRFToken is the double-submit token of the session.
	CSRFToken string
	// Refreshed tells a refresh whether new tokens were issued.
	Refreshed bool
}

// HashToken is how opaque tokens are stored: SHA-256 hex. They are 256-bit
// random values, so a fast hash suffices.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newOpaqueToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// maxRefreshTokenLength: longer strings are not our tokens.
const maxRefreshTokenLength = 128

// startSession creates a browser session for user inside tx with its first
// refresh token and access token, signed with key (fetched before tx).
func (s *Service) startSession(tx *gorm.DB, key *signingKey, user schema.User, provider string, c Client) (Tokens, error) {
	now := s.now()
	sess := schema.Session{ID: uuid.NewString(), UserID: user.ID, Kind: KindBrowser, Provider: provider,
		IPAddress: truncate(c.IP, 64), Network: truncate(c.Network(), 64), UserAgent: truncate(c.UserAgent, 300),
		UserAgentHash: c.UserAgentHash(), CreatedAt: now, ExpiresAt: s.sessionExpiry(now, now)}
	if err := tx.Create(&sess).Error; err != nil {
		return Tokens{}, fmt.Errorf("auth: create session: %w", err)
	}
	return s.issue(tx, key, sess, Role(user.Role))
}

// sessionExpiry is when a session created at created and refreshed at now
// ends: RefreshTTL after now, but never past its absolute lifetime.
func (s *Service) sessionExpiry(created, now time.Time) time.Time {
	exp := now.Add(s.cfg.RefreshTTL)
	if limit := created.Add(s.cfg.SessionLifetime); exp.After(limit) {
		return limit
	}
	return exp
}

// issue adds a refresh token to sess and signs an access token.
func (s *Service) issue(tx *gorm.DB, key *signingKey, sess schema.Session, role Role) (Tokens, error) {
	now := s.now()
	refresh, err := newOpaqueToken()
	if err != nil {
		return Tokens{}, err
	}
	rt := schema.RefreshToken{ID: uuid.NewString(), SessionID: sess.ID, UserID: sess.UserID, TokenHash: HashToken(refresh),
		CreatedAt: now, ExpiresAt: s.sessionExpiry(sess.CreatedAt, now)}
	if err := tx.Create(&rt).Error; err != nil {
		return Tokens{}, fmt.Errorf("auth: store refresh token: %w", err)
	}
	exp := now.Add(s.cfg.AccessTTL)
	access, err := s.sign(key, sess.UserID, sess.ID, role, exp)
	if err != nil {
		return Tokens{}, err
	}
	csrf, err := s.CSRFToken(sess.ID)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{UserID: sess.UserID, Role: role, SessionID: sess.ID, AccessToken: access, AccessExpiresAt: exp,
		RefreshToken: refresh, RefreshExpiresAt: rt.ExpiresAt, CSRFToken: csrf, Refreshed: true}, nil
}

type sessionWithRole struct {
	schema.Session
	Role string
}

// liveSession loads a session that has not ended, with its user's role.
func (s *Service) liveSession(ctx context.Context, id string) (schema.Session, Role, error) {
	if _, err := uuid.Parse(id); err != nil {
		return schema.Session{}, "", ErrUnauthenticated
	}
	var row sessionWithRole
	err := s.db.WithContext(ctx).Table("sessions").Select("sessions.*, users.role AS role").
		Joins("JOIN users ON users.id = sessions.user_id").Where("sessions.id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return schema.Session{}, "", ErrSessionEnded
	}
	if err != nil {
		return schema.Session{}, "", fmt.Errorf("auth: load session: %w", err)
	}
	if row.RevokedAt != nil || !s.now().Before(row.ExpiresAt) {
		return schema.Session{}, "", ErrSessionEnded
	}
	role, ok := ParseRole(row.Role)
	if !ok {
		return schema.Session{}, "", ErrUnauthenticated
	}
	return row.Session, role, nil
}

// bound reports whether a session is tied to its client.
func bound(sess schema.Session) bool {
	return sess.Kind == KindBrowser && (sess.Network != "" || sess.UserAgentHash != "")
}

// checkBinding ends sess and returns ErrReauthRequired when c is not the
// client the session signed in from.
func (s *Service) checkBinding(ctx context.Context, sess schema.Session, c Client) error {
	if !bound(sess) {
		return nil
	}
	var changed []string
	if c.Network() != sess.Network {
		changed = append(changed, "network")
	}
	if subtle.ConstantTimeCompare([]byte(c.UserAgentHash()), []byte(sess.UserAgentHash)) != 1 {
		changed = append(changed, "user_agent")
	}
	if len(changed) == 0 {
		return nil
	}
	details := map[string]any{"reason": ReasonBindingChanged, "changed": changed, "session_id": sess.ID,
		"session_network": sess.Network, "request_network": c.Network()}
	if err := s.endCompromised(ctx, sess, ReasonBindingChanged, c, details, noticeBindingChanged(c)); err != nil {
		return err
	}
	return ErrReauthRequired
}

// endCompromised revokes a session family, records SESSION_HIJACK_DETECTED
// and notifies the user — once, however many requests race to do it.
func (s *Service) endCompromised(ctx context.Context, sess schema.Session, reason string, c Client, details map[string]any, notice string) error {
	now := s.now()
	notified := false
	err := store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		notified = false
		ended, err := revokeSessionTx(tx, sess.ID, reason, now)
		if err != nil || !ended {
			return err
		}
		if err := appendAudit(tx, audit.Entry{UserID: sess.UserID, Action: audit.ActionSessionHijackDetected,
			ResourceType: "Session", ResourceID: sess.ID, Status: audit.StatusFailure, Details: details}, c); err != nil {
			return err
		}
		if err := s.cfg.Notifier.Notify(tx, sess.UserID, Notice{Kind: NoticeSessionEnded, Message: notice, IP: c.IP, At: now}); err != nil {
			return err
		}
		notified = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("auth: end compromised session: %w", err)
	}
	if notified {
		s.log.Warn("session hijack detected; session revoked", zap.String("user_id", sess.UserID),
			zap.String("session_id", sess.ID), zap.String("reason", reason), zap.String("ip", c.IP))
		s.committed(sess.UserID)
	}
	return nil
}

// revokeSessionTx ends a session and every refresh token of its family; it
// reports whether the session was still alive.
func revokeSessionTx(tx *gorm.DB, sessionID, reason string, now time.Time) (bool, error) {
	res := tx.Model(&schema.Session{}).Where("id = ? AND revoked_at IS NULL", sessionID).
		Updates(map[string]any{"revoked_at": now, "revoke_reason": reason})
	if res.Error != nil {
		return false, res.Error
	}
	if err := tx.Model(&schema.RefreshToken{}).Where("session_id = ? AND revoked_at IS NULL", sessionID).
		Update("revoked_at", now).Error; err != nil {
		return false, err
	}
	return res.RowsAffected == 1, nil
}

// Logout ends a session (idempotent) and records LOGOUT. Every token of the
// session is refused from the next request on.
func (s *Service) Logout(ctx context.Context, sessionID string, c Client) error {
	if _, err := uuid.Parse(sessionID); err != nil {
		return ErrUnauthenticated
	}
	var sess schema.Session
	if err := s.db.WithContext(ctx).Take(&sess, "id = ?", sessionID).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrSessionEnded
		}
		return err
	}
	now := s.now()
	return store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		ended, err := revokeSessionTx(tx, sess.ID, ReasonLogout, now)
		if err != nil || !ended {
			return err
		}
		return appendAudit(tx, audit.Entry{UserID: sess.UserID, Action: audit.ActionLogout, ResourceType: "Session",
			ResourceID: sess.ID}, c)
	})
}

// SessionForRefreshToken names the live session a refresh token belongs to
// (logout with only the refresh cookie left).
func (s *Service) SessionForRefreshToken(ctx context.Context, refreshToken string) (string, error) {
	if refreshToken == "" || len(refreshToken) > maxRefreshTokenLength {
		return "", ErrUnauthenticated
	}
	var rt schema.RefreshToken
	err := s.db.WithContext(ctx).Take(&rt, "token_hash = ?", HashToken(refreshToken)).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", ErrUnauthenticated
	}
	if err != nil {
		return "", err
	}
	return rt.SessionID, nil
}

// RevokeUserSessions ends every live session of a user except keep (may be
// empty), e.g. after a password change or by an administrator. It returns
// how many ended.
func (s *Service) RevokeUserSessions(ctx context.Context, userID, keep, reason string, c Client) (int, error) {
	n := 0
	err := store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		var err error
		n, err = s.revokeUserSessionsTx(tx, userID, keep, reason, c)
		return err
	})
	return n, err
}

func (s *Service) revokeUserSessionsTx(tx *gorm.DB, userID, keep, reason string, c Client) (int, error) {
	var ids []string
	q := tx.Model(&schema.Session{}).Where("user_id = ? AND revoked_at IS NULL", userID)
	if keep != "" {
		q = q.Where("id <> ?", keep)
	}
	if err := q.Pluck("id", &ids).Error; err != nil {
		return 0, err
	}
	now := s.now()
	n := 0
	for _, id := range ids {
		ended, err := revokeSessionTx(tx, id, reason, now)
		if err != nil {
			return n, err
		}
		if !ended {
			continue
		}
		n++
		if err := appendAudit(tx, audit.Entry{UserID: userID, Action: ActionSessionRevoked, ResourceType: "Session",
			ResourceID: id, Details: map[string]any{"reason": reason}}, c); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Purge deletes sessions (with their refresh tokens) that expired more than
// a day ago, login attempts older than a day and retired signing keys.
// Revoked sessions are kept until they expire, so reuse of their refresh
// tokens is still recognised.
func (s *Service) Purge(ctx context.Context) error {
	cutoff := s.now().Add(-24 * time.Hour)
	db := s.db.WithContext(ctx)
	if err := db.Where("session_id IN (?)", db.Model(&schema.Session{}).Select("id").Where("expires_at < ?", cutoff)).
		Delete(&schema.RefreshToken{}).Error; err != nil {
		return err
	}
	if err := db.Where("expires_at < ?", cutoff).Delete(&schema.Session{}).Error; err != nil {
		return err
	}
	if err := db.Where("created_at < ?", cutoff).Delete(&schema.LoginAttempt{}).Error; err != nil {
		return err
	}
	return s.keys.purge(ctx)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
