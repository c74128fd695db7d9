package signal

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// --- parser ---

var (
	ffSideBuy  = setOf("LONG", "BUY")
	ffSideSell = setOf("SHORT", "SELL")
	ffClose    = setOf("CLOSE", "EXIT")
	ffEntry    = setOf("ENTRY", "ENTRIES", "ENTER", "LIMIT")
	ffStop     = setOf("SL", "STOPLOSS", "STOP-LOSS", "STOP", "S/L")
	ffTargetKW = setOf("TP", "TPS", "PT", "PTS", "TARGET", "TARGETS", "TAKEPROFIT", "TAKE-PROFIT", "TAKE-PROFITS")
	ffSize     = setOf("SIZE", "QTY", "QUANTITY", "AMOUNT")
	ffLevWords = setOf("LEVERAGE", "LEV", "CROSS", "ISOLATED", "MARGIN")
	ffFutures  = setOf("FUTURES", "PERP", "PERPS", "PERPETUAL")
	ffFiller   = setOf("SIGNAL", "SIGNALS", "NEW", "TRADE", "SETUP", "ALERT", "SPOT", "PAIR", "COIN",
		"SWING", "SCALP", "DAYTRADE", "INTRADAY", "IDEA", "NFA", "DYOR", "VIP", "ORDER", "TYPE", "REGULAR",
		// labels of "Coin: BTC/USDT", "Direction: Long", "Timeframe: 4H"
		"DIRECTION", "POSITION", "SIDE", "SYMBOL", "TICKER", "ASSET", "TIMEFRAME", "TF")
	ffMarket   = setOf("MARKET", "NOW", "CMP", "MKT")
	ffUnits    = setOf("SHARES", "SHARE", "SHS", "UNITS", "UNIT", "COINS")
	ffNumbered = regexp.MustCompile(`^(?:TP|PT|TARGET)([0-9]{1,2})$`)
	ffZoneSeps = setOf("-", "~", "–", "—")
	// ffEntryMods may follow an entry keyword (or a side word) before its value.
	ffEntryMods = setOf("PRICE", "PRICES", "POINT", "POINTS", "TARGETS", "LEVEL", "LEVELS", "AT", "LIMIT")
	ffZoneWords = setOf("ZONE", "RANGE", "AREA")
	ffBreakout  = setOf("ABOVE", "BELOW")
	// ffValueMods may follow a stop or target keyword before its value.
	ffValueMods = setOf("LOSS", "PRICE", "PRICES", "TARGET", "TARGETS", "AT", "LEVEL", "LEVELS", "PROFIT", "PROFITS")
	// ffStrong are the clause keywords that mark a message as an attempted
	// signal on their own (see looksLikeAttempt).
	ffStrong = setOf("ENTRY", "SL", "STOPLOSS", "STOP-LOSS", "TP", "TARGET", "TARGETS", "TAKEPROFIT", "TAKE-PROFIT")
)

// errNoSignalMarker tells ParseFreeform the message is chatter.
var errNoSignalMarker = &ParseError{Reason: "not a signal"}

// isFreeformKeyword reports whether w is a clause keyword that may carry
// its value after a colon ("TP1:43000").
func isFreeformKeyword(w string) bool {
	return ffEntry[w] || ffStop[w] || ffTargetKW[w] || ffSize[w] || ffNumbered.MatchString(w) ||
		ffSideBuy[w] || ffSideSell[w]
}

// isVocabulary reports whether w is a word of the layout (never a symbol).
func isVocabulary(w string) bool {
	for _, set := range []map[string]bool{ffSideBuy, ffSideSell, ffClose, ffEntry, ffStop, ffTargetKW, ffSize,
		ffLevWords, ffFutures, ffFiller, ffMarket, ffUnits, ffEntryMods, ffZoneWords, ffBreakout, ffValueMods} {
		if set[w] {
			return true
		}
	}
	return ffNumbered.MatchString(w) || w == "TAKE" || w == "BREAKOUT" || w == "CURRENT" || w == "TO" || w == "AND"
}

type ffEntryKind int

const (
	entryNone ffEntryKind = iota
	entryMarket
	entryPrice
)

type ffTarget struct {
	price, pct, share decimal.Decimal
	hasShare          bool
	text              string
}

