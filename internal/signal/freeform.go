package signal

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Free-form layout (ParseFreeform): the way signal providers post in their
// channels, e.g.
//
//	BTC/USDT LONG
//	Entry: 42000
//	SL: 41000
//	TP1: 43000
//	TP2: 44500
//
// A message is a set of clauses in any order, separated by spaces, line
// breaks or punctuation; words are case-insensitive.
//
//	symbol   exactly one: cashtag $TSLA, pair BTC/USDT, BTCUSDT, BINANCE:BTCUSDT, ticker AAPL (NormalizeSymbol)
//	side     LONG | BUY, or SHORT | SELL; required unless the message closes
//	close    CLOSE | EXIT: close the position (with LONG/SHORT: only that side, never open the other)
//	entry    (ENTRY [PRICE|ZONE|AT] | @) value
//	         value = price           a limit order at the price
//	               | price - price   a zone ("42000-42500", "42000 to 42500"): a limit order at the
//	                                 zone's top for a long, its bottom for a short, so it fills inside
//	                                 the zone or better
//	               | MARKET | NOW | CMP
//	         no entry: a market order
//	stoploss (SL | STOP [LOSS] | STOPLOSS | STOP-LOSS) [PRICE] (price | percent)
//	targets  (TP | TARGET | TARGETS | TAKE PROFIT) value {value}    several targets in one clause
//	         | TPn | TARGETn | (TP|TARGET) n:  value                  numbered, TP1 first, no gaps
//	         value = (price | percent) ["(" percent ")"]             the optional share of the position
//	size     (SIZE | QTY | QUANTITY | AMOUNT) (quantity [SHARES|UNITS|COINS] | $dollars | percent of equity)
//	price    [$] digits [. digits], thousands may be grouped "42,000"; percent = number "%"
//
// Several targets split the position: each target closes its share (given
// in parentheses, summing to 100%, or equal shares), see Freeform.Legs.
// Tokens made only of punctuation or emoji, and the words SIGNAL, NEW,
// TRADE, SETUP, ALERT, SPOT, PAIR, COIN are decoration.
//
// Nothing is guessed. A message with two symbols, both sides, no side, a
// clause given twice, leverage or futures, a stop-loss on the wrong side of
// the entry or a target, targets out of order, or any word outside this
// layout is refused with the reason. A message with neither a side, nor
// CLOSE, nor any clause keyword is chatter: ErrNoSignal.

// ErrNoSignal is returned by ParseFreeform for a message that does not try
// to be a signal (no side, no CLOSE, no entry/stop-loss/target keyword):
// chatter in a signal channel, which the bot ignores silently.
var ErrNoSignal = errors.New("signal: the message is not a signal")

// maxTargets bounds the take-profit targets of one message.
const maxTargets = 10

// Freeform is a parsed free-form message.
type Freeform struct {
	// Signal is the whole position. With exactly one target its
	// TakeProfitPrice/TakeProfitPercent is set; with several it carries no
	// take-profit (each leg has its own).
	Signal Signal
	// Targets are the take-profit targets in order; nil with fewer than two.
	Targets []Target
}

// Target is one take-profit target of a split position.
type Target struct {
	Price   decimal.Decimal // exactly one of Price and Percent is set
	Percent decimal.Decimal // distance from the entry fill, in the trade's favour
	// Share is the percent of the position closed at this target; the
	// shares of a message sum to 100.
	Share decimal.Decimal
}

// Leg is one order of a channel signal: the whole position, or one target's
// share of it. Key tells legs of one message apart ("" for a single leg,
// "tp1", "tp2", ...); it is part of each follower's signal ExternalID.
type Leg struct {
	Key    string          `json:"key"`
	Signal Signal          `json:"signal"`
	Share  decimal.Decimal `json:"share"` // percent of the position, 100 for a single leg
}

// SingleLeg wraps a signal that is not split.
func SingleLeg(s Signal) []Leg {
	return []Leg{{Signal: s, Share: hundred}}
}

// Legs splits the message into its orders: one per target with that
// target's take-profit and share, or the whole signal as one leg. The
// quantity of each leg is still the whole position's; sizing applies Share.
func (f Freeform) Legs() []Leg {
	if len(f.Targets) < 2 {
		return SingleLeg(f.Signal)
	}
	legs := make([]Leg, len(f.Targets))
	for i, t := range f.Targets {
		s := f.Signal
		s.TakeProfitPrice, s.TakeProfitPercent = t.Price, t.Percent
		legs[i] = Leg{Key: "tp" + strconv.Itoa(i+1), Signal: s, Share: t.Share}
	}
	return legs
}

