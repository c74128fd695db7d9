package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/mail"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Password reset by e-mail (FR-029): a single-use token, valid ResetTTL,
// mailed as a link; using it sets the password and ends every session.
const (
	ResetTTL = 30 * time.Minute
	// MaxResetsPerHour bounds the links one account is sent.
	MaxResetsPerHour = 3

	ActionPasswordResetRequested = "PASSWORD_RESET_REQUESTED"
	ActionPasswordReset          = "PASSWORD_RESET"
	ReasonPasswordReset          = "password_reset"
)

// ErrResetInvalid: the link is unknown, used or expired. One error for all
// three, so a guesser learns nothing.
var ErrResetInvalid = errors.New("auth: reset link invalid or expired")

func resetHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// RequestPasswordReset mails a reset link when email belongs to an account
// with a password. It answers the same whether or not it does (no
// enumeration): nil, unless the database fails.
func (s *Service) RequestPasswordReset(ctx context.Context, email string, c Client) error {
	normalized, err := NormalizeEmail(email)
	if err != nil {
		return nil
	}
	var user schema.User
	err = s.db.WithContext(ctx).Where("email = ?", normalized).Take(&user).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: reset: %w", err)
	}
	if user.PasswordHash == "" {
		// A Discord-only account sets its first password after a fresh
		// Discord sign-in, never through a mailed link.
		return nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	now := s.now()
	return store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		var recent int64
		if err := tx.Model(&schema.PasswordReset{}).Where("user_id = ? AND created_at > ?", user.ID, now.Add(-time.Hour)).Count(&recent).Error; err != nil {
			return err
		}
		if recent >= MaxResetsPerHour {
			return nil
		}
		if err := tx.Create(&schema.PasswordReset{TokenHash: resetHash(token), UserID: user.ID, CreatedAt: now, ExpiresAt: now.Add(ResetTTL)}).Error; err != nil {
			return err
		}
		link := s.cfg.PublicURL + "/dashboard#/reset?token=" + url.QueryEscape(token)
		if err := mail.Enqueue(tx, user.ID, mail.KindPasswordReset, map[string]string{"URL": link}, now); err != nil {
			return err
		}
		return appendAudit(tx, audit.Entry{UserID: user.ID, Action: ActionPasswordResetRequested, ResourceType: "User", ResourceID: user.ID}, c)
	})
}

// ResetPassword sets a new password with a mailed token and ends every
// session of the account (the one who asked signs in again).
func (s *Service) ResetPassword(ctx context.Context, token, password string, c Client) error {
	if token == "" || len(token) > 128 {
		return ErrResetInvalid
	}
	if err := CheckPasswordPolicy(password); err != nil {
		return err
	}
	hash, err := HashPassword(password, s.cfg.Password)
	if err != nil {
		return err
	}
	now := s.now()
	var userID string
	err = store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		var r schema.PasswordReset
		if err := tx.Where("token_hash = ?", resetHash(token)).Take(&r).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrResetInvalid
			}
			return err
		}
		if r.UsedAt != nil || !now.Before(r.ExpiresAt) {
			return ErrResetInvalid
		}
		// Single use, also under concurrency: only one UPDATE finds it unused.
		res := tx.Model(&schema.PasswordReset{}).Where("token_hash = ? AND used_at IS NULL", r.TokenHash).Update("used_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrResetInvalid
		}
		userID = r.UserID
		if err := tx.Model(&schema.User{}).Where("id = ?", r.UserID).Update("password_hash", hash).Error; err != nil {
			return err
		}
		if err := appendAudit(tx, audit.Entry{UserID: r.UserID, Action: ActionPasswordReset, ResourceType: "User", ResourceID: r.UserID}, c); err != nil {
			return err
		}
		if _, err := s.revokeUserSessionsTx(tx, r.UserID, "", ReasonPasswordReset, c); err != nil {
			return err
		}
		return s.cfg.Notifier.Notify(tx, r.UserID, Notice{Kind: NoticePasswordReset, Message: noticePasswordChanged(c), IP: c.IP, At: now})
	})
	if err != nil {
		if errors.Is(err, ErrResetInvalid) {
			return err
		}
		return fmt.Errorf("auth: reset password: %w", err)
	}
	s.committed(userID)
	return nil
}
