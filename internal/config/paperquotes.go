package config

import (
	"fmt"
	"net/url"
	"time"
)

// Paper broker price sources (PAPER_QUOTES).
const (
	// PaperQuotesRandom: a seeded random walk in each process (dev, tests).
	PaperQuotesRandom = "random"
	// PaperQuotesLive: real quotes — stocks from Alpaca's market-data API
	// (PAPER_QUOTES_ALPACA_KEY_ID / _SECRET), crypto from Kraken's public
	// ticker — shared by every process through the database.
	PaperQuotesLive = "live"
)

// PaperQuotes is how the paper broker prices orders.
type PaperQuotes struct {
	Mode string // PaperQuotesRandom or PaperQuotesLive
	// AlpacaKeyID / AlpacaSecret: a market-data key of any Alpaca account
	// (the free plan's IEX feed is enough); live stock prices need them.
	AlpacaKeyID  string
	AlpacaSecret Secret
	// AlpacaDataURL and KrakenURL override the sources' addresses (a local
	// fake in tests); empty means the real hosts.
	AlpacaDataURL string
	KrakenURL     string
	// Refresh: a shared price older than this is fetched again.
	Refresh time.Duration
}

// DefaultPaperQuoteRefresh is PAPER_QUOTES_REFRESH's default.
const DefaultPaperQuoteRefresh = 2 * time.Second

// paperQuotes reads PAPER_QUOTES (random by default) and, for live, its
// sources. Live without an Alpaca key prices crypto only and says so at
// start; a key id without its secret (or the reverse) is an error.
func (l *loader) paperQuotes() {
	q := PaperQuotes{Mode: l.env("PAPER_QUOTES"), Refresh: DefaultPaperQuoteRefresh,
		AlpacaKeyID: l.env("PAPER_QUOTES_ALPACA_KEY_ID"), AlpacaSecret: Secret(l.env("PAPER_QUOTES_ALPACA_SECRET")),
		AlpacaDataURL: l.env("PAPER_QUOTES_ALPACA_DATA_URL"), KrakenURL: l.env("PAPER_QUOTES_KRAKEN_URL")}
	if q.Mode == "" {
		q.Mode = PaperQuotesRandom
	}
	switch q.Mode {
	case PaperQuotesRandom, PaperQuotesLive:
	default:
		l.c.add("PAPER_QUOTES", fmt.Sprintf("invalid value %q (want random or live)", q.Mode))
	}
	if (q.AlpacaKeyID == "") != !q.AlpacaSecret.IsSet() {
		l.c.add("PAPER_QUOTES_ALPACA_SECRET", "PAPER_QUOTES_ALPACA_KEY_ID and PAPER_QUOTES_ALPACA_SECRET are set together")
	}
	for name, v := range map[string]string{"PAPER_QUOTES_ALPACA_DATA_URL": q.AlpacaDataURL, "PAPER_QUOTES_KRAKEN_URL": q.KrakenURL} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.c.add(name, fmt.Sprintf("invalid URL %q (want http(s)://host)", v))
		}
	}
	if raw := l.env("PAPER_QUOTES_REFRESH"); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d < 500*time.Millisecond || d > time.Minute {
			l.c.add("PAPER_QUOTES_REFRESH", fmt.Sprintf("invalid duration %q (e.g. 2s; between 500ms and 1m)", raw))
		} else {
			q.Refresh = d
		}
	}
	l.cfg.PaperQuotes = q
}
