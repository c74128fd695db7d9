package paper_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/alpaca"
	"github.com/tradeexec/tradeexec/internal/broker/kraken"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit/ratelimittest"
)

// countingSource counts the requests a feed makes to its real source (the
// adapter itself speaks HTTP to the broker's fake).
type countingSource struct {
	paper.QuoteSource
	n atomic.Int64
}

func (c *countingSource) LastPrice(ctx context.Context, symbol string) (decimal.Decimal, error) {
	c.n.Add(1)
	return c.QuoteSource.LastPrice(ctx, symbol)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type liveRig struct {
	alp            *alpaca.Fake
	krk            *kraken.Fake
	stocks, crypto *countingSource
	clk            *clock
}

func newLiveRig(t *testing.T) *liveRig {
	t.Helper()
	alp := alpaca.NewFake()
	t.Cleanup(alp.Close)
	krk := kraken.NewFake()
	t.Cleanup(krk.Close)
	key, secret := alp.CreateAccount(decimal.NewFromInt(1000))
	creds := alp.Credentials(key, secret)
	a, err := alpaca.New(broker.Config{Credentials: creds}, alpaca.Options{AllowCustomURLs: true})
	if err != nil {
		t.Fatal(err)
	}
	return &liveRig{alp: alp, krk: krk, stocks: &countingSource{QuoteSource: a},
		crypto: &countingSource{QuoteSource: kraken.NewQuotes(kraken.Options{}, krk.URL())},
		clk:    &clock{t: time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)}}
}

// feed is one process's feed on db.
func (r *liveRig) feed(db *gorm.DB) *paper.LiveFeed {
	return paper.NewLiveFeed(db, r.stocks, "alpaca", r.crypto, "kraken",
		paper.WithQuoteRefresh(2*time.Second), paper.WithQuoteMaxAge(time.Minute), paper.WithQuoteClock(r.clk.now))
}

func wantPrice(t *testing.T, f *paper.LiveFeed, symbol, want string) {
	t.Helper()
	got, err := f.Price(symbol)
	if err != nil {
		t.Fatalf("Price(%s): %v", symbol, err)
	}
	if !got.Equal(decimal.RequireFromString(want)) {
		t.Fatalf("Price(%s) = %s, want %s", symbol, got, want)
	}
}

// Two processes (two connection pools on one database) price a symbol
// alike, and the source is asked once per refresh interval between them.
func TestLiveFeedIsSharedByProcesses(t *testing.T) {
	ratelimittest.SharedDatabases(t, func(t *testing.T, a, b *gorm.DB) {
		r := newLiveRig(t)
		fa, fb := r.feed(a), r.feed(b)
		r.alp.SetPrice("AAPL", decimal.RequireFromString("190.25"))
		wantPrice(t, fa, "AAPL", "190.25")

		// The market moves; within the refresh interval the other process
		// prices from the shared row, without asking the source.
		r.alp.SetPrice("AAPL", decimal.RequireFromString("191.50"))
		r.clk.add(time.Second)
		wantPrice(t, fb, "AAPL", "190.25")
		if n := r.stocks.n.Load(); n != 1 {
			t.Fatalf("source asked %d times within one refresh interval by two processes, want 1", n)
		}

		// After the interval one process fetches; the other then reads its row.
		r.clk.add(1500 * time.Millisecond)
		wantPrice(t, fb, "AAPL", "191.50")
		wantPrice(t, fa, "AAPL", "191.50")
		if n := r.stocks.n.Load(); n != 2 {
			t.Fatalf("source asked %d times over two refresh intervals, want 2", n)
		}

		// Crypto comes from Kraken's public ticker.
		r.krk.SetPrice("BTC-USD", decimal.RequireFromString("42000.1"))
		wantPrice(t, fa, "BTC-USD", "42000.1")
		wantPrice(t, fb, "BTC-USD", "42000.1")
		if n := r.crypto.n.Load(); n != 1 {
			t.Fatalf("crypto source asked %d times, want 1", n)
		}
	})
}

// hookSource runs hook while a fetch is in flight (another process
// writing meanwhile).
type hookSource struct {
	paper.QuoteSource
	hook func()
}

func (h hookSource) LastPrice(ctx context.Context, symbol string) (decimal.Decimal, error) {
	p, err := h.QuoteSource.LastPrice(ctx, symbol)
	h.hook()
	return p, err
}

// A fetch never replaces a newer row another process wrote while it was
// in flight: the table keeps the newest price, and both price with it.
func TestLiveFeedOlderFetchDoesNotOverwriteNewer(t *testing.T) {
	ratelimittest.SharedDatabases(t, func(t *testing.T, a, b *gorm.DB) {
		r := newLiveRig(t)
		r.alp.SetPrice("MSFT", decimal.RequireFromString("400"))
		newer := r.clk.now().Add(5 * time.Second)
		other := hookSource{QuoteSource: r.stocks, hook: func() {
			// The other process's newer fetch lands first.
			if err := b.Exec("INSERT INTO market_quotes (symbol, price, source, fetched_at) VALUES (?, ?, ?, ?)",
				"MSFT", decimal.NewFromInt(410), "alpaca", newer).Error; err != nil {
				t.Errorf("other process's row: %v", err)
			}
		}}
		f := paper.NewLiveFeed(a, other, "alpaca", r.crypto, "kraken", paper.WithQuoteClock(r.clk.now))
		wantPrice(t, f, "MSFT", "410")
		var price decimal.Decimal
		if err := a.Raw("SELECT price FROM market_quotes WHERE symbol = ?", "MSFT").Scan(&price).Error; err != nil {
			t.Fatal(err)
		}
		if !price.Equal(decimal.NewFromInt(410)) {
			t.Fatalf("stored price %s: an older fetch overwrote the newer row (410)", price)
		}
	})
}

func TestLiveFeedUnknownSymbolAndOutage(t *testing.T) {
	ratelimittest.SharedDatabases(t, func(t *testing.T, a, _ *gorm.DB) {
		r := newLiveRig(t)
		f := r.feed(a)
		if _, err := f.Price("ZZZZ"); !errors.Is(err, paper.ErrUnknownSymbol) {
			t.Fatalf("unknown stock: %v, want ErrUnknownSymbol", err)
		}
		r.alp.SetPrice("AAPL", decimal.NewFromInt(200))
		wantPrice(t, f, "AAPL", "200")

		// The source goes away: the last price is used while younger than
		// the maximum age, then the symbol has no price (never a stale one).
		r.alp.Close()
		r.clk.add(30 * time.Second)
		wantPrice(t, f, "AAPL", "200")
		r.clk.add(31 * time.Second)
		if _, err := f.Price("AAPL"); !errors.Is(err, paper.ErrQuoteUnavailable) {
			t.Fatalf("after the maximum age without a source: %v, want ErrQuoteUnavailable", err)
		}
	})
}

// Without a stock source, a stock has no price (unavailable, said so), not
// an invented one.
func TestLiveFeedWithoutStockSource(t *testing.T) {
	ratelimittest.SharedDatabases(t, func(t *testing.T, a, _ *gorm.DB) {
		r := newLiveRig(t)
		f := paper.NewLiveFeed(a, nil, "", r.crypto, "kraken", paper.WithQuoteClock(r.clk.now))
		if _, err := f.Price("AAPL"); !errors.Is(err, paper.ErrQuoteUnavailable) {
			t.Fatalf("stock without a source: %v, want ErrQuoteUnavailable", err)
		}
	})
}
