package signal

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// The free-form corpus (testdata/freeform_corpus/*.txt) holds realistic
// channel messages, each after a line stating what ParseFreeform must make
// of it:
//
//	=== chatter                     ErrNoSignal
//	=== refused:<field>             a *ParseError naming that field
//	=== parsed key=value ...        exactly this signal; every field not
//	                                named is zero (or its default)
//
// Keys of parsed: sym, side (buy|sell), action (default: the side; exit),
// sentiment, type (market|limit|stop), limit, stop, sl (price, or "2%"),
// tp (one target, or a comma list: several), shares (comma list), qty,
// qtytype (fixed|dollar|percent; default fixed when qty is set), entries
// (comma list, in the parser's order), zone (true).
//
// A message is "misparsed" when the parser returns a signal that is not
// the expected one, or any signal where chatter or a refusal is expected.
// That count must be zero; every other mismatch fails the test too.

type corpusCase struct {
	file, want, msg string
	line            int
}

func loadCorpus(t *testing.T) []corpusCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "freeform_corpus", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	sort.Strings(files)
	var out []corpusCase
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var cur *corpusCase
		var body []string
		flush := func() {
			if cur != nil {
				cur.msg = strings.TrimRight(strings.Join(body, "\n"), "\n ")
				out = append(out, *cur)
			}
		}
		for i, line := range strings.Split(string(raw), "\n") {
			if want, ok := strings.CutPrefix(line, "=== "); ok {
				flush()
				cur, body = &corpusCase{file: filepath.Base(name), want: strings.TrimSpace(want), line: i + 1}, nil
				continue
			}
			if cur == nil {
				continue // file header
			}
			body = append(body, line)
		}
		flush()
	}
	return out
}

func TestFreeformCorpus(t *testing.T) {
	cases := loadCorpus(t)
	var parsed, refused, chatter, misparsed, other int
	for _, c := range cases {
		f, err := ParseFreeform(c.msg)
		where := c.file + ":" + itoa(c.line)
		switch {
		case c.want == "chatter":
			switch {
			case errors.Is(err, ErrNoSignal):
				chatter++
			case err == nil:
				misparsed++
				t.Errorf("%s MISPARSED chatter %q as %s", where, c.msg, describeFreeform(f))
			default:
				other++
				t.Errorf("%s want chatter, got refusal %v\n%s", where, err, c.msg)
			}
		case strings.HasPrefix(c.want, "refused:"):
			field := strings.TrimPrefix(c.want, "refused:")
			var pe *ParseError
			switch {
			case err == nil:
				misparsed++
				t.Errorf("%s MISPARSED %q as %s, want refused:%s", where, c.msg, describeFreeform(f), field)
			case errors.As(err, &pe) && pe.Field == field:
				refused++
			default:
				other++
				t.Errorf("%s want refused:%s, got %v\n%s", where, field, err, c.msg)
			}
		case strings.HasPrefix(c.want, "parsed"):
			want, perr := corpusExpect(strings.TrimSpace(strings.TrimPrefix(c.want, "parsed")))
			if perr != "" {
				t.Fatalf("%s bad expectation: %s", where, perr)
			}
			if err != nil {
				other++
				t.Errorf("%s want %s, got %v\n%s", where, c.want, err, c.msg)
				continue
			}
			checkFreeform(t, f)
			if got := describeFreeform(f); got != want {
				misparsed++
				t.Errorf("%s MISPARSED\n%s\n got  %s\n want %s", where, c.msg, got, want)
				continue
			}
			parsed++
		default:
			t.Fatalf("%s unknown expectation %q", where, c.want)
		}
	}
	summary := "freeform corpus: " + itoa(len(cases)) + " messages; parsed as intended " + itoa(parsed) +
		", refused as intended " + itoa(refused) + ", chatter as intended " + itoa(chatter) +
		", misparsed " + itoa(misparsed) + ", other mismatches " + itoa(other)
	t.Log(summary)
	if testing.Verbose() {
		println(summary)
	}
	if len(cases) < 300 {
		t.Errorf("corpus has %d messages, want at least 300", len(cases))
	}
}

