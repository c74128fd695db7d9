package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/google/uuid"
	"go.uber.org/zap"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/starts"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// Message log statuses (schema.DiscordMessage.Status).
const (
	logFired   = sources.MessageFired
	logRefused = "refused"
	logStale   = sources.MessageStale
)

// errChatter: the message does not try to be a signal (ignored silently).
var errChatter = errors.New("bot: not a signal")

// signalTimeout bounds the handling of one signal message.
const signalTimeout = 30 * time.Second

// onMessageCreate turns a message of an authorized author in a registered
// channel into a SignalWorkflow. Everything else is ignored without a
// trace (content of other channels is neither logged nor stored).
func (b *Bot) onMessageCreate(s *discordgo.Session, m *discordgo.MessageCreate) {
	if m.Author == nil || m.GuildID == "" || m.Author.ID == b.UserID() {
		return
	}
	src, ok := b.sources.get(m.ChannelID)
	if !ok || src.Status != sources.StatusActive {
		return
	}
	var roles []string
	if m.Member != nil {
		roles = m.Member.Roles
	}
	if !src.Authorized(m.Author.ID, roles) {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, signalTimeout)
	defer cancel()
	b.handleSignal(ctx, s, src, m.Message)
}

func (b *Bot) handleSignal(ctx context.Context, s *discordgo.Session, src sources.Source, m *discordgo.Message) {
	log := b.log.With(zap.String("message_id", m.ID), zap.String("source_id", src.ID), zap.String("channel_id", m.ChannelID))
	received := b.now()
	posted, ok := snowflakeTime(m.ID)
	if !ok {
		posted = m.Timestamp.UTC()
	}
	entry := schema.DiscordMessage{ID: uuid.NewString(), MessageID: m.ID, SourceID: src.ID, GuildID: m.GuildID,
		ChannelID: m.ChannelID, AuthorID: m.Author.ID, Content: m.Content, PostedAt: posted, ReceivedAt: received}

	// Stale signals are never executed (SPEC assumption 1): a message older
	// than the source's limit when it reaches us — after an outage, a late
	// redelivery — is logged and skipped.
	if age := received.Sub(posted); age > src.MaxAge() {
		entry.Status = logStale
		entry.Reason = fmt.Sprintf("received %s after it was posted (limit %s); not executed", age.Round(time.Second), src.MaxAge())
		log.Warn("stale signal skipped", zap.Duration("age", age), zap.Duration("max_age", src.MaxAge()))
		b.logMessage(ctx, entry)
		return
	}
	if strings.TrimSpace(m.Content) == "" {
		// Without the MESSAGE_CONTENT intent Discord sends no content.
		log.Warn("signal message without content: the bot lacks the message content intent")
		return
	}
	legs, err := parseSignal(src.ParseMode, m.Content)
	if errors.Is(err, errChatter) {
		return
	}
	if err != nil {
		entry.Status, entry.Reason = logRefused, err.Error()
		log.Info("signal refused", zap.String("reason", err.Error()))
		if b.logMessage(ctx, entry) {
			b.reply(s, m, replyRefused(err.Error()))
		}
		return
	}
	wfID := workflows.SignalWorkflowID(signal.SourceDiscord, m.ID)
	entry.Status, entry.WorkflowID = logFired, wfID
	req := b.signalStart(src, m, legs, wfID, posted.Add(src.MaxAge()))
	// The message log and the start request are one transaction: once
	// written, the signal is executed even if Temporal is down right now
	// (the start relay starts it when it is back, or tells the channel it
	// was too late).
	// A database that is briefly unreachable (a restart, a failover) is
	// waited for within the message's handling budget: the signal is not
	// given up while it can still be recorded.
	for wait := 250 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		err = store.InTx(ctx, b.o.DB, func(tx *gorm.DB) error {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&entry).Error; err != nil {
				return err
			}
			return starts.Enqueue(tx, req, received)
		})
		if err == nil || !store.IsUnavailable(err) || ctx.Err() != nil {
			break
		}
		log.Warn("signal message not recorded yet; the database is unreachable", zap.Error(err))
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	if err != nil {
		log.Error("signal message not recorded", zap.Error(err))
		b.reply(s, m, replyNotStarted())
		return
	}
	sctx, scancel := context.WithTimeout(ctx, startWait)
	defer scancel()
	if err := starts.Start(sctx, b.o.Temporal, req); err != nil {
		log.Warn("signal workflow start deferred to the start relay", zap.String("workflow_id", wfID), zap.Error(err))
		return
	}
	if err := starts.Done(ctx, b.o.DB, wfID); err != nil {
		log.Warn("start request not cleared", zap.Error(err))
	}
	log.Info("signal fired", zap.String("workflow_id", wfID), zap.Int("legs", len(legs)))
}

