package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/stack"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/vault"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
	"gorm.io/gorm"
)

// env is the system under measurement plus a recorder of the moment each
// order was accepted by the paper broker (keyed by client order id).
type env struct {
	db       *gorm.DB
	temporal client.Client
	stack    *app.Stack
	demo     app.Demo
	cancel   context.CancelFunc

	mu       sync.Mutex
	accepted map[string]time.Time
	// lastWorkflowID is the workflow id of the last fire (sequential runs).
	lastWorkflowID string

	// On the production-shaped stack (bench/stack.go): the proxy's URL,
	// webhook tokens used in turn (one URL takes 60 alerts a minute), and
	// the acceptance time read from the trade row (submitted_at, written
	// by a worker process when the broker accepted the order).
	url        string
	hooks      []string
	next       int
	acceptedAt func(workflowID string) (time.Time, bool)
	symbol     string
}

// timedBroker records when PlaceOrder returned successfully.
type timedBroker struct {
	broker.Broker
	e *env
}

// GetAccount keeps the paper broker's one read of balance and positions
// (broker.AccountReader), which embedding broker.Broker would hide: the
// trade path and the guard use it in production.
func (b *timedBroker) GetAccount(ctx context.Context) (broker.Balance, []broker.Position, error) {
	return broker.ReadAccount(ctx, b.Broker)
}

func (b *timedBroker) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	o, err := b.Broker.PlaceOrder(ctx, req)
	if err == nil {
		b.e.mu.Lock()
		b.e.accepted[req.ClientOrderID] = time.Now()
		b.e.mu.Unlock()
	}
	return o, err
}