// freeformFields maps Validate's field names to the words of the layout.
var freeformFields = map[string]string{
	"limitPrice":        "entry",
	"stopLoss":          "sl",
	"stopLossPrice":     "sl",
	"stopLossPercent":   "sl",
	"takeProfit":        "tp",
	"takeProfitPrice":   "tp",
	"takeProfitPercent": "tp",
	"quantity":          "size",
	"text":              "message",
}

// ParseFreeform parses a message in the free-form layout. The caller sets
// ExternalID (the Discord message id). Errors are *ParseError, or
// ErrNoSignal for chatter.
func ParseFreeform(text string) (Freeform, error) {
	f, pe := parseFreeform(text)
	if pe != nil {
		if pe == errNoSignalMarker {
			return Freeform{}, ErrNoSignal
		}
		return Freeform{}, pe
	}
	return f, nil
}

// --- lexer ---

type ffKind int

const (
	ffWord   ffKind = iota // a word: keyword, side, symbol or unknown
	ffNumber               // a price or quantity; dollar marks "$250"
	ffPercent
	ffShare    // "(50%)"
	ffLeverage // "10x"
	ffSep      // punctuation or emoji
)

type ffToken struct {
	kind   ffKind
	text   string // as written (for messages)
	upper  string // upper-cased word
	num    decimal.Decimal
	dollar bool
	colon  bool // the word or number ended with ':'
}

var (
	groupedNumber = regexp.MustCompile(`^[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$`)
	// discordMarkup matches mentions (<@123>, <@!123>, <@&123>, <#123>),
	// custom emoji (<:name:123>, <a:name:123>) and timestamps (<t:123:R>):
	// decoration, never part of a signal.
	discordMarkup = regexp.MustCompile(`<(?:@[!&]?[0-9]+|#[0-9]+|a?:[A-Za-z0-9_~]+:[0-9]+|t:-?[0-9]+(?::[tTdDfFR])?)>`)
)

func isWordStart(r rune) bool { return unicode.IsLetter(r) }

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._/:-", r)
}

func isASCIIDigit(r rune) bool { return r >= '0' && r <= '9' }

// lexFreeform splits text into tokens. Its only error is a malformed
// number or word, reported as a *ParseError.
func lexFreeform(text string) ([]ffToken, *ParseError) {
	rs := []rune(text)
	var out []ffToken
	for i := 0; i < len(rs); {
		r := rs[i]
		next := rune(0)
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		switch {
		case unicode.IsSpace(r):
			i++
		case isWordStart(r), r == '$' && isWordStart(next):
			j := i + 1
			for j < len(rs) && isWordRune(rs[j]) {
				j++
			}
			toks, pe := wordTokens(string(rs[i:j]))
			if pe != nil {
				return nil, pe
			}
			out = append(out, toks...)
			i = j
		case isASCIIDigit(r), (r == '$' || r == '.') && isASCIIDigit(next):
			j := i + 1
			for j < len(rs) && (isASCIIDigit(rs[j]) || rs[j] == '.' || rs[j] == ',') {
				j++
			}
			suffix := rune(0)
			if j < len(rs) && (rs[j] == '%' || rs[j] == 'x' || rs[j] == 'X') {
				suffix = rs[j]
				j++
			}
			// A number glued to letters ("42k", "100sh") is not a number.
			if j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j])) {
				k := j
				for k < len(rs) && isWordRune(rs[k]) {
					k++
				}
				return nil, errFreeformUnknownWord(string(rs[i:k]))
			}
			toks, pe := numberTokens(string(rs[i:j-btoi(suffix != 0)]), suffix)
			if pe != nil {
				return nil, pe
			}
			out = append(out, toks...)
			i = j
		case r == '(':
			if tok, n, ok := lexShare(rs[i:]); ok {
				out = append(out, tok)
				i += n
				continue
			}
			out = append(out, ffToken{kind: ffSep, text: "("})
			i++
		default:
			out = append(out, ffToken{kind: ffSep, text: string(r)})
			i++
		}
	}
	return out, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// wordTokens turns a scanned word into tokens: "TP1:43000" is a keyword
