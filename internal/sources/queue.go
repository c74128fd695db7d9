package sources

import (
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/schema"
)

// Notification statuses (schema.DiscordNotification.Status).
const (
	NotifyPending       = "pending"
	NotifySending       = "sending"
	NotifySent          = "sent"
	NotifyUndeliverable = "undeliverable" // the trader's DMs are closed: shown on the dashboard instead
	NotifyFailed        = "failed"        // Discord kept failing; shown on the dashboard instead
)

// maxContent is Discord's message length limit.
const maxContent = 2000

// Outgoing is a Discord message to queue.
type Outgoing struct {
	DedupeKey string // the same key queues the message once, ever
	Kind      string
	UserID    string // a DM to this trader, or
	ChannelID string // a message in this channel,
	ReplyTo   string // optionally replying to this message
	Content   string
}

// Enqueue queues a message for the bot's dispatcher inside the caller's
// transaction (or on db). It reports whether the message is new.
func Enqueue(tx *gorm.DB, o Outgoing, now time.Time) (bool, error) {
	content := o.Content
	if r := []rune(content); len(r) > maxContent {
		content = string(r[:maxContent-1]) + "…"
	}
	row := schema.DiscordNotification{
		ID: uuid.NewString(), DedupeKey: o.DedupeKey, Kind: o.Kind, UserID: o.UserID, ChannelID: o.ChannelID,
		ReplyTo: o.ReplyTo, Content: content, Status: NotifyPending, NextAttempt: now.UTC(), CreatedAt: now.UTC(),
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	return res.RowsAffected == 1, res.Error
}
