package alpaca

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/httpx"
	"github.com/tradeexec/tradeexec/internal/broker/symbols"
	"github.com/tradeexec/tradeexec/internal/signal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestMapError(t *testing.T) {
	tests := []struct {
		name   string
		op     op
		status int
		msg    string
		want   broker.Kind
	}{
		{"401 not authorized", opConnect, 401, "request is not authorized", broker.KindAuthFailed},
		{"401 unauthorized", opPlace, 401, "unauthorized", broker.KindAuthFailed},
		{"403 forbidden (wrong secret)", opConnect, 403, "forbidden", broker.KindAuthFailed},
		{"403 gateway text", opConnect, 403, "Forbidden", broker.KindAuthFailed},
		{"403 buying power", opPlace, 403, "insufficient buying power", broker.KindInsufficientFunds},
		{"403 crypto balance", opPlace, 403, "insufficient balance for USD (requested: 650, available: 65)", broker.KindInsufficientFunds},
		{"403 sell without shares", opPlace, 403, "insufficient qty available for order (requested: 5, available: 0)", broker.KindInsufficientFunds},
		{"403 pdt protection", opPlace, 403, "trade denied due to pattern day trading protection", broker.KindRejected},
		{"403 user suspended orders", opPlace, 403, "new orders are rejected by user request", broker.KindRejected},
		{"403 wash trade", opPlace, 403, "potential wash trade detected. use complex orders", broker.KindRejected},
		{"422 asset not found", opPlace, 422, `asset "ZZZZ" not found`, broker.KindInvalidSymbol},
		{"422 could not find", opPlace, 422, "could not find us_equity 'b0b6dd9d'", broker.KindInvalidSymbol},
		{"422 not tradable", opPlace, 422, "asset XYZ is not tradable", broker.KindInvalidSymbol},
		{"422 market closed", opPlace, 422, "market is closed", broker.KindMarketClosed},
		{"403 halted (fake's form)", opPlace, 403, `asset "AAPL" is halted`, broker.KindHalted},
		{"422 trading halt", opPlace, 422, "order rejected: trading halt in effect for AAPL", broker.KindHalted},
		{"403 luld pause", opPlace, 403, "LULD trading pause in effect", broker.KindHalted},
		{"422 sub-penny", opPlace, 422, "invalid limit_price 150.123. sub-penny increment does not fulfill minimum pricing criteria", broker.KindInvalidOrder},
		{"422 fractional tif", opPlace, 422, "fractional orders must be DAY orders", broker.KindInvalidOrder},
		{"400 body", opPlace, 400, "request body format is invalid", broker.KindInvalidOrder},
		{"422 cancel filled", opCancel, 422, `order is already in "filled" state`, broker.KindRejected},
		{"404 order", opGetOrder, 404, "order not found", broker.KindNotFound},
		{"404 price", opPrice, 404, "not found", broker.KindInvalidSymbol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mapError(tt.op, &apiError{Status: tt.status, Code: 40010001, Message: tt.msg})
			var be *broker.Error
			if !errors.As(err, &be) || be.Kind != tt.want {
				t.Fatalf("kind = %v, want %s", err, tt.want)
			}
			if be.Broker != Name || be.Message == "" {
				t.Fatalf("error %+v lacks broker or message", be)
			}
		})
	}
	// Errors already typed (transport, 5xx) pass through unchanged.
	typed := broker.NewError(Name, broker.KindUnavailable, "x", nil)
	if got := mapError(opPlace, typed); got != typed {
		t.Fatalf("typed error rewritten: %v", got)
	}
	if mapError(opPlace, nil) != nil {
		t.Fatal("nil error mapped")
	}
}

