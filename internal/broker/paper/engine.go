package paper

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// Engine defaults.
const (
	// DefaultMatchInterval is how often Run matches working orders. SPEC
	// SC-015 wants a stop triggered within 2 s of the price crossing.
	DefaultMatchInterval = 250 * time.Millisecond
	// DefaultOrderRetention is how long a finished order stays on the
	// account (for status queries and client-order-id de-duplication).
	DefaultOrderRetention = 30 * 24 * time.Hour
	// maxAccountIDLen is the width of paper_accounts.id.
	maxAccountIDLen = 36
)

// Engine runs every paper account: it admits orders, matches working orders
// against the price feed and keeps cash and positions. Safe for concurrent
// use; several Engines (one per process) may share one Store.
type Engine struct {
	store     Store
	feed      PriceFeed
	calendar  Calendar
	clock     func() time.Time
	interval  time.Duration
	retention time.Duration
	slippage  decimal.Decimal // fraction of the price, e.g. 0.0005
	log       *zap.Logger

	mu        sync.Mutex
	liquidity map[string]decimal.Decimal // symbol → max quantity per order per matching pass
	faults    map[string]*Faults
	calls     map[string]int  // PlaceOrder calls per account, this process
	halted    map[string]bool // canonical symbols halted in this process (halt.go)
	noPairs   map[string]bool // accounts whose adapter has no exit pair (exitpair.go)
}

// Option configures an Engine.
type Option func(*Engine)

// WithCalendar sets the market calendar for stocks (default AlwaysOpen).
func WithCalendar(c Calendar) Option { return func(e *Engine) { e.calendar = c } }

// WithClock sets the time source (default time.Now).
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.clock = now } }

// WithMatchInterval sets how often Run matches working orders.
func WithMatchInterval(d time.Duration) Option {
	return func(e *Engine) {
		if d > 0 {
			e.interval = d
		}
	}
}

// WithOrderRetention sets how long finished orders are kept.
func WithOrderRetention(d time.Duration) Option {
	return func(e *Engine) {
		if d > 0 {
			e.retention = d
		}
	}
}

// WithSlippageBps makes market-style fills (market orders and triggered
// stops) pay bps basis points of adverse slippage: buys fill above, sells
// below the feed price. Default: none.
func WithSlippageBps(bps decimal.Decimal) Option {
	return func(e *Engine) {
		if !bps.IsNegative() {
			e.slippage = bps.Div(decimal.NewFromInt(10000))
		}
	}
}

// WithLogger sets the logger for the matching loop (default: none).
func WithLogger(l *zap.Logger) Option {
	return func(e *Engine) {
		if l != nil {
			e.log = l
		}
	}
}

// NewEngine returns an engine over store, pricing with feed.
func NewEngine(store Store, feed PriceFeed, opts ...Option) *Engine {
	e := &Engine{
		store:     store,
		feed:      feed,
		calendar:  AlwaysOpen{},
		clock:     time.Now,
		interval:  DefaultMatchInterval,
		retention: DefaultOrderRetention,
		log:       zap.NewNop(),
		liquidity: map[string]decimal.Decimal{},
		faults:    map[string]*Faults{},
		calls:     map[string]int{},
		noPairs:   map[string]bool{},
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

func (e *Engine) now() time.Time { return e.clock().UTC() }

// Broker returns the broker.Broker for one paper account. The account must
// exist (CreateAccount) by the time it is used.
func (e *Engine) Broker(accountID string) broker.Broker {
	b := &accountBroker{e: e, id: accountID}
	if e.exitPairs(accountID) {
		return &pairBroker{b}
	}
	return b
}

// CreateAccount opens a paper account holding cash. It is idempotent: an
// existing account is left unchanged.
func (e *Engine) CreateAccount(ctx context.Context, accountID string, cash decimal.Decimal) error {
	if accountID == "" || len(accountID) > maxAccountIDLen {
		return fmt.Errorf("paper: account id must be 1 to %d characters", maxAccountIDLen)
	}
	if cash.IsNegative() {
		return fmt.Errorf("paper: starting cash must not be negative")
	}
	now := e.now()
	_, err := e.store.Create(ctx, AccountState{
		ID:             accountID,
		Currency:       "USD",
		Cash:           cash,
		DayStartEquity: cash,
		Day:            dayOf(now),
		Positions:      map[string]PositionState{},
		CreatedAt:      now,
		UpdatedAt:      now,
	})
	return err
}

// Deposit adds amount (positive) to the account's cash, as a transfer from
// outside would. It does not change the day's starting equity.
func (e *Engine) Deposit(ctx context.Context, accountID string, amount decimal.Decimal) error {
	if !amount.IsPositive() {
		return fmt.Errorf("paper: deposit must be positive")
	}
	now := e.now()
	return e.store.Update(ctx, accountID, func(st *AccountState) error {
		e.rollDay(st, now, newQuotes(e.feed))
		st.Cash = st.Cash.Add(amount)
		st.UpdatedAt = now
		return nil
	})
}

// Account returns the stored state of an account after bringing it up to
// date (day roll, matching).
func (e *Engine) Account(ctx context.Context, accountID string) (AccountState, error) {
	return e.refresh(ctx, accountID)
}

// OrderCount is the number of orders ever created on the account, across
// all processes sharing the store.
func (e *Engine) OrderCount(ctx context.Context, accountID string) (int, error) {
	st, err := e.store.Load(ctx, accountID)
	if err != nil {
		return 0, err
	}
	return int(st.OrdersCreated), nil
}

// SetLiquidity caps how much of an order in symbol one matching pass fills,
// so an order larger than the cap fills partially over several passes. A
// cap that is not positive removes it.
func (e *Engine) SetLiquidity(symbol string, maxQtyPerPass decimal.Decimal) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !maxQtyPerPass.IsPositive() {
		delete(e.liquidity, feedKey(symbol))
		return
	}
	e.liquidity[feedKey(symbol)] = maxQtyPerPass
}

func (e *Engine) liquidityCap(symbol string) (decimal.Decimal, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.liquidity[symbol]
	return c, ok
}

func dayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }
