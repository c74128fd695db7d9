package brokertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Bounds that keep the suite fast (< 5 s per adapter) yet tolerant of a fake
// that fills or cancels asynchronously.
const (
	callTimeout = 10 * time.Second
	pollFor     = 3 * time.Second
	// minRateLimitWait is the least time a request must wait after a
	// rate-limit answer; fakes send Retry-After: 1.
	minRateLimitWait = 500 * time.Millisecond
)

// Run runs the conformance suite against one adapter. Subtests run in order
// (they share the harness's fault switches); each opens a fresh account.
//
//	func TestConformance(t *testing.T) { brokertest.Run(t, newHarness(t)) }
func Run(t *testing.T, h Harness) {
	t.Helper()
	s := &suite{h: h, caps: h.Caps()}
	if err := s.caps.validate(); err != nil {
		t.Fatalf("brokertest: invalid Caps: %v", err)
	}
	t.Run("ConnectReturnsBalance", s.connect)
	t.Run("BadCredentialsAreAuthFailed", s.badCredentials)
	t.Run("LastPriceAndClock", s.lastPriceAndClock)
	t.Run("MarketBuyFills", s.marketBuyFills)
	t.Run("LimitBuyRestsAndCancels", s.limitRestsAndCancels)
	t.Run("CancelFilledOrderIsTypedError", s.cancelFilled)
	t.Run("UnknownOrderIsNotFound", s.unknownOrder)
	t.Run("InsufficientFunds", s.insufficientFunds)
	t.Run("InvalidSymbol", s.invalidSymbol)
	t.Run("SameClientOrderIDPlacesOneOrder", s.idempotentPlace)
	t.Run("FindOrderByClientID", s.findByClientID)
	t.Run("DroppedResponseThenRetryFindsOrder", s.droppedResponse)
	t.Run("UnavailableSubmissionsAreNotRetriedByAdapter", s.failNext)
	t.Run("RateLimitWaitsInsteadOfFailing", s.rateLimit)
	t.Run("HaltedSymbolThenResumeAcceptsSameOrder", s.haltedSymbol)
	t.Run("TimeInForceAsTheSessionTableSays", s.timeInForce)
	if !s.caps.UnnormalisedQuantity.IsZero() {
		t.Run("QuantityRoundedDownToStep", s.unnormalisedQuantity)
	}
	t.Run("ExitPairTakeProfitFillCancelsStop", s.exitPairTakeProfit)
	t.Run("ExitPairStopFillCancelsTakeProfit", s.exitPairStop)
	t.Run("ExitPairCancelsBothLegs", s.exitPairCancel)
}

type suite struct {
	h    Harness
	caps Caps
}

func (c Caps) validate() error {
	switch {
	case c.Name == "":
		return errors.New("Name is empty")
	case c.AssetClass == "":
		return errors.New("AssetClass is empty")
	case c.Symbol == "":
		return errors.New("Symbol is empty")
	case !c.Price.IsPositive():
		return errors.New("Price must be positive")
	case !c.Quantity.IsPositive():
		return errors.New("Quantity must be positive")
	case c.InvalidSymbol == "":
		return errors.New("InvalidSymbol is empty")
	}
	return nil
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return c
}

// NewClientOrderID returns a fresh client order id of the production shape
// (see internal/trade.ClientOrderID): "tee-" and 28 hex digits.
func NewClientOrderID() string {
	b := make([]byte, 14)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "tee-" + hex.EncodeToString(b)
}

func (s *suite) notional() decimal.Decimal { return s.caps.Price.Mul(s.caps.Quantity) }

// richCash funds twenty suite orders.
func (s *suite) richCash() decimal.Decimal {
	return s.notional().Mul(decimal.NewFromInt(20)).Add(decimal.NewFromInt(1000)).Round(2)
}

func (s *suite) account(t *testing.T) (broker.Broker, decimal.Decimal) {
	t.Helper()
	s.h.SetPrice(t, s.caps.Symbol, s.caps.Price)
	cash := s.richCash()
	return s.h.NewAccount(t, cash), cash
}

