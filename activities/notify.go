package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// FinishSignal records how many followers a channel signal reached and,
// when the source wants it, queues the summary reply under the signal
// ("Executed for 212 followers, 3 skipped"). Idempotent.
func (a *Signals) FinishSignal(ctx context.Context, in workflows.FinishSignalInput) error {
	if in.CopyFillID != "" {
		return a.finishCopy(ctx, in)
	}
	return store.InTx(ctx, a.DB, func(tx *gorm.DB) error {
		if err := tx.Model(&schema.DiscordMessage{}).Where("message_id = ?", in.MessageID).
			Updates(map[string]any{"followers": in.Followers, "skipped": in.Skipped}).Error; err != nil {
			return err
		}
		var src schema.DiscordSource
		err := tx.Where("id = ?", in.SourceID).First(&src).Error
		if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && !src.SummaryReplies) {
			return nil
		}
		if err != nil {
			return err
		}
		if in.Followers == 0 && in.Skipped == 0 {
			return nil
		}
		_, err = sources.Enqueue(tx, sources.Outgoing{
			DedupeKey: "summary:" + in.MessageID, Kind: sources.KindSummary,
			ChannelID: in.ChannelID, ReplyTo: in.MessageID, Content: SummaryText(in.Followers, in.Skipped),
		}, a.now())
		return err
	})
}

// SummaryText is the reply under a channel signal.
func SummaryText(followers, skipped int) string {
	s := fmt.Sprintf("Executed for %d %s", followers, plural(followers, "follower", "followers"))
	if skipped > 0 {
		s += fmt.Sprintf(", %d skipped", skipped)
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// queueSkipDM queues the DM telling a follower why a signal was not
// executed for them, if they linked Discord and want rejection DMs.
func queueSkipDM(ctx context.Context, tx *gorm.DB, src sources.Source, messageID string, s workflows.FanoutSkip, now time.Time) error {
	var u schema.User
	if err := tx.Select("id", "discord_id").Where("id = ?", s.UserID).First(&u).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		return err
	}
	if u.DiscordID == nil || *u.DiscordID == "" {
		return nil
	}
	prefs, err := sources.GetPreferences(ctx, tx, s.UserID)
	if err != nil {
		return err
	}
	if !prefs.Allows(sources.KindSkipped) {
		return nil
	}
	_, err = sources.Enqueue(tx, sources.Outgoing{
		DedupeKey: "skip:" + messageID + ":" + s.UserID, Kind: sources.KindSkipped, UserID: s.UserID,
		Content: fmt.Sprintf("⏭️ A signal from **%s** was not executed for you: %s", src.Name, s.Reason),
	}, now)
	return err
}
