package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/workflows"
)

func TestMain(m *testing.M) {
	if cfg := os.Getenv(workerEnv); cfg != "" {
		os.Exit(runWorker(cfg))
	}
	os.Exit(m.Run())
}

// Fault kinds.
const (
	faultWorkerKill      = "worker killed"
	faultTemporalRestart = "temporal restarted"
	faultBroker503       = "broker 503 storm"
	faultBroker429       = "broker 429 storm"
	faultBrokerTimeout   = "broker accepts, then times out"
	faultBrokerDrop      = "broker drops connections"
	faultDBOutage        = "database stopped"
	dupWebhook           = "duplicate webhook deliveries"
	dupDiscord           = "duplicate Discord deliveries"
)

var faultKinds = []string{faultWorkerKill, faultBroker503, faultTemporalRestart, faultBrokerTimeout, faultDBOutage, faultBroker429, faultBrokerDrop}

// TestChaosTradePath runs the chaos rounds on SQLite and, when
// TEST_DATABASE_URL is set, on PostgreSQL. CHAOS_ROUNDS (default 14, each
// fault kind twice, with a random second fault in half of the rounds) and
// CHAOS_SEED (default: the clock) tune it.
func TestChaosTradePath(t *testing.T) {
	rounds := envInt("CHAOS_ROUNDS", 2*len(faultKinds))
	seed := uint64(envInt("CHAOS_SEED", int(time.Now().UnixNano()%1_000_000_000)))
	t.Logf("chaos: %d rounds per database, seed %d (CHAOS_SEED=%d reproduces the fault schedule)", rounds, seed, seed)
	var reports []*report
	t.Run("sqlite", func(t *testing.T) { reports = append(reports, runChaos(t, store.SQLite, rounds, seed)) })
	if _, ok := storetest.PostgresURL(); ok {
		t.Run("postgres", func(t *testing.T) { reports = append(reports, runChaos(t, store.Postgres, rounds, seed+1)) })
	}
	fmt.Println(renderTable(reports))
}

// report is what a run found.
type report struct {
	Database   string
	Rounds     int
	Signals    int
	Trades     int
	Filled     int
	Faults     map[string]int
	Duplicates int
	Breaches   int
	Lost       int
	AuditBad   int
	EventsLost int
	Reconnects int
	// BrokerFaults counts requests the proxy answered with a fault;
	// Restarts counts worker processes started.
	BrokerFaults int
	Workers      int
	Notes        []string
}

// sent is one signal and what its deliveries got back.
type sent struct {
	Trader  *trader
	Key     string // alert id or Discord message id
	Discord bool
	Body    string
	Copies  int
	TradeID string
	Acked   bool
}

