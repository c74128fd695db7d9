package brokertest

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"

	"github.com/shopspring/decimal"
)

func TestFaultsAreConsumedOnce(t *testing.T) {
	var f Faults
	if f.TakeFail() || f.TakeDrop() || f.TakeRateLimit() {
		t.Fatal("zero value has faults armed")
	}
	f.FailNext(2)
	f.DropNext()
	f.RateLimitNext(1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fails := 0
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if f.TakeFail() {
				mu.Lock()
				fails++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if fails != 2 {
		t.Fatalf("%d fails taken, want 2", fails)
	}
	if !f.TakeDrop() || f.TakeDrop() || !f.TakeRateLimit() || f.TakeRateLimit() {
		t.Fatal("drop / rate limit not consumed exactly once")
	}
}

func TestDropConnection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { DropConnection(w) }))
	defer srv.Close()
	resp, err := http.Post(srv.URL, "application/json", nil)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got a response (%d), want a dropped connection", resp.StatusCode)
	}
}

func TestClientOrderIDShape(t *testing.T) {
	re := regexp.MustCompile(`^tee-[0-9a-f]{28}$`)
	a, b := NewClientOrderID(), NewClientOrderID()
	if !re.MatchString(a) || a == b {
		t.Fatalf("ids %q %q", a, b)
	}
}

func TestCapsValidate(t *testing.T) {
	ok := Caps{Name: "x", AssetClass: "stock", Symbol: "AAPL", Price: decimal.NewFromInt(1), Quantity: decimal.NewFromInt(1), InvalidSymbol: "ZZZZ"}
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	bad := ok
	bad.Price = decimal.Zero
	if bad.validate() == nil {
		t.Fatal("zero price accepted")
	}
	bad = ok
	bad.InvalidSymbol = ""
	if bad.validate() == nil {
		t.Fatal("missing invalid symbol accepted")
	}
}