func (s *suite) tif() broker.TimeInForce {
	if s.caps.AssetClass == signal.AssetCrypto {
		return broker.TIFGTC
	}
	return broker.TIFDay
}

func (s *suite) marketBuy(qty decimal.Decimal) broker.OrderRequest {
	return broker.OrderRequest{
		ClientOrderID: NewClientOrderID(),
		Symbol:        s.caps.Symbol,
		AssetClass:    s.caps.AssetClass,
		Side:          signal.SideBuy,
		Type:          signal.OrderMarket,
		Quantity:      qty,
		TimeInForce:   s.tif(),
	}
}

// farLimitBuy is a limit buy at half the price: it rests.
func (s *suite) farLimitBuy() broker.OrderRequest {
	places := int32(2)
	if s.caps.Price.GreaterThanOrEqual(decimal.NewFromInt(1000)) {
		places = 0
	}
	req := s.marketBuy(s.caps.Quantity)
	req.Type = signal.OrderLimit
	req.LimitPrice = s.caps.Price.Div(decimal.NewFromInt(2)).Truncate(places)
	req.TimeInForce = broker.TIFGTC
	return req
}

// waitStatus polls GetOrderStatus until cond holds, bounded.
func waitStatus(t *testing.T, b broker.Broker, id string, what string, cond func(broker.Order) bool) broker.Order {
	t.Helper()
	deadline := time.Now().Add(pollFor)
	delay := 10 * time.Millisecond
	for {
		o, err := b.GetOrderStatus(ctx(t), id)
		if err != nil {
			t.Fatalf("GetOrderStatus(%s): %v", id, err)
		}
		if cond(o) {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s not %s after %s: status %s", id, what, pollFor, o.Status)
		}
		time.Sleep(delay)
		delay = min(delay*2, 200*time.Millisecond)
	}
}

func wantKind(t *testing.T, err error, sentinel *broker.Error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", sentinel.Kind)
	}
	var be *broker.Error
	if !errors.As(err, &be) {
		t.Fatalf("error %v (%T) is not a *broker.Error", err, err)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("error kind %s (%v), want %s", be.Kind, err, sentinel.Kind)
	}
	if be.Message == "" {
		t.Fatalf("error %v has no trader-facing message", err)
	}
}

func (s *suite) orderCount(t *testing.T) int {
	t.Helper()
	return s.h.OrderCount(t)
}

func (s *suite) connect(t *testing.T) {
	b, cash := s.account(t)
	bal, err := b.Connect(ctx(t))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if !bal.Cash.Equal(cash) {
		t.Fatalf("Cash = %s, want %s", bal.Cash, cash)
	}
	if !bal.Equity.IsPositive() || !bal.BuyingPower.IsPositive() {
		t.Fatalf("Equity %s / BuyingPower %s not positive", bal.Equity, bal.BuyingPower)
	}
	if bal.Currency == "" {
		t.Fatal("Currency is empty")
	}
	if b.Name() != s.caps.Name {
		t.Fatalf("Name() = %q, want %q", b.Name(), s.caps.Name)
	}
	bal2, err := b.GetBalance(ctx(t))
	if err != nil || !bal2.Cash.Equal(cash) {
		t.Fatalf("GetBalance = %s, %v", bal2.Cash, err)
	}
}

func (s *suite) badCredentials(t *testing.T) {
	s.h.SetPrice(t, s.caps.Symbol, s.caps.Price)
	b := s.h.NewAccountBadCredentials(t)
	_, err := b.Connect(ctx(t))
	wantKind(t, err, broker.ErrAuthFailed)
	if broker.KindOf(err).Retryable() {
		t.Fatal("AUTH_FAILED must not be retryable")
	}
}