func runChaos(t *testing.T, dialect store.Dialect, rounds int, seed uint64) *report {
	c := newCluster(t, dialect, seed, 2)
	defer c.stopTemporal()
	rnd := rand.New(rand.NewPCG(seed, seed*31+7))
	rep := &report{Database: string(dialect), Faults: map[string]int{}}
	var all []*sent
	for r := 0; r < rounds; r++ {
		plan := []string{faultKinds[r%len(faultKinds)]}
		if extra := faultKinds[rnd.IntN(len(faultKinds))]; extra != plan[0] && rnd.IntN(2) == 0 {
			plan = append(plan, extra)
		}
		start := time.Now()
		batch := c.signals(r, rnd)
		var wg sync.WaitGroup
		wg.Add(1)
		go func(seed uint64) { defer wg.Done(); c.deliver(batch, rand.New(rand.NewPCG(seed, seed))) }(rnd.Uint64())
		for _, f := range plan {
			wg.Add(1)
			delay := time.Duration(rnd.IntN(1500)) * time.Millisecond
			own := rand.New(rand.NewPCG(rnd.Uint64(), rnd.Uint64()))
			go func(f string) { defer wg.Done(); time.Sleep(delay); c.inject(f, own) }(f)
			rep.Faults[f]++
		}
		wg.Wait()
		for _, s := range batch {
			if s.Copies > 1 {
				if s.Discord {
					rep.Faults[dupDiscord]++
				} else {
					rep.Faults[dupWebhook]++
				}
			}
		}
		all = append(all, batch...)
		c.settle(all, 90*time.Second)
		v := c.check(all)
		rep.Rounds++
		t.Logf("round %d (%s) in %s: %d signals, duplicates %d, breaches %d, lost %d, audit %d, events lost %d %v",
			r+1, strings.Join(plan, " + "), time.Since(start).Round(time.Millisecond), len(batch), v.Duplicates, v.Breaches, v.Lost, v.AuditBad, v.EventsLost, v.Notes)
	}
	// Last word: everything that was in flight finishes.
	c.settle(all, 120*time.Second)
	v := c.check(all)
	rep.Duplicates, rep.Breaches, rep.Lost, rep.AuditBad, rep.EventsLost, rep.Notes = v.Duplicates, v.Breaches, v.Lost, v.AuditBad, v.EventsLost, v.Notes
	rep.Signals, rep.Trades, rep.Filled = len(all), v.Trades, v.Filled
	for _, tr := range c.traders {
		rep.Reconnects += tr.ws.reconnected()
	}
	rep.BrokerFaults, rep.Workers = c.proxy.served(), c.workerN
	require.Zero(t, rep.Duplicates, "orders beyond one per signal per trader: %v", rep.Notes)
	require.Zero(t, rep.Breaches, "exposure above limits: %v", rep.Notes)
	require.Zero(t, rep.Lost, "lost signals: %v", rep.Notes)
	require.Zero(t, rep.AuditBad, "audit chains: %v", rep.Notes)
	require.Zero(t, rep.EventsLost, "events lost for a connected client: %v", rep.Notes)
	return rep
}

var symbols = []string{"AAPL", "MSFT", "TSLA", "SPY", "NVDA"}

// signals draws a round's signals: per trader three webhook alerts and
// one Discord message, mostly buys of 1-4 shares, sometimes an exit; each
// delivered one to three times.
func (c *cluster) signals(round int, rnd *rand.Rand) []*sent {
	var out []*sent
	for ti, tr := range c.traders {
		for i := 0; i < 4; i++ {
			sym := symbols[rnd.IntN(len(symbols))]
			qty := 1 + rnd.IntN(4)
			s := &sent{Trader: tr, Copies: 1 + rnd.IntN(3)}
			if i == 3 {
				s.Discord = true
				s.Key = fmt.Sprintf("%d%03d%02d%d", 1200000000000000000+int64(round)*1000, ti, i, rnd.IntN(10))
				s.Body = fmt.Sprintf("/buy %s %d shares @market", sym, qty)
			} else {
				s.Key = fmt.Sprintf("r%d-t%d-s%d", round, ti, i)
				action := `"action":"buy","quantity":` + strconv.Itoa(qty) + `,"type":"market"`
				if rnd.IntN(4) == 0 {
					action = `"action":"exit"`
				}
				s.Body = `{"ticker":"` + sym + `",` + action + `,"id":"` + s.Key + `"}`
			}
			out = append(out, s)
		}
	}
	return out
}

// deliver sends the signals spread over the first two seconds of the
// round, every copy of a signal at once; a copy that is not accepted (the
// system is down) is sent again, as TradingView and the Discord gateway
// redeliver, for up to 45 s.
func (c *cluster) deliver(batch []*sent, rnd *rand.Rand) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, s := range batch {
		at := time.Duration(rnd.IntN(2000)) * time.Millisecond
		for k := 0; k < s.Copies; k++ {
			wg.Add(1)
			go func(s *sent) {
				defer wg.Done()
				time.Sleep(at)
				deadline := time.Now().Add(45 * time.Second)
				for time.Now().Before(deadline) {
					id, err := c.deliverOnce(s)
					if err == nil {
						mu.Lock()
						s.Acked, s.TradeID = true, id
						mu.Unlock()
						return
					}
					time.Sleep(300 * time.Millisecond)
				}
			}(s)
		}
	}
	wg.Wait()
}

