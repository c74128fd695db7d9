package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// Outbox events the notifier turns into DMs, by notification kind. A
// protective stop changing outside a trade (risk.stopLoss) is a DM only
// when the broker executed it. Risk locks are DMed by the account guard
// itself (activities/guard.go queues them), so they are not listed here.
var eventKinds = map[string]string{
	realtime.EventTradeFilled:      sources.KindFill,
	realtime.EventTradePartialFill: sources.KindFill,
	realtime.EventTradeRejected:    sources.KindReject,
	realtime.EventTradeQueued:      sources.KindQueued,
	// Approval requests are always sent: they are what the trader asked for.
	realtime.EventTradeAwaitingApproval: sources.KindApproval,
	realtime.EventRiskStopLoss:          sources.KindStopLoss,
}

// stopTriggered is the risk.stopLoss status of an executed stop.
const stopTriggered = "triggered"

func notifiedEventTypes() []string {
	out := make([]string, 0, len(eventKinds))
	for t := range eventKinds {
		out = append(out, t)
	}
	return out
}

const (
	outboxCursor = "outbox-dm"
	// outboxGrace re-reads this much of the outbox each pass: a
	// transaction may commit an event a little after its timestamp.
	outboxGrace    = 10 * time.Second
	outboxPage     = 500
	deliverPage    = 50
	deliverWorkers = 4
	maxAttempts    = 5
	claimLease     = 2 * time.Minute
	// Discord's global limit is 50 requests per second per bot.
	globalRate = 45
)

// notifier turns outbox events into queued DMs and delivers the queue.
// Several replicas may run it: a row is claimed before it is sent.
type notifier struct {
	b     *Bot
	limit *rate.Limiter

	mu   sync.Mutex
	seen map[int64]time.Time // outbox events already queued (grace window)
	dms  map[string]string   // Discord user id → DM channel id
}

func newNotifier(b *Bot) *notifier {
	return &notifier{b: b, limit: rate.NewLimiter(globalRate, globalRate), seen: map[int64]time.Time{}, dms: map[string]string{}}
}

func (n *notifier) run(ctx context.Context) {
	if err := n.translate(ctx); err != nil && ctx.Err() == nil {
		n.b.log.Warn("queue trade notifications", zap.Error(err))
	}
	if err := n.deliver(ctx); err != nil && ctx.Err() == nil {
		n.b.log.Warn("deliver discord notifications", zap.Error(err))
	}
}

// translate queues a DM for each new trade event of a trader who linked
// Discord and wants that kind of message.
func (n *notifier) translate(ctx context.Context) error {
	db := n.b.o.DB.WithContext(ctx)
	start := n.b.now()
	var cur schema.DiscordCursor
	err := db.Where("name = ?", outboxCursor).First(&cur).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		// First start: history is not DMed.
		return n.saveCursor(ctx, start)
	}
	if err != nil {
		return err
	}
	since := time.UnixMilli(cur.Position).UTC().Add(-outboxGrace)
	// Every page since the cursor, in the cursor's order (created_at,
	// then id), each after the last: the cursor then moves to this
	// pass's start. Moving it to the last event of a full page instead,
	// as before, stalled on any burst of more than a page of events
	// within the grace window (a 1,000-follower fan-out's fills): each
	// pass re-read the same first page and no later event was DMed.
	// In this order the page is read from the created_at index.
	var after *schema.OutboxEvent
	for {
		q := db.Where("type IN ?", notifiedEventTypes())
		if after == nil {
			q = q.Where("created_at >= ?", since)
		} else {
			// (created_at, id) > the last's, written so the index's range
			// is the first condition.
			q = q.Where("created_at >= ? AND (created_at > ? OR id > ?)", after.CreatedAt, after.CreatedAt, after.ID)
		}
		var events []schema.OutboxEvent
		if err := q.Order("created_at, id").Limit(outboxPage).Find(&events).Error; err != nil {
			return err
		}
		if fresh := n.unseen(events); len(fresh) > 0 {
			if err := n.queueEvents(ctx, fresh); err != nil {
				return err
			}
			n.markSeen(fresh)
		}
		if len(events) < outboxPage {
			return n.saveCursor(ctx, start)
		}
		after = &events[len(events)-1]
	}
}

