package binance

import (
	"testing"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

func pairReq(cid string) broker.ExitPairRequest {
	return broker.ExitPairRequest{ClientOrderID: cid, Symbol: "BTC-USD", AssetClass: signal.AssetCrypto, Side: signal.SideSell,
		Quantity: d("0.01"), TakeProfitPrice: d("55000"), StopPrice: d("45000"), TimeInForce: broker.TIFGTC}
}

// The stop leg follows the symbol's orderTypes: STOP_LOSS where listed
// (it fills at the trigger), else STOP_LOSS_LIMIT; a symbol without
// ocoAllowed is refused before anything is sent, as INVALID_ORDER (the
// caller emulates the pair).
func TestExitPairFollowsSymbol(t *testing.T) {
	f := NewFake()
	t.Cleanup(f.Close)
	f.SetOrderTypes("BTCUSDT", "LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT")
	a, creds := newAccount(t, f, Options{}, "10000")
	f.SetBalance(creds["api_key"], "BTC", d("0.01"))
	pair, err := a.PlaceExitPair(testCtx(t), pairReq("tee-follow-1"))
	if err != nil {
		t.Fatal(err)
	}
	if pair.StopLoss.Type != signal.OrderStop || !pair.StopLoss.LimitPrice.IsZero() || pair.TakeProfit.Type != signal.OrderLimit {
		t.Fatalf("legs %+v / %+v, want a STOP_LOSS stop", pair.StopLoss, pair.TakeProfit)
	}
	f.SetPrice("BTC-USD", d("44000"))
	done, err := a.GetExitPair(testCtx(t), pair.ID)
	if err != nil || done.StopLoss.Status != broker.StatusFilled || done.TakeProfit.Status != broker.StatusCancelled ||
		!done.StopLoss.AvgFillPrice.Equal(d("45000")) {
		t.Fatalf("after the drop: %+v, %v", done, err)
	}

	f.SetPrice("BTC-USD", d("50000"))
	f.SetOCOAllowed("BTCUSDT", false)
	b, creds := newAccount(t, f, Options{}, "10000")
	f.SetBalance(creds["api_key"], "BTC", d("0.01"))
	before := f.Hits("POST /api/v3/orderList/oco")
	if _, err := b.PlaceExitPair(testCtx(t), pairReq("tee-follow-2")); broker.KindOf(err) != broker.KindInvalidOrder {
		t.Fatalf("ocoAllowed false: %v, want INVALID_ORDER", err)
	}
	if f.Hits("POST /api/v3/orderList/oco") != before {
		t.Fatal("an OCO was sent for a symbol without ocoAllowed")
	}
	if _, err := b.PlaceExitPair(testCtx(t), func() broker.ExitPairRequest {
		r := pairReq("tee-follow-3")
		r.Side = signal.SideBuy
		return r
	}()); broker.KindOf(err) != broker.KindInvalidOrder {
		t.Fatalf("buy exit: %v, want INVALID_ORDER", err)
	}
}
