package chaos

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker/alpaca"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// Client order id prefixes (trade.ClientOrderID): entry, stop-loss, the
// guard's flattening orders.
const (
	prefixEntry   = "tee-"
	prefixStop    = "tes-"
	prefixFlatten = "tef-"
)

// bookStats count what the broker's books hold.
type bookStats struct {
	EntryOrders, Fills, StopsExecuted int
}

// checkBooks checks every account's order book as the fake broker itself
// holds it (books: read by snapshot before the trades; not the proxy's
// ledger, not our database):
//   - every client order id once; at most one entry order per trade, and
//     every entry order belongs to a trade that, once ended, knows it and
//     recorded the quantity the broker filled;
//   - at most one working stop-loss per position;
//   - positions equal the sum of the fills;
//   - cash never negative, and no fill left a position above the max
//     position rule (replayed fill by fill, so a breach an exit closed
//     later is still seen);
//   - after the drain, every open position of a steady trader has one
//     working stop for its whole quantity, and every account a loss rule
//     blocked is flat.
func (c *cluster) checkBooks(round int, traders []*trader, books map[string]alpaca.Book, trades map[string]schema.Trade, v *violations) bookStats {
	var st bookStats
	byClient := map[string]schema.Trade{}
	for _, t := range trades {
		byClient[t.ClientOrderID] = t
	}
	for _, tr := range traders {
		b := books[tr.UserID]
		seen := map[string]int{}
		entries := map[string]int{}
		stops := map[string][]alpaca.BookOrder{} // working, by symbol
		for _, o := range b.Orders {
			seen[o.ClientOrderID]++
			if seen[o.ClientOrderID] == 2 {
				v.add(round, vDuplicate, "cid:"+o.ClientOrderID, "client order id %s twice in the book of %s", o.ClientOrderID, tr.UserID)
			}
			if o.FilledQty.IsPositive() {
				st.Fills++
			}
			switch {
			case strings.HasPrefix(o.ClientOrderID, prefixEntry):
				st.EntryOrders++
				t, ok := byClient[o.ClientOrderID]
				if !ok {
					v.add(round, vBook, "orphan:"+o.ID, "entry order %s (%s %s %s, client order id %s, trader %s, created %s) at the broker belongs to no trade; %s",
						o.ID, o.Side, o.Qty, o.Symbol, o.ClientOrderID, tr.UserID, o.CreatedAt.UTC().Format(time.RFC3339Nano), c.orphanOrigin(tr, o.ClientOrderID))
					continue
				}
				entries[t.ID]++
				if entries[t.ID] == 2 {
					v.add(round, vDuplicate, "entries:"+t.ID, "trade %s has more than one entry order at the broker", t.ID)
				}
				if !trade.Status(t.Status).Terminal() || o.Working() {
					continue
				}
				if t.BrokerOrderID != o.ID {
					v.add(round, vBook, "unknown:"+o.ID, "order %s reached the broker but trade %s (%s) records %q", o.ID, t.ID, t.Status, t.BrokerOrderID)
				}
				if !t.FilledQuantity.Equal(o.FilledQty) {
					v.add(round, vBook, "fillqty:"+o.ID, "trade %s records %s filled, the broker filled %s (order %s)", t.ID, t.FilledQuantity, o.FilledQty, o.ID)
				}
			case strings.HasPrefix(o.ClientOrderID, prefixStop):
				if o.FilledQty.IsPositive() {
					st.StopsExecuted++
				}
				if o.Working() {
					stops[o.Symbol] = append(stops[o.Symbol], o)
				}
			case strings.HasPrefix(o.ClientOrderID, prefixFlatten):
			default:
				v.add(round, vBook, "cidkind:"+o.ID, "order %s has a client order id %q no part of the system makes", o.ID, o.ClientOrderID)
			}
		}
		for sym, ws := range stops {
			if len(ws) > 1 {
				v.add(round, vDuplicate, "stops:"+tr.UserID+":"+sym, "%d working stop-losses on %s of %s", len(ws), sym, tr.UserID)
			}
		}
		c.checkPositions(round, tr, b, v)
		if round == finalRound {
			c.checkProtected(tr, b, stops, v)
		}
	}
	return st
}