type ffParser struct {
	toks []ffToken
	i    int

	symbol, symbolText string
	class              AssetClass
	symbolAt           int // index of the token after the symbol, -1 before
	side               Side
	sideText           string
	sideAt             int // index of the token after the last side word
	close              bool

	entry    ffEntryKind
	entries  []decimal.Decimal // as written
	zone     bool              // entries are the two edges of a zone
	breakout string            // "ABOVE" or "BELOW"
	// breakoutWord: the message says BREAKOUT (Cornix "Signal Type:
	// Breakout"), which needs an above/below entry to say where.
	breakoutWord bool
	// bareEntry: the entry price had no entry word before it ("Short $SPY
	// 450", "Buy 42000"); build accepts it only next to a stop-loss or
	// target price, so a quantity is never read as a price.
	bareEntry bool
	// entrySpaced: two entry prices stood side by side with no dash, "to",
	// comma or list number between them.
	entrySpaced bool
	seenEntry   bool

	slPrice, slPct decimal.Decimal
	seenSL         bool
	targets        []ffTarget
	numbered       int // highest numbered target read; -1 once unnumbered targets were read
	seenSize       bool
	qty            decimal.Decimal
	qtyType        QuantityType
}

func parseFreeform(text string) (Freeform, *ParseError) {
	if len(text) > maxTextLen {
		return Freeform{}, errTooLong("message", maxTextLen)
	}
	if !utf8.ValidString(text) {
		return Freeform{}, errFreeformEncoding()
	}
	chatter := isChatter(text)
	if d := derivativeMarker(text); d != "" {
		if chatter {
			return Freeform{}, errNoSignalMarker
		}
		return Freeform{}, errFreeformDerivative(d)
	}
	toks, pe := lexFreeform(discordMarkup.ReplaceAllString(text, " "))
	if pe == nil {
		p := &ffParser{toks: toks, symbolAt: -1, sideAt: -1}
		if pe = p.run(); pe == nil {
			var f Freeform
			if f, pe = p.build(text); pe == nil {
				return f, nil
			}
		}
	}
	if chatter || !looksLikeAttempt(text) {
		return Freeform{}, errNoSignalMarker
	}
	return Freeform{}, pe
}

// looksLikeAttempt decides whether a message that failed to parse tried to
// be a signal (the author gets a reply saying what is wrong) or is chatter
// (ignored silently): it has a clause keyword (Entry, SL, TP1, Targets,
// Take profit), or a side or CLOSE together with a cashtag or a pair.
// A side with a number ("buy AAPL 100") is an attempt too.
// It never makes a message a signal: only ParseFreeform's success does.
func looksLikeAttempt(text string) bool {
	side, marker := false, false
	fields := strings.FieldsFunc(strings.ToUpper(text), func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",;()[]{}|!?\"'*=@", r)
	})
	for i, f := range fields {
		w := strings.Trim(f, ".:-/")
		if w != "" && w[0] >= '0' && w[0] <= '9' || w != "" && w[0] == '$' && len(w) > 1 && w[1] >= '0' && w[1] <= '9' {
			marker = true // a side with a price or a quantity: "buy AAPL 100"
		}
		if kw, _, ok := strings.Cut(w, ":"); ok && isFreeformKeyword(kw) {
			w = kw
		}
		switch {
		case ffStrong[w], ffNumbered.MatchString(w):
			return true
		case w == "TAKE" && i+1 < len(fields) && strings.HasPrefix(fields[i+1], "PROFIT"):
			return true
		case w == "STOP" && i+1 < len(fields) && (strings.HasPrefix(fields[i+1], "LOSS") ||
			fields[i+1] != "" && fields[i+1][0] >= '0' && fields[i+1][0] <= '9'):
			return true
		case ffSideBuy[w], ffSideSell[w], ffClose[w]:
			side = true
		case strings.HasPrefix(w, "$") && len(w) > 1 && isWordStart(rune(w[1])),
			strings.ContainsAny(w, "/:") && len(w) > 3:
			marker = true
		}
	}
	return side && marker
}

func (p *ffParser) peek() (ffToken, bool) {
	if p.i >= len(p.toks) {
		return ffToken{}, false
	}
	return p.toks[p.i], true
}

// peekAt returns the token k places ahead.
func (p *ffParser) peekAt(k int) (ffToken, bool) {
	if p.i+k >= len(p.toks) {
		return ffToken{}, false
	}
	return p.toks[p.i+k], true
}

// skipSeps skips punctuation between a keyword and its value.
func (p *ffParser) skipSeps() {
	for p.i < len(p.toks) && p.toks[p.i].kind == ffSep {
		p.i++
	}
}

