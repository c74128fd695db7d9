package alpaca

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

func cryptoOrder(cid string, side signal.Side, typ signal.OrderType, qty string) broker.OrderRequest {
	return broker.OrderRequest{ClientOrderID: cid, Symbol: "BTC-USD", AssetClass: signal.AssetCrypto, Side: side, Type: typ,
		Quantity: dec(qty), TimeInForce: broker.TIFGTC}
}

// The fake serves the crypto rules as Alpaca does: strings on the asset,
// under the legacy symbol form; equities carry none.
func TestFakeServesCryptoAssetRules(t *testing.T) {
	f, _, key := newFakeAccount(t, "1000")
	get := func(path string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, f.URL()+path, nil)
		f.mu.Lock()
		secret := f.accounts[key].secret
		f.mu.Unlock()
		req.Header.Set(headerKeyID, key)
		req.Header.Set(headerSecret, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	status, btc := get("/v2/assets/BTCUSD")
	if status != 200 || btc["symbol"] != "BTC/USD" || btc["class"] != "crypto" ||
		btc["min_order_size"] != "0.0001" || btc["min_trade_increment"] != "0.0001" || btc["price_increment"] != "1" {
		t.Fatalf("BTCUSD: %d %v", status, btc)
	}
	if status, aapl := get("/v2/assets/AAPL"); status != 200 || aapl["class"] != "us_equity" || aapl["min_order_size"] != nil {
		t.Fatalf("AAPL: %d %v", status, aapl)
	}
	if status, _ := get("/v2/assets/ZZZUSD"); status != 404 {
		t.Fatalf("unknown: %d", status)
	}
	if status, _ := get("/v2/assets/BTC/USD"); status != 404 {
		t.Fatalf("slash in path: %d (Alpaca does not route it)", status)
	}
}

// A crypto order is fitted to the pair's asset rules before it is sent:
// quantity down to min_trade_increment, prices to price_increment in the
// trader's favour. Without the rounding the fake refuses it (422).
func TestCryptoOrderRoundedToAssetRules(t *testing.T) {
	_, a, _ := newFakeAccount(t, "100000")
	buy := cryptoOrder("tee-round-buy", signal.SideBuy, signal.OrderLimit, "0.0123456789")
	buy.LimitPrice = dec("32000.7")
	o, err := a.PlaceOrder(testCtx(t), buy)
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.GetOrderStatus(testCtx(t), o.ID)
	if err != nil || !got.Quantity.Equal(dec("0.0123")) || !got.LimitPrice.Equal(dec("32000")) || got.Status != broker.StatusNew {
		t.Fatalf("resting buy %+v %v", got, err)
	}
	// A sell limit rounds up: never sells for less than asked.
	if _, err := a.PlaceOrder(testCtx(t), cryptoOrder("tee-round-fill", signal.SideBuy, signal.OrderMarket, "0.05")); err != nil {
		t.Fatal(err)
	}
	sell := cryptoOrder("tee-round-sell", signal.SideSell, signal.OrderLimit, "0.02")
	sell.LimitPrice = dec("90000.2")
	if o, err = a.PlaceOrder(testCtx(t), sell); err != nil || !o.LimitPrice.Equal(dec("90001")) {
		t.Fatalf("sell %+v %v", o, err)
	}
}

// A quantity that rounds below min_order_size is refused by the adapter
// with INVALID_ORDER naming the minimum; nothing reaches Alpaca.
func TestCryptoBelowMinimumRefusedBeforeSending(t *testing.T) {
	f, a, key := newFakeAccount(t, "100000")
	f.SetCryptoRules("BTC-USD", dec("0.0001"), dec("0.00001"), dec("1"))
	_, err := a.PlaceOrder(testCtx(t), cryptoOrder("tee-dust", signal.SideBuy, signal.OrderMarket, "0.000059"))
	var be *broker.Error
	if !errors.As(err, &be) || !errors.Is(err, broker.ErrInvalidOrder) ||
		!strings.Contains(be.Message, "quantity 0.00005 is below the exchange minimum 0.0001 for BTC-USD") {
		t.Fatalf("err = %v, want INVALID_ORDER naming the minimum", err)
	}
	if n := f.OrderCount(key); n != 0 {
		t.Fatalf("%d orders reached the fake", n)
	}
	// Exactly the minimum is accepted.
	if _, err := a.PlaceOrder(testCtx(t), cryptoOrder("tee-min", signal.SideBuy, signal.OrderMarket, "0.0001")); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownCryptoPairIsInvalidSymbol(t *testing.T) {
	f, a, key := newFakeAccount(t, "100000")
	o := cryptoOrder("tee-zzz", signal.SideBuy, signal.OrderMarket, "1")
	o.Symbol = "ZZZ-USD"
	if _, err := a.PlaceOrder(testCtx(t), o); !errors.Is(err, broker.ErrInvalidSymbol) {
		t.Fatalf("err = %v", err)
	}
	if f.OrderCount(key) != 0 {
		t.Fatal("order sent")
	}
}