// checkPositions replays the fills of an account in order: the positions
// must equal their sum, and no buy may leave a position above the max
// position rule (of the highest equity the account had, with the price
// walk's tolerance).
func (c *cluster) checkPositions(round int, tr *trader, b alpaca.Book, v *violations) {
	if b.Cash.IsNegative() {
		v.add(round, vBreach, "cash:"+tr.UserID, "cash of %s is %s", tr.UserID, b.Cash)
	}
	equity := b.Cash
	for sym, q := range b.Positions {
		equity = equity.Add(q.Mul(c.fake.Price(sym)))
	}
	if equity.GreaterThan(tr.peak) {
		tr.peak = equity
	}
	limit := tr.peak.Mul(decimal.NewFromInt(maxPosition)).Shift(-2).Mul(walkTolerance)
	fills := make([]alpaca.BookOrder, 0, len(b.Orders))
	for _, o := range b.Orders {
		if o.FilledQty.IsPositive() {
			fills = append(fills, o)
		}
	}
	sort.SliceStable(fills, func(i, j int) bool { return fills[i].FilledAt.Before(fills[j].FilledAt) })
	pos := map[string]decimal.Decimal{}
	for _, o := range fills {
		if o.Side == "sell" {
			pos[o.Symbol] = pos[o.Symbol].Sub(o.FilledQty)
			continue
		}
		pos[o.Symbol] = pos[o.Symbol].Add(o.FilledQty)
		if worth := pos[o.Symbol].Mul(o.FilledAvgPrice); worth.GreaterThan(limit) {
			v.add(round, vBreach, "fill:"+o.ID, "the fill of %s (%s %s at %s) left %s worth %s, above %d%% of %s equity",
				o.ID, o.FilledQty, o.Symbol, o.FilledAvgPrice, tr.UserID, worth.Round(2), maxPosition, tr.peak.Round(2))
		}
	}
	for sym, q := range pos {
		if !q.Equal(b.Positions[sym]) {
			v.add(round, vBook, "pos:"+tr.UserID+":"+sym+":"+q.String(), "%s of %s: the fills sum to %s, the broker holds %s", sym, tr.UserID, q, b.Positions[sym])
		}
	}
	for sym, q := range b.Positions {
		if _, ok := pos[sym]; !ok {
			v.add(round, vBook, "pos:"+tr.UserID+":"+sym+":none", "%s of %s: the broker holds %s without a fill", sym, tr.UserID, q)
		}
	}
}

// checkProtected: after the drain every open position of a steady trader
// has one working stop-loss covering it, and a trader a loss rule blocked
// holds nothing.
func (c *cluster) checkProtected(tr *trader, b alpaca.Book, stops map[string][]alpaca.BookOrder, v *violations) {
	for sym, q := range b.Positions {
		if q.IsZero() {
			continue
		}
		if tr.Risk {
			if sc := c.scenarioOf(tr); sc != nil {
				if _, _, level, _, _ := sc.state(); level != "" && level != "ok" {
					v.add(finalRound, vRisk, "flat:"+tr.UserID+":"+sym, "%s is blocked (%s) but still holds %s %s", tr.UserID, level, q, sym)
				}
			}
			continue
		}
		ws := stops[sym]
		if len(ws) != 1 || !ws[0].Qty.Sub(ws[0].FilledQty).Equal(q) {
			v.add(finalRound, vRisk, "stop:"+tr.UserID+":"+sym, "%s of %s: position %s, working stops %d covering %v", sym, tr.UserID, q, len(ws), stopQtys(ws))
		}
	}
}

func stopQtys(ws []alpaca.BookOrder) []string {
	out := make([]string, len(ws))
	for i, o := range ws {
		out[i] = o.Qty.String()
	}
	return out
}

// orphanOrigin says, for the report, where an orphan entry order's client
// order id comes from: the signal whose workflow id (with the trader)
// derives it, with what the database and Temporal hold for that workflow
// now; or that no stored signal derives it.
func (c *cluster) orphanOrigin(tr *trader, clientOrderID string) string {
	var sigs []schema.Signal
	if err := c.db.Select("id", "source", "external_id", "user_id", "received_at").Find(&sigs).Error; err != nil {
		return "signals unreadable: " + err.Error()
	}
	for _, s := range sigs {
		wf := trade.WorkflowID(s.ID, tr.UserID)
		if trade.ClientOrderID(wf, "entry") != clientOrderID {
			continue
		}
		var rows []schema.Trade
		err := c.db.Select("id", "status", "client_order_id", "created_at").Where("workflow_id = ?", wf).Find(&rows).Error
		var starts int64
		if err == nil {
			err = c.db.Model(&schema.WorkflowStart{}).Where("workflow_id = ?", wf).Count(&starts).Error
		}
		desc := fmt.Sprintf("its workflow %s is of signal %s (%s %q of %s, received %s); trade rows now %v, start requests %d (err %v)",
			wf, s.ID, s.Source, s.ExternalID, s.UserID, s.ReceivedAt.UTC().Format(time.RFC3339Nano), tradeRows(rows), starts, err)
		if c.tc != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if d, err := c.tc.DescribeWorkflowExecution(ctx, wf, ""); err == nil {
				info := d.GetWorkflowExecutionInfo()
				desc += fmt.Sprintf("; Temporal: %s, started %s", info.GetStatus(), info.GetStartTime().AsTime().Format(time.RFC3339Nano))
			} else {
				desc += "; Temporal: " + err.Error()
			}
		}
		return desc
	}
	return fmt.Sprintf("none of the %d stored signals derives it with this trader", len(sigs))
}

func tradeRows(rows []schema.Trade) []string {
	out := make([]string, len(rows))
	for i, t := range rows {
		out[i] = fmt.Sprintf("%s %s %s created %s", t.ID, t.Status, t.ClientOrderID, t.CreatedAt.UTC().Format(time.RFC3339Nano))
	}
	return out
}