func (s *suite) lastPriceAndClock(t *testing.T) {
	b, _ := s.account(t)
	p, err := b.LastPrice(ctx(t), s.caps.Symbol)
	if err != nil {
		t.Fatalf("LastPrice: %v", err)
	}
	if !p.Equal(s.caps.Price) {
		t.Fatalf("LastPrice = %s, want %s", p, s.caps.Price)
	}
	moved := s.caps.Price.Mul(decimal.RequireFromString("1.01")).Round(2)
	s.h.SetPrice(t, s.caps.Symbol, moved)
	if p, err = b.LastPrice(ctx(t), s.caps.Symbol); err != nil || !p.Equal(moved) {
		t.Fatalf("LastPrice after SetPrice(%s) = %s, %v", moved, p, err)
	}
	s.h.SetPrice(t, s.caps.Symbol, s.caps.Price)
	if _, err := b.LastPrice(ctx(t), s.caps.InvalidSymbol); broker.KindOf(err) != broker.KindInvalidSymbol {
		t.Fatalf("LastPrice(%s) error = %v, want INVALID_SYMBOL", s.caps.InvalidSymbol, err)
	}
	c, err := b.Clock(ctx(t), s.caps.AssetClass)
	if err != nil {
		t.Fatalf("Clock: %v", err)
	}
	if c.Now.IsZero() || c.Now.Location() != time.UTC {
		t.Fatalf("Clock.Now = %v, want a UTC time", c.Now)
	}
}

func (s *suite) marketBuyFills(t *testing.T) {
	b, cash := s.account(t)
	req := s.marketBuy(s.caps.Quantity)
	o, err := b.PlaceOrder(ctx(t), req)
	if err != nil {
		t.Fatalf("PlaceOrder: %v", err)
	}
	if o.ID == "" || o.ClientOrderID != req.ClientOrderID {
		t.Fatalf("order id %q, client id %q (sent %q)", o.ID, o.ClientOrderID, req.ClientOrderID)
	}
	if o.Symbol != s.caps.Symbol || o.Side != signal.SideBuy || o.Type != signal.OrderMarket {
		t.Fatalf("order %s %s %s, want %s buy market", o.Symbol, o.Side, o.Type, s.caps.Symbol)
	}
	o = waitStatus(t, b, o.ID, "filled", func(o broker.Order) bool { return o.Status == broker.StatusFilled })
	if !o.FilledQuantity.Equal(s.caps.Quantity) {
		t.Fatalf("FilledQuantity = %s, want %s", o.FilledQuantity, s.caps.Quantity)
	}
	if !o.AvgFillPrice.IsPositive() {
		t.Fatalf("AvgFillPrice = %s", o.AvgFillPrice)
	}
	if o.SubmittedAt.IsZero() {
		t.Fatal("SubmittedAt is zero")
	}

	positions, err := b.GetPositions(ctx(t))
	if err != nil {
		t.Fatalf("GetPositions: %v", err)
	}
	var found *broker.Position
	for i := range positions {
		if positions[i].Symbol == s.caps.Symbol {
			found = &positions[i]
		}
	}
	if found == nil {
		t.Fatalf("no %s position in %+v", s.caps.Symbol, positions)
	}
	// Exchanges may take the fee in the base asset: allow 1% less.
	if found.Quantity.GreaterThan(s.caps.Quantity) || found.Quantity.LessThan(s.caps.Quantity.Mul(decimal.RequireFromString("0.99"))) {
		t.Fatalf("position quantity %s, want %s", found.Quantity, s.caps.Quantity)
	}

	bal, err := b.GetBalance(ctx(t))
	if err != nil {
		t.Fatalf("GetBalance: %v", err)
	}
	spent := cash.Sub(bal.Cash)
	cost := o.AvgFillPrice.Mul(o.FilledQuantity)
	// Cash drops by the cost, plus at most 2% in fees.
	if spent.LessThan(cost.Mul(decimal.RequireFromString("0.999"))) || spent.GreaterThan(cost.Mul(decimal.RequireFromString("1.02"))) {
		t.Fatalf("cash went %s -> %s (spent %s), fill cost %s", cash, bal.Cash, spent, cost)
	}
}

