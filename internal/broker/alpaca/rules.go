package alpaca

// Crypto order rules. Every Alpaca crypto pair publishes min_order_size,
// min_trade_increment and price_increment on GET /v2/assets/{symbol}
// (https://docs.alpaca.markets/docs/crypto-trading); an order off those
// steps or below the minimum is refused. The adapter fetches them once an
// hour per trading API and pair (the shared symbols cache, as the other
// crypto adapters do) and rounds with the shared symbols.Rules: quantities
// down to the step, prices to the tick in the trader's favour; a quantity
// that rounds below the minimum is refused before anything is sent.

import (
	"context"
	"errors"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker/symbols"
)

// assetRules is process-wide: adapters are built per activity call, the
// cache must outlive them. Keys are "tradingURL|credential hash|BTC/USD":
// the rules are the same for every account, but keying by credential keeps
// a fetch made with one account's keys from answering for another's.
var assetRules = symbols.NewCache(symbols.RulesTTL, fetchAssetRules)

// clientKey carries the calling adapter's client into the shared fetch (the
// asset rules are the same for every account of one trading API).
type clientKey struct{}

func rulesKey(c *client, wireSym string) string {
	return c.tradingURL + "|" + c.trading.Key + "|" + wireSym
}

func fetchAssetRules(ctx context.Context, key string) (symbols.Rules, error) {
	c, ok := ctx.Value(clientKey{}).(*client)
	if !ok {
		return symbols.Rules{}, errors.New("alpaca: asset lookup without a client")
	}
	wireSym := key[strings.LastIndex(key, "|")+1:]
	w, err := getAssetRequest{Symbol: wireSym}.do(ctx, c)
	if err != nil {
		return symbols.Rules{}, err
	}
	return rulesFromAsset(fromWireSymbol(wireSym, "crypto"), w), nil
}

// rulesFromAsset reads a crypto asset's rules. A missing increment falls
// back to Alpaca's general quantity precision (1e-9); a missing tick or
// minimum means none.
func rulesFromAsset(canonical string, w *assetWire) symbols.Rules {
	step := deref(w.MinTradeIncrement)
	if !step.IsPositive() {
		step = decimal.New(1, -qtyPlaces)
	}
	return symbols.Rules{
		Symbol:   canonical,
		BaseStep: step,
		TickSize: deref(w.PriceIncrement),
		MinQty:   deref(w.MinOrderSize),
	}
}

// cryptoRules returns the rules of a crypto pair ("BTC-USD").
func (a *Adapter) cryptoRules(ctx context.Context, symbol string) (symbols.Rules, error) {
	r, err := assetRules.Get(context.WithValue(ctx, clientKey{}, a.c), rulesKey(a.c, toWireSymbol(symbol)))
	if err != nil {
		return symbols.Rules{}, mapError(opAsset, err)
	}
	return r, nil
}

// forgetRules drops a pair's cached rules after Alpaca refused an order's
// parameters: its steps may have changed.
func (a *Adapter) forgetRules(symbol string) {
	assetRules.Invalidate(rulesKey(a.c, toWireSymbol(symbol)))
}
