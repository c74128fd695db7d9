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
)

var symbols = []string{"AAPL", "MSFT", "TSLA", "SPY", "NVDA"}

// sent is one signal and what its deliveries got back.
type sent struct {
	Trader *trader // nil for a channel signal (to every follower)
	Round  int
	Key    string // alert id, or Discord message id
	Slot   int    // the trader's webhook URL it goes to
	// Channel: a message the provider posts in the Discord channel (through
	// the fake gateway and the bot); accepted once the bot logged it fired.
	Channel bool
	Body    string
	Copies  int
	// MustRefuse: sent after a loss rule blocked the trader; its trade must
	// be rejected and no order may reach the broker.
	MustRefuse bool

	mu       sync.Mutex
	answers  []int    // HTTP status per copy (0: no answer)
	tradeIDs []string // the trade id of every accepted copy
	fired    bool     // channel signal logged as fired by the bot
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
	if s.Channel {
		return "", s.fired
	}
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
// (one per webhook URL), buys of 1-4 shares and, one time in three, an exit,
// and one message in the Discord channel they follow; each delivered one
// to three times.
func (c *cluster) signals(round int, rnd *rand.Rand) []*sent {
	var out []*sent
	for ti, tr := range c.traders {
		for i := 0; i < signalsPerTrader; i++ {
			sym := symbols[rnd.IntN(len(symbols))]
			qty := 1 + rnd.IntN(4)
			s := &sent{Trader: tr, Round: round, Slot: i, Copies: 1 + rnd.IntN(3), Key: fmt.Sprintf("r%d-t%d-s%d", round, ti, i)}
			action := `"action":"buy","quantity":` + strconv.Itoa(qty) + `,"type":"market"`
			if rnd.IntN(3) == 0 {
				action = `"action":"exit"`
			}
			s.Body = webhookBody(sym, action, s.Key)
			out = append(out, s)
		}
	}
	return append(out, c.channelSignal(round, rnd))
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
		if s.Channel {
			own := rand.New(rand.NewPCG(rnd.Uint64(), rnd.Uint64()))
			wg.Add(1)
			go func(s *sent) {
				defer wg.Done()
				time.Sleep(at)
				c.post(s, own)
			}(s)
			continue
		}
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
