package risk

import (
	"testing"

	"github.com/shopspring/decimal"
)

func TestEntryShares(t *testing.T) {
	cases := []struct {
		strategy string
		n        int
		want     []string
	}{
		{EntryStrategyEven, 1, []string{"100"}},
		{EntryStrategyEven, 2, []string{"50", "50"}},
		{EntryStrategyEven, 3, []string{"33.3334", "33.3333", "33.3333"}},
		{"", 4, []string{"25", "25", "25", "25"}},
		{EntryStrategyDecreasing, 3, []string{"50.0001", "33.3333", "16.6666"}},
		{EntryStrategyDecreasing, 2, []string{"66.6667", "33.3333"}},
		{EntryStrategyDecreasing, 4, []string{"40", "30", "20", "10"}},
		{EntryStrategyIncreasing, 3, []string{"16.6667", "33.3333", "50"}},
		{EntryStrategyIncreasing, 4, []string{"10", "20", "30", "40"}},
		{EntryStrategyIncreasing, 1, []string{"100"}},
	}
	for _, c := range cases {
		got := EntryShares(c.strategy, c.n)
		if len(got) != len(c.want) {
			t.Fatalf("%s/%d: %d shares, want %d", c.strategy, c.n, len(got), len(c.want))
		}
		sum := decimal.Zero
		for i, w := range c.want {
			if !got[i].Equal(decimal.RequireFromString(w)) {
				t.Errorf("%s/%d: share %d = %s, want %s", c.strategy, c.n, i+1, got[i], w)
			}
			sum = sum.Add(got[i])
		}
		if !sum.Equal(hundred) {
			t.Errorf("%s/%d: shares sum to %s, want 100", c.strategy, c.n, sum)
		}
	}
	if EntryShares(EntryStrategyEven, 0) != nil {
		t.Error("no entries must give no shares")
	}
}

func TestEntrySharesSumTo100(t *testing.T) {
	for _, s := range []string{EntryStrategyEven, EntryStrategyDecreasing, EntryStrategyIncreasing} {
		for n := 1; n <= 12; n++ {
			sum := decimal.Zero
			for _, sh := range EntryShares(s, n) {
				if !sh.IsPositive() {
					t.Errorf("%s/%d: share %s not positive", s, n, sh)
				}
				sum = sum.Add(sh)
			}
			if !sum.Equal(hundred) {
				t.Errorf("%s/%d: sum %s", s, n, sum)
			}
		}
	}
}

func TestEntryStrategyValidation(t *testing.T) {
	s := DefaultSettings()
	if s.EntryStrategy != EntryStrategyEven {
		t.Fatalf("default entry strategy %q, want even", s.EntryStrategy)
	}
	for _, ok := range []string{"even", "decreasing", "increasing"} {
		s.EntryStrategy = ok
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	s.EntryStrategy = "pyramid"
	err := s.Validate()
	se, ok := err.(*SettingsError)
	if !ok || len(se.Fields) != 1 || se.Fields[0].Field != "entryStrategy" || se.Fields[0].Message != msgEntryStrategy {
		t.Fatalf("pyramid: %v", err)
	}
}
