package auth

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Refresh exchanges a refresh token for new tokens (FR-023).
//
// currentAccess is the access token the client still holds, if any. When
// it is valid for this session with more than RefreshWindow left, nothing
// rotates: the answer repeats it with Refreshed false. Otherwise the
// refresh token is rotated (the old one can never be used again) and a new
// pair is issued.
//
// Presenting a rotated refresh token revokes the whole session family,
// records SESSION_HIJACK_DETECTED and returns ErrRefreshReused — except
// within ReuseGrace of the rotation together with a valid access token of
// the same session (two tabs refreshing at once), which is answered like a
// refresh that is not due. A request from another network or user agent
// ends the session (ErrReauthRequired).
func (s *Service) Refresh(ctx context.Context, refreshToken, currentAccess string, c Client) (Tokens, error) {
	if refreshToken == "" || len(refreshToken) > maxRefreshTokenLength {
		return Tokens{}, ErrUnauthenticated
	}
	var rt schema.RefreshToken
	err := s.db.WithContext(ctx).Take(&rt, "token_hash = ?", HashToken(refreshToken)).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Tokens{}, ErrUnauthenticated
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: load refresh token: %w", err)
	}
	sess, role, err := s.liveSession(ctx, rt.SessionID)
	if err != nil {
		return Tokens{}, err
	}
	now := s.now()
	if rt.RevokedAt != nil || !now.Before(rt.ExpiresAt) || sess.Kind != KindBrowser ||
		!now.Before(sess.CreatedAt.Add(s.cfg.SessionLifetime)) {
		return Tokens{}, ErrSessionEnded
	}
	if err := s.checkBinding(ctx, sess, c); err != nil {
		return Tokens{}, err
	}
	current, haveCurrent := Claims{}, false
	if currentAccess != "" {
		if cl, err := s.parse(ctx, currentAccess); err == nil && cl.SessionID == sess.ID && cl.UserID == sess.UserID {
			current, haveCurrent = cl, true
		}
	}
	notDue := func() (Tokens, error) {
		csrf, err := s.CSRFToken(sess.ID)
		if err != nil {
			return Tokens{}, err
		}
		return Tokens{UserID: sess.UserID, Role: role, SessionID: sess.ID, AccessToken: currentAccess,
			AccessExpiresAt: current.ExpiresAt, RefreshExpiresAt: sess.ExpiresAt, CSRFToken: csrf}, nil
	}
	if rt.RotatedAt != nil {
		if haveCurrent && now.Sub(*rt.RotatedAt) <= s.cfg.ReuseGrace {
			return notDue()
		}
		return Tokens{}, s.reuseDetected(ctx, sess, rt, c)
	}
	if haveCurrent && current.ExpiresAt.Sub(now) > s.cfg.RefreshWindow {
		return notDue()
	}

	key, err := s.keys.signing(ctx)
	if err != nil {
		return Tokens{}, err
	}
	var out Tokens
	raced := false
	err = store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		raced = false
		res := tx.Model(&schema.RefreshToken{}).Where("id = ? AND rotated_at IS NULL AND revoked_at IS NULL", rt.ID).
			Update("rotated_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			raced = true
			return nil
		}
		if err := tx.Model(&schema.Session{}).Where("id = ?", sess.ID).
			Updates(map[string]any{"refreshed_at": now, "expires_at": s.sessionExpiry(sess.CreatedAt, now)}).Error; err != nil {
			return err
		}
		var err error
		if out, err = s.issue(tx, key, sess, role); err != nil {
			return err
		}
		return appendAudit(tx, audit.Entry{UserID: sess.UserID, Action: audit.ActionTokenRefreshed, ResourceType: "Session",
			ResourceID: sess.ID}, c)
	})
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: rotate refresh token: %w", err)
	}
	if raced {
		// Another request rotated this token between our read and write.
		if haveCurrent {
			return notDue()
		}
		return Tokens{}, s.reuseDetected(ctx, sess, rt, c)
	}
	return out, nil
}

func (s *Service) reuseDetected(ctx context.Context, sess schema.Session, rt schema.RefreshToken, c Client) error {
	details := map[string]any{"reason": ReasonRefreshReuse, "session_id": sess.ID, "refresh_id": rt.ID}
	if err := s.endCompromised(ctx, sess, ReasonRefreshReuse, c, details, noticeRefreshReused(c)); err != nil {
		return err
	}
	return ErrRefreshReused
}
