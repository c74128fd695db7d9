package kraken

import (
	"context"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/symbols"
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
	p, err := symbols.Parse(Name, symbol)
	if err != nil {
		return decimal.Zero, err
	}
	t, err := q.c.ticker(ctx, pairName(p))
	if err != nil {
		return decimal.Zero, mapError(err)
	}
	for _, v := range t {
		if len(v.Last) > 0 {
			return dec(v.Last[0]), nil
		}
	}
	return decimal.Zero, broker.NewError(Name, broker.KindUnavailable, "Kraken sent no price", nil)
}