func (s *suite) limitRestsAndCancels(t *testing.T) {
	b, _ := s.account(t)
	req := s.farLimitBuy()
	o, err := b.PlaceOrder(ctx(t), req)
	if err != nil {
		t.Fatalf("PlaceOrder limit %s: %v", req.LimitPrice, err)
	}
	if o.Status.Terminal() {
		t.Fatalf("resting limit order status %s", o.Status)
	}
	if !o.LimitPrice.Equal(req.LimitPrice) {
		t.Fatalf("LimitPrice = %s, want %s", o.LimitPrice, req.LimitPrice)
	}
	got, err := b.GetOrderStatus(ctx(t), o.ID)
	if err != nil {
		t.Fatalf("GetOrderStatus: %v", err)
	}
	if got.Status != broker.StatusNew {
		t.Fatalf("status %s, want %s", got.Status, broker.StatusNew)
	}
	if !got.FilledQuantity.IsZero() {
		t.Fatalf("FilledQuantity = %s", got.FilledQuantity)
	}
	if err := b.CancelOrder(ctx(t), o.ID); err != nil {
		t.Fatalf("CancelOrder: %v", err)
	}
	waitStatus(t, b, o.ID, "cancelled", func(o broker.Order) bool { return o.Status == broker.StatusCancelled })
}

func (s *suite) cancelFilled(t *testing.T) {
	b, _ := s.account(t)
	o, err := b.PlaceOrder(ctx(t), s.marketBuy(s.caps.Quantity))
	if err != nil {
		t.Fatalf("PlaceOrder: %v", err)
	}
	waitStatus(t, b, o.ID, "filled", func(o broker.Order) bool { return o.Status == broker.StatusFilled })
	err = b.CancelOrder(ctx(t), o.ID)
	if err == nil {
		t.Fatal("CancelOrder of a filled order succeeded")
	}
	var be *broker.Error
	if !errors.As(err, &be) {
		t.Fatalf("error %v (%T) is not a *broker.Error", err, err)
	}
	if be.Kind.Retryable() {
		t.Fatalf("cancel of a filled order is %s, must not be retryable", be.Kind)
	}
	after, err := b.GetOrderStatus(ctx(t), o.ID)
	if err != nil || after.Status != broker.StatusFilled {
		t.Fatalf("after failed cancel: %s, %v", after.Status, err)
	}
}

func (s *suite) unknownOrder(t *testing.T) {
	b, _ := s.account(t)
	id := s.caps.UnknownOrderID
	if id == "" {
		id = "00000000-0000-4000-8000-000000000000"
	}
	_, err := b.GetOrderStatus(ctx(t), id)
	wantKind(t, err, broker.ErrNotFound)
}

func (s *suite) insufficientFunds(t *testing.T) {
	s.h.SetPrice(t, s.caps.Symbol, s.caps.Price)
	b := s.h.NewAccount(t, s.notional().Div(decimal.NewFromInt(10)).Round(2))
	before := s.orderCount(t)
	_, err := b.PlaceOrder(ctx(t), s.marketBuy(s.caps.Quantity))
	wantKind(t, err, broker.ErrInsufficientFunds)
	if broker.KindOf(err).Retryable() {
		t.Fatal("INSUFFICIENT_FUNDS must not be retryable")
	}
	if n := s.orderCount(t); n > before+1 {
		t.Fatalf("%d orders created for one rejected submission", n-before)
	}
}

func (s *suite) invalidSymbol(t *testing.T) {
	b, _ := s.account(t)
	req := s.marketBuy(s.caps.Quantity)
	req.Symbol = s.caps.InvalidSymbol
	_, err := b.PlaceOrder(ctx(t), req)
	wantKind(t, err, broker.ErrInvalidSymbol)
}

func (s *suite) idempotentPlace(t *testing.T) {
	b, _ := s.account(t)
	req := s.farLimitBuy()
	before := s.orderCount(t)
	first, err := b.PlaceOrder(ctx(t), req)
	if err != nil {
		t.Fatalf("first PlaceOrder: %v", err)
	}
	second, err := b.PlaceOrder(ctx(t), req)
	if err != nil {
		t.Fatalf("second PlaceOrder with the same client order id: %v", err)
	}
	if second.ID != first.ID {
		t.Fatalf("second PlaceOrder returned order %q, first %q", second.ID, first.ID)
	}
	if n := s.orderCount(t) - before; n != 1 {
		t.Fatalf("%d orders at the broker, want 1", n)
	}
	_ = b.CancelOrder(ctx(t), first.ID)
}