func (c *cluster) deliverOnce(s *sent) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.Discord {
		sig, err := signal.ParseDiscord(s.Body)
		if err != nil {
			return "", err
		}
		sig.ExternalID, sig.Text = s.Key, s.Body
		svc := &intake.Service{DB: c.db, Temporal: c.tc, TaskQueue: c.queue, Timeouts: workflows.Timeouts{Submit: submitTimeout}}
		res, err := svc.Submit(ctx, intake.Request{UserID: s.Trader.UserID, Signal: sig})
		return res.TradeID, err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.stack.URL+"/webhooks/tradingview/"+s.Trader.WebhookToken, bytes.NewBufferString(s.Body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("webhook answered %d: %s", resp.StatusCode, raw)
	}
	var r struct {
		TradeID string `json:"tradeId"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || r.TradeID == "" {
		return "", errors.New("webhook answer without trade id")
	}
	return r.TradeID, nil
}

// inject applies one fault.
func (c *cluster) inject(kind string, rnd *rand.Rand) {
	switch kind {
	case faultWorkerKill:
		c.killWorker()
		time.Sleep(time.Duration(300+rnd.IntN(1500)) * time.Millisecond)
		c.startWorker()
	case faultTemporalRestart:
		c.restartTemporal(time.Duration(rnd.IntN(1000)) * time.Millisecond)
	case faultBroker503:
		c.proxy.storm(http.StatusServiceUnavailable, time.Duration(1500+rnd.IntN(2000))*time.Millisecond)
	case faultBroker429:
		c.proxy.storm(http.StatusTooManyRequests, time.Duration(1500+rnd.IntN(2000))*time.Millisecond)
	case faultBrokerTimeout:
		c.proxy.acceptThenTimeout(1 + rnd.IntN(3))
	case faultBrokerDrop:
		c.proxy.drop(0.3, time.Duration(2000+rnd.IntN(2000))*time.Millisecond)
	case faultDBOutage:
		c.dbOutage(time.Duration(2000+rnd.IntN(2000)) * time.Millisecond)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// renderTable prints the summary of every run.
func renderTable(reports []*report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nchaos suite — invariants after every round\n\n")
	kinds := append(append([]string{}, faultKinds...), dupWebhook, dupDiscord)
	head := []string{"database", "rounds", "signals", "trades (filled)"}
	for _, k := range kinds {
		head = append(head, k)
	}
	head = append(head, "broker requests faulted", "worker processes", "duplicates (must be 0)", "limit breaches (must be 0)",
		"lost signals (must be 0)", "audit chains broken (must be 0)", "events lost (must be 0)", "ws reconnects")
	rows := [][]string{head}
	for _, r := range reports {
		row := []string{r.Database, strconv.Itoa(r.Rounds), strconv.Itoa(r.Signals), fmt.Sprintf("%d (%d)", r.Trades, r.Filled)}
		for _, k := range kinds {
			row = append(row, strconv.Itoa(r.Faults[k]))
		}
		row = append(row, strconv.Itoa(r.BrokerFaults), strconv.Itoa(r.Workers), strconv.Itoa(r.Duplicates), strconv.Itoa(r.Breaches),
			strconv.Itoa(r.Lost), strconv.Itoa(r.AuditBad), strconv.Itoa(r.EventsLost), strconv.Itoa(r.Reconnects))
		rows = append(rows, row)
	}
	// One line per column (the table is wide): column, then a value per run.
	w := 0
	for _, h := range head {
		w = max(w, len(h))
	}
	for i, h := range head {
		fmt.Fprintf(&b, "| %-*s |", w, h)
		for _, r := range rows[1:] {
			fmt.Fprintf(&b, " %12s |", r[i])
		}
		b.WriteString("\n")
		if i == 0 {
			fmt.Fprintf(&b, "|%s|", strings.Repeat("-", w+2))
			for range rows[1:] {
				fmt.Fprintf(&b, "%s|", strings.Repeat("-", 14))
			}
			b.WriteString("\n")
		}
	}
	for _, r := range reports {
		if len(r.Notes) > 0 {
			sort.Strings(r.Notes)
			fmt.Fprintf(&b, "\n%s: %s\n", r.Database, strings.Join(r.Notes, "; "))
		}
	}
	return b.String()
}
