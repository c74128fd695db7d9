package paper

import (
	"context"
	"sort"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// accountBroker is the broker.Broker of one paper account.
type accountBroker struct {
	e  *Engine
	id string
}

var _ broker.Broker = (*accountBroker)(nil)

// Name implements broker.Broker.
func (b *accountBroker) Name() string { return Name }

// Connect implements broker.Broker: it checks that the account exists and
// returns its balance.
func (b *accountBroker) Connect(ctx context.Context) (broker.Balance, error) {
	return b.GetBalance(ctx)
}

// PlaceOrder implements broker.Broker. A ClientOrderID already used on the
// account returns the existing order; no second order is created (unless
// the account's injected Faults.Duplicates say otherwise).
func (b *accountBroker) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	f := b.e.startPlace(b.id)
	if f.fail {
		return broker.Order{}, errInjectedUnavailable()
	}
	if f.blockBefore {
		if err := wait(ctx, f.block); err != nil {
			return broker.Order{}, err
		}
	}
	o, err := b.e.placeOrder(ctx, b.id, req, f.duplicates, f.afterCreate)
	if err != nil {
		return broker.Order{}, err
	}
	if !f.blockBefore {
		if err := wait(ctx, f.block); err != nil {
			return broker.Order{}, err
		}
	}
	if f.drop {
		return broker.Order{}, errInjectedUnavailable()
	}
	return o, nil
}

// CancelOrder implements broker.Broker. The order is matched first, as a
// real cancel races the market; cancelling a finished order is an
// ORDER_REJECTED error, an unknown id NOT_FOUND.
func (b *accountBroker) CancelOrder(ctx context.Context, brokerOrderID string) error {
	now, q := b.e.now(), newQuotes(b.e.feed)
	err := b.e.store.Update(ctx, b.id, func(st *AccountState) error {
		b.e.advance(st, now, q)
		o := st.orderByID(brokerOrderID)
		if o == nil {
			return orderNotFound(brokerOrderID)
		}
		if o.Status.Terminal() {
			return brokerErr(broker.KindRejected, "order %s is already %s and cannot be cancelled",
				printable(brokerOrderID), o.Status)
		}
		finish(o, broker.StatusCancelled, now, "")
		if o.PairID != "" { // one leg of an exit pair: the pair goes
			for i := range st.Orders {
				if sib := &st.Orders[i]; sib.PairID == o.PairID && !sib.Status.Terminal() {
					finish(sib, broker.StatusCancelled, now, "exit pair cancelled")
				}
			}
		}
		st.UpdatedAt = now
		return nil
	})
	if err != nil {
		return storeErr(b.id, err)
	}
	return nil
}

// GetOrderStatus implements broker.Broker; working orders are matched
// first.
func (b *accountBroker) GetOrderStatus(ctx context.Context, brokerOrderID string) (broker.Order, error) {
	st, err := b.e.refresh(ctx, b.id)
	if err != nil {
		return broker.Order{}, storeErr(b.id, err)
	}
	o := st.orderByID(brokerOrderID)
	if o == nil {
		return broker.Order{}, orderNotFound(brokerOrderID)
	}
	return o.Order, nil
}

// FindOrderByClientID implements broker.Broker.
func (b *accountBroker) FindOrderByClientID(ctx context.Context, clientOrderID string) (broker.Order, bool, error) {
	if b.e.failFind(b.id) {
		return broker.Order{}, false, errInjectedUnavailable()
	}
	st, err := b.e.refresh(ctx, b.id)
	if err != nil {
		return broker.Order{}, false, storeErr(b.id, err)
	}
	o := st.orderByClientID(clientOrderID)
	if o == nil {
		return broker.Order{}, false, nil
	}
	return o.Order, true, nil
}

// GetPositions implements broker.Broker; positions come sorted by symbol.
func (b *accountBroker) GetPositions(ctx context.Context) ([]broker.Position, error) {
	st, err := b.e.refresh(ctx, b.id)
	if err != nil {
		return nil, storeErr(b.id, err)
	}
	return b.positions(&st, newQuotes(b.e.feed)), nil
}

