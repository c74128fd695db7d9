package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/workflows"
)

var symbols = []string{"AAPL", "MSFT", "TSLA", "SPY", "NVDA"}

// sent is one signal and what its deliveries got back.
type sent struct {
	Trader  *trader
	Round   int
	Key     string // alert id, or Discord message id
	Slot    int    // the trader's webhook URL it goes to
	Discord bool
	Body    string
	Copies  int
	// MustRefuse: sent after a loss rule blocked the trader; its trade must
	// be rejected and no order may reach the broker.
	MustRefuse bool

	mu       sync.Mutex
	answers  []int    // HTTP status per copy (0: no answer); 202 for an accepted Discord copy
	tradeIDs []string // the trade id of every accepted copy
}

func (s *sent) record(code int, tradeID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers = append(s.answers, code)
	if tradeID != "" {
		s.tradeIDs = append(s.tradeIDs, tradeID)
	}
}

// accepted reports whether a copy was accepted, and its trade id.
func (s *sent) accepted() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tradeIDs) == 0 {
		return "", false
	}
	return s.tradeIDs[0], true
}

func (s *sent) snapshot() (answers []int, tradeIDs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.answers...), append([]string(nil), s.tradeIDs...)
}

// signals draws a round's signals: per steady trader three webhook alerts
// (one per webhook URL) and one Discord message, mostly buys of 1-4
// shares, sometimes an exit; each delivered one to three times.
func (c *cluster) signals(round int, rnd *rand.Rand) []*sent {
	var out []*sent
	for ti, tr := range c.traders {
		for i := 0; i <= signalsPerTrader; i++ {
			sym := symbols[rnd.IntN(len(symbols))]
			qty := 1 + rnd.IntN(4)
			s := &sent{Trader: tr, Round: round, Slot: i, Copies: 1 + rnd.IntN(3)}
			if i == signalsPerTrader {
				s.Discord = true
				s.Key = fmt.Sprintf("%d%03d%02d%d", 1200000000000000000+int64(round)*1000, ti, i, rnd.IntN(10))
				s.Body = fmt.Sprintf("/buy %s %d shares @market", sym, qty)
			} else {
				s.Key = fmt.Sprintf("r%d-t%d-s%d", round, ti, i)
				action := `"action":"buy","quantity":` + strconv.Itoa(qty) + `,"type":"market"`
				if rnd.IntN(4) == 0 {
					action = `"action":"exit"`
				}
				s.Body = webhookBody(sym, action, s.Key)
			}
			out = append(out, s)
		}
	}
	return out
}

func webhookBody(sym, action, id string) string {
	return `{"ticker":"` + sym + `",` + action + `,"id":"` + id + `"}`
}

// deliver sends the signals spread over the first two seconds of the
// round; the copies of a signal go at once or up to three seconds apart.
// A copy that is not accepted is not sent again: TradingView does not
// retry, so a signal is accepted (202) or it is not.
func (c *cluster) deliver(batch []*sent, rnd *rand.Rand) {
	var wg sync.WaitGroup
	for _, s := range batch {
		at := time.Duration(rnd.IntN(2000)) * time.Millisecond
		for k := 0; k < s.Copies; k++ {
			wait := at
			if k > 0 && rnd.IntN(2) == 0 {
				wait += time.Duration(rnd.IntN(3000)) * time.Millisecond
			}
			wg.Add(1)
			go func(s *sent) {
				defer wg.Done()
				time.Sleep(wait)
				c.deliverOnce(s)
			}(s)
		}
	}
	wg.Wait()
}

// deliverOnce delivers one copy and records the answer.
func (c *cluster) deliverOnce(s *sent) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.Discord {
		sig, err := signal.ParseDiscord(s.Body)
		if err != nil {
			c.t.Errorf("Discord body %q: %v", s.Body, err)
			return
		}
		sig.ExternalID, sig.Text = s.Key, s.Body
		svc := &intake.Service{DB: c.db, Temporal: c.tc, TaskQueue: c.queue, Timeouts: workflows.Timeouts{Submit: submitTimeout}}
		res, err := svc.Submit(ctx, intake.Request{UserID: s.Trader.UserID, Signal: sig})
		if err != nil {
			s.record(http.StatusServiceUnavailable, "")
			return
		}
		s.record(http.StatusAccepted, res.TradeID)
		return
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.stack.URL+"/webhooks/tradingview/"+s.Trader.WebhookTokens[s.Slot], bytes.NewBufferString(s.Body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.record(0, "")
		return
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		s.record(resp.StatusCode, "")
		return
	}
	var r struct {
		TradeID string `json:"tradeId"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || r.TradeID == "" {
		s.record(-1, "") // 202 without a trade id: a bad answer
		return
	}
	s.record(resp.StatusCode, r.TradeID)
}
