package copytrade

import (
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/risk"
)

// Every sentence copy trading shows to a trader. Wording marked SPEC is
// quoted from SPEC.md (US-011) and covered by tests; change it only with
// the spec.

// SPEC US-011 #4: "Copy trading paused: Loss limit approaching".
func msgLossLimitApproaching(leader string, pnl, limit decimal.Decimal) string {
	return fmt.Sprintf("Copy trading paused: Loss limit approaching. Your copy loss on %s is %s, %s%% of your %s limit; copied positions are being closed.",
		leader, risk.FormatUSD(pnl), PauseThreshold.Mul(decimal.NewFromInt(100)).String(), risk.FormatUSD(limit.Neg()))
}

// CopiedMessage is the follower's notification of a copy, SPEC US-011 #1
// "Copied <Leader Name>: TSLA +20 shares" (the leader's quantity), followed
// by the follower's own order.
func CopiedMessage(leader, symbol, units string, leaderQty decimal.Decimal, buy bool, followerQty decimal.Decimal) string {
	sign := "+"
	if !buy {
		sign = "-"
	}
	return fmt.Sprintf("Copied %s: %s %s%s %s (your order: %s%s %s)", leader, symbol, sign, leaderQty.String(), units, sign, followerQty.String(), units)
}

// DashboardLine is a copy as the follower's dashboard shows it, SPEC
// US-011 #2 "Copy Trade: NVDA +1 share (5% allocation)": the follower's
// quantity (signed by side) and the share of the follower's account value
// the order is worth (omitted when not known).
func DashboardLine(symbol, units string, qty decimal.Decimal, buy bool, allocationPct decimal.Decimal) string {
	sign := "+"
	if !buy {
		sign = "-"
	}
	if qty.Equal(decimal.NewFromInt(1)) {
		switch units {
		case "shares":
			units = "share"
		case "units":
			units = "unit"
		}
	}
	line := fmt.Sprintf("Copy Trade: %s %s%s %s", symbol, sign, qty.String(), units)
	if allocationPct.IsPositive() {
		line += fmt.Sprintf(" (%s%% allocation)", trim(allocationPct.Round(2)))
	}
	return line
}

// msgFlipNotCopied: a leader's fill that flipped the position (long → short
// or back) is copied as the close of the follower's copied position; the
// opening of the other side is refused with this reason (DESIGN "Copy
// trading": flips).
func msgFlipNotCopied(leader, symbol, units string, openQty decimal.Decimal, newSide string) string {
	return fmt.Sprintf("%s reversed %s to %s %s %s in one fill: your copied position is closed, but the new %s position is not copied (a reversal opens only with a separate entry of the leader).",
		leader, symbol, newSide, openQty.String(), units, newSide)
}

// FlipNotCopied is the reason shown to a follower for the refused opening
// part of a leader's flip; side is the leader's fill side (sell: now short).
func FlipNotCopied(leader, symbol, units string, openQty decimal.Decimal, side string) string {
	newSide := "long"
	if side == "sell" {
		newSide = "short"
	}
	return msgFlipNotCopied(leader, symbol, units, openQty, newSide)
}

// msgFollowPending: a followers-only leader's follow request waits.
const msgFollowPending = "Waiting for the leader's approval: copying starts when the leader approves your request."

// msgFollowDenied: the leader declined the request.
const msgFollowDenied = "The leader declined your follow request."

// msgUnfollowKept / msgUnfollowClosed: what an unfollow did with the
// copied positions.
func msgUnfollowKept(leader string) string {
	return fmt.Sprintf("You stopped copying %s. Your copied positions stay open and are now your own (no longer closed by %s's exits).", leader, leader)
}

func msgUnfollowClosed(leader string) string {
	return fmt.Sprintf("You stopped copying %s. Your copied positions are being closed at market.", leader)
}

func msgFollowApproved(leader string) string {
	return fmt.Sprintf("%s approved your follow request: copying starts with their next trade.", leader)
}
