package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/api/enums/v1"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/alpaca"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// findings are the invariant violations found by one check.
type findings struct {
	Trades, Filled, InFlight                         int
	Duplicates, Breaches, Lost, AuditBad, EventsLost int
	Notes                                            []string
}

func (f *findings) note(format string, args ...any) {
	if len(f.Notes) < 20 {
		f.Notes = append(f.Notes, fmt.Sprintf(format, args...))
	}
}

// settle waits (up to timeout) until every accepted signal's trade is
// final.
func (c *cluster) settle(all []*sent, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var ids []string
		for _, s := range all {
			if s.Acked {
				ids = append(ids, s.TradeID)
			}
		}
		var open int64
		if err := c.db.Model(&schema.Trade{}).Where("id IN ? AND status NOT IN ?", ids,
			[]string{string(trade.StatusFilled), string(trade.StatusRejected), string(trade.StatusCancelled)}).Count(&open).Error; err == nil && open == 0 {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// check verifies the invariants over everything sent so far.
func (c *cluster) check(all []*sent) findings {
	var f findings
	ctx := context.Background()
	var trades []schema.Trade
	userIDs := make([]string, len(c.traders))
	for i, tr := range c.traders {
		userIDs[i] = tr.UserID
	}
	if err := c.db.Where("user_id IN ?", userIDs).Find(&trades).Error; err != nil {
		f.Lost++
		f.note("trades unreadable: %v", err)
		return f
	}
	byID := map[string]schema.Trade{}
	byClient := map[string]schema.Trade{}
	for _, t := range trades {
		byID[t.ID] = t
		byClient[t.ClientOrderID] = t
	}
	f.Trades = len(trades)

	// 1. Every signal accepted and its trade terminal or resumable.
	for _, s := range all {
		if !s.Acked {
			f.Lost++
			f.note("signal %s never accepted", s.Key)
			continue
		}
		if _, ok := byID[s.TradeID]; !ok {
			f.Lost++
			f.note("signal %s: trade %s missing", s.Key, s.TradeID)
		}
	}
	for _, t := range trades {
		st := trade.Status(t.Status)
		if st == trade.StatusFilled {
			f.Filled++
		}
		if st.Terminal() {
			continue
		}
		d, err := c.tc.DescribeWorkflowExecution(ctx, t.WorkflowID, "")
		if err == nil && d.WorkflowExecutionInfo.Status == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			f.InFlight++
			continue
		}
		f.Lost++
		f.note("trade %s is %s with no running workflow (%v)", t.ID, t.Status, err)
	}

	// 2. At most one order per signal per trader; every order known.
	perTrade := map[string]int{}
	stops := map[string][]ledgerOrder{} // by account
	for _, o := range c.proxy.orders() {
		switch {
		case strings.HasPrefix(o.ClientOrderID, "tee-"):
			t, ok := byClient[o.ClientOrderID]
			if !ok {
				f.Duplicates++
				f.note("entry order %s belongs to no trade", o.ID)
				continue
			}
			perTrade[t.ID]++
			if t.BrokerOrderID != o.ID && trade.Status(t.Status).Terminal() {
				f.Duplicates++
				f.note("order %s reached the broker but trade %s (%s) does not know it", o.ID, t.ID, t.Status)
			}
		case strings.HasPrefix(o.ClientOrderID, "tes-"):
			stops[o.KeyID] = append(stops[o.KeyID], o)
		case strings.HasPrefix(o.ClientOrderID, "tef-"):
		default:
			f.Duplicates++
			f.note("order %s has an unknown client order id %q", o.ID, o.ClientOrderID)
		}
	}
	for id, n := range perTrade {
		if n > 1 {
			f.Duplicates += n - 1
			f.note("trade %s has %d entry orders", id, n)
		}
	}
	for _, tr := range c.traders {
		b := c.direct(tr)
		working := map[string]int{}
		for _, o := range stops[tr.KeyID] {
			st, err := b.GetOrderStatus(ctx, o.ID)
			if err == nil && !st.Status.Terminal() {
				working[o.Symbol]++
			}
		}
		for sym, n := range working {
			if n > 1 {
				f.Duplicates += n - 1
				f.note("%d working stop-losses on %s of one account", n, sym)
			}
		}

		// 3. No exposure above the limits.
		bal, err := b.GetBalance(ctx)
		if err != nil {
			f.Breaches++
			f.note("balance unreadable: %v", err)
			continue
		}
		if bal.Cash.IsNegative() {
			f.Breaches++
			f.note("cash %s below zero", bal.Cash)
		}
		positions, err := b.GetPositions(ctx)
		if err != nil {
			f.Breaches++
			f.note("positions unreadable: %v", err)
			continue
		}
		limit := bal.Equity.Mul(decimal.NewFromInt(maxPosition)).Shift(-2)
		for _, p := range positions {
			if v := p.Quantity.Abs().Mul(p.CurrentPrice); v.GreaterThan(limit) {
				f.Breaches++
				f.note("%s position worth %s above the limit %s", p.Symbol, v, limit)
			}
		}

		// 4. The audit chain verifies.
		res, err := audit.Verify(ctx, c.db, tr.UserID)
		if err != nil || !res.Valid {
			f.AuditBad++
			f.note("audit chain of %s: %+v %v", tr.UserID, res, err)
		}

		// 5. No event lost for the connected dashboard.
		var last []int64
		if err := c.db.Model(&schema.OutboxEvent{}).Where("user_id = ?", tr.UserID).Order("seq DESC").Limit(1).Pluck("seq", &last).Error; err != nil || len(last) == 0 {
			continue
		}
		deadline := time.Now().Add(10 * time.Second)
		missing := tr.ws.missing(last[0])
		for len(missing) > 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			missing = tr.ws.missing(last[0])
		}
		if len(missing) > 0 {
			f.EventsLost += len(missing)
			f.note("events %v of %s never reached the connected client", missing, tr.UserID)
		}
	}
	if res, err := audit.Verify(ctx, c.db, audit.SystemUserID); err != nil || !res.Valid {
		f.AuditBad++
		f.note("system audit chain: %+v %v", res, err)
	}
	return f
}

// direct is an adapter talking to the fake itself (not through the proxy).
func (c *cluster) direct(tr *trader) broker.Broker {
	b, err := alpaca.New(broker.Config{ConnectionID: tr.ConnectionID, UserID: tr.UserID, Paper: true, Credentials: c.fake.Credentials(tr.KeyID, tr.Secret)},
		alpaca.Options{AllowCustomURLs: true, Limiter: ratelimit.New(6_000_000, ratelimit.WithBurst(100_000))})
	if err != nil {
		panic(err)
	}
	return b
}
