package signal

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Seed corpus: testdata/fuzz/FuzzParseFreeform/; run with
//
//	go test -run=^$ -fuzz=FuzzParseFreeform -fuzztime=30s ./internal/signal
func FuzzParseFreeform(f *testing.F) {
	f.Add("BTC/USDT LONG  Entry 42000  SL 41000  TP1 43000 TP2 44500")
	f.Add("$TSLA short entry 250-252 sl 260 targets 240 (50%) / 230 (50%)")
	f.Fuzz(func(t *testing.T, text string) {
		ff, err := ParseFreeform(text)
		ff2, err2 := ParseFreeform(text)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) || !sameSignal(ff.Signal, ff2.Signal, true) {
			t.Fatalf("not deterministic: %v / %v", err, err2)
		}
		if err != nil {
			if !errors.Is(err, ErrNoSignal) {
				checkRefusal(t, err)
			}
			if !reflect.DeepEqual(ff.Signal, Signal{}) || ff.Targets != nil {
				t.Fatalf("non-zero result with error: %+v", ff)
			}
			return
		}
		checkFreeform(t, ff)
		if ff.Signal.Text != text {
			t.Fatalf("Text not kept: %q", ff.Signal.Text)
		}
		// Words are case-insensitive: the ASCII-lowercased message reads the same.
		lower := strings.Map(func(r rune) rune {
			if r >= 'A' && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return r
		}, text)
		fl, err := ParseFreeform(lower)
		if err != nil {
			t.Fatalf("lower-cased %q refused: %v", lower, err)
		}
		if !sameSignal(ff.Signal, fl.Signal, false) || len(ff.Targets) != len(fl.Targets) {
			t.Fatalf("case changed the signal:\n%+v\n%+v", ff, fl)
		}
	})
}
