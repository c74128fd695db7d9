package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/tradeexec/tradeexec/schema"
)

// bracketRun is issue 11's bench: a webhook with a stop-loss and a
// take-profit → the entry accepted by the broker, then both protective legs
// in force (the stop accepted at the broker, the take-profit armed and
// watched). The figure is also given as a ratio to the entry's own latency
// in the same signals, which carries across machines.
func (e *env) bracketRun(ctx context.Context, n int) []row {
	var entry, both []time.Duration
	lost := 0
	for i := 0; i < n+3; i++ {
		body := fmt.Sprintf(`{"ticker":"AAPL","action":"buy","quantity":1,"type":"market","stopLoss":{"type":"stop","percent":2},"takeProfit":{"percent":5},"id":"%s"}`, uuid.NewString())
		sent := time.Now()
		resp, err := http.Post(e.stack.URL+"/webhooks/tradingview/"+e.demo.WebhookToken, "application/json", bytes.NewBufferString(body)) // #nosec G107 -- the bench's own local test server
		must(err)
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			must(fmt.Errorf("webhook answered %d: %s", resp.StatusCode, raw))
		}
		var r struct{ WorkflowID, TradeID string }
		_ = json.Unmarshal(raw, &r)
		at, ok := e.waitAccepted(r.WorkflowID, 30*time.Second)
		armed, ok2 := e.waitArmed(ctx, r.TradeID, 30*time.Second)
		if i < 3 { // warm-up
			continue
		}
		if !ok || !ok2 {
			lost++
			continue
		}
		entry = append(entry, at.Sub(sent))
		both = append(both, armed.Sub(sent))
	}
	eRow := stats("webhook + stop + take-profit → entry accepted", entry, "", "—")
	bRow := stats("… → stop accepted and take-profit armed", both, fmt.Sprintf("%d lost; p50 = %.1f× the entry's p50", lost, ratio(both, entry)), "both in force ≤ 5× the entry")
	return []row{eRow, bRow}
}

// waitArmed waits until the trade's take-profit is armed (after its stop
// was accepted) and returns when it was seen.
func (e *env) waitArmed(ctx context.Context, tradeID string, timeout time.Duration) (time.Time, bool) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var t schema.Trade
		if err := e.db.WithContext(ctx).Select("take_profit_status").Where("id = ?", tradeID).Take(&t).Error; err == nil && t.TakeProfitStatus != "" {
			return time.Now(), true
		}
		time.Sleep(time.Millisecond)
	}
	return time.Time{}, false
}

// ratio is the p50 of a over the p50 of b.
func ratio(a, b []time.Duration) float64 {
	pa, pb := median(a), median(b)
	if pb <= 0 {
		return 0
	}
	return float64(pa) / float64(pb)
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	c := append([]time.Duration(nil), d...)
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j] < c[j-1]; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
	return c[len(c)/2]
}