func itoa(n int) string { return decimal.NewFromInt(int64(n)).String() }

// describeFreeform renders a parse result in the corpus's key=value form,
// with keys in a fixed order and zero fields left out.
func describeFreeform(f Freeform) string {
	s := f.Signal
	var kv []string
	add := func(k, v string) {
		if v != "" {
			kv = append(kv, k+"="+v)
		}
	}
	num := func(d decimal.Decimal) string {
		if d.IsZero() {
			return ""
		}
		return d.String()
	}
	add("sym", s.Symbol)
	add("side", string(s.Side))
	if string(s.Action) != string(s.Side) {
		add("action", string(s.Action))
	}
	add("sentiment", s.Sentiment)
	add("type", string(s.OrderType))
	add("limit", num(s.LimitPrice))
	add("stop", num(s.StopPrice))
	add("sl", num(s.StopLossPrice))
	if !s.StopLossPercent.IsZero() {
		add("sl", s.StopLossPercent.String()+"%")
	}
	var tps, shares []string
	switch {
	case len(f.Targets) > 0:
		for _, tg := range f.Targets {
			if tg.Percent.IsZero() {
				tps = append(tps, tg.Price.String())
			} else {
				tps = append(tps, tg.Percent.String()+"%")
			}
			shares = append(shares, tg.Share.String())
		}
	case !s.TakeProfitPrice.IsZero():
		tps = []string{s.TakeProfitPrice.String()}
	case !s.TakeProfitPercent.IsZero():
		tps = []string{s.TakeProfitPercent.String() + "%"}
	}
	add("tp", strings.Join(tps, ","))
	if !equalShares(f.Targets) {
		add("shares", strings.Join(shares, ","))
	}
	add("qty", num(s.Quantity))
	switch s.QuantityType {
	case QtyDollarAmount:
		add("qtytype", "dollar")
	case QtyPercentOfEquity:
		add("qtytype", "percent")
	case QtyPercentOfPosition:
		add("qtytype", "position")
	}
	var entries []string
	for _, e := range f.Entries {
		entries = append(entries, e.String())
	}
	add("entries", strings.Join(entries, ","))
	if f.Zone {
		add("zone", "true")
	}
	return strings.Join(kv, " ")
}

// equalShares reports whether the targets split the position evenly (the
// default, left out of the corpus's expectations).
func equalShares(ts []Target) bool {
	if len(ts) < 2 {
		return true
	}
	each := hundred.DivRound(decimal.NewFromInt(int64(len(ts))), 8)
	for _, tg := range ts[:len(ts)-1] {
		if !tg.Share.Equal(each) {
			return false
		}
	}
	return true
}

// corpusExpect normalises an expectation's key=value list to
// describeFreeform's form: keys in its order, decimals canonical.
func corpusExpect(spec string) (string, string) {
	order := []string{"sym", "side", "action", "sentiment", "type", "limit", "stop", "sl", "tp", "shares", "qty", "qtytype", "entries", "zone"}
	vals := map[string]string{}
	for _, field := range strings.Fields(spec) {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return "", "not key=value: " + field
		}
		known := false
		for _, o := range order {
			known = known || o == k
		}
		if !known {
			return "", "unknown key " + k
		}
		var parts []string
		for _, p := range strings.Split(v, ",") {
			pct := strings.HasSuffix(p, "%")
			if d, err := decimal.NewFromString(strings.TrimSuffix(p, "%")); err == nil && k != "sym" {
				p = d.String()
				if pct {
					p += "%"
				}
			}
			parts = append(parts, p)
		}
		vals[k] = strings.Join(parts, ",")
	}
	if vals["type"] == "" {
		vals["type"] = "market"
	}
	if vals["action"] == vals["side"] {
		delete(vals, "action")
	}
	if vals["qtytype"] == "fixed" {
		delete(vals, "qtytype")
	}
	var kv []string
	for _, k := range order {
		if v := vals[k]; v != "" {
			kv = append(kv, k+"="+v)
		}
	}
	return strings.Join(kv, " "), ""
}
