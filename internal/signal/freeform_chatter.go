package signal

import (
	"regexp"
	"strings"
	"unicode"
)

// Chatter and derivatives: what a signal channel posts besides signals.
//
// A message that does not parse is chatter (ErrNoSignal, ignored silently)
// when it reads as a comment rather than an instruction: a question mark;
// a result ("TP1 hit ✅", "target reached", "closed +5%", "stopped out");
// a negation or a hypothesis ("I would not buy X", "don't short", "if it
// breaks"); a first-person status ("I'm long", "my entry"); a greeting. A
// message that parses is never turned into chatter by these words: they
// are not part of the layout, so a message containing one does not parse.
//
// Options and futures contracts are refused before parsing, whatever else
// the message says (unless it is chatter): a strike glued to C/P ("190C",
// "450p"), the words call(s)/put(s)/strike/expiry/DTE/option(s)/contract(s),
// an OCC option symbol, a futures root "/ES", a dated future "ESZ4" or a
// continuous one "ES1!".

var ffChatterWords = setOf(
	// results
	"HIT", "HITS", "REACHED", "ACHIEVED", "DONE", "SMASHED", "BOOKED", "SECURED", "STOPPED", "CLOSED",
	"CLOSING", "GAIN", "GAINS", "WIN", "WINS", "RESULT", "RESULTS", "PROFITABLE", "CONGRATS",
	"CONGRATULATIONS", "BOOM", "NAILED", "PAID", "PRINTED", "RAN", "PUMPED", "DUMPED", "FILLED",
	"TRIGGERED", "SOLD", "BOUGHT", "ADDED", "TRIMMED", "TRIMMING", "HOLDING", "HODL", "UPDATE",
	"PARTIAL", "PARTIALS", "TOOK", "PERIOD", "CANCELLED", "CANCELED",
	// negations and hypotheses
	"NOT", "DON'T", "DONT", "NEVER", "AVOID", "NO", "WOULDN'T", "WON'T", "CAN'T", "ISN'T", "DIDN'T",
	"WOULD", "COULD", "MIGHT", "MAYBE", "IF", "THINK", "GUESS", "ANYONE", "WATCHING", "WATCHLIST",
	"STILL", "WAIT", "WAITING",
	// first person, greetings
	"I", "I'M", "IM", "I'D", "I'LL", "I'VE", "MY", "WE", "WE'RE", "OUR", "ME",
	"GM", "GN", "LOL", "THANKS", "HELLO", "HI", "HEY", "MORNING",
)

// futuresRoots are CME roots traders name ("ESZ4", "ES1!").
const futuresRoots = `(?:ES|NQ|YM|RTY|CL|GC|SI|NG|HG|ZB|ZN|ZF|ZT|ZC|ZS|ZW|MES|MNQ|MYM|M2K|MGC|MCL|6E|6J|6B|6A|6C|VX|BTC|MBT|ETH|MET)`

var (
	ffResultPercent = regexp.MustCompile(`\+\s?[0-9]+(?:\.[0-9]+)?\s?%`)
	ffOptionStrike  = regexp.MustCompile(`(?i)(?:^|[^A-Za-z0-9.])\$?[0-9]+(?:\.[0-9]+)?[CP](?:[^A-Za-z0-9]|$)`)
	ffOptionWords   = setOf("CALLS", "PUTS", "STRIKE", "STRIKES", "EXPIRY", "EXPIRATION", "EXP",
		"DTE", "0DTE", "OPTION", "OPTIONS", "CONTRACT", "CONTRACTS", "LEAPS")
	ffOptionCallPut = regexp.MustCompile(`(?i)[0-9]+(?:\.[0-9]+)?\s*(?:CALL|PUT)S?\b`)
	ffOCCSymbol     = regexp.MustCompile(`\b[A-Z]{1,6}[0-9]{6}[CP][0-9]{8}\b`)
	ffContinuous    = regexp.MustCompile(`\b` + futuresRoots + `[12]!`)
	ffFuturesSlash  = regexp.MustCompile(`(?:^|\s)/[A-Za-z]{1,4}[0-9]?\b`)
	// futuresCode is a dated futures contract: a CME root, a month code, a year.
	futuresCode = regexp.MustCompile(`^` + futuresRoots + `[FGHJKMNQUVXZ][0-9]{1,2}$`)
)

// chatterFields splits a message into upper-cased words, keeping apostrophes.
func chatterFields(text string) []string {
	text = strings.ReplaceAll(text, "’", "'")
	return strings.FieldsFunc(strings.ToUpper(text), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'')
	})
}

// isChatter reports whether the message reads as a comment (see above).
func isChatter(text string) bool {
	if strings.ContainsAny(text, "?？") || ffResultPercent.MatchString(text) {
		return true
	}
	fields := chatterFields(text)
	for i, w := range fields {
		if ffChatterWords[strings.Trim(w, "'")] || ffChatterWords[w] {
			return true
		}
		// "Profit: 12.5%" reports a result; "Take profit" and "Profit
		// targets" are clauses.
		if (w == "PROFIT" || w == "PROFITS") && (i == 0 || fields[i-1] != "TAKE") &&
			(i+1 == len(fields) || !strings.HasPrefix(fields[i+1], "TARGET")) {
			return true
		}
	}
	return false
}

// derivativeMarker returns the options or futures contract the message
// names, or "".
func derivativeMarker(text string) string {
	if m := ffOptionStrike.FindString(text); m != "" {
		return strings.TrimFunc(m, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	}
	upper := strings.ToUpper(text)
	for _, re := range []*regexp.Regexp{ffOptionCallPut, ffOCCSymbol, ffContinuous, ffFuturesSlash} {
		if m := re.FindString(upper); m != "" {
			return strings.TrimSpace(m)
		}
	}
	for _, w := range chatterFields(text) {
		if ffOptionWords[w] || futuresCode.MatchString(w) {
			return w
		}
	}
	return ""
}
