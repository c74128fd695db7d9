package copytrade

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var shares = Rules{Step: d("1")}

func TestEntryQuantity(t *testing.T) {
	prop := Sizing{Mode: Proportional}
	tsla := Entry{Symbol: "TSLA", Quantity: d("20"), Price: d("250"), LeaderEquity: d("100000")}
	with := func(e Entry, eq string) Entry { e.FollowerEquity = d(eq); return e }
	cases := []struct {
		name   string
		s      Sizing
		e      Entry
		r      Rules
		want   string
		reason string // substring of the skip reason
	}{
		// SPEC US-011 #1: leader $100,000 buys TSLA 20 @ $250 (5%).
		{"US-011 #1 follower A $10,000", prop, with(tsla, "10000"), shares, "2", ""},
		{"US-011 #1 follower B $25,000", prop, with(tsla, "25000"), shares, "5", ""},
		{"US-011 #1 follower C $5,000", prop, with(tsla, "5000"), shares, "1", ""},
		// SPEC US-011 #2: 5% of $10,000 = $500 → 1 NVDA @ $500.
		{"US-011 #2 NVDA", prop, Entry{Symbol: "NVDA", Quantity: d("10"), Price: d("500"), LeaderEquity: d("100000"), FollowerEquity: d("10000")}, shares, "1", ""},
		{"rounds down", prop, with(tsla, "19999"), shares, "3", ""},
		{"below the broker minimum is a skip with the reason", prop, with(tsla, "2000"), shares, "", "0.4 shares, below the broker's minimum order of 1 shares"},
		{"broker min above step", prop, with(tsla, "10000"), Rules{Step: d("1"), Min: d("5")}, "", "below the broker's minimum order of 5"},
		{"crypto step", prop, Entry{Symbol: "BTC-USD", Units: "units", Quantity: d("1"), Price: d("60000"), LeaderEquity: d("600000"), FollowerEquity: d("1000")}, Rules{Step: d("0.00000001")}, "0.00166666", ""},
		{"leader equity unknown", prop, Entry{Symbol: "TSLA", Quantity: d("20"), Price: d("250"), FollowerEquity: d("1000")}, shares, "", "leader's account value is not known"},
		{"follower equity unknown", prop, tsla, shares, "", "Your account value is not known"},
		{"multiplier", Sizing{Mode: Multiplier, Multiplier: d("0.25")}, tsla, shares, "5", ""},
		{"multiplier fractional rounds down", Sizing{Mode: Multiplier, Multiplier: d("0.13")}, tsla, shares, "2", ""},
		{"multiplier zero", Sizing{Mode: Multiplier}, tsla, shares, "", "multiplier must be greater"},
		{"fixed amount", Sizing{Mode: FixedAmount, FixedAmount: d("1000")}, tsla, shares, "4", ""},
		{"fixed amount below one share", Sizing{Mode: FixedAmount, FixedAmount: d("100")}, tsla, shares, "", "0.4 shares, below"},
		{"max position caps", Sizing{Mode: Multiplier, Multiplier: d("1"), MaxPosition: d("2000")}, tsla, shares, "8", ""},
		{"max position counts what is copied", Sizing{Mode: Multiplier, Multiplier: d("1"), MaxPosition: d("2000")},
			Entry{Symbol: "TSLA", Quantity: d("20"), Price: d("250"), Copied: d("6")}, shares, "2", ""},
		{"max position reached is a skip", Sizing{Mode: Multiplier, Multiplier: d("1"), MaxPosition: d("2000")},
			Entry{Symbol: "TSLA", Quantity: d("20"), Price: d("250"), Copied: d("8")}, shares, "", "max position of $2,000 is reached"},
		{"unknown mode", Sizing{Mode: "martingale"}, tsla, shares, "", "Unknown sizing mode"},
		{"no price", prop, Entry{Symbol: "TSLA", Quantity: d("1")}, shares, "", "no quantity or price"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := EntryQuantity(c.s, c.e, c.r)
			if c.reason != "" {
				s, ok := AsSkip(err)
				if !ok || !strings.Contains(s.Reason, c.reason) {
					t.Fatalf("got %s, %v; want a skip saying %q", got, err, c.reason)
				}
				return
			}
			if err != nil || !got.Equal(d(c.want)) {
				t.Fatalf("got %s, %v; want %s", got, err, c.want)
			}
		})
	}
}

