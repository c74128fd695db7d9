package paper

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	"golang.org/x/sync/singleflight"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// QuoteSource is a real market-data source: a broker adapter's LastPrice
// (Alpaca's data API for stocks, an exchange's public ticker for crypto).
type QuoteSource interface {
	LastPrice(ctx context.Context, symbol string) (decimal.Decimal, error)
}

// Defaults of LiveFeed (DESIGN §8 Paper broker, live quotes).
const (
	// DefaultQuoteRefresh: a stored price older than this is fetched again.
	DefaultQuoteRefresh = 2 * time.Second
	// DefaultQuoteMaxAge: while the source does not answer, the last stored
	// price is used until it is this old; then the symbol has no price (the
	// paper broker refuses new market orders as unavailable, as a real
	// broker without a quote would).
	DefaultQuoteMaxAge = 60 * time.Second
	quoteFetchTimeout  = 5 * time.Second
)

// LiveFeed prices the paper broker from real quotes, shared by every api
// and worker process through the market_quotes table (migration 0027): a
// process fetches a symbol from its source only when the stored row is
// older than the refresh interval, writes it (a newer row is never
// overwritten by an older fetch) and prices with what the table holds,
// so two workers see the same price for the same paper account. Safe for
// concurrent use.
type LiveFeed struct {
	db      *gorm.DB
	stocks  QuoteSource
	crypto  QuoteSource
	names   [2]string // source names stored with the rows: stocks, crypto
	refresh time.Duration
	maxAge  time.Duration
	now     func() time.Time

	mu    sync.Mutex
	cache map[string]quoteRow
	group singleflight.Group
}

// LiveFeedOption configures a LiveFeed.
type LiveFeedOption func(*LiveFeed)

// WithQuoteRefresh sets the refresh interval (default DefaultQuoteRefresh).
func WithQuoteRefresh(d time.Duration) LiveFeedOption {
	return func(f *LiveFeed) {
		if d > 0 {
			f.refresh = d
		}
	}
}

// WithQuoteMaxAge sets how old a stored price may be when the source does
// not answer (default DefaultQuoteMaxAge).
func WithQuoteMaxAge(d time.Duration) LiveFeedOption {
	return func(f *LiveFeed) {
		if d > 0 {
			f.maxAge = d
		}
	}
}

// WithQuoteClock sets the clock (tests).
func WithQuoteClock(now func() time.Time) LiveFeedOption {
	return func(f *LiveFeed) { f.now = now }
}

// NewLiveFeed returns a feed reading stocks from stocks and crypto pairs
// from crypto (either may be nil: that asset class then has no price),
// named for the rows they write (e.g. "alpaca", "kraken").
func NewLiveFeed(db *gorm.DB, stocks QuoteSource, stocksName string, crypto QuoteSource, cryptoName string, opts ...LiveFeedOption) *LiveFeed {
	f := &LiveFeed{db: db, stocks: stocks, crypto: crypto, names: [2]string{stocksName, cryptoName},
		refresh: DefaultQuoteRefresh, maxAge: DefaultQuoteMaxAge, now: time.Now, cache: map[string]quoteRow{}}
	for _, o := range opts {
		o(f)
	}
	return f
}

// quoteRow is one row of market_quotes.
type quoteRow struct {
	Symbol    string          `gorm:"column:symbol;primaryKey;size:40"`
	Price     decimal.Decimal `gorm:"column:price;not null"`
	Source    string          `gorm:"column:source;size:16;not null"`
	FetchedAt time.Time       `gorm:"column:fetched_at;not null"`
}

func (quoteRow) TableName() string { return "market_quotes" }

// ErrQuoteUnavailable is wrapped when no fresh enough price exists.
var ErrQuoteUnavailable = errors.New("no recent quote")

// Price returns the shared price of a canonical symbol.
func (f *LiveFeed) Price(symbol string) (decimal.Decimal, error) {
	key := feedKey(symbol)
	f.mu.Lock()
	c, ok := f.cache[key]
	f.mu.Unlock()
	if ok && f.now().Sub(c.FetchedAt) < f.refresh {
		return c.Price, nil
	}
	v, err, _ := f.group.Do(key, func() (any, error) { return f.load(key) })
	if err != nil {
		return decimal.Decimal{}, err
	}
	return v.(quoteRow).Price, nil
}

// load reads the shared row and, when it is older than the refresh
// interval, fetches the symbol from its source and stores it.
func (f *LiveFeed) load(key string) (quoteRow, error) {
	ctx, cancel := context.WithTimeout(context.Background(), quoteFetchTimeout)
	defer cancel()
	var row quoteRow
	err := f.db.WithContext(ctx).Where("symbol = ?", key).Take(&row).Error
	found := err == nil
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return f.fallback(key, quoteRow{}, false, fmt.Errorf("market quotes: %w", err))
	}
	if found && f.now().Sub(row.FetchedAt) < f.refresh {
		return f.keep(row), nil
	}
	src, name := f.sourceFor(key)
	if src == nil {
		return quoteRow{}, fmt.Errorf("%w for %s: no market-data source is configured for it (README: PAPER_QUOTES)", ErrQuoteUnavailable, key)
	}
	price, err := src.LastPrice(ctx, key)
	if err != nil {
		if broker.KindOf(err) == broker.KindInvalidSymbol {
			return quoteRow{}, unknownSymbol(key)
		}
		return f.fallback(key, row, found, err)
	}
	if !price.IsPositive() {
		return f.fallback(key, row, found, errNonPositivePrice)
	}
	fresh := quoteRow{Symbol: key, Price: price, Source: name, FetchedAt: f.now().UTC()}
	// A newer row (another process fetched meanwhile) is never replaced by
	// this one; then the table's row is the price.
	err = f.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "symbol"}},
		DoUpdates: clause.AssignmentColumns([]string{"price", "source", "fetched_at"}),
		Where:     clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "market_quotes.fetched_at < excluded.fetched_at"}}},
	}).Create(&fresh).Error
	if err != nil {
		return f.fallback(key, row, found, fmt.Errorf("market quotes: %w", err))
	}
	if err := f.db.WithContext(ctx).Where("symbol = ?", key).Take(&row).Error; err != nil {
		return f.keep(fresh), nil
	}
	return f.keep(row), nil
}

// fallback prices with the last known row while it is younger than the
// maximum age, else reports the symbol unpriced.
func (f *LiveFeed) fallback(key string, row quoteRow, found bool, cause error) (quoteRow, error) {
	f.mu.Lock()
	c, ok := f.cache[key]
	f.mu.Unlock()
	if ok && (!found || c.FetchedAt.After(row.FetchedAt)) {
		row, found = c, true
	}
	if found && f.now().Sub(row.FetchedAt) < f.maxAge {
		return row, nil
	}
	return quoteRow{}, fmt.Errorf("%w for %s: %v", ErrQuoteUnavailable, key, cause)
}

func (f *LiveFeed) keep(row quoteRow) quoteRow {
	f.mu.Lock()
	f.cache[row.Symbol] = row
	f.mu.Unlock()
	return row
}

func (f *LiveFeed) sourceFor(key string) (QuoteSource, string) {
	if classOf(key) == signal.AssetCrypto {
		return f.crypto, f.names[1]
	}
	return f.stocks, f.names[0]
}
