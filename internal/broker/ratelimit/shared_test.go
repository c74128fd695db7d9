package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit/ratelimittest"
)

func TestMemoryStore(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T) (ratelimit.Store, ratelimit.Store) {
		m := ratelimit.NewMemory()
		return m, m
	})
}

// Two processes without a shared store each spend the whole budget: the
// reason for a database Store (this is what the shared suite catches).
func TestSeparateMemoryStoresDoubleTheBudget(t *testing.T) {
	a, b := ratelimit.NewMemory(), ratelimit.NewMemory()
	rule := ratelimit.Rule{Limit: 20, Window: time.Minute}
	now := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	granted := 0
	for _, s := range []ratelimit.Store{a, b} {
		for range 20 {
			if wait, err := s.Reserve(context.Background(), func() time.Time { return now }, []ratelimit.Cost{{Key: "ip", Rule: rule, Weight: 1}}); err == nil && wait == 0 {
				granted++
			}
		}
	}
	if granted != 2*rule.Budget() {
		t.Fatalf("granted %d, want %d (each process its own budget)", granted, 2*rule.Budget())
	}
}

func TestRuleBudgetIsHalfTheLimit(t *testing.T) {
	tests := []struct {
		rule ratelimit.Rule
		want int
	}{
		{ratelimit.Rule{Limit: 6000, Window: time.Minute}, 3000},
		{ratelimit.Rule{Limit: 100, Window: 10 * time.Second}, 50},
		{ratelimit.Rule{Limit: 1, Window: time.Second}, 1},
	}
	for _, tt := range tests {
		if got := tt.rule.Budget(); got != tt.want {
			t.Errorf("%+v: budget %d, want %d", tt.rule, got, tt.want)
		}
	}
}

func TestOverBudgetWeightIsRefused(t *testing.T) {
	m := ratelimit.NewMemory()
	_, err := m.Reserve(context.Background(), time.Now, []ratelimit.Cost{{Key: "k", Rule: ratelimit.Rule{Limit: 10, Window: time.Minute}, Weight: 6}})
	if !errors.Is(err, ratelimit.ErrOverBudget) {
		t.Fatalf("err = %v, want ErrOverBudget", err)
	}
}

func TestUsageEncoding(t *testing.T) {
	u, err := ratelimit.DecodeUsage(5000, "100=3,101=0,102=7")
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Encode(); got != "100=3,102=7" {
		t.Fatalf("Encode = %q", got)
	}
	for _, bad := range []string{"x=1", "1=", "1=-2", "1"} {
		if _, err := ratelimit.DecodeUsage(5000, bad); err == nil {
			t.Errorf("DecodeUsage(%q) accepted", bad)
		}
	}
}
