package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/starts"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// Signals is the activity struct of the channel-signal fan-out
// (workflows.SignalWorkflow): FanoutPage records a page of followers'
// trades, FinishSignal records the outcome and queues the channel summary.
type Signals struct {
	DB  *gorm.DB
	Log *zap.Logger
	// Now is the clock (UTC); nil means time.Now.
	Now func() time.Time
	// Committed is called after a transaction that wrote outbox events for
	// userID has committed; may be nil.
	Committed func(userID string)
	// Temporal and TaskQueue start the page's TradeWorkflows when the
	// workflow asks (FanoutPageInput.Start); nil Temporal leaves starting
	// to the workflow.
	Temporal  client.Client
	TaskQueue string
	// Room, when set, is waited on before each start: the worker's
	// workflow tasks in work (worker.New sets it).
	Room Room
}

// Room lets the fan-out wait for the worker to have room for more trades.
type Room interface {
	WaitRoom(ctx context.Context)
}

// fanoutStarters bounds the TradeWorkflow starts one page runs at once.
const fanoutStarters = 16

func (a *Signals) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

func (a *Signals) log() *zap.Logger {
	if a.Log == nil {
		return zap.NewNop()
	}
	return a.Log
}

// maxFanoutPage bounds a page whatever the workflow asks.
const maxFanoutPage = 500

// follower is one subscriber of the page with what eligibility needs.
type follower struct {
	sub       schema.SourceSubscription
	user      schema.User
	maxPosPct decimal.Decimal
	// entryStrategy shares a ladder of entries among its legs (risk
	// settings; even when unset).
	entryStrategy string
	brokers       []string // active connection types
	hasAccount    bool
}

// FanoutPage takes the next page of the source's active followers (by user
// id after the cursor), skips those who cannot trade (inactive plan, no
// broker for the asset class, a size that rounds to zero) with a reason,
// and records one signal row + trade row per follower and leg through
// intake (one transaction, idempotent: a retried page returns the same
// trades). It starts no workflow: the SignalWorkflow starts the trades.
func (a *Signals) FanoutPage(ctx context.Context, in workflows.FanoutPageInput) (workflows.FanoutPageResult, error) {
	var out workflows.FanoutPageResult
	if len(in.Legs) == 0 {
		return out, temporal.NewNonRetryableApplicationError("signal has no legs", "INVALID_SIGNAL", nil)
	}
	limit := in.Limit
	if limit <= 0 || limit > maxFanoutPage {
		limit = workflows.DefaultFanoutPageSize
	}
	if in.CopyFillID != "" {
		// A leader's fill copied to the leader's followers (copytrade.go).
		out, err := a.copyPage(ctx, in, limit)
		if err != nil {
			return out, err
		}
		if in.Start && a.Temporal != nil {
			if err := a.startTrades(ctx, "", in.MessageID, in.Timeouts, out.Trades); err != nil {
				return out, err
			}
			out.Started = true
		}
		return out, nil
	}
	src, err := sources.Get(ctx, a.DB, in.SourceID)
	if errors.Is(err, sources.ErrSourceNotFound) {
		// The provider deleted the source meanwhile: nobody left to trade.
		out.Done = true
		return out, nil
	}
	if err != nil {
		return out, err
	}
	page, err := a.loadFollowers(ctx, in.SourceID, in.After, limit)
	if err != nil {
		return out, err
	}
	out.Done = len(page) < limit
	if len(page) > 0 {
		out.Next = page[len(page)-1].sub.UserID
	}

	var reqs []intake.Request
	for _, f := range page {
		legReqs, skip := followerRequests(f, in.SourceID, in.MessageID, in.Legs)
		if skip != "" {
			// A retried page must not strand a trade an earlier attempt
			// recorded before the follower became ineligible: such trades
			// are started (their own risk check decides).
			existing, err := a.existingTrades(ctx, f.sub.UserID, in.MessageID, in.Legs)
			if err != nil {
				return out, err
			}
			if len(existing) == 0 {
				out.Skipped = append(out.Skipped, workflows.FanoutSkip{UserID: f.sub.UserID, Reason: skip})
				continue
			}
			out.Trades = append(out.Trades, existing...)
			continue
		}
		reqs = append(reqs, legReqs...)
	}

	if len(reqs) > 0 {
		svc := &intake.Service{DB: a.DB, Committed: a.Committed, Now: a.Now, TaskQueue: a.TaskQueue, Timeouts: in.Timeouts}
		results, err := svc.Record(ctx, reqs)
		if err != nil {
			return out, err
		}
		for i, r := range results {
			out.Trades = append(out.Trades, workflows.FanoutTrade{
				UserID: reqs[i].UserID, TradeID: r.TradeID, SignalID: r.SignalID, WorkflowID: r.WorkflowID, Signal: reqs[i].Signal,
			})
		}
	}
	if err := a.recordSkips(ctx, src, in.MessageID, out.Skipped); err != nil {
		return out, err
	}
	if in.Start && a.Temporal != nil {
		if err := a.startTrades(ctx, in.SourceID, in.MessageID, in.Timeouts, out.Trades); err != nil {
			return out, err
		}
		out.Started = true
	}
	return out, nil
}