func TestExitFractionAndQuantity(t *testing.T) {
	cases := []struct {
		name             string
		before, exit     string
		copied           string
		wantFrac, wantQt string
		reason           string
	}{
		{"full exit closes all copied", "20", "20", "5", "1", "5", ""},
		{"half exit closes half", "20", "10", "5", "0.5", "2", ""},
		{"short position", "-20", "5", "-8", "0.25", "2", ""},
		{"exit larger than the position is full", "10", "15", "3", "1", "3", ""},
		{"unknown leader position closes all copied", "0", "5", "3", "1", "3", ""},
		{"partial below minimum is a skip", "20", "2", "5", "0.1", "", "below the broker's minimum order of 1 shares"},
		{"nothing copied is a skip", "20", "20", "0", "1", "", "hold no copied position"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := ExitFraction(d(c.before), d(c.exit))
			if !f.Equal(d(c.wantFrac)) {
				t.Fatalf("fraction %s, want %s", f, c.wantFrac)
			}
			q, err := ExitQuantity("TSLA", "shares", d(c.copied), f, shares)
			if c.reason != "" {
				s, ok := AsSkip(err)
				if !ok || !strings.Contains(s.Reason, c.reason) {
					t.Fatalf("got %s, %v; want a skip saying %q", q, err, c.reason)
				}
				return
			}
			if err != nil || !q.Equal(d(c.wantQt)) {
				t.Fatalf("qty %s, %v; want %s", q, err, c.wantQt)
			}
		})
	}
}

func TestApplyAndLoss(t *testing.T) {
	p := Apply(Position{}, d("10"), d("100"))
	p = Apply(p, d("10"), d("110"))
	if !p.Quantity.Equal(d("20")) || !p.AvgPrice.Equal(d("105")) {
		t.Fatalf("after adds: %+v", p)
	}
	p = Apply(p, d("-5"), d("95"))
	if !p.Quantity.Equal(d("15")) || !p.RealizedPnL.Equal(d("-50")) || !p.AvgPrice.Equal(d("105")) {
		t.Fatalf("after partial exit: %+v", p)
	}
	// 15 × (95 − 105) = −150 unrealized, −50 realized.
	if got := Loss([]Position{p}); !got.Equal(d("-200")) {
		t.Fatalf("loss %s, want -200", got)
	}
	p = Apply(p, d("-15"), d("100"))
	if !p.Quantity.IsZero() || !p.RealizedPnL.Equal(d("-125")) || !p.AvgPrice.IsZero() {
		t.Fatalf("after full exit: %+v", p)
	}
	short := Apply(Position{}, d("-4"), d("50"))
	short = Apply(short, d("4"), d("40"))
	if !short.RealizedPnL.Equal(d("40")) || !short.Quantity.IsZero() {
		t.Fatalf("short round trip: %+v", short)
	}
	flip := Apply(Position{Quantity: d("2"), AvgPrice: d("10")}, d("-5"), d("12"))
	if !flip.Quantity.Equal(d("-3")) || !flip.AvgPrice.Equal(d("12")) || !flip.RealizedPnL.Equal(d("4")) {
		t.Fatalf("flip: %+v", flip)
	}
	// Last price unknown: no unrealized P&L.
	if got := Loss([]Position{{Quantity: d("3"), AvgPrice: d("10")}}); !got.IsZero() {
		t.Fatalf("loss without a last price %s", got)
	}
}

func TestLossLimitReached(t *testing.T) {
	cases := []struct {
		pnl, limit string
		want       bool
	}{
		{"-499.99", "1000", false},
		{"-500", "1000", true}, // SPEC US-011 #4: −$500 trips the −$1,000 limit at 50%
		{"-5000", "1000", true},
		{"200", "1000", false},
		{"-5000", "0", false}, // no limit
	}
	for _, c := range cases {
		got, msg := LossLimitReached(d(c.pnl), d(c.limit), "Alice")
		if got != c.want {
			t.Errorf("pnl %s limit %s: %v, want %v", c.pnl, c.limit, got, c.want)
		}
		if got && !strings.HasPrefix(msg, "Copy trading paused: Loss limit approaching") {
			t.Errorf("message %q", msg)
		}
	}
}

func TestVisibility(t *testing.T) {
	const leader = "L"
	cases := []struct {
		vis      Visibility
		allow    bool
		viewer   Viewer
		see      bool
		listed   bool
		followOK bool
	}{
		{Public, true, Viewer{UserID: "x"}, true, true, true},
		// One rule with the leaderboards: not opted in → hidden from all
		// but the leader, whatever the visibility.
		{Public, false, Viewer{UserID: "x"}, false, false, false},
		{Followers, false, Viewer{UserID: "x", Follows: true}, false, false, false},
		{Public, false, Viewer{UserID: leader}, true, false, false},
		{Followers, true, Viewer{UserID: "x"}, false, false, true},
		{Followers, true, Viewer{UserID: "x", Follows: true}, true, false, true},
		{Private, true, Viewer{UserID: "x", Follows: true}, false, false, false},
		{Private, true, Viewer{UserID: leader}, true, false, false},
		{Followers, true, Viewer{}, false, false, true},
	}
	for i, c := range cases {
		p := Profile{LeaderID: leader, AllowCopy: c.allow, Visibility: c.vis}
		if got := CanView(p, c.viewer); got != c.see {
			t.Errorf("%d CanView = %v, want %v", i, got, c.see)
		}
		if got := Listed(p); got != c.listed {
			t.Errorf("%d Listed = %v, want %v", i, got, c.listed)
		}
		if c.viewer.UserID != leader {
			if got := CanFollow(p, "x") == ""; got != c.followOK {
				t.Errorf("%d CanFollow = %v, want %v", i, got, c.followOK)
			}
		}
	}
	if CanFollow(Profile{LeaderID: leader, AllowCopy: true, Visibility: Public}, leader) == "" {
		t.Error("a leader can copy themselves")
	}
}

