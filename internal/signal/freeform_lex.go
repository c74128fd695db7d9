package signal

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/shopspring/decimal"
)

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
	// enum marks a small whole number written as a list item: "1)",
	// "1️⃣" or "1." followed by a space. The parser skips it before a value
	// when it is the expected item number (see ffParser.skipEnum).
	enum bool
}

var (
	timeframe     = regexp.MustCompile(`(?i)^[0-9]{1,3}(?:m|min|mins|h|hr|d|w)$`)
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
		case r == '/' && isWordStart(next) && (i == 0 || unicode.IsSpace(rs[i-1])):
			// "/ES", "/NQ": a futures root as traders write it.
			j := i + 1
			for j < len(rs) && isWordRune(rs[j]) {
				j++
			}
			return nil, errFreeformFutures(string(rs[i:j]))
		case isASCIIDigit(r), (r == '$' || r == '.') && isASCIIDigit(next):
			j := i + 1
			for j < len(rs) && (isASCIIDigit(rs[j]) || rs[j] == '.' || rs[j] == ',') {
				j++
			}
			if tok, n, ok := lexEnum(rs, i, j); ok {
				out = append(out, tok)
				i = n
				continue
			}
			suffix := rune(0)
			if j < len(rs) && (rs[j] == '%' || rs[j] == 'x' || rs[j] == 'X') {
				suffix = rs[j]
				j++
			}
			// A number glued to letters ("42k", "100sh") is not a number; a
			// chart timeframe ("4H", "15m", "1D") is decoration.
			if j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j])) {
				k := j
				for k < len(rs) && isWordRune(rs[k]) {
					k++
				}
				if timeframe.MatchString(string(rs[i:k])) {
					out = append(out, ffToken{kind: ffSep, text: string(rs[i:k])})
					i = k
					continue
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

// lexEnum reads a list item number at rs[i:j]: "1)", "1️⃣", or "1." then
// a space. It returns the token and the index after it.
func lexEnum(rs []rune, i, j int) (ffToken, int, bool) {
	raw := string(rs[i:j])
	dot := strings.HasSuffix(raw, ".")
	body := strings.TrimSuffix(raw, ".")
	if len(body) > 2 || strings.ContainsAny(body, ".,") || body == "" {
		return ffToken{}, 0, false
	}
	n, err := strconv.Atoi(body)
	if err != nil || n < 1 || n > 20 {
		return ffToken{}, 0, false
	}
	tok := ffToken{kind: ffNumber, text: raw, num: decimal.NewFromInt(int64(n)), enum: true}
	switch {
	case dot && (j == len(rs) || unicode.IsSpace(rs[j])):
		return tok, j, true
	case dot:
		return ffToken{}, 0, false
	case j < len(rs) && rs[j] == ')':
		return tok, j + 1, true
	case j < len(rs) && rs[j] == '\u20E3':
		return tok, j + 1, true
	case j+1 < len(rs) && rs[j] == '\uFE0F' && rs[j+1] == '\u20E3':
		return tok, j + 2, true
	}
	return ffToken{}, 0, false
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
