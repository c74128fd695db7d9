package signal

import (
	"sort"

	"github.com/shopspring/decimal"
)

// build checks the clauses against each other and assembles the signal.
func (p *ffParser) build(text string) (Freeform, *ParseError) {
	if p.symbol == "" {
		return Freeform{}, errFreeformNoSymbol()
	}
	s := Signal{Source: SourceDiscord, Text: text, Symbol: p.symbol, AssetClass: p.class, QuantityType: QtyDefault}
	if p.seenSize {
		s.Quantity, s.QuantityType = p.qty, p.qtyType
	}
	if p.close {
		return p.buildClose(s)
	}
	if p.side == "" {
		if pe := p.impliedSide(); pe != nil {
			return Freeform{}, pe
		}
	}
	s.Side = p.side
	s.Action = ActionBuy
	if p.side == SideSell {
		s.Action = ActionSell
	}
	if p.bareEntry && p.slPrice.IsZero() && !p.hasTargetPrice() {
		return Freeform{}, errFreeformBareEntry(p.entries[0].String())
	}
	if p.breakoutWord && p.breakout == "" {
		return Freeform{}, errFreeformBreakoutWord()
	}
	s.OrderType = OrderMarket
	entries := p.sortedEntries()
	if p.entry == entryPrice {
		s.OrderType, s.LimitPrice = OrderLimit, entries[0]
		// Cornix: "above" for a long and "below" for a short is a breakout,
		// entered by a stop order at the price; "below" for a long and
		// "above" for a short is a limit order there.
		if p.breakout == "ABOVE" && p.side == SideBuy || p.breakout == "BELOW" && p.side == SideSell {
			s.OrderType, s.LimitPrice, s.StopPrice = OrderStop, decimal.Zero, entries[0]
		}
	}
	s.StopLossPrice, s.StopLossPercent = p.slPrice, p.slPct
	if pe := p.checkPrices(); pe != nil {
		return Freeform{}, pe
	}
	f := Freeform{Signal: s}
	if len(entries) > 1 {
		f.Entries, f.Zone = entries, p.zone
	}
	switch len(p.targets) {
	case 0:
	case 1:
		if tg := p.targets[0]; tg.hasShare && !tg.share.Equal(hundred) {
			return Freeform{}, errFreeformSharesSum(tg.share.String() + "%")
		}
		f.Signal.TakeProfitPrice, f.Signal.TakeProfitPercent = p.targets[0].price, p.targets[0].pct
	default:
		targets, pe := p.shares()
		if pe != nil {
			return Freeform{}, pe
		}
		f.Targets = targets
	}
	if pe := f.Signal.validate(); pe != nil {
		return Freeform{}, renameField(pe, freeformFields)
	}
	for _, leg := range f.Legs() {
		if pe := leg.Signal.validate(); pe != nil {
			return Freeform{}, renameField(pe, freeformFields)
		}
	}
	return f, nil
}

func (p *ffParser) buildClose(s Signal) (Freeform, *ParseError) {
	switch {
	case p.seenEntry:
		return Freeform{}, errFreeformNotWithClose("entry")
	case p.seenSL:
		return Freeform{}, errFreeformNotWithClose("sl")
	case len(p.targets) > 0:
		return Freeform{}, errFreeformNotWithClose("tp")
	case p.seenSize && p.qtyType != QtyFixed:
		return Freeform{}, errFreeformCloseSize()
	}
	switch p.side {
	case "":
		// Close whatever position is open; the size (if any) is ignored by
		// an exit, so refuse it rather than drop it.
		if p.seenSize {
			return Freeform{}, errFreeformCloseSize()
		}
		s.Action = ActionExit
		s.OrderType = OrderMarket
	case SideBuy:
		// "Close long": sell, closing only (never opening a short).
		s.Action, s.Side, s.Sentiment, s.OrderType = ActionSell, SideSell, SentimentFlat, OrderMarket
	case SideSell:
		s.Action, s.Side, s.Sentiment, s.OrderType = ActionBuy, SideBuy, SentimentFlat, OrderMarket
	}
	if pe := s.validate(); pe != nil {
		return Freeform{}, renameField(pe, freeformFields)
	}
	return Freeform{Signal: s}, nil
}

