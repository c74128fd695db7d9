package ibkr

import "time"

// The fake's enforcement of IBKR's pacing (Pacing, default DocumentedPacing):
// per gateway, a request to a path with its own limit sooner than its
// interval after the previous one, or more than PerSecond requests in a
// second, is answered 429 Too Many Requests, and the gateway then stays in
// the penalty box, answering 429 to everything, for PenaltyBox. Pacing is
// measured on the wall clock, never on SetClock's.

// fakePacing is one gateway's pacing state.
type fakePacing struct {
	last         map[string]time.Time // path → last request served
	recent       []time.Time          // requests within the last window
	penaltyUntil time.Time
}

// SetPacing replaces the pacing the fake enforces (zero Pacing: none). Pair
// it with an adapter pacing at least as slow (WithPacing).
func (f *Fake) SetPacing(p Pacing) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pacing = p
}

// Violations is how many requests broke the pacing (each answered 429 and
// sent the gateway to the penalty box).
func (f *Fake) Violations() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.violations
}

// InPenaltyBox reports whether the gateway at baseURL refuses requests now.
func (f *Fake) InPenaltyBox(baseURL string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.gatewayAt(baseURL)
	return g != nil && time.Now().Before(g.pace.penaltyUntil)
}

// paced checks one request against the pacing with f.mu held. It reports
// false when the request must be answered 429.
func (f *Fake) paced(g *fakeGateway, path string) bool {
	now := time.Now()
	if now.Before(g.pace.penaltyUntil) {
		return false
	}
	p := f.pacing
	violated := false
	if iv := p.interval(path); iv > 0 {
		if last, ok := g.pace.last[path]; ok && now.Sub(last) < iv {
			violated = true
		}
	}
	if p.PerSecond > 0 {
		cut := now.Add(-p.window())
		kept := g.pace.recent[:0]
		for _, t := range g.pace.recent {
			if t.After(cut) {
				kept = append(kept, t)
			}
		}
		g.pace.recent = kept
		if len(kept) >= p.PerSecond {
			violated = true
		}
	}
	if violated {
		f.violations++
		g.pace.penaltyUntil = now.Add(p.PenaltyBox)
		return false
	}
	if g.pace.last == nil {
		g.pace.last = map[string]time.Time{}
	}
	g.pace.last[path] = now
	if p.PerSecond > 0 {
		g.pace.recent = append(g.pace.recent, now)
	}
	return true
}
