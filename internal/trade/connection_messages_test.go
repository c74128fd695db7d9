package trade

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
)

func TestConnectionMessages(t *testing.T) {
	cases := []struct{ got, want string }{
		// SPEC US-002 #1 and US-010 #1.
		{ConnectedMessage("alpaca", decimal.NewFromInt(50_000), "USD"), "Alpaca connected successfully"},
		{ConnectedMessage("binance", decimal.RequireFromString("12450"), "USDT"), "Binance connected: $12,450.00 USDT balance"},
		{ConnectedMessage("kraken", decimal.RequireFromString("1234.567"), ""), "Kraken connected: $1,234.57 USD balance"},
		{ConnectedMessage("ibkr", decimal.Zero, "USD"), "Interactive Brokers connected successfully"},
		{AccountValueText(decimal.RequireFromString("50000")), "$50,000.00"},
		{ConnectFailureMessage("alpaca", broker.KindAuthFailed, "Alpaca rejected the API key and secret"),
			"Alpaca rejected these API keys. Check the key and secret and try again."},
		{ConnectFailureMessage("binance", broker.KindAuthFailed, ""), "Binance rejected these API keys. Check the key and secret and try again."},
		{ConnectFailureMessage("ibkr", broker.KindAuthFailed, "the IB Gateway is not logged in"),
			"Interactive Brokers did not accept the connection. The IB Gateway is not logged in."},
		{ConnectFailureMessage("ibkr", broker.KindAuthFailed, ""),
			"Interactive Brokers did not accept the connection. Log in to IB Gateway, check the account id and try again."},
		{ConnectFailureMessage("schwab", broker.KindUnavailable, ""), "Schwab is not reachable right now. Nothing was saved; try again in a few minutes."},
		{ConnectFailureMessage("kraken", broker.KindRateLimited, ""), "Kraken is limiting requests right now. Nothing was saved; try again in a minute."},
		{ConnectFailureMessage("coinbase", broker.KindInvalidOrder, "odd"), "Coinbase could not confirm the account. Odd."},
		{UnhealthyMessage("alpaca", broker.KindAuthFailed, "x"), "Alpaca rejected the stored credentials. Reconnect Alpaca in Settings → Brokers."},
		{UnhealthyMessage("schwab", broker.KindAuthFailed, "Your Schwab authorization has expired. Reconnect Schwab in Settings → Brokers to keep trading."),
			"Your Schwab authorization has expired. Reconnect Schwab in Settings → Brokers to keep trading."},
		{UnhealthyMessage("binance", broker.KindUnavailable, ""),
			"Binance is not responding. Orders sent there may fail until it recovers; the connection is checked again in 5 minutes."},
		{RecoveredMessage("kraken"), "Kraken connection restored."},
		{DisconnectedMessage("ibkr"), "Interactive Brokers disconnected. Its credentials were deleted."},
		{ensureSentence("élan"), "Élan."},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("%d: got %q, want %q", i, c.got, c.want)
		}
	}
}