func TestToStatus(t *testing.T) {
	q := dec("10")
	tests := []struct {
		status string
		filled string
		want   broker.OrderStatus
	}{
		{"new", "0", broker.StatusNew},
		{"accepted", "0", broker.StatusNew},
		{"pending_new", "0", broker.StatusNew},
		{"accepted_for_bidding", "0", broker.StatusNew},
		{"held", "0", broker.StatusNew},
		{"partially_filled", "3", broker.StatusPartiallyFilled},
		{"pending_cancel", "0", broker.StatusNew},
		{"pending_cancel", "3", broker.StatusPartiallyFilled},
		{"done_for_day", "0", broker.StatusNew},
		{"done_for_day", "3", broker.StatusPartiallyFilled},
		{"calculated", "10", broker.StatusFilled},
		{"filled", "10", broker.StatusFilled},
		{"canceled", "0", broker.StatusCancelled},
		{"replaced", "0", broker.StatusCancelled},
		{"expired", "0", broker.StatusExpired},
		{"rejected", "0", broker.StatusRejected},
		{"suspended", "0", broker.StatusRejected},
	}
	for _, tt := range tests {
		w := &orderWire{Status: tt.status, Qty: &q, FilledQty: dec(tt.filled)}
		if got := toStatus(w); got != tt.want {
			t.Errorf("%s filled %s: %s, want %s", tt.status, tt.filled, got, tt.want)
		}
	}
}

func TestSymbols(t *testing.T) {
	tests := []struct {
		canonical, wire, position, class string
	}{
		{"AAPL", "AAPL", "AAPL", "us_equity"},
		{"BRK.B", "BRK.B", "BRK.B", "us_equity"},
		{"BTC-USD", "BTC/USD", "BTCUSD", "crypto"},
		{"ETH-USDT", "ETH/USDT", "ETHUSDT", "crypto"},
		{"ETH-BTC", "ETH/BTC", "ETHBTC", "crypto"},
	}
	for _, tt := range tests {
		if got := toWireSymbol(tt.canonical); got != tt.wire {
			t.Errorf("toWireSymbol(%s) = %s", tt.canonical, got)
		}
		if got := fromWireSymbol(tt.wire, tt.class); got != tt.canonical {
			t.Errorf("fromWireSymbol(%s) = %s", tt.wire, got)
		}
		if got := fromWireSymbol(tt.position, tt.class); got != tt.canonical {
			t.Errorf("fromWireSymbol(%s) = %s", tt.position, got)
		}
	}
}