// peekWord reports whether the next token is one of the words.
func (p *ffParser) peekWord(words map[string]bool) bool {
	t, ok := p.peek()
	return ok && t.kind == ffWord && words[t.upper]
}

// skipWords skips any of the words (and punctuation between them).
func (p *ffParser) skipWords(words map[string]bool) {
	for {
		save := p.i
		p.skipSeps()
		if !p.peekWord(words) {
			p.i = save
			return
		}
		p.i++
	}
}

// skipEnum skips the list item number n ("1)", "1.", "1️⃣") when a value
// follows it.
func (p *ffParser) skipEnum(n int) {
	t, ok := p.peek()
	if !ok || t.kind != ffNumber || !t.enum || !t.num.Equal(decimal.NewFromInt(int64(n))) {
		return
	}
	j := p.i + 1
	for j < len(p.toks) && p.toks[j].kind == ffSep {
		j++
	}
	if j < len(p.toks) && (p.toks[j].kind == ffNumber || p.toks[j].kind == ffPercent) && !p.toks[j].enum {
		p.i = j
	}
}

// nextIsUnit reports whether the token after the next one names what the
// next number counts: SHARES/UNITS, or the symbol ("0.5 BTC", "100 AAPL").
func (p *ffParser) nextIsUnit() bool {
	u, ok := p.peekAt(1)
	if !ok || u.kind != ffWord {
		return false
	}
	return ffUnits[u.upper] || p.isSymbolWord(u)
}

// nextIsAt reports whether "@" or "at" follows the next number: "buy 500 @
// 8" buys 500 at 8.
func (p *ffParser) nextIsAt() bool {
	u, ok := p.peekAt(1)
	return ok && (u.kind == ffSep && u.text == "@" || u.kind == ffWord && u.upper == "AT")
}

// skipListSeps skips the punctuation between two values of a list; "@"
// starts another clause.
func (p *ffParser) skipListSeps() {
	for p.i < len(p.toks) && p.toks[p.i].kind == ffSep && p.toks[p.i].text != "@" {
		p.i++
	}
}

// isSymbolWord reports whether t names the message's symbol (or, before
// one is named, any symbol): "BTC" for BTC/USDT, "AAPL".
func (p *ffParser) isSymbolWord(t ffToken) bool {
	raw := strings.TrimPrefix(t.text, "$")
	if isVocabulary(strings.ToUpper(raw)) {
		return false
	}
	sym, _, pe := normalizeSymbol(raw)
	if pe != nil {
		return false
	}
	if p.symbol == "" || p.symbol == sym {
		return true
	}
	base, _, ok := strings.Cut(p.symbol, "-")
	return ok && strings.EqualFold(raw, base)
}

func (p *ffParser) run() *ParseError {
	p.numbered = 0
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		p.i++
		switch t.kind {
		case ffSep:
			if t.text == "@" {
				if pe := p.readEntry(t.text); pe != nil {
					return pe
				}
			}
		case ffLeverage:
			return errFreeformLeverage(t.text)
		case ffShare:
			return errFreeformStrayShare(t.text)
		case ffNumber:
			if pe := p.bareNumber(t); pe != nil {
				return pe
			}
		case ffPercent:
			if p.close && !p.seenSize {
				// "Close 50% $TSLA": a part of the position (refused by buildClose).
				p.i--
				if pe := p.readSize(); pe != nil {
					return pe
				}
				continue
			}
			return errFreeformStrayNumber(t.text)
		case ffWord:
			if pe := p.word(t); pe != nil {
				return pe
			}
		}
	}
	return nil
}

// bareNumber reads a number without a label: a quantity when a unit or the
// symbol follows ("100 shares", "0.5 BTC"), else the entry when it comes
// right after the symbol or the side ("Short $SPY 450", "BTC long 42000").
func (p *ffParser) bareNumber(t ffToken) *ParseError {
	p.i--
	if t.enum {
		return errFreeformStrayNumber(t.text)
	}
	if !t.dollar && (p.nextIsUnit() || p.nextIsAt() && !p.seenEntry) {
		return p.readQuantity()
	}
	if !p.seenEntry && (p.i == p.symbolAt || p.i == p.sideAt) {
		// One price only: "LONG 42000 43000" may be an entry and a target.
		p.bareEntry = true
		if pe := p.readEntry(t.text); pe != nil {
			return pe
		}
		if p.entrySpaced {
			return errFreeformStrayNumber(p.entries[1].String())
		}
		return nil
	}
	return errFreeformStrayNumber(t.text)
}