func (s *suite) findByClientID(t *testing.T) {
	b, _ := s.account(t)
	req := s.farLimitBuy()
	placed, err := b.PlaceOrder(ctx(t), req)
	if err != nil {
		t.Fatalf("PlaceOrder: %v", err)
	}
	o, found, err := b.FindOrderByClientID(ctx(t), req.ClientOrderID)
	if err != nil || !found {
		t.Fatalf("FindOrderByClientID = found %v, %v", found, err)
	}
	if o.ID != placed.ID || o.ClientOrderID != req.ClientOrderID {
		t.Fatalf("found order %q (client %q), want %q", o.ID, o.ClientOrderID, placed.ID)
	}
	_, found, err = b.FindOrderByClientID(ctx(t), NewClientOrderID())
	if err != nil || found {
		t.Fatalf("unknown client id: found %v, err %v; want found=false, nil", found, err)
	}
	_ = b.CancelOrder(ctx(t), placed.ID)
}

func (s *suite) droppedResponse(t *testing.T) {
	b, _ := s.account(t)
	req := s.farLimitBuy()
	before := s.orderCount(t)
	s.h.DropNextResponse(t)
	first, err := b.PlaceOrder(ctx(t), req)
	if err != nil && broker.KindOf(err) != broker.KindUnavailable {
		t.Fatalf("PlaceOrder with a dropped response: %v, want success or UNAVAILABLE", err)
	}
	// The workflow retries with the same client order id.
	again, err := b.PlaceOrder(ctx(t), req)
	if err != nil {
		t.Fatalf("retry PlaceOrder: %v", err)
	}
	if first.ID != "" && first.ID != again.ID {
		t.Fatalf("retry returned order %q, first call %q", again.ID, first.ID)
	}
	if again.ClientOrderID != req.ClientOrderID {
		t.Fatalf("retry returned client id %q", again.ClientOrderID)
	}
	if n := s.orderCount(t) - before; n != 1 {
		t.Fatalf("%d orders at the broker after a dropped response and a retry, want 1", n)
	}
	_ = b.CancelOrder(ctx(t), again.ID)
}

func (s *suite) failNext(t *testing.T) {
	b, _ := s.account(t)
	req := s.farLimitBuy()
	before := s.orderCount(t)
	s.h.FailNext(t, 2)
	for i := 1; i <= 2; i++ {
		_, err := b.PlaceOrder(ctx(t), req)
		wantKind(t, err, broker.ErrUnavailable)
		if n := s.orderCount(t) - before; n != 0 {
			t.Fatalf("attempt %d: %d orders at the broker after a 5xx", i, n)
		}
	}
	o, err := b.PlaceOrder(ctx(t), req)
	if err != nil {
		t.Fatalf("third PlaceOrder: %v", err)
	}
	if n := s.orderCount(t) - before; n != 1 {
		t.Fatalf("%d orders at the broker, want 1", n)
	}
	_ = b.CancelOrder(ctx(t), o.ID)
}

func (s *suite) rateLimit(t *testing.T) {
	b, _ := s.account(t)
	req := s.farLimitBuy()
	before := s.orderCount(t)
	s.h.RateLimitNext(t, 1)
	start := time.Now()
	o, err := b.PlaceOrder(ctx(t), req)
	if err != nil {
		t.Fatalf("PlaceOrder behind a rate limit failed instead of waiting: %v", err)
	}
	if el := time.Since(start); !s.caps.NoRemoteRateLimit && el < minRateLimitWait {
		t.Fatalf("PlaceOrder returned after %s: the rate-limit answer's wait was not honoured", el)
	}
	if n := s.orderCount(t) - before; n != 1 {
		t.Fatalf("%d orders at the broker, want 1", n)
	}
	_ = b.CancelOrder(ctx(t), o.ID)
}

