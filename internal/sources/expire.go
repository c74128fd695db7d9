package sources

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Statuses of a logged signal message (schema.DiscordMessage.Status) that
// the start relay reads and writes; the bot owns the others.
const (
	MessageFired = "fired" // its SignalWorkflow is (to be) started
	MessageStale = "stale" // too old to execute; not executed
)

// NotStartedReply tells a channel its signal was not executed because the
// trading service was unavailable.
const NotStartedReply = "⚠️ Signal not executed: the trading service is unavailable right now. Post it again when it is back."

// ExpireSignal is the start relay's end for a channel signal whose workflow
// could not be started before the signal went stale: the message log says
// why and the channel is told, once.
func ExpireSignal(ctx context.Context, db *gorm.DB, messageID, reason string) error {
	return store.InTx(ctx, db, func(tx *gorm.DB) error {
		var e schema.DiscordMessage
		err := tx.Where("message_id = ? AND status = ?", messageID, MessageFired).Take(&e).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.Model(&schema.DiscordMessage{}).Where("id = ?", e.ID).
			Updates(map[string]any{"status": MessageStale, "reason": reason}).Error; err != nil {
			return err
		}
		_, err = Enqueue(tx, Outgoing{DedupeKey: "notstarted:" + messageID, Kind: "reject",
			ChannelID: e.ChannelID, ReplyTo: messageID, Content: NotStartedReply}, time.Now())
		return err
	})
}