// startWait bounds the immediate start of a signal's workflow; after it the
// start relay takes over.
const startWait = 2 * time.Second

// parseSignal reads a message in the source's parse mode.
func parseSignal(mode, content string) ([]signal.Leg, error) {
	switch mode {
	case sources.ModeFreeform:
		f, err := signal.ParseFreeform(content)
		if errors.Is(err, signal.ErrNoSignal) {
			return nil, errChatter
		}
		if err != nil {
			return nil, err
		}
		// Several entry prices (not a zone) are a ladder of limit entries,
		// one leg each (Freeform.Legs); what is still ambiguous (several
		// breakout or market entries) the parser refuses with its reason.
		return f.Legs(), nil
	default:
		// The strict grammar: only messages written as a command are
		// attempts; other chatter in the channel is not a signal.
		if !strings.HasPrefix(strings.TrimSpace(content), "/") {
			return nil, errChatter
		}
		s, err := signal.ParseDiscord(content)
		if err != nil {
			return nil, err
		}
		return signal.SingleLeg(s), nil
	}
}

// signalStart is the durable request to start the message's
// SignalWorkflow; it expires when the signal becomes stale.
func (b *Bot) signalStart(src sources.Source, m *discordgo.Message, legs []signal.Leg, wfID string, deadline time.Time) starts.Request {
	return starts.Request{
		WorkflowID: wfID, WorkflowType: workflows.SignalWorkflowName, Kind: starts.KindDiscord, RefID: m.ID,
		TaskQueue: b.o.TaskQueue,
		Input: workflows.SignalInput{SourceID: src.ID, MessageID: m.ID, ChannelID: m.ChannelID, Legs: legs,
			PageSize: b.o.FanoutPageSize, Timeouts: b.o.Timeouts},
		Memo: map[string]any{"signal": m.Content, "sourceId": src.ID, "source": src.Name, "messageId": m.ID},
		Keywords: map[string]string{
			workflows.SASignalSource.GetName(): string(signal.SourceDiscord),
			workflows.SASymbol.GetName():       legs[0].Signal.Symbol,
		},
		ExpiresAt: deadline,
	}
}

// logMessage records what the bot made of a signal message, once per
// message; it reports whether this delivery wrote the row (a duplicate
// delivery does not reply twice).
func (b *Bot) logMessage(ctx context.Context, e schema.DiscordMessage) bool {
	res := b.o.DB.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&e)
	if res.Error != nil {
		b.log.Error("log signal message", zap.Error(res.Error), zap.String("message_id", e.MessageID))
		return false
	}
	return res.RowsAffected == 1
}

// reply answers under a message in its channel.
func (b *Bot) reply(s *discordgo.Session, m *discordgo.Message, content string) {
	ref := &discordgo.MessageReference{MessageID: m.ID, ChannelID: m.ChannelID, GuildID: m.GuildID}
	if _, err := s.ChannelMessageSendReply(m.ChannelID, content, ref); err != nil {
		b.log.Warn("reply in signal channel", zap.Error(err), zap.String("message_id", m.ID))
	}
}

// onMessageUpdate logs an edit of a signal message; orders never change.
func (b *Bot) onMessageUpdate(_ *discordgo.Session, m *discordgo.MessageUpdate) {
	if m.Message == nil || m.EditedTimestamp == nil || m.Author != nil && m.Author.ID == b.UserID() {
		return
	}
	if _, ok := b.sources.get(m.ChannelID); !ok {
		return
	}
	now := b.now()
	res := b.o.DB.WithContext(b.ctx).Model(&schema.DiscordMessage{}).Where("message_id = ?", m.ID).
		Updates(map[string]any{"edited_at": now, "edited_content": m.Content})
	if res.Error != nil {
		b.log.Error("log signal edit", zap.Error(res.Error))
		return
	}
	if res.RowsAffected > 0 {
		b.log.Info("signal message edited after it was handled; orders are not changed", zap.String("message_id", m.ID))
	}
}

// onMessageDelete logs the deletion of a signal message; orders never
// change.
func (b *Bot) onMessageDelete(_ *discordgo.Session, m *discordgo.MessageDelete) {
	if m.Message == nil {
		return
	}
	if _, ok := b.sources.get(m.ChannelID); !ok {
		return
	}
	res := b.o.DB.WithContext(b.ctx).Model(&schema.DiscordMessage{}).Where("message_id = ? AND deleted_at IS NULL", m.ID).
		Update("deleted_at", b.now())
	if res.Error != nil {
		b.log.Error("log signal deletion", zap.Error(res.Error))
		return
	}
	if res.RowsAffected > 0 {
		b.log.Info("signal message deleted after it was handled; orders are not changed", zap.String("message_id", m.ID))
	}
}