func TestToCreateOrder(t *testing.T) {
	base := broker.OrderRequest{ClientOrderID: "tee-1", Symbol: "AAPL", AssetClass: signal.AssetStock, Side: signal.SideBuy, Type: signal.OrderMarket, Quantity: dec("2"), TimeInForce: broker.TIFDay}
	// BTC/USD as https://docs.alpaca.markets/docs/crypto-trading shows it:
	// min_order_size 0.0001, min_trade_increment 0.0001, price_increment 1.
	btc := &symbols.Rules{Symbol: "BTC-USD", BaseStep: dec("0.0001"), TickSize: dec("1"), MinQty: dec("0.0001")}
	crypto := func(r *broker.OrderRequest) {
		r.Symbol, r.AssetClass, r.TimeInForce = "BTC-USD", signal.AssetCrypto, broker.TIFGTC
	}
	tests := []struct {
		name    string
		mutate  func(*broker.OrderRequest)
		check   func(t *testing.T, w createOrderRequest)
		wantErr broker.Kind
		rules   *symbols.Rules
		wantMsg string
	}{
		{"market stock", func(*broker.OrderRequest) {}, func(t *testing.T, w createOrderRequest) {
			if w.Symbol != "AAPL" || w.Qty != "2" || w.Type != "market" || w.TimeInForce != "day" || w.LimitPrice != "" || w.ClientOrderID != "tee-1" {
				t.Fatalf("%+v", w)
			}
		}, "", nil, ""},
		{"quantity rounded down to 9 places", func(r *broker.OrderRequest) { r.Quantity = dec("1.1234567899") }, func(t *testing.T, w createOrderRequest) {
			if w.Qty != "1.123456789" {
				t.Fatalf("qty %s", w.Qty)
			}
		}, "", nil, ""},
		{"dust quantity refused", func(r *broker.OrderRequest) { r.Quantity = dec("0.0000000001") }, nil, broker.KindInvalidOrder, nil, ""},
		{"buy limit rounded down to the cent", func(r *broker.OrderRequest) { r.Type = signal.OrderLimit; r.LimitPrice = dec("150.129") }, func(t *testing.T, w createOrderRequest) {
			if w.LimitPrice != "150.12" {
				t.Fatalf("limit %s", w.LimitPrice)
			}
		}, "", nil, ""},
		{"sell stop rounded up to the cent", func(r *broker.OrderRequest) {
			r.Side, r.Type, r.StopPrice = signal.SideSell, signal.OrderStop, dec("147.001")
		}, func(t *testing.T, w createOrderRequest) {
			if w.StopPrice != "147.01" || w.Type != "stop" {
				t.Fatalf("%+v", w)
			}
		}, "", nil, ""},
		{"penny stock keeps 4 places", func(r *broker.OrderRequest) { r.Type = signal.OrderLimit; r.LimitPrice = dec("0.123456") }, func(t *testing.T, w createOrderRequest) {
			if w.LimitPrice != "0.1234" {
				t.Fatalf("limit %s", w.LimitPrice)
			}
		}, "", nil, ""},
		{"crypto day becomes gtc, slash symbol, buy limit rounded down to price_increment", func(r *broker.OrderRequest) {
			r.Symbol, r.AssetClass, r.Type, r.LimitPrice = "BTC-USD", signal.AssetCrypto, signal.OrderLimit, dec("64000.923")
		}, func(t *testing.T, w createOrderRequest) {
			if w.Symbol != "BTC/USD" || w.TimeInForce != "gtc" || w.LimitPrice != "64000" || w.Qty != "2" {
				t.Fatalf("%+v", w)
			}
		}, "", btc, ""},
		{"crypto quantity rounded down to min_trade_increment", func(r *broker.OrderRequest) {
			crypto(r)
			r.Quantity = dec("0.0123456789")
		}, func(t *testing.T, w createOrderRequest) {
			if w.Qty != "0.0123" {
				t.Fatalf("qty %s", w.Qty)
			}
		}, "", btc, ""},
		{"crypto sell stop-limit rounded up to price_increment", func(r *broker.OrderRequest) {
			crypto(r)
			r.Side, r.Type, r.StopPrice, r.LimitPrice = signal.SideSell, signal.OrderStopLimit, dec("60000.2"), dec("59400.01")
		}, func(t *testing.T, w createOrderRequest) {
			if w.StopPrice != "60001" || w.LimitPrice != "59401" || w.Type != "stop_limit" {
				t.Fatalf("%+v", w)
			}
		}, "", btc, ""},
		{"crypto quantity rounded down onto the minimum is accepted", func(r *broker.OrderRequest) {
			crypto(r)
			r.Quantity = dec("0.00019")
		}, func(t *testing.T, w createOrderRequest) {
			if w.Qty != "0.0001" {
				t.Fatalf("qty %s", w.Qty)
			}
		}, "", btc, ""},
		{"crypto quantity below min_order_size refused", func(r *broker.OrderRequest) {
			crypto(r)
			r.Quantity = dec("0.00009")
		}, nil, broker.KindInvalidOrder,
			&symbols.Rules{Symbol: "BTC-USD", BaseStep: dec("0.00001"), TickSize: dec("1"), MinQty: dec("0.0001")},
			"quantity 0.00009 is below the exchange minimum 0.0001 for BTC-USD"},
		{"crypto quantity rounding to nothing refused", func(r *broker.OrderRequest) {
			crypto(r)
			r.Quantity = dec("0.00009")
		}, nil, broker.KindInvalidOrder, btc, "smallest step 0.0001"},
		{"crypto without rules keeps Alpaca's 1e-9 precision", func(r *broker.OrderRequest) {
			crypto(r)
			r.Quantity, r.Type, r.LimitPrice = dec("0.0123456789123"), signal.OrderLimit, dec("64000.123")
		}, func(t *testing.T, w createOrderRequest) {
			if w.Qty != "0.012345678" || w.LimitPrice != "64000.123" {
				t.Fatalf("%+v", w)
			}
		}, "", nil, ""},
		{"trailing stop", func(r *broker.OrderRequest) {
			r.Side, r.Type, r.TrailPercent, r.TimeInForce = signal.SideSell, signal.OrderTrailingStop, dec("2"), broker.TIFGTC
		}, func(t *testing.T, w createOrderRequest) {
			if w.TrailPercent != "2" || w.Type != "trailing_stop" || w.TimeInForce != "gtc" {
				t.Fatalf("%+v", w)
			}
		}, "", nil, ""},
		{"limit without price", func(r *broker.OrderRequest) { r.Type = signal.OrderLimit }, nil, broker.KindInvalidOrder, nil, ""},
		{"stop-limit without stop", func(r *broker.OrderRequest) { r.Type = signal.OrderStopLimit; r.LimitPrice = dec("1") }, nil, broker.KindInvalidOrder, nil, ""},
		{"no client order id", func(r *broker.OrderRequest) { r.ClientOrderID = "" }, nil, broker.KindInvalidOrder, nil, ""},
		{"bad side", func(r *broker.OrderRequest) { r.Side = "hold" }, nil, broker.KindInvalidOrder, nil, ""},
		{"bad type", func(r *broker.OrderRequest) { r.Type = "iceberg" }, nil, broker.KindInvalidOrder, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := base
			tt.mutate(&req)
			w, err := toCreateOrder(req, tt.rules)
			if tt.wantErr != "" {
				if broker.KindOf(err) != tt.wantErr || err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("err = %v, want %s %q", err, tt.wantErr, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, w)
		})
	}
}