func TestCopiedMessage(t *testing.T) {
	got := CopiedMessage("Alice", "TSLA", "shares", d("20"), true, d("2"))
	if !strings.HasPrefix(got, "Copied Alice: TSLA +20 shares") {
		t.Fatal(got)
	}
}

func TestFlipOpen(t *testing.T) {
	cases := []struct {
		kind, before, qty, want string
	}{
		{KindClose, "10", "15", "5"},    // long 10, sell 15: short 5
		{KindClose, "-10", "12", "2"},   // short 10, buy 12: long 2
		{KindClose, "10", "10", "0"},    // a plain full exit
		{KindExit, "10", "4", "0"},      // a partial exit
		{KindStop, "10", "10", "0"},     // a stop
		{KindEntry, "0", "10", "0"},     // an entry opens, it does not flip
		{KindAdd, "10", "20", "0"},      // an add
		{KindTakeProfit, "5", "8", "3"}, // any exit kind can flip
	}
	for _, c := range cases {
		if got := FlipOpen(c.kind, d(c.before), d(c.qty)); !got.Equal(d(c.want)) {
			t.Errorf("FlipOpen(%s, %s, %s) = %s, want %s", c.kind, c.before, c.qty, got, c.want)
		}
	}
	msg := FlipNotCopied("TradeMaster", "TSLA", "shares", d("5"), "sell")
	if !strings.Contains(msg, "TradeMaster reversed TSLA to short 5 shares") || !strings.Contains(msg, "not copied") {
		t.Fatal(msg)
	}
}

func TestConflictExempt(t *testing.T) {
	cases := []struct {
		sig  signal.Signal
		want bool
	}{
		{signal.Signal{Source: signal.SourceCopy, Sentiment: signal.SentimentFlat}, true}, // a copied exit
		{signal.Signal{Source: signal.SourceCopy}, false},                                 // a copied entry
		{signal.Signal{Source: signal.SourceTradingView, Sentiment: signal.SentimentFlat}, false},
		{signal.Signal{Source: signal.SourceDiscord}, false},
	}
	for i, c := range cases {
		if got := ConflictExempt(c.sig); got != c.want {
			t.Errorf("%d ConflictExempt = %v, want %v", i, got, c.want)
		}
	}
}

func TestInitialStatus(t *testing.T) {
	pub := Profile{LeaderID: "L", AllowCopy: true, Visibility: Public}
	fo := Profile{LeaderID: "L", AllowCopy: true, Visibility: Followers}
	cases := []struct {
		p        Profile
		existing string
		want     string
	}{
		{pub, "", StatusActive},
		{fo, "", StatusPending},
		{fo, StatusPending, StatusPending},
		{fo, StatusDenied, StatusPending}, // asks again
		{fo, StatusStopped, StatusPending},
		{fo, StatusActive, StatusActive}, // approved: changing settings keeps it
		{fo, StatusPaused, StatusActive},
		{pub, StatusPending, StatusActive}, // the leader turned public meanwhile
	}
	for i, c := range cases {
		if got := InitialStatus(c.p, c.existing); got != c.want {
			t.Errorf("%d InitialStatus = %s, want %s", i, got, c.want)
		}
	}
}

func TestDashboardLine(t *testing.T) {
	cases := []struct {
		symbol, units, qty string
		buy                bool
		alloc, want        string
	}{
		// SPEC US-011 #2.
		{"NVDA", "shares", "1", true, "5", "Copy Trade: NVDA +1 share (5% allocation)"},
		{"TSLA", "shares", "2", true, "5.0000", "Copy Trade: TSLA +2 shares (5% allocation)"},
		{"TSLA", "shares", "2", false, "0", "Copy Trade: TSLA -2 shares"},
		{"BTC-USD", "units", "0.5", true, "2.456", "Copy Trade: BTC-USD +0.5 units (2.46% allocation)"},
	}
	for _, c := range cases {
		if got := DashboardLine(c.symbol, c.units, d(c.qty), c.buy, d(c.alloc)); got != c.want {
			t.Errorf("DashboardLine = %q, want %q", got, c.want)
		}
	}
}