func (s *suite) unnormalisedQuantity(t *testing.T) {
	b, _ := s.account(t)
	q := s.caps.UnnormalisedQuantity
	o, err := b.PlaceOrder(ctx(t), s.marketBuy(q))
	if err != nil {
		t.Fatalf("PlaceOrder(%s): %v", q, err)
	}
	o = waitStatus(t, b, o.ID, "filled", func(o broker.Order) bool { return o.Status == broker.StatusFilled })
	if !o.FilledQuantity.IsPositive() || !o.FilledQuantity.LessThan(q) {
		t.Fatalf("FilledQuantity = %s, want rounded down from %s", o.FilledQuantity, q)
	}
	if o.FilledQuantity.LessThan(q.Mul(decimal.RequireFromString("0.9"))) {
		t.Fatalf("FilledQuantity %s rounded far below %s", o.FilledQuantity, q)
	}
}

// haltedSymbol: an order for a halted symbol is refused with MARKET_HALTED
// (not retryable as such: the workflow waits and submits it again), creates
// nothing at the broker, and the very same order (same client order id) is
// accepted and fills once trading resumes.
func (s *suite) haltedSymbol(t *testing.T) {
	b, _ := s.account(t)
	req := s.marketBuy(s.caps.Quantity)
	before := s.orderCount(t)
	s.h.SetHalted(t, s.caps.Symbol, true)
	t.Cleanup(func() { s.h.SetHalted(t, s.caps.Symbol, false) })
	halted := &broker.Error{Kind: broker.KindHalted}
	for i := 1; i <= 2; i++ {
		_, err := b.PlaceOrder(ctx(t), req)
		wantKind(t, err, halted)
		if broker.KindOf(err).Retryable() {
			t.Fatal("MARKET_HALTED must not be retried by the activity's retry policy")
		}
		if n := s.orderCount(t) - before; n != 0 {
			t.Fatalf("attempt %d: %d orders at the broker for a halted symbol", i, n)
		}
	}
	s.h.SetHalted(t, s.caps.Symbol, false)
	o, err := b.PlaceOrder(ctx(t), req)
	if err != nil {
		t.Fatalf("PlaceOrder after resume: %v", err)
	}
	if o.ClientOrderID != req.ClientOrderID {
		t.Fatalf("client id %q, sent %q", o.ClientOrderID, req.ClientOrderID)
	}
	waitStatus(t, b, o.ID, "filled", func(o broker.Order) bool { return o.Status == broker.StatusFilled })
	if n := s.orderCount(t) - before; n != 1 {
		t.Fatalf("%d orders at the broker after a halt and a resume, want 1", n)
	}
}

// timeInForce: every explicit time in force the broker's session table
// (broker.SessionOf) lists for a market or limit order is taken by the fake
// as sent; every other one is refused by the adapter as INVALID_ORDER before
// anything reaches the broker — never sent as something else.
func (s *suite) timeInForce(t *testing.T) {
	b, _ := s.account(t)
	sess := broker.SessionOf(s.caps.Name)
	for _, tif := range []broker.TimeInForce{broker.TIFGTC, broker.TIFIOC, broker.TIFFOK, broker.TIFOPG, broker.TIFCLS, "gtd"} {
		for _, req := range []broker.OrderRequest{s.marketBuy(s.caps.Quantity), s.farLimitBuy()} {
			req.ClientOrderID = NewClientOrderID()
			req.TimeInForce = tif
			before := s.orderCount(t)
			_, err := b.PlaceOrder(ctx(t), req)
			if sess.Executes(s.caps.AssetClass, req.Type, tif) {
				if err != nil {
					t.Errorf("%s %s order with time in force %s: the session table says %s executes it, got %v", s.caps.AssetClass, req.Type, tif, s.caps.Name, err)
				}
				continue
			}
			var be *broker.Error
			if !errors.As(err, &be) || be.Kind != broker.KindInvalidOrder {
				t.Errorf("%s %s order with time in force %s: want INVALID_ORDER (not in the session table), got %v", s.caps.AssetClass, req.Type, tif, err)
			}
			if after := s.orderCount(t); after != before {
				t.Errorf("%s %s order with time in force %s reached the broker (%d → %d orders)", s.caps.AssetClass, req.Type, tif, before, after)
			}
		}
	}
}