// valueFollows reports whether a price, a zone, a breakout or a market
// word follows (after punctuation).
func (p *ffParser) valueFollows() bool {
	for j := p.i; j < len(p.toks); j++ {
		t := p.toks[j]
		switch t.kind {
		case ffSep:
			if t.text == "@" {
				return true
			}
			continue
		case ffNumber:
			return true
		case ffWord:
			return ffMarket[t.upper] || ffZoneWords[t.upper] || ffBreakout[t.upper] || ffEntryMods[t.upper] ||
				t.upper == "CURRENT"
		}
		return false
	}
	return false
}

func (p *ffParser) word(t ffToken) *ParseError {
	w := t.upper
	switch {
	case strings.HasPrefix(t.text, "$"):
		return p.setSymbol(t.text[1:], t.text)
	case w == "SELL" && p.sellListsTargets():
		// Cornix: in a buy signal "Sell" lists the targets ("Sell: 43000 - 44000",
		// "Sell targets", "Sell at 80000").
		p.skipWords(ffValueMods)
		return p.readTargets()
	case ffSideBuy[w], ffSideSell[w]:
		side := SideBuy
		if ffSideSell[w] {
			side = SideSell
		}
		if p.side != "" && p.side != side {
			return errFreeformBothSides(p.sideText, t.text)
		}
		p.side, p.sideText, p.sideAt = side, t.text, p.i
		if (w == "BUY" || w == "SELL") && p.valueFollows() {
			// "Buy 100 shares", "Buy: 42000-42500", "Buy zone", "Buy above 41000", "Buy at market".
			p.skipListSeps()
			if q, ok := p.peek(); ok && q.kind == ffNumber && !q.dollar && (p.nextIsUnit() || p.nextIsAt()) {
				return p.readQuantity()
			}
			if q, ok := p.peek(); ok && q.kind == ffNumber {
				p.bareEntry = true
			}
			return p.readEntry(t.text)
		}
	case ffClose[w]:
		p.close = true
	case ffEntry[w], ffZoneWords[w], ffBreakout[w], ffMarket[w], w == "AT", w == "CURRENT":
		if !ffEntry[w] {
			p.i--
		}
		return p.readEntry(t.text)
	case ffStop[w]:
		p.skipWords(ffValueMods)
		return p.readStopLoss(t.text)
	case ffTargetKW[w], (w == "TAKE" || w == "PROFIT") && p.peekWord(setOf("PROFIT", "PROFITS", "TARGET", "TARGETS")):
		p.skipWords(ffValueMods)
		if n, ok := p.spelledNumber(); ok {
			return p.readNumberedTarget(n)
		}
		return p.readTargets()
	case ffNumbered.MatchString(w):
		n, _ := strconv.Atoi(ffNumbered.FindStringSubmatch(w)[1])
		return p.readNumberedTarget(n)
	case ffSize[w]:
		return p.readSize()
	case ffLevWords[w]:
		return errFreeformLeverage(t.text)
	case ffFutures[w]:
		return errFreeformFutures(t.text)
	case w == "BREAKOUT":
		p.breakoutWord = true
	case ffFiller[w]:
	default:
		return p.setSymbol(t.text, t.text)
	}
	return nil
}

// sellListsTargets: SELL names targets when TARGET(S) follows, or when the
// signal already buys and a value follows.
func (p *ffParser) sellListsTargets() bool {
	save := p.i
	defer func() { p.i = save }()
	p.skipSeps()
	if p.peekWord(setOf("TARGET", "TARGETS", "TP", "TPS")) {
		return true
	}
	return p.side == SideBuy && p.valueFollows()
}

func (p *ffParser) setSymbol(raw, written string) *ParseError {
	sym, class, pe := normalizeSymbol(raw)
	if pe != nil {
		if strings.HasPrefix(written, "$") || strings.Contains(pe.Reason, "not supported") {
			return pe
		}
		return errFreeformUnknownWord(written)
	}
	if futuresCode.MatchString(sym) {
		return errFreeformDerivative(written)
	}
	if p.symbol != "" && p.symbol != sym {
		// A second ticker-like word: "two symbols" when it is written as
		// one ($NVDA, ETH/USDT, NVDA), else an unknown word ("move").
		if strings.HasPrefix(written, "$") || strings.ContainsAny(written, "/:") || written == strings.ToUpper(written) {
			return errFreeformTwoSymbols(p.symbolText, written)
		}
		return errFreeformUnknownWord(written)
	}
	p.symbol, p.symbolText, p.class, p.symbolAt = sym, written, class, p.i
	return nil
}