func TestRateLimitWait(t *testing.T) {
	now := time.Unix(1_700_000_000, 500_000_000)
	tests := []struct {
		name    string
		status  int
		headers map[string]string
		want    time.Duration
		limited bool
	}{
		{"not a rate limit", 200, nil, 0, false},
		{"retry-after wins", 429, map[string]string{"Retry-After": "2", "X-Ratelimit-Reset": strconv.FormatInt(now.Unix()+30, 10)}, 2 * time.Second, true},
		{"reset header", 429, map[string]string{"X-Ratelimit-Reset": strconv.FormatInt(now.Unix()+3, 10)}, 2500 * time.Millisecond, true},
		{"reset in the past", 429, map[string]string{"X-Ratelimit-Reset": strconv.FormatInt(now.Unix()-3, 10)}, httpx.DefaultRetryAfter, true},
		{"no headers", 429, nil, httpx.DefaultRetryAfter, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.headers {
			h.Set(k, v)
		}
		got, limited := rateLimitWait(&httpx.Response{Status: tt.status, Header: h}, now)
		if got != tt.want || limited != tt.limited {
			t.Errorf("%s: %s %v, want %s %v", tt.name, got, limited, tt.want, tt.limited)
		}
	}
}

func TestToOrderAndClockAreUTC(t *testing.T) {
	ny := time.FixedZone("EDT", -4*3600)
	sub := time.Date(2025, 3, 14, 10, 0, 0, 0, ny)
	q, fp := dec("0.5"), dec("64000")
	o := toOrder(&orderWire{ID: "id", ClientOrderID: "c", Symbol: "BTC/USD", AssetClass: "crypto", Side: "buy", Type: "market",
		Status: "filled", Qty: &q, FilledQty: q, FilledAvgPrice: &fp, SubmittedAt: sub, UpdatedAt: sub})
	if o.Symbol != "BTC-USD" || o.Status != broker.StatusFilled || !o.AvgFillPrice.Equal(fp) || o.SubmittedAt.Location() != time.UTC || !o.SubmittedAt.Equal(sub) {
		t.Fatalf("%+v", o)
	}
	c := toClock(&clockWire{Timestamp: sub, IsOpen: true, NextOpen: sub.Add(time.Hour), NextClose: sub.Add(2 * time.Hour)})
	if c.Now.Location() != time.UTC || c.NextClose.Location() != time.UTC || c.NextClose.Hour() != 16 {
		t.Fatalf("%+v", c)
	}
}
