package bot

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// This file is the one place where the bot's words are: replies in signal
// channels, slash command answers and DMs. They never carry internals.

const (
	msgInternal       = "Something went wrong on our side. It has been logged; please try again in a moment."
	msgUnavailable    = "The trading service is temporarily unavailable. Please try again in a few seconds."
	msgNotInGuild     = "Run this command in a server channel."
	msgNeedAdmin      = "Only server members with the Manage Server permission can do this."
	msgNotRegistered  = "This channel is not a registered signal source."
	msgSourceNotOwned = "Only the provider who registered this source can change it."
)

func msgNotLinked(dashboard string) string {
	if dashboard == "" {
		return "Your Discord account is not linked to tradeexec yet. Sign in to the dashboard with Discord first."
	}
	return "Your Discord account is not linked to tradeexec yet. Sign in at " + dashboard + " with Discord first."
}

// replyRefused answers a malformed signal from an authorized author.
func replyRefused(reason string) string {
	return "⚠️ Signal not executed: " + reason
}

func replyNotStarted() string {
	return sources.NotStartedReply
}

// shortID is how a trade is named in Discord (/cancel accepts it).
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// orderAnswer words the outcome of /buy or /sell as far as it is known.
func orderAnswer(t schema.Trade) string {
	ref := " (trade `" + shortID(t.ID) + "`)"
	switch trade.Status(t.Status) {
	case trade.StatusFilled:
		price := ""
		if t.FillPrice.Valid {
			price = risk.FormatPrice(t.FillPrice.Decimal)
		}
		return "✅ " + trade.FilledMessage(t.Symbol, t.Side, t.FilledQuantity.String(), price) + ref
	case trade.StatusSubmitted, trade.StatusPartialFill:
		return fmt.Sprintf("✅ %s %s %s %s submitted to %s%s. I'll DM you when it fills.",
			t.Symbol, orderTypeWords(t.OrderType), t.Side, t.Quantity.String(), trade.BrokerDisplayName(t.Broker), ref)
	case trade.StatusRejected:
		return "❌ Rejected: " + t.ErrorMessage + ref
	case trade.StatusCancelled:
		return "Cancelled: " + t.ErrorMessage + ref
	case trade.StatusQueued:
		msg := "Order queued for the next market open"
		if t.QueuedUntil != nil {
			msg = "Order queued until " + t.QueuedUntil.UTC().Format("Mon Jan 2 15:04 UTC")
		}
		return "⏳ " + msg + ref + ". /cancel it any time before then."
	default:
		return "📨 Order received" + ref + "; checking your risk limits. I'll DM you the result."
	}
}

func orderTypeWords(ot string) string {
	return strings.ReplaceAll(ot, "_", "-")
}

func cancelAnswer(t schema.Trade) string {
	return "Cancelling " + t.Symbol + " " + t.Side + " " + t.Quantity.String() + " (trade `" + shortID(t.ID) + "`)."
}

func notCancellable(t schema.Trade) string {
	return trade.NotCancellableMessage(trade.Status(t.Status))
}

func positionsAnswer(ps []schema.Position) string {
	if len(ps) == 0 {
		return "No open positions."
	}
	var b strings.Builder
	b.WriteString("**Open positions**\n")
	for _, p := range ps {
		fmt.Fprintf(&b, "• %s %s @ %s · now %s · P&L %s\n", p.Symbol, p.Quantity.String(), risk.FormatPrice(p.AverageEntryPrice),
			risk.FormatPrice(p.CurrentPrice), signedUSD(p.UnrealizedPnL))
	}
	return b.String()
}

func signedUSD(d decimal.Decimal) string {
	if d.IsNegative() {
		return "-" + risk.FormatUSD(d.Abs())
	}
	return "+" + risk.FormatUSD(d)
}

func statusAnswer(ts []schema.Trade, now time.Time) string {
	if len(ts) == 0 {
		return "No trades yet."
	}
	var b strings.Builder
	b.WriteString("**Last trades**\n")
	for _, t := range ts {
		line := fmt.Sprintf("• `%s` %s %s %s — %s", shortID(t.ID), t.Symbol, t.Side, t.Quantity.String(), strings.ReplaceAll(t.Status, "_", " "))
		if t.FillPrice.Valid && t.FilledQuantity.IsPositive() {
			line += " @ " + risk.FormatPrice(t.FillPrice.Decimal)
		}
		if t.Status == string(trade.StatusRejected) && t.ErrorMessage != "" {
			line += ": " + t.ErrorMessage
		}
		line += " · " + ago(now.Sub(t.CreatedAt))
		b.WriteString(line + "\n")
	}
	return b.String()
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}

func sizingWords(sz sources.Sizing) string {
	if sz.Mode == sources.SizingFixedAmount {
		return risk.FormatUSD(sz.FixedAmount) + " per entry"
	}
	if sz.Multiplier.Equal(decimal.NewFromInt(1)) {
		return "the provider's size"
	}
	return sz.Multiplier.String() + "× the provider's size"
}

func followAnswer(sub sources.Subscription) string {
	s := fmt.Sprintf("Following **%s** with %s.", sub.SourceName, sizingWords(sub.Sizing))
	if sub.Shadow {
		s += " Shadow mode: orders go to your paper account only."
	}
	return s
}

func registerAnswer(src sources.Source) string {
	var who []string
	for _, a := range src.Authors {
		if a.Kind == sources.AuthorRole {
			who = append(who, "<@&"+a.DiscordID+">")
		} else {
			who = append(who, "<@"+a.DiscordID+">")
		}
	}
	return fmt.Sprintf("This channel is now the signal source **%s** (%s mode). Signals are taken from: %s. Traders follow it with /follow.",
		src.Name, src.ParseMode, strings.Join(who, ", "))
}

func preferencesAnswer(p sources.Preferences) string {
	on := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	return fmt.Sprintf("DMs: fills %s · rejections %s · queued orders %s · stop-loss triggers %s · risk locks %s.",
		on(p.Fills), on(p.Rejects), on(p.Queued), on(p.StopLoss), on(p.RiskLocks))
}