// FanoutPages records and starts up to in.Pages pages of followers,
// heartbeating its progress after every page started: a retried attempt
// resumes after the last page it reported (pages are idempotent, so one
// redone after a lost heartbeat changes nothing). The next page is recorded
// while the current one's trades are being started.
func (a *Signals) FanoutPages(ctx context.Context, in workflows.FanoutPagesInput) (workflows.FanoutPagesResult, error) {
	prog := workflows.FanoutPagesResult{Next: in.After}
	if activity.HasHeartbeatDetails(ctx) {
		var saved workflows.FanoutPagesResult
		if err := activity.GetHeartbeatDetails(ctx, &saved); err == nil {
			prog = saved
		}
	}
	if a.Temporal == nil {
		return prog, temporal.NewNonRetryableApplicationError("fan-out worker has no Temporal client", "CONFIG", nil)
	}
	if prog.Done || prog.Pages >= max(in.Pages, 1) {
		return prog, nil
	}

	type recorded struct {
		out workflows.FanoutPageResult
		err error
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	pages := make(chan recorded, 1)
	go func() {
		defer close(pages)
		after := prog.Next
		for n := prog.Pages; n < max(in.Pages, 1); n++ {
			out, err := a.FanoutPage(rctx, workflows.FanoutPageInput{SourceID: in.SourceID, MessageID: in.MessageID, Legs: in.Legs,
				After: after, Limit: in.Limit, Timeouts: in.Timeouts, CopyFillID: in.CopyFillID})
			select {
			case pages <- recorded{out, err}:
			case <-rctx.Done():
				return
			}
			if err != nil || out.Done {
				return
			}
			after = out.Next
		}
	}()
	for r := range pages {
		if r.err != nil {
			return prog, r.err
		}
		if err := a.startTrades(ctx, in.SourceID, in.MessageID, in.Timeouts, r.out.Trades); err != nil {
			return prog, err
		}
		seen := make(map[string]bool, len(r.out.Trades))
		for _, t := range r.out.Trades {
			seen[t.UserID] = true
		}
		prog.Pages++
		prog.Followers += len(seen)
		prog.Skipped += len(r.out.Skipped)
		if r.out.Next != "" {
			prog.Next = r.out.Next
		}
		prog.Done = r.out.Done
		activity.RecordHeartbeat(ctx, prog)
	}
	return prog, nil
}

// startTrades starts the TradeWorkflow of every trade of the page, a few at
// a time, each eagerly on this worker (intake.Service.Start). Starting is
// idempotent (one workflow id per trade, never reused), so a retried page
// starts nothing twice.
func (a *Signals) startTrades(ctx context.Context, sourceID, messageID string, timeouts workflows.Timeouts, trades []workflows.FanoutTrade) error {
	svc := &intake.Service{DB: a.DB, Temporal: a.Temporal, TaskQueue: a.TaskQueue, Timeouts: timeouts, Now: a.Now}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fanoutStarters)
	for _, t := range trades {
		g.Go(func() error {
			if a.Room != nil {
				a.Room.WaitRoom(gctx)
			}
			req := intake.Request{UserID: t.UserID, Signal: t.Signal, Memo: fanoutMemo(sourceID, messageID), SourceID: sourceID}
			if err := svc.Start(gctx, req, intake.Result{SignalID: t.SignalID, TradeID: t.TradeID, WorkflowID: t.WorkflowID}); err != nil {
				return fmt.Errorf("start trade %s: %w", t.TradeID, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	ids := make([]string, len(trades))
	for i, t := range trades {
		ids[i] = t.WorkflowID
	}
	if err := starts.DoneAll(ctx, a.DB, ids); err != nil {
		// The workflows run; the start relay finds them started and forgets them.
		a.Log.Warn("fan-out start requests not cleared", zap.Error(err))
	}
	return nil
}

// fanoutMemo is what the Temporal UI shows of a fanned-out trade's origin.
func fanoutMemo(sourceID, messageID string) map[string]any {
	return map[string]any{"sourceId": sourceID, "messageId": messageID}
}

// followerRequests builds one intake request per leg for an eligible
// follower, or says why the follower is skipped.
func followerRequests(f follower, sourceID, messageID string, legs []signal.Leg) ([]intake.Request, string) {
	if reason := eligibility(f, legs); reason != "" {
		return nil, reason
	}
	reqs := make([]intake.Request, 0, len(legs))
	for _, leg := range legs {
		leg.Share = followerShare(f, leg)
		sig, err := sources.FollowerSignal(leg, sources.SizingOf(f.sub), f.maxPosPct, f.sub.Shadow)
		if err != nil {
			return nil, skipReason(err)
		}
		sig.ExternalID = followerExternalID(f.sub.UserID, messageID, leg.Key)
		reqs = append(reqs, intake.Request{UserID: f.sub.UserID, Signal: sig, Memo: fanoutMemo(sourceID, messageID), SourceID: sourceID})
	}
	return reqs, ""
}

// followerShare is the leg's share of the follower's position: for a leg
// of a ladder of entries, the follower's entry strategy decides it
// (risk.EntryShares); other legs keep the provider's share.
func followerShare(f follower, leg signal.Leg) decimal.Decimal {
	if leg.Entries < 2 || leg.Entry < 1 || leg.Entry > leg.Entries {
		return leg.Share
	}
	return risk.EntryShares(f.entryStrategy, leg.Entries)[leg.Entry-1]
}

// existingTrades returns the trades already recorded for a follower's copy
// of the message.
func (a *Signals) existingTrades(ctx context.Context, userID, messageID string, legs []signal.Leg) ([]workflows.FanoutTrade, error) {
	ext := make([]string, len(legs))
	for i, l := range legs {
		ext[i] = followerExternalID(userID, messageID, l.Key)
	}
	var sigs []schema.Signal
	if err := a.DB.WithContext(ctx).Where("source = ? AND external_id IN ?", string(signal.SourceDiscord), ext).
		Order("external_id").Find(&sigs).Error; err != nil {
		return nil, err
	}
	var out []workflows.FanoutTrade
	for _, sg := range sigs {
		var t schema.Trade
		err := a.DB.WithContext(ctx).Where("signal_id = ? AND user_id = ?", sg.ID, userID).First(&t).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var parsed signal.Signal
		if err := json.Unmarshal([]byte(sg.Payload), &parsed); err != nil {
			return nil, temporal.NewNonRetryableApplicationError("stored signal is unreadable", "CORRUPT_SIGNAL", err)
		}
		out = append(out, workflows.FanoutTrade{UserID: userID, TradeID: t.ID, SignalID: sg.ID, WorkflowID: t.WorkflowID, Signal: parsed})
	}
	return out, nil
}

// followerExternalID is the de-duplication key of one follower's copy of
// one leg: "<userID>:<messageID>" or "<userID>:<messageID>/tp2".
func followerExternalID(userID, messageID, legKey string) string {
	id := userID + ":" + messageID
	if legKey != "" {
		id += "/" + legKey
	}
	return id
}

func (a *Signals) loadFollowers(ctx context.Context, sourceID, after string, limit int) ([]follower, error) {
	db := a.DB.WithContext(ctx)
	var subs []schema.SourceSubscription
	if err := db.Where("source_id = ? AND active = ? AND user_id > ?", sourceID, true, after).
		Order("user_id").Limit(limit).Find(&subs).Error; err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(subs))
	for i, s := range subs {
		ids[i] = s.UserID
	}
	var users []schema.User
	if err := db.Where("id IN ?", ids).Find(&users).Error; err != nil {
		return nil, err
	}
	var settings []schema.RiskSettings
	if err := db.Select("user_id", "max_position_pct", "entry_strategy").Where("user_id IN ?", ids).Find(&settings).Error; err != nil {
		return nil, err
	}
	var conns []schema.BrokerConnection
	if err := db.Select("user_id", "broker_type").Where("user_id IN ? AND is_active = ?", ids, true).Find(&conns).Error; err != nil {
		return nil, err
	}
	byUser := make(map[string]*follower, len(subs))
	out := make([]follower, len(subs))
	def := risk.DefaultSettings().MaxPositionPct
	for i, s := range subs {
		out[i] = follower{sub: s, maxPosPct: def}
		byUser[s.UserID] = &out[i]
	}
	for _, u := range users {
		byUser[u.ID].user, byUser[u.ID].hasAccount = u, true
	}
	for _, rs := range settings {
		byUser[rs.UserID].maxPosPct = rs.MaxPositionPct
		byUser[rs.UserID].entryStrategy = rs.EntryStrategy
	}
	for _, c := range conns {
		f := byUser[c.UserID]
		f.brokers = append(f.brokers, c.BrokerType)
	}
	return out, nil
}

// eligibility says why a follower cannot take the signal ("" when they
// can): no active plan, or no active broker connection that trades every
// leg's asset class (a paper account in shadow mode).
func eligibility(f follower, legs []signal.Leg) string {
	if !f.hasAccount {
		return "Your tradeexec account no longer exists."
	}
	switch f.user.SubscriptionStatus {
	case "active", "trial", "past_due": // past_due: the 7-day grace period keeps the plan (FR-065)
	default:
		return "Your subscription is not active, so signals you follow are not executed. Renew your plan in Settings → Billing."
	}
	for _, leg := range legs {
		class := leg.Signal.AssetClass
		if f.sub.Shadow {
			if !hasBroker(f.brokers, "paper", class) {
				return "Shadow mode trades on a paper account, and you have none. Add the paper broker in Settings → Brokers."
			}
			continue
		}
		if !hasBroker(f.brokers, leg.Signal.Broker, class) {
			what := "stocks"
			if class == signal.AssetCrypto {
				what = "crypto"
			}
			if leg.Signal.Broker != "" {
				return fmt.Sprintf("This signal is for %s and you have no active connection to it. Connect it in Settings → Brokers.", leg.Signal.Broker)
			}
			return fmt.Sprintf("No active broker connection for %s. Connect one in Settings → Brokers.", what)
		}
	}
	return ""
}

func hasBroker(brokers []string, want string, class signal.AssetClass) bool {
	for _, b := range brokers {
		if (want == "" || b == want) && brokerconn.Supports(b, class) {
			return true
		}
	}
	return false
}

// skipReason words a sizing refusal for the trader.
func skipReason(err error) string {
	if e, ok := sources.AsError(err); ok {
		return e.Message
	}
	var pe *signal.ParseError
	if errors.As(err, &pe) {
		return "Your sizing makes this signal invalid (" + pe.Error() + ")."
	}
	return "Your copy of this signal could not be sized."
}

// recordSkips writes, once per follower and message, the audit entry, the
// dashboard event and (when the trader has Discord linked and wants it)
// the DM of a skipped follower.
func (a *Signals) recordSkips(ctx context.Context, src sources.Source, messageID string, skips []workflows.FanoutSkip) error {
	var woken []string
	for _, s := range skips {
		fresh := false
		err := store.InTx(ctx, a.DB, func(tx *gorm.DB) error {
			fresh = false
			var n int64
			if err := tx.Model(&schema.AuditLog{}).Where("user_id = ? AND action = ? AND resource_id = ?",
				s.UserID, sources.ActionSignalSkipped, messageID).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			now := a.now()
			if _, err := audit.Append(tx, audit.Entry{
				UserID: s.UserID, Action: sources.ActionSignalSkipped, ResourceType: "Signal", ResourceID: messageID,
				Status: audit.StatusFailure, ErrorMessage: s.Reason, At: now,
				Details: map[string]any{"sourceId": src.ID, "source": src.Name, "messageId": messageID},
			}); err != nil {
				return err
			}
			if _, err := realtime.AppendEvent(tx, s.UserID, sources.EventSignalSkipped, map[string]any{
				"sourceId": src.ID, "source": src.Name, "messageId": messageID, "reason": s.Reason,
			}); err != nil {
				return err
			}
			fresh = true
			return queueSkipDM(ctx, tx, src, messageID, s, now)
		})
		if err != nil {
			return err
		}
		if fresh {
			woken = append(woken, s.UserID)
		}
	}
	for _, u := range woken {
		if a.Committed != nil {
			a.Committed(u)
		}
	}
	if len(skips) > 0 {
		a.log().Info("followers skipped", zap.String("message_id", messageID), zap.Int("skipped", len(skips)))
	}
	return nil
}
