package chaos

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker/alpaca"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// roundStats are a check's numbers for the round's log line.
type roundStats struct {
	Trades, Terminal, InFlight int
	book                       bookStats
}

var terminalStatuses = []string{string(trade.StatusFilled), string(trade.StatusRejected), string(trade.StatusCancelled)}

// settle waits (up to timeout) until every accepted signal's trade is
// final.
func (c *cluster) settle(all []*sent, timeout time.Duration) {
	var ids []string
	for _, s := range all {
		if id, ok := s.accepted(); ok {
			ids = append(ids, id)
		}
	}
	c.waitFor(timeout, func() bool {
		var open int64
		err := c.db.Model(&schema.Trade{}).Where("id IN ? AND status NOT IN ?", ids, terminalStatuses).Count(&open).Error
		return err == nil && open == 0
	})
}

// trades reads every trade of traders; a database that was just crashed
// gets 30 s to answer.
func (c *cluster) trades(traders []*trader) ([]schema.Trade, error) {
	var ids []string
	for _, tr := range traders {
		ids = append(ids, tr.UserID)
	}
	var out []schema.Trade
	var err error
	c.waitFor(30*time.Second, func() bool {
		out = nil
		err = c.db.Where("user_id IN ?", ids).Find(&out).Error
		return err == nil
	})
	return out, err
}

// betweenReads, when a test sets it, runs between the two reads of
// snapshot (where a trade recorded and submitted meanwhile falls).
var betweenReads func()

// snapshot reads the fake broker's book of every trader (by user id), THEN
// their trades. In that order because an entry order is placed only after
// its trade is committed (SubmitOrder loads the trade from the database):
// every order of a book read first has its trade in a read that starts
// after it. Read the other way round, a trade recorded and submitted
// between the two reads looks like an order of no trade: a channel
// signal's fan-out still running when the check starts (settle waits for
// the webhooks' trades; a channel signal has no trade id to wait for) gave
// the two orphan entry orders of seed 923131995, round 28 (database
// locked): the channel's "/buy MSFT 2" for both followers.
func (c *cluster) snapshot(traders []*trader) (map[string]alpaca.Book, []schema.Trade, error) {
	books := make(map[string]alpaca.Book, len(traders))
	for _, tr := range traders {
		books[tr.UserID] = c.fake.Book(tr.KeyID)
	}
	if betweenReads != nil {
		betweenReads()
	}
	trades, err := c.trades(traders)
	return books, trades, err
}

// check verifies the invariants over everything sent so far and records
// every violation with its round (finalRound: after the drain, when every
// trade must have ended).
func (c *cluster) check(round int, all []*sent, v *violations) roundStats {
	var st roundStats
	traders := c.everyone()
	books, trades, err := c.snapshot(traders)
	if err != nil {
		c.t.Errorf("round %s: trades unreadable: %v", roundName(round), err)
		return st
	}
	st.Trades = len(trades)
	byID := map[string]schema.Trade{}
	perSignal := map[string][]string{}
	for _, t := range trades {
		byID[t.ID] = t
		k := t.SignalID + "/" + t.UserID
		perSignal[k] = append(perSignal[k], t.ID)
	}

	// 1. Signals against trades: one trade per signal per trader, every
	// copy of a signal answered with that trade, every accepted signal's
	// trade stored, every answer 202 or 503.
	for k, ids := range perSignal {
		if len(ids) > 1 {
			v.add(round, vDuplicate, "trades:"+k, "signal/trader %s has %d trades: %v", k, len(ids), ids)
		}
	}
	c.checkChannelSignals(round, all, v)
	for _, s := range all {
		if s.Channel {
			continue
		}
		answers, tids := s.snapshot()
		for _, a := range answers {
			if a != http.StatusAccepted && a != http.StatusServiceUnavailable {
				v.add(round, vAnswer, fmt.Sprintf("%s:%d", s.Key, a), "signal %s: a copy was answered %d (only 202 or 503 are right)", s.Key, a)
			}
		}
		for _, id := range tids {
			if id != tids[0] {
				v.add(round, vDuplicate, "copies:"+s.Key, "copies of signal %s were answered with different trades %v", s.Key, tids)
				break
			}
		}
		if len(tids) > 0 {
			if _, ok := byID[tids[0]]; !ok {
				v.add(round, vLost, "missing:"+s.Key, "signal %s was accepted (trade %s) but the trade does not exist", s.Key, tids[0])
			}
		}
	}

	// 2. Every trade ended, or on its way: a start request waiting for
	// the relay or a running workflow. After the drain, ended.
	for _, t := range trades {
		if trade.Status(t.Status).Terminal() {
			st.Terminal++
			continue
		}
		if round == finalRound {
			v.add(round, vUnended, t.ID, "trade %s (%s %s %s) is still %s after the drain", t.ID, t.Side, t.Symbol, t.Source, t.Status)
			continue
		}
		if c.tradeAlive(t) {
			st.InFlight++
			continue
		}
		v.add(round, vLost, "dead:"+t.ID, "trade %s is %s with no start request and no running workflow", t.ID, t.Status)
	}

	// 3. The broker's own book: orders, stops, positions, exposure.
	st.book = c.checkBooks(round, traders, books, byID, v)

	// 4. The loss rules of the crash scenarios.
	c.checkScenarios(round, byID, v)

	// 5. Audit chains verify; 6. no event lost for a connected dashboard.
	ctx := context.Background()
	for _, tr := range c.everyone() {
		if res, err := audit.Verify(ctx, c.db, tr.UserID); err != nil || !res.Valid {
			v.add(round, vAudit, tr.UserID, "audit chain of %s: %+v %v", tr.UserID, res, err)
		}
		if tr.ws == nil {
			continue
		}
		var last []int64
		if err := c.db.Model(&schema.OutboxEvent{}).Where("user_id = ?", tr.UserID).Order("seq DESC").Limit(1).Pluck("seq", &last).Error; err != nil || len(last) == 0 {
			continue
		}
		var missing []int64
		c.waitFor(10*time.Second, func() bool {
			missing = tr.ws.missing(last[0])
			return len(missing) == 0
		})
		for _, seq := range missing {
			v.add(round, vEvents, fmt.Sprintf("%s:%d", tr.UserID, seq), "event %d of %s never reached the connected client", seq, tr.UserID)
		}
	}
	if res, err := audit.Verify(ctx, c.db, audit.SystemUserID); err != nil || !res.Valid {
		v.add(round, vAudit, audit.SystemUserID, "system audit chain: %+v %v", res, err)
	}
	return st
}

// tradeAlive reports whether a trade that has not ended is on its way:
// its start request waits for the relay, its workflow runs, or it ended
// meanwhile. Unknown (Temporal not answering) counts as alive: the check
// after the drain decides.
func (c *cluster) tradeAlive(t schema.Trade) bool {
	var n int64
	if err := c.db.Model(&schema.WorkflowStart{}).Where("workflow_id = ?", t.WorkflowID).Count(&n).Error; err != nil || n > 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := c.tc.DescribeWorkflowExecution(ctx, t.WorkflowID, "")
	var notFound *serviceerror.NotFound
	switch {
	case err == nil && d.WorkflowExecutionInfo.Status == enums.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return true
	case err != nil && !errors.As(err, &notFound):
		return true
	}
	var now schema.Trade
	if err := c.db.Select("status").Take(&now, "id = ?", t.ID).Error; err != nil {
		return true
	}
	return trade.Status(now.Status).Terminal()
}
