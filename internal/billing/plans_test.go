package billing

import (
	"errors"
	"testing"
	"time"
)

func TestProrateUpgrade(t *testing.T) {
	cases := []struct {
		name         string
		from, to     Tier
		days         int
		credit, chrg int64
		err          error
	}{
		{"spec US-012 #2: basic→premium, 15 days left", Basic, Premium, 15, 2450, 27450, nil},
		{"free→pro pays full price", Free, Pro, 20, 0, 9900, nil},
		{"pro→premium, last day", Pro, Premium, 1, 330, 29570, nil},
		{"basic→pro, whole period left", Basic, Pro, 30, 4900, 5000, nil},
		{"days clamp high", Basic, Pro, 45, 4900, 5000, nil},
		{"days clamp low", Basic, Pro, -3, 0, 9900, nil},
		{"rounds half up: 9900*7/30 = 2310", Pro, Premium, 7, 2310, 27590, nil},
		{"basic*1/30 = 163.33 → 163", Basic, Pro, 1, 163, 9737, nil},
		{"basic*2/30 = 326.67 → 327", Basic, Pro, 2, 327, 9573, nil},
		{"downgrade refused", Premium, Basic, 10, 0, 0, ErrNotUpgrade},
		{"same plan refused", Pro, Pro, 10, 0, 0, ErrNotUpgrade},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ProrateUpgrade(c.from, c.to, c.days)
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if err != nil {
				return
			}
			if p.CreditCents != c.credit || p.ChargeCents != c.chrg {
				t.Fatalf("credit %d charge %d, want %d %d", p.CreditCents, p.ChargeCents, c.credit, c.chrg)
			}
		})
	}
}

func TestSpecReceipt(t *testing.T) {
	p, err := ProrateUpgrade(Basic, Premium, 15)
	if err != nil {
		t.Fatal(err)
	}
	if got := FormatCents(p.CreditCents); got != "$24.50" {
		t.Fatalf("credit %s", got)
	}
	if got := FormatCents(p.ChargeCents); got != "$274.50" {
		t.Fatalf("charge %s", got)
	}
}

func TestDaysRemaining(t *testing.T) {
	now := time.Date(2026, 4, 15, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		end  time.Time
		want int
	}{
		{now.Add(15 * 24 * time.Hour), 15},
		{now.Add(14*24*time.Hour + time.Minute), 15},
		{now, 0},
		{now.Add(-time.Hour), 0},
		{now.Add(time.Second), 1},
	}
	for _, c := range cases {
		if got := DaysRemaining(now, c.end); got != c.want {
			t.Errorf("DaysRemaining(%v) = %d, want %d", c.end.Sub(now), got, c.want)
		}
	}
}

func TestLiveConnectionLimits(t *testing.T) {
	cases := []struct {
		tier   Tier
		active int
		ok     bool
		msg    string
	}{
		{Free, 0, false, "Your Free plan includes paper trading only. Upgrade to Basic ($49/month) in Settings → Billing to trade with Alpaca."},
		{Basic, 0, true, ""},
		{Basic, 1, false, "Your Basic plan includes 1 live broker connection. Upgrade to Pro ($99/month) in Settings → Billing to trade with Alpaca."},
		{Pro, 2, true, ""},
		{Pro, 3, false, "Your Pro plan includes 3 live broker connections. Upgrade to Premium ($299/month) in Settings → Billing to trade with Alpaca."},
		{Premium, 50, true, ""},
		{Tier("bogus"), 0, false, "Your Free plan includes paper trading only. Upgrade to Basic ($49/month) in Settings → Billing to trade with Alpaca."},
	}
	for _, c := range cases {
		err := CheckLiveConnection(c.tier, c.active, "Alpaca")
		if (err == nil) != c.ok {
			t.Fatalf("%s with %d: err = %v", c.tier, c.active, err)
		}
		if err != nil && err.Error() != c.msg {
			t.Errorf("%s with %d:\n got %q\nwant %q", c.tier, c.active, err.Error(), c.msg)
		}
	}
}

func TestParseTier(t *testing.T) {
	for _, s := range []string{"free", "Basic", " PRO ", "premium"} {
		if _, err := ParseTier(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "gold", "enterprise"} {
		if _, err := ParseTier(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestFormatCents(t *testing.T) {
	for c, want := range map[int64]string{0: "$0", 4900: "$49", 27450: "$274.50", 5: "$0.05", -2450: "-$24.50"} {
		if got := FormatCents(c); got != want {
			t.Errorf("%d: %s want %s", c, got, want)
		}
	}
}
