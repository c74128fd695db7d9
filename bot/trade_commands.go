package bot

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// optionToken: an option value that becomes one word of the command
// grammar (no spaces, no grammar keywords smuggled in).
var optionToken = regexp.MustCompile(`^[A-Za-z0-9.$%/:_-]{1,48}$`)

// orderText writes a /buy or /sell invocation in the command grammar, so
// that slash commands and channel messages are read by the same parser
// (signal.ParseDiscord) and refused with the same reasons.
func orderText(c *command) (string, error) {
	words := []string{"/" + c.name}
	field := func(name, label string) (string, error) {
		v := strings.TrimSpace(c.str(name))
		if v != "" && !optionToken.MatchString(v) {
			return "", &sources.Error{Code: sources.CodeInvalid, Field: name, Message: label + " must be a single value like 100, 245.50 or 2%."}
		}
		return v, nil
	}
	symbol, err := field("symbol", "Symbol")
	if err != nil {
		return "", err
	}
	qty, err := field("quantity", "Quantity")
	if err != nil {
		return "", err
	}
	words = append(words, symbol, qty)
	price, err := field("price", "Price")
	if err != nil {
		return "", err
	}
	limit, err := field("limit_price", "Limit price")
	if err != nil {
		return "", err
	}
	switch ot := c.str("order_type"); ot {
	case "", "market":
		if price != "" || limit != "" {
			return "", &sources.Error{Code: sources.CodeInvalid, Field: "price", Message: "A market order takes no price; choose order_type limit or stop."}
		}
	case "limit", "stop":
		if limit != "" {
			return "", &sources.Error{Code: sources.CodeInvalid, Field: "limit_price", Message: "limit_price is only for stop_limit orders; use price."}
		}
		words = append(words, "@"+ot, price)
	case "stop_limit":
		words = append(words, "@stop_limit", price, limit)
	default:
		return "", &sources.Error{Code: sources.CodeInvalid, Field: "order_type", Message: "order_type must be market, limit, stop or stop_limit."}
	}
	if v, err := field("stop_loss", "Stop-loss"); err != nil {
		return "", err
	} else if v != "" {
		words = append(words, "sl:"+v)
	}
	if v, err := field("take_profit", "Take-profit"); err != nil {
		return "", err
	} else if v != "" {
		words = append(words, "tp:"+v)
	}
	if v := c.str("broker"); v != "" {
		words = append(words, "broker:"+v)
	}
	return strings.Join(strings.Fields(strings.Join(words, " ")), " "), nil
}

// cmdOrder: /buy and /sell for the trader's own account, through the same
// intake as every other entry point. The interaction id is the signal's
// external id, so a retried interaction is one order.
func (b *Bot) cmdOrder(ctx context.Context, c *command, user schema.User) (string, error) {
	text, err := orderText(c)
	if err != nil {
		return "", err
	}
	sig, err := signal.ParseDiscord(text)
	if err != nil {
		return "Not submitted: " + err.Error(), nil
	}
	sig.ExternalID = user.ID + ":" + c.i.ID
	svc := &intake.Service{DB: b.o.DB, Temporal: b.o.Temporal, TaskQueue: b.o.TaskQueue, Timeouts: b.o.Timeouts, Committed: b.o.Committed,
		Log: b.log.Named("intake")}
	res, err := svc.Submit(ctx, intake.Request{UserID: user.ID, Signal: sig, Manual: true, UserAgent: "discord"})
	if err != nil {
		return "", err
	}
	if res.Deferred {
		return "📨 Order recorded (trade `" + shortID(res.TradeID) + "`); the trading service is catching up and starts it within moments. Check /status.", nil
	}
	return orderAnswer(b.awaitOutcome(ctx, res.TradeID)), nil
}