// and a value; a trailing ":" marks a label; trailing punctuation is
// dropped.
func wordTokens(w string) ([]ffToken, *ParseError) {
	colon := false
	for len(w) > 1 {
		last := w[len(w)-1]
		if !strings.ContainsRune(".:/-", rune(last)) {
			break
		}
		if last == ':' {
			colon = true
		}
		w = w[:len(w)-1]
	}
	if kw, rest, ok := strings.Cut(w, ":"); ok && isFreeformKeyword(strings.ToUpper(kw)) {
		toks := []ffToken{{kind: ffWord, text: kw, upper: strings.ToUpper(kw), colon: true}}
		if rest != "" {
			more, pe := lexFreeform(rest)
			if pe != nil {
				return nil, pe
			}
			toks = append(toks, more...)
		}
		return toks, nil
	}
	return []ffToken{{kind: ffWord, text: w, upper: strings.ToUpper(w), colon: colon}}, nil
}

// numberTokens reads "42000", "$42,000.50", "0.5", "43000,44500" (a list),
// with an optional % or x suffix.
func numberTokens(raw string, suffix rune) ([]ffToken, *ParseError) {
	dollar := strings.HasPrefix(raw, "$")
	body := strings.TrimPrefix(raw, "$")
	body = strings.TrimRight(body, ".,")
	if body == "" {
		return nil, errFreeformNumber(raw)
	}
	var parts []string
	if strings.Contains(body, ",") && !groupedNumber.MatchString(body) {
		if suffix != 0 {
			return nil, errFreeformNumber(raw + string(suffix))
		}
		parts = strings.Split(body, ",")
	} else {
		parts = []string{strings.ReplaceAll(body, ",", "")}
	}
	var out []ffToken
	for i, p := range parts {
		d, ok := parsePlain(p)
		if !ok {
			return nil, errFreeformNumber(raw)
		}
		t := ffToken{kind: ffNumber, text: p, num: d, dollar: dollar && i == 0}
		switch suffix {
		case '%':
			t.kind, t.text = ffPercent, p+"%"
		case 'x', 'X':
			t.kind, t.text = ffLeverage, p+"x"
		}
		if i > 0 {
			out = append(out, ffToken{kind: ffSep, text: ","})
		}
		out = append(out, t)
	}
	return out, nil
}

// lexShare reads "(50%)" or "( 50 % )" at the start of rs.
func lexShare(rs []rune) (ffToken, int, bool) {
	i := 1
	skip := func() {
		for i < len(rs) && unicode.IsSpace(rs[i]) {
			i++
		}
	}
	skip()
	start := i
	for i < len(rs) && (isASCIIDigit(rs[i]) || rs[i] == '.') {
		i++
	}
	num := string(rs[start:i])
	skip()
	if i >= len(rs) || rs[i] != '%' {
		return ffToken{}, 0, false
	}
	i++
	skip()
	if i >= len(rs) || rs[i] != ')' {
		return ffToken{}, 0, false
	}
	d, ok := parsePlain(num)
	if !ok {
		return ffToken{}, 0, false
	}
	return ffToken{kind: ffShare, text: "(" + num + "%)", num: d}, i + 1, true
}

// --- parser ---

var (
	ffSideBuy  = setOf("LONG", "BUY")
	ffSideSell = setOf("SHORT", "SELL")
	ffClose    = setOf("CLOSE", "EXIT")
	ffEntry    = setOf("ENTRY")
	ffStop     = setOf("SL", "STOPLOSS", "STOP-LOSS", "STOP")
	ffTargetKW = setOf("TP", "TARGET", "TARGETS", "TAKEPROFIT", "TAKE-PROFIT")
	ffSize     = setOf("SIZE", "QTY", "QUANTITY", "AMOUNT")
	ffLevWords = setOf("LEVERAGE", "LEV", "CROSS", "ISOLATED", "MARGIN")
	ffFutures  = setOf("FUTURES", "PERP", "PERPS", "PERPETUAL")
	ffFiller   = setOf("SIGNAL", "SIGNALS", "NEW", "TRADE", "SETUP", "ALERT", "SPOT", "PAIR", "COIN")
	ffMarket   = setOf("MARKET", "NOW", "CMP", "MKT")
	ffUnits    = setOf("SHARES", "SHARE", "UNITS", "UNIT", "COINS")
	ffNumbered = regexp.MustCompile(`^(?:TP|TARGET)([0-9]{1,2})$`)
	ffZoneSeps = setOf("-", "~", "–", "—")
	// ffStrong are the clause keywords that mark a message as an attempted
	// signal on their own (see looksLikeAttempt).
	ffStrong = setOf("ENTRY", "SL", "STOPLOSS", "STOP-LOSS", "TP", "TARGET", "TARGETS", "TAKEPROFIT", "TAKE-PROFIT")
)

