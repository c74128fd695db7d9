package ratelimit

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SlotsPerWindow is how finely a shared budget's window is cut. A rolling
// window of the rule's length touches at most SlotsPerWindow+1 slots, so a
// reservation is checked against the sum of that many slots: the budget
// holds over every rolling window (at the price of using at most
// SlotsPerWindow/(SlotsPerWindow+1) of it when demand is steady).
const SlotsPerWindow = 12

// Rule is a broker's published limit: Limit units (requests or weight) per
// Window. A shared budget uses Headroom of it.
type Rule struct {
	Limit  int
	Window time.Duration
}

// Budget is the number of units this system may use per rolling Window.
func (r Rule) Budget() int {
	return max(1, int(float64(r.Limit)*Headroom))
}

// slotMillis is the slot length in milliseconds, rounded up (at least 1) so
// that SlotsPerWindow slots span the whole window.
func (r Rule) slotMillis() int64 {
	return max(1, (r.Window.Milliseconds()+SlotsPerWindow-1)/SlotsPerWindow)
}

// Cost is what one request takes from one budget.
type Cost struct {
	Key    string // the budget: an IP, an account, an application
	Rule   Rule
	Weight int
	// Local also paces the request with the Gate's in-process token bucket
	// under Key (whose budget should be the rule's).
	Local bool
}

// Usage is one key's units per time slot: slot index (unix ms / SlotMillis)
// → units taken in it. The zero value is an empty window.
type Usage struct {
	SlotMillis int64
	Slots      map[int64]int
}

// take adds weight at now when the rule's budget allows it over every
// rolling window and reports ok; otherwise it changes nothing and reports
// how long until it could fit (assuming no one else takes anything).
func (u *Usage) take(now time.Time, r Rule, weight int, commit bool) (ok bool, wait time.Duration) {
	u.rescale(r.slotMillis())
	ms := now.UnixMilli()
	cur := ms / u.SlotMillis
	first := cur - SlotsPerWindow
	// Every window of SlotsPerWindow+1 slots that contains cur lies within
	// [first, ∞): slots ahead of cur (a process whose clock runs ahead) count.
	idx := make([]int64, 0, len(u.Slots))
	sum := 0
	for i, n := range u.Slots {
		if i >= first {
			idx = append(idx, i)
			sum += n
		}
	}
	budget := r.Budget()
	if sum+weight <= budget {
		if commit {
			if u.Slots == nil {
				u.Slots = map[int64]int{}
			}
			u.Slots[cur] += weight
			u.prune(cur)
		}
		return true, 0
	}
	// Drop the oldest slots until the weight fits; it fits once the last
	// dropped slot has left the window.
	sort.Slice(idx, func(a, b int) bool { return idx[a] < idx[b] })
	for _, i := range idx {
		sum -= u.Slots[i]
		if sum+weight <= budget {
			free := (i + SlotsPerWindow + 1) * u.SlotMillis
			return false, time.Duration(max(1, free-ms)) * time.Millisecond
		}
	}
	// Only when weight alone exceeds the budget; the caller refuses it.
	return false, 0
}

// prune forgets slots that can no longer count. It keeps a whole extra
// window so that a process whose clock lags a little still sees them.
func (u *Usage) prune(cur int64) {
	for i := range u.Slots {
		if i < cur-2*SlotsPerWindow {
			delete(u.Slots, i)
		}
	}
}

// rescale re-buckets the slots when the slot length changed (a new rule for
// the key): each old slot moves to the new slot holding its start.
func (u *Usage) rescale(slotMillis int64) {
	if u.SlotMillis == slotMillis {
		return
	}
	if u.SlotMillis > 0 && len(u.Slots) > 0 {
		moved := make(map[int64]int, len(u.Slots))
		for i, n := range u.Slots {
			moved[i*u.SlotMillis/slotMillis] += n
		}
		u.Slots = moved
	}
	u.SlotMillis = slotMillis
}

// Encode writes the slots as "i=n,i=n" in slot order (the database form).
func (u Usage) Encode() string {
	idx := make([]int64, 0, len(u.Slots))
	for i, n := range u.Slots {
		if n > 0 {
			idx = append(idx, i)
		}
	}
	sort.Slice(idx, func(a, b int) bool { return idx[a] < idx[b] })
	var b strings.Builder
	for k, i := range idx {
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(i, 10))
		b.WriteByte('=')
		b.WriteString(strconv.Itoa(u.Slots[i]))
	}
	return b.String()
}

// DecodeUsage reads what Encode wrote.
func DecodeUsage(slotMillis int64, s string) (Usage, error) {
	u := Usage{SlotMillis: slotMillis, Slots: map[int64]int{}}
	if s == "" {
		return u, nil
	}
	for _, part := range strings.Split(s, ",") {
		is, ns, ok := strings.Cut(part, "=")
		i, err1 := strconv.ParseInt(is, 10, 64)
		n, err2 := strconv.Atoi(ns)
		if !ok || err1 != nil || err2 != nil || n < 0 {
			return Usage{}, fmt.Errorf("ratelimit: malformed usage slot %q", part)
		}
		u.Slots[i] += n
	}
	return u, nil
}
