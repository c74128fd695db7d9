package auth

import (
	"errors"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/schema"
)

// resolveIdentity finds the user of a provider identity, linking or
// creating as needed, inside tx:
//
//   - a known identity signs in its user (linking it to another user fails
//     with ErrIdentityInUse);
//   - with linkUserID the identity is linked to that (signed-in) user;
//   - a Discord identity whose id a user already carries (users.discord_id,
//     set when the bot met them) is linked to that user;
//   - otherwise a new trader is created. The provider's email is copied
//     only when verified and unused, and never used to merge accounts:
//     email/password accounts are not email-verified, so merging by email
//     would hand a Discord user's account to whoever registered the address.
func (s *Service) resolveIdentity(tx *gorm.DB, id Identity, linkUserID string, c Client) (schema.User, error) {
	now := s.now()
	var ident schema.AuthIdentity
	err := tx.Take(&ident, "provider = ? AND subject = ?", id.Provider, id.Subject).Error
	switch {
	case err == nil:
		if linkUserID != "" && ident.UserID != linkUserID {
			return schema.User{}, ErrIdentityInUse
		}
		if err := tx.Model(&schema.AuthIdentity{}).Where("id = ?", ident.ID).Update("last_login_at", now).Error; err != nil {
			return schema.User{}, err
		}
		var user schema.User
		if err := tx.Take(&user, "id = ?", ident.UserID).Error; err != nil {
			return schema.User{}, err
		}
		return user, tx.Model(&schema.User{}).Where("id = ?", user.ID).Update("last_login_at", now).Error
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return schema.User{}, err
	}

	var user schema.User
	found := false
	if linkUserID != "" {
		if err := tx.Take(&user, "id = ?", linkUserID).Error; err != nil {
			return schema.User{}, err
		}
		found = true
	}
	var holder schema.User
	if id.Provider == ProviderDiscord {
		err := tx.Take(&holder, "discord_id = ?", id.Subject).Error
		switch {
		case err == nil && !found:
			user, found = holder, true
		case err == nil && holder.ID != user.ID:
			return schema.User{}, ErrIdentityInUse
		case err != nil && !errors.Is(err, gorm.ErrRecordNotFound):
			return schema.User{}, err
		}
	}
	if !found {
		user = schema.User{ID: uuid.NewString(), DisplayName: truncate(strings.TrimSpace(id.DisplayName), maxDisplayNameLength),
			Role: string(RoleTrader), SubscriptionTier: "free", SubscriptionStatus: "active", CreatedAt: now}
		if email, err := NormalizeEmail(id.Email); err == nil && id.EmailVerified {
			var n int64
			if err := tx.Model(&schema.User{}).Where("email = ?", email).Count(&n).Error; err != nil {
				return schema.User{}, err
			}
			if n == 0 {
				user.Email = &email
			}
		}
		if id.Provider == ProviderDiscord {
			sub := id.Subject
			user.DiscordID = &sub
		}
		if err := tx.Create(&user).Error; err != nil {
			return schema.User{}, err
		}
		if err := appendAudit(tx, audit.Entry{UserID: user.ID, Action: ActionUserRegistered, ResourceType: "User",
			ResourceID: user.ID, Details: map[string]any{"method": id.Provider}}, c); err != nil {
			return schema.User{}, err
		}
	} else {
		if id.Provider == ProviderDiscord && user.DiscordID == nil {
			sub := id.Subject
			if err := tx.Model(&schema.User{}).Where("id = ?", user.ID).Update("discord_id", sub).Error; err != nil {
				return schema.User{}, err
			}
			user.DiscordID = &sub
		}
		if linkUserID != "" {
			if err := appendAudit(tx, audit.Entry{UserID: user.ID, Action: audit.ActionCredentialsUpdated, ResourceType: "User",
				ResourceID: user.ID, Details: map[string]any{"changedFields": []string{id.Provider}, "change": "linked"}}, c); err != nil {
				return schema.User{}, err
			}
		}
	}
	email := ""
	if id.EmailVerified {
		email = truncate(id.Email, 320)
	}
	if err := tx.Create(&schema.AuthIdentity{ID: uuid.NewString(), UserID: user.ID, Provider: id.Provider, Subject: id.Subject,
		Email: email, CreatedAt: now, LastLoginAt: &now}).Error; err != nil {
		return schema.User{}, err
	}
	return user, tx.Model(&schema.User{}).Where("id = ?", user.ID).Update("last_login_at", now).Error
}
