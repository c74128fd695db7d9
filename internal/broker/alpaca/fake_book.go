package alpaca

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// BookOrder is one order as the fake itself stores it: the broker's own
// order book, whatever the adapter was told (the chaos suite reads it).
type BookOrder struct {
	ID, ClientOrderID string
	Symbol            string // wire symbol ("AAPL", "BTC/USD")
	Side, Type        string
	OrderClass        string // simple | oco
	Status            string
	Qty, FilledQty    decimal.Decimal
	FilledAvgPrice    decimal.Decimal // zero until filled
	StopPrice         decimal.Decimal // zero when none
	CreatedAt         time.Time
	FilledAt          time.Time // zero until filled
}

// Working reports whether the order can still fill.
func (o BookOrder) Working() bool {
	switch o.Status {
	case "filled", "canceled", "expired", "rejected", "replaced":
		return false
	}
	return true
}

// Book is an account's order book and positions as the fake holds them.
type Book struct {
	Orders    []BookOrder                // every order the account created, oldest first
	Positions map[string]decimal.Decimal // quantity by wire symbol
	Cash      decimal.Decimal
}

// Book returns the order book and positions of the account of keyID (an
// empty book for an unknown key).
func (f *Fake) Book(keyID string) Book {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := Book{Positions: map[string]decimal.Decimal{}}
	a, ok := f.accounts[keyID]
	if !ok {
		return b
	}
	b.Cash = a.cash
	for sym, p := range a.positions {
		b.Positions[sym] = p.qty
	}
	for _, o := range a.orders {
		bo := BookOrder{ID: o.w.ID, ClientOrderID: o.w.ClientOrderID, Symbol: o.w.Symbol, Side: o.w.Side, Type: o.w.Type, OrderClass: o.w.OrderClass,
			Status: o.w.Status, Qty: deref(o.w.Qty), FilledQty: o.w.FilledQty, FilledAvgPrice: deref(o.w.FilledAvgPrice),
			StopPrice: deref(o.w.StopPrice), CreatedAt: o.w.CreatedAt}
		if o.w.FilledAt != nil {
			bo.FilledAt = *o.w.FilledAt
		}
		b.Orders = append(b.Orders, bo)
	}
	sort.SliceStable(b.Orders, func(i, j int) bool {
		if !b.Orders[i].CreatedAt.Equal(b.Orders[j].CreatedAt) {
			return b.Orders[i].CreatedAt.Before(b.Orders[j].CreatedAt)
		}
		return b.Orders[i].ID < b.Orders[j].ID
	})
	return b
}

// Price is the last trade price of a symbol ("AAPL", "BTC-USD"); zero when
// the symbol is not listed.
func (f *Fake) Price(symbol string) decimal.Decimal {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.assets[toWireSymbol(symbol)]; ok {
		return a.price
	}
	return decimal.Zero
}