// spelledNumber reads the "1:" of "Target 1: 43000".
func (p *ffParser) spelledNumber() (int, bool) {
	t, ok := p.peek()
	if !ok || t.kind != ffNumber || t.dollar || !t.num.IsInteger() || t.num.LessThan(decimal.NewFromInt(1)) ||
		t.num.GreaterThan(decimal.NewFromInt(maxTargets)) || strings.Contains(t.text, ".") {
		return 0, false
	}
	colon := t.colon
	if !colon && p.i+1 < len(p.toks) && p.toks[p.i+1].kind == ffSep && p.toks[p.i+1].text == ":" {
		colon = true
	}
	if !colon {
		return 0, false
	}
	p.i++
	if q, ok := p.peek(); ok && q.kind == ffSep && q.text == ":" {
		p.i++
	}
	return int(t.num.IntPart()), true
}

// readEntry reads the entry clause after its keyword ("Entry", "Buy", "@",
// "at"): modifiers (zone, above/below, price, at), then the market words or
// one or more prices separated by dashes, "to", commas or list numbers.
func (p *ffParser) readEntry(keyword string) *ParseError {
	if p.seenEntry {
		return errDuplicate("entry")
	}
	p.seenEntry = true
mods:
	for {
		p.skipSeps()
		t, ok := p.peek()
		if !ok || t.kind != ffWord {
			break
		}
		switch {
		case ffEntryMods[t.upper], ffEntry[t.upper]:
		case ffZoneWords[t.upper]:
			p.zone = true
		case ffBreakout[t.upper]:
			if p.breakout != "" {
				return errDuplicate("entry")
			}
			p.breakout = t.upper
		default:
			break mods
		}
		p.i++
	}
	t, ok := p.peek()
	if ok && t.kind == ffWord && (ffMarket[t.upper] || t.upper == "CURRENT") {
		p.i++
		if t.upper == "CURRENT" {
			p.skipWords(setOf("MARKET", "PRICE"))
		}
		if p.zone || p.breakout != "" {
			return errFreeformEntryForm()
		}
		p.entry = entryMarket
		return nil
	}
	for n := 1; ; n++ {
		save := p.i
		if n > 1 {
			p.skipListSeps()
			if p.peekWord(setOf("TO", "AND")) {
				p.i++
			}
		}
		p.skipListSeps()
		p.skipEnum(n)
		joined := p.i > save
		v, ok := p.peek()
		if !ok || v.kind != ffNumber || (v.enum && n > 1) || (n > 1 && p.nextIsUnit()) {
			p.i = save
			break
		}
		p.i++
		if n > 1 && !joined {
			p.entrySpaced = true
		}
		if pe := checkPositive("entry", v.num); pe != nil {
			return pe
		}
		if len(p.entries) >= maxTargets {
			return errFreeformTooManyEntries(maxTargets)
		}
		p.entries = append(p.entries, v.num)
	}
	if len(p.entries) == 0 {
		if t, ok := p.peek(); ok && t.kind == ffPercent {
			return errFreeformEntryPercent(t.text)
		}
		return errFreeformValueMissing("entry", keyword, "Entry 42000, Entry 42000-42500 or Entry market")
	}
	p.entry = entryPrice
	switch {
	case p.zone && len(p.entries) != 2 && len(p.entries) != 1:
		return errFreeformZoneCount()
	case p.zone && len(p.entries) == 2 && !p.entries[1].GreaterThan(p.entries[0]):
		if p.entries[1].Equal(p.entries[0]) {
			p.entries, p.zone = p.entries[:1], false
			return nil
		}
		return errFreeformZoneOrder(p.entries[0].String(), p.entries[1].String())
	case p.breakout != "" && len(p.entries) != 1:
		return errFreeformBreakoutCount()
	}
	if len(p.entries) == 1 {
		p.zone = false
	}
	return nil
}