// checkPrices refuses prices that contradict each other: a stop-loss on
// the winning side of the entry or of a target, a target on the losing
// side of the entry, targets out of order or of mixed kinds. A zone counts
// with its worse end: a long's stop-loss lies below the zone's bottom and
// its targets above the zone's top.
func (p *ffParser) checkPrices() *ParseError {
	long := p.side == SideBuy
	worse := func(a, b decimal.Decimal) bool { // a lies on the losing side of b
		if long {
			return a.LessThan(b)
		}
		return a.GreaterThan(b)
	}
	hasEntry := p.entry == entryPrice
	lo, hi := p.entryRange()
	entryText := lo.String()
	if !lo.Equal(hi) {
		entryText = lo.String() + "-" + hi.String()
	}
	slEdge, tpEdge := lo, hi
	if !long {
		slEdge, tpEdge = hi, lo
	}
	if hasEntry && !p.slPrice.IsZero() && !worse(p.slPrice, slEdge) {
		return errStopLossSide("sl", p.side, entryText)
	}
	var prev ffTarget
	for i, tg := range p.targets {
		if i > 0 && tg.price.IsZero() != prev.price.IsZero() {
			return errFreeformTargetKinds()
		}
		if tg.price.IsZero() {
			if i > 0 && !tg.pct.GreaterThan(prev.pct) {
				return errFreeformTargetsOrder(prev.text, tg.text, p.side)
			}
			prev = tg
			continue
		}
		if hasEntry && !worse(tpEdge, tg.price) {
			return errTakeProfitSide("tp", p.side, entryText)
		}
		if !p.slPrice.IsZero() && !worse(p.slPrice, tg.price) {
			return errFreeformStopBeyondTarget(p.slPrice.String(), tg.text, p.side)
		}
		if i > 0 && !worse(prev.price, tg.price) {
			return errFreeformTargetsOrder(prev.text, tg.text, p.side)
		}
		prev = tg
	}
	return nil
}

// hasTargetPrice reports whether a target is a price (not a percentage).
func (p *ffParser) hasTargetPrice() bool {
	for _, tg := range p.targets {
		if !tg.price.IsZero() {
			return true
		}
	}
	return false
}

// entryRange is the lowest and highest entry price (zero without one).
func (p *ffParser) entryRange() (lo, hi decimal.Decimal) {
	for i, e := range p.entries {
		if i == 0 || e.LessThan(lo) {
			lo = e
		}
		if i == 0 || e.GreaterThan(hi) {
			hi = e
		}
	}
	return lo, hi
}

// sortedEntries are the distinct entry prices in the order the market
// reaches them from above for a long (highest first) and from below for a
// short (lowest first), as Cornix sorts them; the first is the signal's
// limit price.
func (p *ffParser) sortedEntries() []decimal.Decimal {
	out := make([]decimal.Decimal, 0, len(p.entries))
	for _, e := range p.entries {
		dup := false
		for _, o := range out {
			dup = dup || o.Equal(e)
		}
		if !dup {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if p.side == SideSell {
			return out[i].LessThan(out[j])
		}
		return out[i].GreaterThan(out[j])
	})
	return out
}

// impliedSide sets the side of a message without a side word from its
// prices, when they leave no doubt (Cornix: "It is not obligatory to write
// LONG or SHORT"): an entry price and a stop-loss price below every entry
// (long) or above every entry (short); without a stop-loss price, targets
// all above (long) or all below (short) every entry. Anything else is
// refused.
func (p *ffParser) impliedSide() *ParseError {
	if p.entry != entryPrice {
		return errFreeformNoSide()
	}
	lo, hi := p.entryRange()
	switch {
	case !p.slPrice.IsZero() && p.slPrice.LessThan(lo):
		p.side = SideBuy
	case !p.slPrice.IsZero() && p.slPrice.GreaterThan(hi):
		p.side = SideSell
	case !p.slPrice.IsZero():
		return errFreeformSideAmbiguous()
	case len(p.targets) == 0:
		return errFreeformNoSide()
	default:
		above, below := 0, 0
		for _, tg := range p.targets {
			switch {
			case tg.price.IsZero():
			case tg.price.GreaterThan(hi):
				above++
			case tg.price.LessThan(lo):
				below++
			}
		}
		switch {
		case above == len(p.targets):
			p.side = SideBuy
		case below == len(p.targets):
			p.side = SideSell
		default:
			return errFreeformSideAmbiguous()
		}
	}
	p.sideText = string(p.side)
	return nil
}

// shares fills in the targets' shares: as given (all of them, summing to
// 100) or equal, the last taking the rounding remainder.
func (p *ffParser) shares() ([]Target, *ParseError) {
	n := len(p.targets)
	given := 0
	sum := decimal.Zero
	for _, tg := range p.targets {
		if tg.hasShare {
			given++
			sum = sum.Add(tg.share)
		}
	}
	out := make([]Target, n)
	switch {
	case given == n:
		if !sum.Equal(hundred) {
			return nil, errFreeformSharesSum(sum.String() + "%")
		}
		for i, tg := range p.targets {
			out[i] = Target{Price: tg.price, Percent: tg.pct, Share: tg.share}
		}
	case given == 0:
		each := hundred.DivRound(decimal.NewFromInt(int64(n)), 8)
		rest := hundred
		for i, tg := range p.targets {
			share := each
			if i == n-1 {
				share = rest
			}
			rest = rest.Sub(share)
			out[i] = Target{Price: tg.price, Percent: tg.pct, Share: share}
		}
	default:
		return nil, errFreeformSomeShares()
	}
	return out, nil
}
