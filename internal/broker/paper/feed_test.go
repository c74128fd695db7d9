package paper

import (
	"errors"
	"sync"
	"testing"

	"github.com/shopspring/decimal"
)

func TestStaticFeed(t *testing.T) {
	f := NewStaticFeed(map[string]decimal.Decimal{"aapl": d("101.5")})
	p, err := f.Price("AAPL")
	if err != nil || !p.Equal(d("101.5")) {
		t.Fatalf("Price(AAPL) = %s, %v", p, err)
	}
	_, err = f.Price("XYZ")
	if !errors.Is(err, ErrUnknownSymbol) || err.Error() != "unknown symbol XYZ" {
		t.Fatalf("Price(XYZ) error = %v", err)
	}
	f.Set("XYZ", d("3"))
	if p, _ := f.Price("xyz"); !p.Equal(d("3")) {
		t.Fatalf("after Set, Price(XYZ) = %s", p)
	}
	f.Set("XYZ", decimal.Zero)
	if _, err := f.Price("XYZ"); !errors.Is(err, ErrUnknownSymbol) {
		t.Fatalf("after Set(0), error = %v", err)
	}
}

func TestStaticFeedConcurrent(t *testing.T) {
	f := NewStaticFeed(nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				f.Set("AAPL", decimal.NewFromInt(int64(100+i+j)))
				if _, err := f.Price("AAPL"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func walk(seed uint64, steps int, symbols ...string) [][]decimal.Decimal {
	f := NewRandomWalkFeed(seed)
	var out [][]decimal.Decimal
	for range steps {
		row := make([]decimal.Decimal, len(symbols))
		for i, s := range symbols {
			row[i], _ = f.Price(s)
		}
		out = append(out, row)
		f.Tick()
	}
	return out
}

func TestRandomWalkDeterministic(t *testing.T) {
	syms := []string{"AAPL", "BTC-USD", "DOGE-USD", "ZZZZ"}
	a, b := walk(42, 50, syms...), walk(42, 50, syms...)
	c := walk(43, 50, syms...)
	same, differ := true, false
	for i := range a {
		for j := range a[i] {
			if !a[i][j].Equal(b[i][j]) {
				same = false
			}
			if !a[i][j].Equal(c[i][j]) {
				differ = true
			}
			if !a[i][j].IsPositive() {
				t.Fatalf("non-positive price %s", a[i][j])
			}
		}
	}
	if !same {
		t.Fatal("same seed produced different walks")
	}
	if !differ {
		t.Fatal("different seeds produced identical walks")
	}
	if !a[0][0].Equal(StartingPrices["AAPL"]) || !a[0][3].Equal(defaultWalkPrice) {
		t.Fatalf("starting prices = %s, %s", a[0][0], a[0][3])
	}
	moved := false
	for i := 1; i < len(a); i++ {
		if !a[i][0].Equal(a[i-1][0]) {
			moved = true
		}
		if a[i][0].Exponent() < -2 {
			t.Fatalf("AAPL price %s is off the cent grid", a[i][0])
		}
	}
	if !moved {
		t.Fatal("the walk never moved")
	}
}

func TestRandomWalkObserveAndOptions(t *testing.T) {
	f := NewRandomWalkFeed(1, WalkVolatility(0), WalkDefaultPrice(d("7")), WalkStartPrices(map[string]decimal.Decimal{"abc": d("12")}))
	if p, _ := f.Price("ABC"); !p.Equal(d("12")) {
		t.Fatalf("ABC = %s", p)
	}
	if p, _ := f.Price("QQQQ"); !p.Equal(d("7")) {
		t.Fatalf("default = %s", p)
	}
	f.Observe("BTC-USD", d("70123.45"))
	f.Tick()
	if p, _ := f.Price("BTC-USD"); !p.Equal(d("70123.45")) {
		t.Fatalf("with zero volatility BTC-USD = %s", p)
	}
	f.Observe("BTC-USD", d("-1"))
	if p, _ := f.Price("BTC-USD"); !p.Equal(d("70123.45")) {
		t.Fatalf("a negative observation was taken: %s", p)
	}
	if _, err := f.Price(" "); !errors.Is(err, ErrUnknownSymbol) {
		t.Fatalf("blank symbol error = %v", err)
	}
}
