package signal

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/; run a target with
//
//	go test -run=^$ -fuzz=FuzzParseDiscord -fuzztime=20s ./internal/signal

// maxErrorLen bounds what a refusal may send back to Discord or a webhook
// caller, whatever the input.
const maxErrorLen = 400

func checkRefusal(t *testing.T, err error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error is %T, want *ParseError: %v", err, err)
	}
	if pe.Reason == "" {
		t.Fatalf("empty reason: %#v", pe)
	}
	if len(pe.Error()) > maxErrorLen {
		t.Fatalf("error too long (%d bytes): %s", len(pe.Error()), pe.Error())
	}
}

func FuzzParseDiscord(f *testing.F) {
	f.Add("/buy AAPL 100 shares @market")
	f.Add("/sell BTC 0.5 @limit 42000 sl:2% tp:40000 broker:kraken")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseDiscord(text)
		if err != nil {
			checkRefusal(t, err)
			if !reflect.DeepEqual(s, Signal{}) {
				t.Fatalf("non-zero signal with error: %+v", s)
			}
			return
		}
		checkInvariants(t, s)
		if s.Source != SourceDiscord || s.Text != text || s.QuantityType != QtyFixed || s.ExternalID != "" {
			t.Fatalf("discord signal fields wrong: %+v", s)
		}
		// Every Discord signal can be written back and reads the same.
		r, err := RenderDiscord(s)
		if err != nil {
			t.Fatalf("RenderDiscord(%+v): %v", s, err)
		}
		s2, err := ParseDiscord(r)
		if err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", r, text, err)
		}
		if !sameSignal(s, s2, false) {
			t.Fatalf("round trip %q -> %q changed the signal:\n%+v\n%+v", text, r, s, s2)
		}
	})
}

func FuzzParseTradingView(f *testing.F) {
	f.Add([]byte(`{"ticker":"TSLA","action":"buy","quantity":50,"type":"limit","price":250.00}`))
	f.Add([]byte(`{"ticker":"AMD","action":"buy","signalPrice":143.12,"quantity":1,"takeProfit":{"percent":10},"stopLoss":{"type":"stop","percent":5}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, meta, err := ParseTradingView(body)
		s2, meta2, err2 := ParseTradingView(body)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) ||
			!sameSignal(s, s2, true) || meta != meta2 {
			t.Fatalf("not deterministic: %v / %v", err, err2)
		}
		// Only check for leaks when the passphrase is long and appears in the
		// body once (so an echo of another field cannot contain it).
		secret := len(meta.Passphrase) >= 8 && bytes.Count(body, []byte(meta.Passphrase)) == 1
		if err != nil {
			checkRefusal(t, err)
			if !reflect.DeepEqual(s, Signal{}) {
				t.Fatalf("non-zero signal with error: %+v", s)
			}
			if secret && strings.Contains(err.Error(), meta.Passphrase) {
				t.Fatalf("passphrase echoed in error: %v", err)
			}
			return
		}
		checkInvariants(t, s)
		if s.Source != SourceTradingView || s.ExternalID != meta.AlertID {
			t.Fatalf("tradingview signal fields wrong: %+v / %+v", s, meta)
		}
		if secret {
			js, _ := json.Marshal(s)
			if bytes.Contains(js, []byte(meta.Passphrase)) {
				t.Fatalf("passphrase leaked into the signal: %s", js)
			}
		}
	})
}

func FuzzNormalizeSymbol(f *testing.F) {
	f.Add("BINANCE:BTCUSDT")
	f.Add("brk.b")
	f.Fuzz(func(t *testing.T, raw string) {
		sym, class, err := NormalizeSymbol(raw)
		if err != nil {
			checkRefusal(t, err)
			var pe *ParseError
			if errors.As(err, &pe); pe.Field != "symbol" {
				t.Fatalf("field %q, want symbol", pe.Field)
			}
			return
		}
		if !canonicalSymbol(sym, class) || len(sym) > maxSymbolLen {
			t.Fatalf("NormalizeSymbol(%q) = %q %s: not canonical", raw, sym, class)
		}
		// Canonical symbols are fixed points; a stock that reads as a crypto
		// base on its own is a fixed point with the STOCK: prefix.
		again := sym
		if class == AssetStock {
			if _, c, _ := NormalizeSymbol(sym); c != AssetStock {
				again = "STOCK:" + sym
			}
		}
		sym2, class2, err := NormalizeSymbol(again)
		if err != nil || sym2 != sym || class2 != class {
			t.Fatalf("not idempotent: %q -> %q %s -> %q %s %v", raw, sym, class, sym2, class2, err)
		}
	})
}