func newEnv(ctx context.Context, dir, temporalAddr string) (*env, error) {
	db, dialect, err := store.Open(ctx, "sqlite://"+dir+"/tradeexec.db", nil)
	if err != nil {
		return nil, err
	}
	if err := schema.Migrate(ctx, db, dialect); err != nil {
		return nil, err
	}
	tc, err := encryptedClient(temporalAddr)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kr, err := vault.ParseKeyring("1:" + base64.StdEncoding.EncodeToString(key))
	if err != nil {
		return nil, err
	}
	feed := paper.NewStaticFeed(map[string]decimal.Decimal{"AAPL": decimal.NewFromInt(180)})
	engine := paper.NewEngine(paper.NewGormStore(db), feed)
	rctx, cancel := context.WithCancel(context.Background())
	go engine.Run(rctx)

	countSQL(db)
	e := &env{db: db, temporal: tc, cancel: cancel, accepted: map[string]time.Time{}}
	reg := broker.NewRegistry()
	pf := paper.Factory(engine)
	reg.Register("paper", func(cfg broker.Config) (broker.Broker, error) {
		b, err := pf(cfg)
		if err != nil {
			return nil, err
		}
		return &timedBroker{Broker: b, e: e}, nil
	})
	e.demo, err = app.EnsureDemo(ctx, db, kr, engine, dir, "http://bench")
	if err != nil {
		return nil, err
	}
	// A large account and a 100% position limit, so every signal is a real
	// order (none is reduced to nothing by the 10% rule).
	if err := engine.Deposit(ctx, e.demo.PaperAccount, decimal.NewFromInt(100_000_000)); err != nil {
		return nil, err
	}
	if err := db.Model(&schema.RiskSettings{}).Where("user_id = ?", e.demo.UserID).Update("max_position_pct", decimal.NewFromInt(100)).Error; err != nil {
		return nil, err
	}
	e.stack, err = app.Start(ctx, app.Options{DB: db, Temporal: tc, TaskQueue: workflows.DefaultTaskQueue, Vault: kr, Paper: engine,
		Registry: reg, RunWorker: true, RunAPI: true, HTTPAddr: "127.0.0.1:0", FillPoll: 20 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	// The signals come from 60 traders in turn: one webhook URL takes 60
	// alerts a minute (FR-016), the sequential run alone sends 200.
	traders, err := stack.CreateTraders(ctx, db, kr, engine, 60, decimal.NewFromInt(100_000_000), decimal.NewFromInt(100))
	if err != nil {
		return nil, err
	}
	e.url = e.stack.URL
	for _, t := range traders {
		e.hooks = append(e.hooks, t.WebhookToken)
	}
	return e, nil
}

func (e *env) close() {
	e.stack.Stop()
	e.cancel()
	e.temporal.Close()
}

// fire posts one webhook and returns (time sent, 202 latency, client order id).
func (e *env) fire(ctx context.Context) (time.Time, time.Duration, string, error) {
	symbol, qty := "AAPL", "1"
	if e.symbol != "" {
		symbol, qty = e.symbol, "0.001"
	}
	body := fmt.Sprintf(`{"ticker":"%s","action":"buy","quantity":%s,"type":"market","id":"%s"}`, symbol, qty, uuid.NewString())
	var url string
	if e.url != "" {
		e.mu.Lock()
		url = e.url + "/webhooks/tradingview/" + e.hooks[e.next%len(e.hooks)]
		e.next++
		e.mu.Unlock()
	} else {
		url = e.stack.URL + "/webhooks/tradingview/" + e.demo.WebhookToken
	}
	sent := time.Now()
	resp, err := http.Post(url, "application/json", bytes.NewBufferString(body)) // #nosec G107 -- the bench's own local test server
	if err != nil {
		return sent, 0, "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	ack := time.Since(sent)
	if resp.StatusCode != http.StatusAccepted {
		return sent, ack, "", fmt.Errorf("webhook answered %d: %s", resp.StatusCode, raw)
	}
	var r struct{ WorkflowID string }
	_ = json.Unmarshal(raw, &r)
	e.lastWorkflowID = r.WorkflowID
	return sent, ack, r.WorkflowID, nil
}

// waitAccepted waits until the broker accepted the order of the trade
// workflow.
func (e *env) waitAccepted(workflowID string, timeout time.Duration) (time.Time, bool) {
	deadline := time.Now().Add(timeout)
	id := tradeClientOrderID(workflowID)
	for time.Now().Before(deadline) {
		if e.acceptedAt != nil {
			if t, ok := e.acceptedAt(workflowID); ok {
				return t, true
			}
			time.Sleep(2 * time.Millisecond)
			continue
		}
		e.mu.Lock()
		t, ok := e.accepted[id]
		e.mu.Unlock()
		if ok {
			return t, true
		}
		time.Sleep(500 * time.Microsecond)
	}
	return time.Time{}, false
}

func (e *env) sequentialRun(ctx context.Context, n int, ceil ceiling) []row {
	// Warm-up: connections, caches, first workflow.
	for i := 0; i < 5; i++ {
		_, _, id, err := e.fire(ctx)
		must(err)
		e.waitAccepted(id, 30*time.Second)
	}
	// One signal at a time, as the floor is measured: each after the
	// previous trade's workflow has completed (its stop placed, its guard
	// ensured), so a trade's latency is not its predecessor's tail.
	one := e.signalsInTurn(ctx, n, true)
	// Back to back: the next signal as soon as the previous order is
	// accepted, so each trade runs beside its predecessor's remaining work
	// (on 2 cores that is most of the machine).
	b2b := e.signalsInTurn(ctx, n, false)
	fmt.Println("trade path server work:", serverWork(ctx, e.temporal, one.wfIDs, 50))
	return []row{
		{Figure: "CPU per trade (whole workflow)", Samples: fmt.Sprint(n),
			Other:  fmt.Sprintf("%s = %s the one-local-activity workflow's (%s)", one.cpu, times(one.cpu.total(), ceil.LocalCPU.total()), ceil.LocalCPU),
			Target: "—"},
		stats("webhook → order accepted by broker (one signal at a time)", one.lat,
			fmt.Sprintf("p50 = %s the one-local-activity workflow; %d not accepted", times(median(one.lat), ceil.LocalP50), one.lost),
			"p50 ≤ 3× one-local-activity workflow, p99 ≤ 100 ms"),
		stats("webhook → 202 answer (one signal at a time)", one.acks, "", "< 3 s (TradingView)"),
		stats("webhook → order accepted, back to back", b2b.lat,
			fmt.Sprintf("p50 = %s the one-local-activity workflow; next signal at acceptance; %d not accepted", times(median(b2b.lat), ceil.LocalP50), b2b.lost),
			"—"),
	}
}

type turnRun struct {
	lat, acks []time.Duration
	wfIDs     []string
	lost      int
	cpu       cpuMeter
}

// signalsInTurn sends n signals one after another; with settle each waits
// for the previous trade's workflow to complete first.
func (e *env) signalsInTurn(ctx context.Context, n int, settle bool) turnRun {
	var r turnRun
	cpu0 := readCPU()
	resetSQL()
	for i := 0; i < n; i++ {
		sent, ack, id, err := e.fire(ctx)
		must(err)
		r.acks = append(r.acks, ack)
		r.wfIDs = append(r.wfIDs, e.lastWorkflowID)
		at, ok := e.waitAccepted(id, 30*time.Second)
		if !ok {
			r.lost++
			continue
		}
		r.lat = append(r.lat, at.Sub(sent))
		if settle {
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_ = e.temporal.GetWorkflow(wctx, e.lastWorkflowID, "").Get(wctx, nil)
			cancel()
		}
	}
	r.cpu = cpu0.per(n)
	if settle && e.acceptedAt == nil { // in-process: the statements are counted
		fmt.Println("trade path database work: per trade,", sqlPer(n))
	}
	return r
}

func (e *env) concurrentRun(ctx context.Context, c int) []row {
	var wg sync.WaitGroup
	lat := make([]time.Duration, c)
	errs := make([]error, c)
	ids := make([]string, c)
	start := time.Now()
	for i := 0; i < c; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sent, _, id, err := e.fire(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			ids[i] = id
			at, ok := e.waitAccepted(id, 60*time.Second)
			if !ok {
				errs[i] = fmt.Errorf("order %s not accepted", id)
				return
			}
			lat[i] = at.Sub(sent)
		}(i)
	}
	wg.Wait()
	total := time.Since(start)
	var ok []time.Duration
	failed, first := 0, ""
	for i := range lat {
		if errs[i] != nil {
			if failed == 0 {
				first = " (first: " + errs[i].Error() + ")"
			}
			failed++
			continue
		}
		ok = append(ok, lat[i])
	}
	thr := float64(len(ok)) / total.Seconds()
	var started []string
	for _, id := range ids {
		if id != "" {
			started = append(started, id)
		}
	}
	fmt.Printf("%d concurrent signals, phases: %s\n", c, tradePhases(ctx, e.temporal, start, started, c))
	return []row{stats(fmt.Sprintf("%d concurrent signals → orders accepted", c), ok,
		fmt.Sprintf("%.1f orders/s, all in %s, %d failed%s", thr, ms(total), failed, first), "—")}
}

func stats(name string, d []time.Duration, other, target string) row {
	if len(d) == 0 {
		return row{Figure: name, Samples: "0", Other: other, Target: target}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	pct := func(p float64) time.Duration {
		i := int(p*float64(len(d))+0.5) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(d) {
			i = len(d) - 1
		}
		return d[i]
	}
	return row{Figure: name, Samples: fmt.Sprint(len(d)), P50: ms(pct(0.50)), P95: ms(pct(0.95)), P99: ms(pct(0.99)), Other: other, Target: target}
}
