package kraken

import (
	"context"

	"github.com/shopspring/decimal"
)

// Quotes reads Kraken's public ticker (GET /0/public/Ticker) with no
// account: the paper broker's live crypto prices (paper.LiveFeed,
// PAPER_QUOTES=live). It shares the public-call limiter of opts.
type Quotes struct {
	c *client
}

// NewQuotes returns a public-ticker reader at baseURL (ProductionURL when
// empty; the fake's URL in tests).
func NewQuotes(opts Options, baseURL string) *Quotes {
	if baseURL == "" {
		baseURL = ProductionURL
	}
	sh := newShared(opts)
	return &Quotes{c: sh.client(baseURL, "", nil, "")}
}

// LastPrice is the last trade price of a canonical pair ("BTC-USD").
func (q *Quotes) LastPrice(ctx context.Context, symbol string) (decimal.Decimal, error) {
	return lastPrice(ctx, q.c, symbol)
}