func (n *notifier) saveCursor(ctx context.Context, at time.Time) error {
	row := schema.DiscordCursor{Name: outboxCursor, Position: at.UnixMilli(), UpdatedAt: n.b.now()}
	return n.b.o.DB.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "name"}}, DoUpdates: clause.AssignmentColumns([]string{"position", "updated_at"}),
	}).Create(&row).Error
}

func (n *notifier) unseen(events []schema.OutboxEvent) []schema.OutboxEvent {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []schema.OutboxEvent
	for _, e := range events {
		if _, ok := n.seen[e.ID]; !ok {
			out = append(out, e)
		}
	}
	return out
}

func (n *notifier) markSeen(events []schema.OutboxEvent) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := time.Now()
	for _, e := range events {
		n.seen[e.ID] = now
	}
	for id, at := range n.seen {
		if now.Sub(at) > 3*outboxGrace {
			delete(n.seen, id)
		}
	}
}

// queueEvents renders and queues the DMs of a batch of events.
func (n *notifier) queueEvents(ctx context.Context, events []schema.OutboxEvent) error {
	ids := map[string]bool{}
	for _, e := range events {
		ids[e.UserID] = true
	}
	users := make([]string, 0, len(ids))
	for id := range ids {
		users = append(users, id)
	}
	db := n.b.o.DB.WithContext(ctx)
	var linked []schema.User
	if err := db.Select("id", "discord_id").Where("id IN ? AND discord_id IS NOT NULL AND discord_id <> ''", users).Find(&linked).Error; err != nil {
		return err
	}
	if len(linked) == 0 {
		return nil
	}
	isLinked := map[string]bool{}
	for _, u := range linked {
		isLinked[u.ID] = true
	}
	var prefRows []schema.NotificationPreference
	if err := db.Where("user_id IN ?", users).Find(&prefRows).Error; err != nil {
		return err
	}
	prefs := map[string]sources.Preferences{}
	for _, p := range prefRows {
		prefs[p.UserID] = sources.Preferences{Fills: p.Fills, Rejects: p.Rejects, Queued: p.Queued, StopLoss: p.StopLoss, RiskLocks: p.RiskLocks}
	}
	now := n.b.now()
	return store.InTx(ctx, n.b.o.DB, func(tx *gorm.DB) error {
		for _, e := range events {
			kind := eventKinds[e.Type]
			p, ok := prefs[e.UserID]
			if !ok {
				p = sources.AllPreferences()
			}
			if !isLinked[e.UserID] || !p.Allows(kind) {
				continue
			}
			content := renderEvent(e)
			if content == "" {
				continue
			}
			if _, err := sources.Enqueue(tx, sources.Outgoing{DedupeKey: fmt.Sprintf("event:%d", e.ID), Kind: kind, UserID: e.UserID,
				Content: content}, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// eventPayload is what trade events carry (trade.AppendAuditAndEvent);
// Status and Symbol are risk.stopLoss's (activities.StopView).
type eventPayload struct {
	Trade   *trade.View `json:"trade"`
	Message string      `json:"message"`
	Status  string      `json:"status"`
	Symbol  string      `json:"symbol"`
}

// renderEvent words a trade event as a DM.
func renderEvent(e schema.OutboxEvent) string {
	var p eventPayload
	if err := json.Unmarshal([]byte(e.Payload), &p); err != nil {
		return ""
	}
	what := ""
	if p.Trade != nil {
		what = p.Trade.Symbol + " " + p.Trade.Side + " " + p.Trade.Quantity.String()
	}
	msg := p.Message
	switch e.Type {
	case realtime.EventTradeFilled:
		if msg == "" && p.Trade != nil && p.Trade.FillPrice != nil {
			msg = trade.FilledMessage(p.Trade.Symbol, p.Trade.Side, p.Trade.FilledQuantity.String(), p.Trade.FillPrice.String())
		}
		return "✅ " + msg + brokerSuffix(p.Trade)
	case realtime.EventTradePartialFill:
		return "🟡 Partially filled: " + msg + brokerSuffix(p.Trade)
	case realtime.EventTradeRejected:
		if what != "" {
			return "❌ Order rejected — " + what + ": " + msg
		}
		return "❌ Order rejected: " + msg
	case realtime.EventTradeQueued:
		if what != "" {
			return "⏳ " + msg + " — " + what
		}
		return "⏳ " + msg
	case realtime.EventTradeAwaitingApproval:
		if p.Trade == nil {
			return ""
		}
		return "🔔 Approve " + what + "? `/approve trade:" + shortID(p.Trade.ID) + "` or `/reject trade:" + shortID(p.Trade.ID) + "` — " + msg
	case realtime.EventRiskStopLoss:
		if p.Status != stopTriggered {
			return ""
		}
		return "🛑 Stop-loss triggered: " + msg
	}
	return ""
}

func brokerSuffix(v *trade.View) string {
	if v == nil || v.Broker == "" {
		return ""
	}
	return " · " + trade.BrokerDisplayName(v.Broker)
}

// deliver sends what is due: claims each row, sends it, records the result.
func (n *notifier) deliver(ctx context.Context) error {
	db := n.b.o.DB.WithContext(ctx)
	now := n.b.now()
	// A row claimed by a replica that died is due again after the lease.
	if err := db.Model(&schema.DiscordNotification{}).Where("status = ? AND next_attempt < ?", sources.NotifySending, now).
		Updates(map[string]any{"status": sources.NotifyPending}).Error; err != nil {
		return err
	}
	var due []schema.DiscordNotification
	if err := db.Where("status = ? AND next_attempt <= ?", sources.NotifyPending, now).Order("created_at").Limit(deliverPage).Find(&due).Error; err != nil {
		return err
	}
	work := make(chan schema.DiscordNotification)
	var wg sync.WaitGroup
	for w := 0; w < deliverWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for row := range work {
				n.deliverOne(ctx, row)
			}
		}()
	}
	for _, row := range due {
		claim := db.Model(&schema.DiscordNotification{}).Where("id = ? AND status = ?", row.ID, sources.NotifyPending).
			Updates(map[string]any{"status": sources.NotifySending, "next_attempt": now.Add(claimLease)})
		if claim.Error != nil {
			close(work)
			wg.Wait()
			return claim.Error
		}
		if claim.RowsAffected == 1 {
			work <- row
		}
	}
	close(work)
	wg.Wait()
	return nil
}

// errNotLinked: the recipient unlinked Discord after the message was queued.
var errNotLinked = errors.New("bot: recipient has no linked Discord account")

func (n *notifier) deliverOne(ctx context.Context, row schema.DiscordNotification) {
	err := n.send(ctx, row)
	now := n.b.now()
	update := map[string]any{"attempts": row.Attempts + 1}
	var undeliverable string
	switch {
	case err == nil:
		update["status"], update["sent_at"], update["error"] = sources.NotifySent, now, ""
	case errors.Is(err, errNotLinked):
		undeliverable = "Your Discord account is no longer linked."
	case dmClosed(err):
		undeliverable = "Your Discord DMs from this server are closed."
	case row.Attempts+1 >= maxAttempts || permanent(err):
		update["status"], update["error"] = sources.NotifyFailed, "Discord did not accept the message."
		n.b.log.Warn("discord notification failed", zap.String("id", row.ID), zap.Error(err))
	default:
		backoff := time.Duration(1<<row.Attempts) * 2 * time.Second
		update["status"], update["next_attempt"], update["error"] = sources.NotifyPending, now.Add(backoff), "retrying"
	}
	if undeliverable != "" {
		update["status"], update["error"] = sources.NotifyUndeliverable, undeliverable
	}
	failedForGood := update["status"] == sources.NotifyUndeliverable || update["status"] == sources.NotifyFailed
	err = store.InTx(ctx, n.b.o.DB, func(tx *gorm.DB) error {
		if err := tx.Model(&schema.DiscordNotification{}).Where("id = ?", row.ID).Updates(update).Error; err != nil {
			return err
		}
		if failedForGood && row.UserID != "" {
			// Shown on the dashboard instead.
			_, err := realtime.AppendEvent(tx, row.UserID, sources.EventNotificationUndelivered, map[string]any{
				"id": row.ID, "kind": row.Kind, "content": row.Content, "reason": update["error"],
			})
			return err
		}
		return nil
	})
	if err != nil {
		n.b.log.Error("record notification result", zap.Error(err), zap.String("id", row.ID))
		return
	}
	if failedForGood && row.UserID != "" && n.b.o.Committed != nil {
		n.b.o.Committed(row.UserID)
	}
}

func (n *notifier) send(ctx context.Context, row schema.DiscordNotification) error {
	s := n.b.rest()
	if err := n.limit.Wait(ctx); err != nil {
		return err
	}
	opt := discordgo.WithContext(ctx)
	if row.UserID == "" {
		if row.ReplyTo != "" {
			ref := &discordgo.MessageReference{MessageID: row.ReplyTo, ChannelID: row.ChannelID}
			_, err := s.ChannelMessageSendReply(row.ChannelID, row.Content, ref, opt)
			if !isStatus(err, http.StatusBadRequest) {
				return err
			}
			// The signal message was deleted: post without the reference.
			if err := n.limit.Wait(ctx); err != nil {
				return err
			}
		}
		_, err := s.ChannelMessageSend(row.ChannelID, row.Content, opt)
		return err
	}
	var u schema.User
	if err := n.b.o.DB.WithContext(ctx).Select("id", "discord_id").Where("id = ?", row.UserID).First(&u).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return errNotLinked
		}
		return err
	}
	if u.DiscordID == nil || *u.DiscordID == "" {
		return errNotLinked
	}
	ch, err := n.dmChannel(ctx, s, *u.DiscordID)
	if err != nil {
		return err
	}
	if err := n.limit.Wait(ctx); err != nil {
		return err
	}
	_, err = s.ChannelMessageSend(ch, row.Content, opt)
	return err
}

func (n *notifier) dmChannel(ctx context.Context, s *discordgo.Session, discordID string) (string, error) {
	n.mu.Lock()
	id, ok := n.dms[discordID]
	n.mu.Unlock()
	if ok {
		return id, nil
	}
	if err := n.limit.Wait(ctx); err != nil {
		return "", err
	}
	ch, err := s.UserChannelCreate(discordID, discordgo.WithContext(ctx))
	if err != nil {
		return "", err
	}
	n.mu.Lock()
	n.dms[discordID] = ch.ID
	n.mu.Unlock()
	return ch.ID, nil
}

// Discord error codes the notifier tells apart.
const (
	codeCannotSendToUser = 50007
	codeUnknownChannel   = 10003
	codeUnknownUser      = 10013
	codeMissingAccess    = 50001
)

func restCode(err error) (int, int) {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		code := 0
		if re.Message != nil {
			code = re.Message.Code
		}
		return re.Response.StatusCode, code
	}
	return 0, 0
}

func isStatus(err error, status int) bool {
	s, _ := restCode(err)
	return s == status
}

// dmClosed: the user does not accept DMs from the bot.
func dmClosed(err error) bool {
	_, code := restCode(err)
	return code == codeCannotSendToUser || code == codeUnknownUser
}

// permanent: retrying cannot help (the channel is gone, access revoked).
func permanent(err error) bool {
	status, code := restCode(err)
	switch code {
	case codeUnknownChannel, codeMissingAccess:
		return true
	}
	return status == http.StatusForbidden || status == http.StatusNotFound
}
