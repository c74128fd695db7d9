package schwab

import (
	"context"
	"testing"
)

func TestMemoryClaims(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryClaims(2)
	steps := []struct {
		account, order, cid string
		want                bool
	}{
		{"A", "1", "c1", true},  // new claim
		{"A", "1", "c1", true},  // same claim again
		{"A", "1", "c2", false}, // order owned by c1
		{"A", "2", "c1", false}, // c1 already owns order 1
		{"B", "1", "c2", true},  // other account, same order id
		{"A", "3", "c3", true},  // evicts the oldest claim (A/1 by c1)
		{"A", "1", "c2", true},  // A/1 forgotten
	}
	for i, s := range steps {
		ok, err := m.Claim(ctx, s.account, s.order, s.cid)
		if err != nil || ok != s.want {
			t.Fatalf("step %d Claim(%s, %s, %s) = %v, %v; want %v", i, s.account, s.order, s.cid, ok, err, s.want)
		}
	}
	if id, found, _ := m.Lookup(ctx, "A", "c3"); !found || id != "3" {
		t.Fatalf("Lookup(A, c3) = %s %v", id, found)
	}
	if _, found, _ := m.Lookup(ctx, "A", "c1"); found {
		t.Fatal("evicted claim still found")
	}
	if _, found, _ := m.Lookup(ctx, "C", "c3"); found {
		t.Fatal("claim leaked across accounts")
	}
}
