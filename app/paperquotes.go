package app

import (
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/alpaca"
	"github.com/tradeexec/tradeexec/internal/broker/kraken"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/config"
)

// LiveQuotes is the paper broker's live price feed (PAPER_QUOTES=live):
// stocks from Alpaca's market-data API with the operator's data key,
// crypto from Kraken's public ticker, shared by every process through the
// market_quotes table (paper.LiveFeed). Without an Alpaca key stocks have
// no price (paper stock orders are refused as unavailable), said at start.
func LiveQuotes(db *gorm.DB, log *zap.Logger, q config.PaperQuotes) *paper.LiveFeed {
	var stocks paper.QuoteSource
	if q.AlpacaKeyID != "" {
		creds := broker.Credentials{alpaca.CredAPIKey: q.AlpacaKeyID, alpaca.CredAPISecret: q.AlpacaSecret.Reveal()}
		if q.AlpacaDataURL != "" {
			creds[alpaca.CredDataURL] = q.AlpacaDataURL
		}
		// The operator's own setting: a custom data URL is trusted here
		// (it is refused in traders' credentials).
		a, err := alpaca.New(broker.Config{Credentials: creds}, alpaca.Options{AllowCustomURLs: q.AlpacaDataURL != ""})
		if err != nil {
			log.Error("paper live quotes: the Alpaca market-data key is refused; paper stock orders have no price", zap.Error(err))
		} else {
			stocks = a
		}
	} else {
		log.Warn("paper live quotes: PAPER_QUOTES_ALPACA_KEY_ID is not set; paper stock orders have no price (crypto is priced from Kraken)")
	}
	crypto := kraken.NewQuotes(kraken.Options{}, q.KrakenURL)
	log.Info("paper broker priced from live quotes", zap.Bool("stocks", stocks != nil), zap.Duration("refresh", q.Refresh))
	return paper.NewLiveFeed(db, stocks, alpaca.Name, crypto, kraken.Name, paper.WithQuoteRefresh(q.Refresh))
}
