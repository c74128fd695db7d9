package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// IssueScriptToken issues an access token for a user outside of any sign-in
// (the dev demo token in .data/demo.json). It gets its own session of kind
// script: not bound to a client (it is handed to local scripts), not
// refreshable, and ending with the token (AccessTTL). Logout and
// revocation end it like any other.
func (s *Service) IssueScriptToken(ctx context.Context, userID string) (Tokens, error) {
	key, err := s.keys.signing(ctx)
	if err != nil {
		return Tokens{}, err
	}
	var out Tokens
	err = store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		var user schema.User
		if err := tx.Take(&user, "id = ?", userID).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrUnauthenticated
			}
			return err
		}
		now := s.now()
		exp := now.Add(s.cfg.AccessTTL)
		sess := schema.Session{ID: uuid.NewString(), UserID: user.ID, Kind: KindScript, Provider: ProviderDev,
			CreatedAt: now, ExpiresAt: exp}
		if err := tx.Create(&sess).Error; err != nil {
			return err
		}
		access, err := s.sign(key, user.ID, sess.ID, Role(user.Role), exp)
		if err != nil {
			return err
		}
		out = Tokens{UserID: user.ID, Role: Role(user.Role), SessionID: sess.ID, AccessToken: access, AccessExpiresAt: exp}
		return nil
	})
	if err != nil && !errors.Is(err, ErrUnauthenticated) {
		return Tokens{}, fmt.Errorf("auth: issue script token: %w", err)
	}
	return out, err
}

// UserInfo is the public face of an account.
type UserInfo struct {
	ID          string `json:"id"`
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"displayName"`
	Role        Role   `json:"role"`
	Discord     bool   `json:"discordLinked"`
	HasPassword bool   `json:"hasPassword"`
}

// User returns the account of userID.
func (s *Service) User(ctx context.Context, userID string) (UserInfo, error) {
	var u schema.User
	if err := s.db.WithContext(ctx).Take(&u, "id = ?", userID).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return UserInfo{}, ErrUnauthenticated
		}
		return UserInfo{}, err
	}
	info := UserInfo{ID: u.ID, DisplayName: u.DisplayName, Role: Role(u.Role), Discord: u.DiscordID != nil, HasPassword: u.PasswordHash != ""}
	if u.Email != nil {
		info.Email = *u.Email
	}
	return info, nil
}
