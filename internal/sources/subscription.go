package sources

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Subscription is a trader's follow of a source as the dashboard and the
// bot show it.
type Subscription struct {
	ID         string `json:"id"`
	SourceID   string `json:"sourceId"`
	SourceName string `json:"sourceName"`
	GuildID    string `json:"guildId"`
	ChannelID  string `json:"channelId"`
	Sizing     Sizing `json:"sizing"`
	Shadow     bool   `json:"shadow"`
	// RequireApproval overrides the trader's approval setting for this
	// channel; null follows it.
	RequireApproval *bool `json:"requireApproval"`
	// LadderStop overrides the trader's stop move after a take-profit
	// ladder's leg for this channel (none, breakeven, trail); null follows it.
	LadderStop *string   `json:"ladderStop"`
	Active     bool      `json:"active"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// SizingOf reads a subscription row's sizing.
func SizingOf(row schema.SourceSubscription) Sizing {
	return Sizing{Mode: row.SizingMode, Multiplier: row.Multiplier, FixedAmount: row.FixedAmount}.Normalized()
}

func viewOf(row schema.SourceSubscription, src schema.DiscordSource) Subscription {
	return Subscription{ID: row.ID, SourceID: row.SourceID, SourceName: src.Name, GuildID: src.GuildID, ChannelID: src.ChannelID,
		Sizing: SizingOf(row), Shadow: row.Shadow, RequireApproval: row.RequireApproval, LadderStop: row.LadderStop, Active: row.Active, CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC()}
}

// Follow subscribes userID to an active source (or changes the sizing and
// shadow mode of an existing subscription, reactivating it).
func Follow(ctx context.Context, db *gorm.DB, userID, sourceID string, sz Sizing, shadow bool) (Subscription, error) {
	if err := sz.Validate(); err != nil {
		return Subscription{}, err
	}
	sz = sz.Normalized()
	var out Subscription
	err := store.InTx(ctx, db, func(tx *gorm.DB) error {
		if _, err := uuid.Parse(sourceID); err != nil {
			return ErrSourceNotFound
		}
		var src schema.DiscordSource
		err := tx.Where("id = ?", sourceID).First(&src).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrSourceNotFound
		}
		if err != nil {
			return err
		}
		if src.Status != StatusActive && src.Status != StatusPaused {
			// Unverified sources are visible to their owner only.
			if src.OwnerUserID != userID {
				return ErrSourceNotFound
			}
			return &Error{Code: CodeConflict, Message: "This signal source is not verified yet and cannot be followed."}
		}
		now := time.Now().UTC()
		var row schema.SourceSubscription
		err = tx.Where("source_id = ? AND user_id = ?", sourceID, userID).First(&row).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			row = schema.SourceSubscription{ID: uuid.NewString(), SourceID: sourceID, UserID: userID, CreatedAt: now}
		case err != nil:
			return err
		}
		row.SizingMode = sz.Mode
		row.Multiplier, row.FixedAmount = sz.Multiplier, sz.FixedAmount
		row.Shadow, row.Active, row.UpdatedAt = shadow, true, now
		if err := tx.Save(&row).Error; err != nil {
			return err
		}
		out = viewOf(row, src)
		return nil
	})
	return out, err
}

// Unfollow ends userID's subscription to a source.
func Unfollow(ctx context.Context, db *gorm.DB, userID, sourceID string) error {
	res := db.WithContext(ctx).Where("source_id = ? AND user_id = ?", sourceID, userID).Delete(&schema.SourceSubscription{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFollowing
	}
	return nil
}

// ErrSubscriptionNotFound is returned for an unknown subscription or one
// of another trader.
var ErrSubscriptionNotFound = &Error{Code: CodeNotFound, Message: "Subscription not found."}

// SubscriptionPatch changes a subscription; nil fields are left alone.
type SubscriptionPatch struct {
	Sizing *Sizing
	Shadow *bool
	// Active false pauses copying without forgetting the settings.
	Active *bool
	// SetApproval changes the approval override to RequireApproval (nil:
	// follow the trader's setting).
	SetApproval     bool
	RequireApproval *bool
	// SetLadderStop changes the ladder stop override to LadderStop (nil:
	// follow the trader's setting).
	SetLadderStop bool
	LadderStop    *string
}

// UpdateSubscription applies a patch to one of userID's subscriptions.
func UpdateSubscription(ctx context.Context, db *gorm.DB, userID, subID string, p SubscriptionPatch) (Subscription, error) {
	if p.Sizing != nil {
		if err := p.Sizing.Validate(); err != nil {
			return Subscription{}, err
		}
	}
	var out Subscription
	err := store.InTx(ctx, db, func(tx *gorm.DB) error {
		row, err := ownSubscription(tx, userID, subID)
		if err != nil {
			return err
		}
		if p.Sizing != nil {
			sz := p.Sizing.Normalized()
			row.SizingMode, row.Multiplier, row.FixedAmount = sz.Mode, sz.Multiplier, sz.FixedAmount
		}
		if p.Shadow != nil {
			row.Shadow = *p.Shadow
		}
		if p.Active != nil {
			row.Active = *p.Active
		}
		if p.SetApproval {
			row.RequireApproval = p.RequireApproval
		}
		if p.SetLadderStop {
			row.LadderStop = p.LadderStop
		}
		row.UpdatedAt = time.Now().UTC()
		if err := tx.Save(&row).Error; err != nil {
			return err
		}
		var src schema.DiscordSource
		if err := tx.Where("id = ?", row.SourceID).First(&src).Error; err != nil {
			return err
		}
		out = viewOf(row, src)
		return nil
	})
	return out, err
}

// DeleteSubscription ends one of userID's subscriptions.
func DeleteSubscription(ctx context.Context, db *gorm.DB, userID, subID string) error {
	return store.InTx(ctx, db, func(tx *gorm.DB) error {
		row, err := ownSubscription(tx, userID, subID)
		if err != nil {
			return err
		}
		return tx.Delete(&row).Error
	})
}

func ownSubscription(tx *gorm.DB, userID, subID string) (schema.SourceSubscription, error) {
	var row schema.SourceSubscription
	if _, err := uuid.Parse(subID); err != nil {
		return row, ErrSubscriptionNotFound
	}
	err := tx.Where("id = ? AND user_id = ?", subID, userID).First(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, ErrSubscriptionNotFound
	}
	return row, err
}

// Subscriptions lists userID's subscriptions.
func Subscriptions(ctx context.Context, db *gorm.DB, userID string) ([]Subscription, error) {
	var rows []schema.SourceSubscription
	if err := db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Subscription, 0, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.SourceID
	}
	var srcs []schema.DiscordSource
	if err := db.WithContext(ctx).Where("id IN ?", ids).Find(&srcs).Error; err != nil {
		return nil, err
	}
	byID := map[string]schema.DiscordSource{}
	for _, s := range srcs {
		byID[s.ID] = s
	}
	for _, r := range rows {
		out = append(out, viewOf(r, byID[r.SourceID]))
	}
	return out, nil
}

// FollowerCount counts a source's active subscriptions.
func FollowerCount(ctx context.Context, db *gorm.DB, sourceID string) (int64, error) {
	var n int64
	err := db.WithContext(ctx).Model(&schema.SourceSubscription{}).Where("source_id = ? AND active = ?", sourceID, true).Count(&n).Error
	return n, err
}