func (p *ffParser) readStopLoss(keyword string) *ParseError {
	if p.seenSL {
		return errDuplicate("sl")
	}
	p.seenSL = true
	p.skipSeps()
	p.skipEnum(1)
	t, ok := p.peek()
	if !ok || (t.kind != ffNumber && t.kind != ffPercent) {
		return errFreeformValueMissing("sl", keyword, "SL 41000 or SL 2%")
	}
	p.i++
	if t.kind == ffPercent {
		p.slPct = t.num
		return checkPercent("sl", t.num)
	}
	p.slPrice = t.num
	return checkPositive("sl", t.num)
}

// readTarget reads one target value and its optional share; n is its place
// in the list (for "1)" item numbers).
func (p *ffParser) readTarget(n int) (ffTarget, bool, *ParseError) {
	save := p.i
	p.skipListSeps()
	p.skipEnum(n)
	t, ok := p.peek()
	if !ok || (t.kind != ffNumber && t.kind != ffPercent) || t.enum && n > 1 || p.nextIsUnit() {
		p.i = save
		return ffTarget{}, false, nil
	}
	p.i++
	tg := ffTarget{text: t.text}
	if t.kind == ffPercent {
		tg.pct = t.num
	} else {
		tg.price = t.num
	}
	if pe := checkPositive("tp", t.num); pe != nil {
		return tg, true, pe
	}
	if s, ok := p.peek(); ok && s.kind == ffShare {
		p.i++
		tg.share, tg.hasShare = s.num, true
		if !s.num.IsPositive() || s.num.GreaterThan(hundred) {
			return tg, true, errFreeformShareRange(s.text)
		}
	}
	return tg, true, nil
}

func (p *ffParser) addTarget(tg ffTarget) *ParseError {
	if len(p.targets) >= maxTargets {
		return errFreeformTooManyTargets(maxTargets)
	}
	p.targets = append(p.targets, tg)
	return nil
}

func (p *ffParser) readTargets() *ParseError {
	if p.numbered > 0 {
		return errFreeformMixedTargets()
	}
	p.numbered = -1
	n := 0
	for {
		tg, ok, pe := p.readTarget(n + 1)
		if pe != nil {
			return pe
		}
		if !ok {
			break
		}
		if pe := p.addTarget(tg); pe != nil {
			return pe
		}
		n++
	}
	if n == 0 {
		return errFreeformValueMissing("tp", "TP", "TP 43000 or TP1 43000 TP2 44500")
	}
	return nil
}

func (p *ffParser) readNumberedTarget(n int) *ParseError {
	if p.numbered < 0 {
		return errFreeformMixedTargets()
	}
	if n != p.numbered+1 {
		return errFreeformTargetNumber(n, p.numbered+1)
	}
	p.numbered = n
	tg, ok, pe := p.readTarget(0)
	if pe != nil {
		return pe
	}
	if !ok {
		return errFreeformValueMissing("tp", "TP"+strconv.Itoa(n), "TP"+strconv.Itoa(n)+" 43000")
	}
	return p.addTarget(tg)
}

func (p *ffParser) readSize() *ParseError {
	if p.seenSize {
		return errDuplicate("size")
	}
	p.skipSeps()
	t, ok := p.peek()
	if !ok || (t.kind != ffNumber && t.kind != ffPercent) {
		p.seenSize = true
		return errFreeformValueMissing("size", "Size", "Size 10, Size $500 or Size 5%")
	}
	switch {
	case t.kind == ffPercent:
		p.i++
		p.seenSize = true
		p.qty, p.qtyType = t.num, QtyPercentOfEquity
		if !t.num.IsPositive() || t.num.GreaterThan(hundred) {
			return errPercentAtMost100("size")
		}
		return nil
	case t.dollar:
		p.i++
		p.seenSize = true
		p.qty, p.qtyType = t.num, QtyDollarAmount
		return checkPositive("size", t.num)
	}
	return p.readQuantity()
}

// readQuantity reads "100", "100 shares", "0.5 BTC": a fixed quantity.
func (p *ffParser) readQuantity() *ParseError {
	if p.seenSize {
		return errDuplicate("size")
	}
	p.seenSize = true
	t, _ := p.peek()
	p.i++
	p.qty, p.qtyType = t.num, QtyFixed
	if u, ok := p.peek(); ok && u.kind == ffWord {
		switch {
		case ffUnits[u.upper]:
			p.i++
		case p.isSymbolWord(u):
			p.i++
			if p.symbol == "" {
				if pe := p.setSymbol(strings.TrimPrefix(u.text, "$"), u.text); pe != nil {
					return pe
				}
			}
		}
	}
	return checkPositive("size", t.num)
}