// GetBalance implements broker.Broker. LastEquity is the equity at the
// start of the current UTC day.
func (b *accountBroker) GetBalance(ctx context.Context) (broker.Balance, error) {
	st, err := b.e.refresh(ctx, b.id)
	if err != nil {
		return broker.Balance{}, storeErr(b.id, err)
	}
	return b.balance(&st, newQuotes(b.e.feed)), nil
}

// GetAccount implements broker.AccountReader: the balance and the positions
// of one read of the account, at one set of prices.
func (b *accountBroker) GetAccount(ctx context.Context) (broker.Balance, []broker.Position, error) {
	st, err := b.e.refresh(ctx, b.id)
	if err != nil {
		return broker.Balance{}, nil, storeErr(b.id, err)
	}
	q := newQuotes(b.e.feed)
	return b.balance(&st, q), b.positions(&st, q), nil
}

func (b *accountBroker) positions(st *AccountState, q *quotes) []broker.Position {
	out := make([]broker.Position, 0, len(st.Positions))
	for _, p := range st.Positions {
		mark := q.mark(p.Symbol, p.LastPrice)
		out = append(out, broker.Position{
			Symbol:        p.Symbol,
			Quantity:      p.Quantity,
			AvgEntryPrice: p.AvgEntryPrice,
			CurrentPrice:  mark,
			MarketValue:   p.Quantity.Mul(mark),
			UnrealizedPnL: mark.Sub(p.AvgEntryPrice).Mul(p.Quantity),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Symbol < out[j].Symbol })
	return out
}

func (b *accountBroker) balance(st *AccountState, q *quotes) broker.Balance {
	return broker.Balance{
		Currency:    st.Currency,
		Cash:        st.Cash,
		Equity:      equity(st, q),
		BuyingPower: decimal.Max(b.e.buyingPower(st, q, ""), decimal.Zero),
		LastEquity:  st.DayStartEquity,
	}
}

// Clock implements broker.Broker: crypto is always open, stocks follow the
// engine's calendar (regular session).
func (b *accountBroker) Clock(_ context.Context, asset signal.AssetClass) (broker.Clock, error) {
	now := b.e.now()
	switch asset {
	case signal.AssetCrypto:
		return broker.Clock{IsOpen: true, Now: now, NextOpen: now}, nil
	case signal.AssetStock:
		open, nextOpen, nextClose := b.e.calendar.Status(now, signal.AssetStock, false)
		return broker.Clock{IsOpen: open, Now: now, NextOpen: nextOpen.UTC(), NextClose: nextClose.UTC()}, nil
	}
	return broker.Clock{}, brokerErr(broker.KindInvalidOrder, "unsupported asset class %q", printable(string(asset)))
}

// LastPrice implements broker.Broker. A bare symbol is read as a stock, one
// with a separator ("BTC-USD", "BTC/USD") as a crypto pair.
func (b *accountBroker) LastPrice(_ context.Context, symbol string) (decimal.Decimal, error) {
	sym, err := CanonicalSymbol(symbol, classOf(symbol))
	if err != nil {
		return decimal.Decimal{}, err
	}
	p, err := newQuotes(b.e.feed).price(sym)
	if err != nil {
		return decimal.Decimal{}, feedErr(sym, err)
	}
	return p, nil
}

func orderNotFound(id string) error {
	return brokerErr(broker.KindNotFound, "order %s not found", printable(id))
}

// QuantityRules implements broker.QuantityRuler: whole shares for stocks,
// 0.00000001 for crypto (normalizeQuantity); the minimum is one step.
func (b *accountBroker) QuantityRules(_ context.Context, _ string, class signal.AssetClass) (broker.QuantityRules, error) {
	step := decimal.NewFromInt(1)
	if class == signal.AssetCrypto {
		step = decimal.New(1, -cryptoDecimals)
	}
	return broker.QuantityRules{Step: step, Min: step}, nil
}