// errNoSignalMarker tells ParseFreeform the message is chatter.
var errNoSignalMarker = &ParseError{Reason: "not a signal"}

// isFreeformKeyword reports whether w is a clause keyword that may carry
// its value after a colon ("TP1:43000").
func isFreeformKeyword(w string) bool {
	return ffEntry[w] || ffStop[w] || ffTargetKW[w] || ffSize[w] || ffNumbered.MatchString(w)
}

type ffEntryKind int

const (
	entryNone ffEntryKind = iota
	entryMarket
	entryPrice
	entryZone
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
	side               Side
	sideText           string
	close              bool

	entry          ffEntryKind
	entryLo        decimal.Decimal
	entryHi        decimal.Decimal
	seenEntry      bool
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
	toks, pe := lexFreeform(discordMarkup.ReplaceAllString(text, " "))
	if pe == nil {
		p := &ffParser{toks: toks}
		if pe = p.run(); pe == nil {
			var f Freeform
			if f, pe = p.build(text); pe == nil {
				return f, nil
			}
		}
	}
	if !looksLikeAttempt(text) {
		return Freeform{}, errNoSignalMarker
	}
	return Freeform{}, pe
}

// looksLikeAttempt decides whether a message that failed to parse tried to
// be a signal (the author gets a reply saying what is wrong) or is chatter
// (ignored silently): it has a clause keyword (Entry, SL, TP1, Targets,
// Take profit), or a side or CLOSE together with a cashtag or a pair.
// It never makes a message a signal: only ParseFreeform's success does.
func looksLikeAttempt(text string) bool {
	side, marker := false, false
	fields := strings.FieldsFunc(strings.ToUpper(text), func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",;()[]{}|!?\"'*=@", r)
	})
	for i, f := range fields {
		w := strings.Trim(f, ".:-/")
		if kw, _, ok := strings.Cut(w, ":"); ok && isFreeformKeyword(kw) {
			w = kw
		}
		switch {
		case ffStrong[w], ffNumbered.MatchString(w):
			return true
		case w == "TAKE" && i+1 < len(fields) && strings.HasPrefix(fields[i+1], "PROFIT"):
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
		case ffNumber, ffPercent:
			return errFreeformStrayNumber(t.text)
		case ffWord:
			if pe := p.word(t); pe != nil {
				return pe
			}
		}
	}
	return nil
}

func (p *ffParser) word(t ffToken) *ParseError {
	w := t.upper
	switch {
	case strings.HasPrefix(t.text, "$"):
		return p.setSymbol(t.text[1:], t.text)
	case ffSideBuy[w], ffSideSell[w]:
		side := SideBuy
		if ffSideSell[w] {
			side = SideSell
		}
		if p.side != "" && p.side != side {
			return errFreeformBothSides(p.sideText, t.text)
		}
		p.side, p.sideText = side, t.text
	case ffClose[w]:
		p.close = true
	case ffEntry[w]:
		if p.peekWord(setOf("PRICE", "ZONE", "AT")) {
			p.i++
		}
		return p.readEntry(t.text)
	case ffStop[w]:
		if w == "STOP" && p.peekWord(setOf("LOSS")) {
			p.i++
		}
		if p.peekWord(setOf("PRICE")) {
			p.i++
		}
		return p.readStopLoss()
	case ffTargetKW[w], w == "TAKE" && p.peekWord(setOf("PROFIT", "PROFITS")):
		if w == "TAKE" {
			p.i++
		}
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
	case ffFiller[w]:
	default:
		return p.setSymbol(t.text, t.text)
	}
	return nil
}