// awaitOutcome waits briefly for the order to leave "pending" (risk check
// done), so the answer can say submitted, queued or rejected.
func (b *Bot) awaitOutcome(ctx context.Context, tradeID string) schema.Trade {
	deadline := time.Now().Add(b.o.CommandWait)
	var t schema.Trade
	for {
		err := b.o.DB.WithContext(ctx).First(&t, "id = ?", tradeID).Error
		if err == nil && t.Status != string(trade.StatusPending) {
			return t
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return t
		}
		select {
		case <-ctx.Done():
			return t
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (b *Bot) cmdPositions(ctx context.Context, user schema.User) (string, error) {
	var ps []schema.Position
	err := b.o.DB.WithContext(ctx).Where("user_id = ? AND closed_at IS NULL", user.ID).Order("symbol").Limit(25).Find(&ps).Error
	if err != nil {
		return "", err
	}
	open := ps[:0]
	for _, p := range ps {
		if !p.Quantity.IsZero() {
			open = append(open, p)
		}
	}
	return positionsAnswer(open), nil
}

func (b *Bot) cmdStatus(ctx context.Context, user schema.User) (string, error) {
	var ts []schema.Trade
	if err := b.o.DB.WithContext(ctx).Where("user_id = ?", user.ID).Order("created_at DESC").Limit(5).Find(&ts).Error; err != nil {
		return "", err
	}
	return statusAnswer(ts, b.now()), nil
}

var tradeRef = regexp.MustCompile(`^[0-9a-f-]{8,36}$`)

// cmdCancel cancels one of the trader's open orders (queued, halted or
// working at the broker), like the dashboard's cancel: the trade's
// workflow is sent its cancel signal and the outcome follows as a DM.
func (b *Bot) cmdCancel(ctx context.Context, c *command, user schema.User) (string, error) {
	t, answer, err := b.tradeOf(ctx, c, user, "Give the trade id shown by /status (at least its first 8 characters).")
	if answer != "" || err != nil {
		return answer, err
	}
	if !trade.Cancellable(trade.Status(t.Status)) {
		return notCancellable(t), nil
	}
	if t.OrderType == "" {
		// A cancel signal's own trade: it places no order.
		return trade.CancelSignalNotCancellableMessage, nil
	}
	if err := b.o.Temporal.SignalWorkflow(ctx, t.WorkflowID, "", workflows.SignalCancel, nil); err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return notCancellable(t), nil
		}
		return msgUnavailable, nil
	}
	return cancelAnswer(t) + " " + trade.CancelAcceptedMessage(trade.Status(t.Status)), nil
}

// cmdApproval answers a signal waiting for the trader's approval, like the
// dashboard's Approve / Reject: the trade's workflow is sent the decision.
func (b *Bot) cmdApproval(ctx context.Context, c *command, user schema.User, approve bool) (string, error) {
	t, answer, err := b.tradeOf(ctx, c, user, "Give the trade id shown in the approval message (at least its first 8 characters).")
	if answer != "" || err != nil {
		return answer, err
	}
	if trade.Status(t.Status) != trade.StatusAwaiting {
		return trade.NotAwaitingApprovalMessage(trade.Status(t.Status)), nil
	}
	err = b.o.Temporal.SignalWorkflow(ctx, t.WorkflowID, "", workflows.SignalApproval, workflows.ApprovalDecision{Approve: approve, Via: "discord"})
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return trade.NotAwaitingApprovalMessage(trade.StatusCancelled), nil
		}
		return msgUnavailable, nil
	}
	return "Trade `" + shortID(t.ID) + "`: " + trade.ApprovalAcceptedMessage(approve), nil
}

// tradeOf finds the trader's trade named by the command's "trade" option
// (its id or at least its first 8 characters); answer says why not.
func (b *Bot) tradeOf(ctx context.Context, c *command, user schema.User, howTo string) (schema.Trade, string, error) {
	ref := strings.ToLower(strings.Trim(strings.TrimSpace(c.str("trade")), "`"))
	if !tradeRef.MatchString(ref) {
		return schema.Trade{}, howTo, nil
	}
	var ts []schema.Trade
	if err := b.o.DB.WithContext(ctx).Where("user_id = ? AND id LIKE ?", user.ID, ref+"%").Limit(2).Find(&ts).Error; err != nil {
		return schema.Trade{}, "", err
	}
	switch len(ts) {
	case 0:
		return schema.Trade{}, "No trade `" + ref + "` in your account.", nil
	case 2:
		return schema.Trade{}, "Several trades start with `" + ref + "`; give more of the id.", nil
	}
	return ts[0], "", nil
}