func (p *ffParser) setSymbol(raw, written string) *ParseError {
	sym, class, pe := normalizeSymbol(raw)
	if pe != nil {
		if strings.HasPrefix(written, "$") {
			return pe
		}
		return errFreeformUnknownWord(written)
	}
	if p.symbol != "" && p.symbol != sym {
		return errFreeformTwoSymbols(p.symbolText, written)
	}
	p.symbol, p.symbolText, p.class = sym, written, class
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

func (p *ffParser) readEntry(keyword string) *ParseError {
	if p.seenEntry {
		return errDuplicate("entry")
	}
	p.seenEntry = true
	p.skipSeps()
	t, ok := p.peek()
	if ok && t.kind == ffWord && ffMarket[t.upper] {
		p.i++
		p.entry = entryMarket
		return nil
	}
	if !ok || t.kind != ffNumber {
		return errFreeformValueMissing("entry", keyword, "Entry 42000, Entry 42000-42500 or Entry market")
	}
	p.i++
	if pe := checkPositive("entry", t.num); pe != nil {
		return pe
	}
	p.entry, p.entryLo = entryPrice, t.num
	// A zone: "42000-42500", "42000 - 42500", "42000 to 42500".
	save := p.i
	if q, ok := p.peek(); ok && ((q.kind == ffSep && ffZoneSeps[q.text]) || (q.kind == ffWord && q.upper == "TO")) {
		p.i++
		if hi, ok := p.peek(); ok && hi.kind == ffNumber {
			p.i++
			if pe := checkPositive("entry", hi.num); pe != nil {
				return pe
			}
			if !hi.num.GreaterThan(t.num) {
				return errFreeformZoneOrder(t.text, hi.text)
			}
			p.entry, p.entryHi = entryZone, hi.num
			return nil
		}
		p.i = save
	}
	return nil
}

func (p *ffParser) readStopLoss() *ParseError {
	if p.seenSL {
		return errDuplicate("sl")
	}
	p.seenSL = true
	p.skipSeps()
	t, ok := p.peek()
	if !ok || (t.kind != ffNumber && t.kind != ffPercent) {
		return errFreeformValueMissing("sl", "SL", "SL 41000 or SL 2%")
	}
	p.i++
	if t.kind == ffPercent {
		p.slPct = t.num
		return checkPercent("sl", t.num)
	}
	p.slPrice = t.num
	return checkPositive("sl", t.num)
}

// readTarget reads one target value and its optional share.
func (p *ffParser) readTarget() (ffTarget, bool, *ParseError) {
	p.skipSeps()
	t, ok := p.peek()
	if !ok || (t.kind != ffNumber && t.kind != ffPercent) {
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
		tg, ok, pe := p.readTarget()
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
	tg, ok, pe := p.readTarget()
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
	p.seenSize = true
	p.skipSeps()
	t, ok := p.peek()
	if !ok || (t.kind != ffNumber && t.kind != ffPercent) {
		return errFreeformValueMissing("size", "Size", "Size 10, Size $500 or Size 5%")
	}
	p.i++
	switch {
	case t.kind == ffPercent:
		p.qty, p.qtyType = t.num, QtyPercentOfEquity
		if !t.num.IsPositive() || t.num.GreaterThan(hundred) {
			return errPercentAtMost100("size")
		}
	case t.dollar:
		p.qty, p.qtyType = t.num, QtyDollarAmount
	default:
		p.qty, p.qtyType = t.num, QtyFixed
		if p.peekWord(ffUnits) {
			p.i++
		}
	}
	return checkPositive("size", t.num)
}

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
		return Freeform{}, errFreeformNoSide()
	}
	s.Side = p.side
	s.Action = ActionBuy
	if p.side == SideSell {
		s.Action = ActionSell
	}
	s.OrderType = OrderMarket
	switch p.entry {
	case entryPrice:
		s.OrderType, s.LimitPrice = OrderLimit, p.entryLo
	case entryZone:
		s.OrderType, s.LimitPrice = OrderLimit, p.entryHi
		if p.side == SideSell {
			s.LimitPrice = p.entryLo
		}
	}
	s.StopLossPrice, s.StopLossPercent = p.slPrice, p.slPct
	if pe := p.checkPrices(); pe != nil {
		return Freeform{}, pe
	}
	f := Freeform{Signal: s}
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
	hasEntry := p.entry == entryPrice || p.entry == entryZone
	lo, hi := p.entryLo, p.entryLo
	entryText := p.entryLo.String()
	if p.entry == entryZone {
		hi = p.entryHi
		entryText = p.entryLo.String() + "-" + p.entryHi.String()
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
