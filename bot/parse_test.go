package bot

import (
	"errors"
	"fmt"
	"testing"

	"github.com/bwmarrin/discordgo"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/schema"
)

func TestParseSignalByMode(t *testing.T) {
	tests := []struct {
		mode, text string
		legs       int
		err        error
		reason     string
	}{
		{sources.ModeStrict, "/buy AAPL 100 @market", 1, nil, ""},
		{sources.ModeStrict, "gm everyone", 0, errChatter, ""},
		{sources.ModeStrict, "BTC/USDT LONG Entry 42000", 0, errChatter, ""},
		{sources.ModeStrict, "/buy AAPL", 0, nil, "quantity: is missing"},
		// Take-profit targets: one leg per target, each with its take-profit.
		{sources.ModeFreeform, "BTC/USDT LONG Entry 42000 SL 41000 TP1 43000 TP2 44500", 1, nil, ""}, // one entry, a ladder of two targets
		{sources.ModeFreeform, "BTC/USDT LONG Entry 42000 SL 41000", 1, nil, ""},
		// Several entries: a ladder of limit entries, one leg each.
		{sources.ModeFreeform, "BTC/USDT LONG Entry: 42000 - 41500 - 41000 SL 40000 TP 44000", 3, nil, ""},
		// A zone: one limit at the edge reached first.
		{sources.ModeFreeform, "BTC/USDT LONG Buy Zone: 41500 - 42000 SL 40000 TP 44000", 1, nil, ""},
		{sources.ModeStrict, "/buy AAPL 10 tp:200", 1, nil, ""},
		{sources.ModeFreeform, "gm everyone", 0, errChatter, ""},
		// No side word: the stop below the entry says long (unambiguous).
		{sources.ModeFreeform, "$TSLA Entry 250 SL 245", 1, nil, ""},
		{sources.ModeFreeform, "$TSLA Entry 250", 0, nil, "side"},
	}
	for _, tt := range tests {
		legs, err := parseSignal(tt.mode, tt.text)
		switch {
		case tt.err != nil:
			require.True(t, errors.Is(err, tt.err), "%s %q: %v", tt.mode, tt.text, err)
		case tt.reason != "":
			require.ErrorContains(t, err, tt.reason, "%s %q", tt.mode, tt.text)
		default:
			require.NoError(t, err, "%s %q", tt.mode, tt.text)
			require.Len(t, legs, tt.legs)
		}
	}
}

// A multi-entry message is one limit leg per entry price, nearest the
// market first, each carrying the message's stop and take-profit ladder.
func TestParseSignalEntryLadder(t *testing.T) {
	legs, err := parseSignal(sources.ModeFreeform, "BTC/USDT LONG Entry: 41000 - 42000 - 41500 SL 40000 TP1 44000 TP2 45000")
	require.NoError(t, err)
	require.Len(t, legs, 3)
	sum := decimal.Zero
	for i, want := range []string{"42000", "41500", "41000"} {
		l := legs[i]
		require.Equal(t, fmt.Sprintf("e%d", i+1), l.Key)
		require.Equal(t, i+1, l.Entry)
		require.Equal(t, 3, l.Entries)
		require.Equal(t, signal.OrderLimit, l.Signal.OrderType)
		require.True(t, l.Signal.LimitPrice.Equal(decimal.RequireFromString(want)), "leg %d price %s", i+1, l.Signal.LimitPrice)
		require.True(t, l.Signal.StopLossPrice.Equal(decimal.NewFromInt(40000)))
		require.Len(t, l.Signal.TakeProfitTargets, 2)
		sum = sum.Add(l.Share)
	}
	require.True(t, sum.Equal(decimal.NewFromInt(100)), "shares sum %s", sum)
}

func cmdWith(name string, opts map[string]any) *command {
	c := &command{name: name, opts: map[string]*discordgo.ApplicationCommandInteractionDataOption{}}
	for k, v := range opts {
		c.opts[k] = &discordgo.ApplicationCommandInteractionDataOption{Name: k, Value: v}
	}
	return c
}

func TestOrderTextUsesTheCommandGrammar(t *testing.T) {
	tests := []struct {
		name string
		opts map[string]any
		want string
		err  string
	}{
		{cmdBuy, map[string]any{"symbol": "AAPL", "quantity": "100"}, "/buy AAPL 100", ""},
		{cmdSell, map[string]any{"symbol": "BTC", "quantity": "0.5", "order_type": "limit", "price": "42000", "stop_loss": "2%"},
			"/sell BTC 0.5 @limit 42000 sl:2%", ""},
		{cmdBuy, map[string]any{"symbol": "$TSLA", "quantity": "10", "order_type": "stop_limit", "price": "251", "limit_price": "250",
			"take_profit": "270", "broker": "ibkr"}, "/buy $TSLA 10 @stop_limit 251 250 tp:270 broker:ibkr", ""},
		{cmdBuy, map[string]any{"symbol": "AAPL", "quantity": "1", "price": "5"}, "", "A market order takes no price"},
		{cmdBuy, map[string]any{"symbol": "AAPL", "quantity": "1 sl:1%"}, "", "Quantity must be a single value"},
		{cmdBuy, map[string]any{"symbol": "AAPL", "quantity": "1", "order_type": "limit", "price": "5", "limit_price": "4"}, "", "limit_price is only for stop_limit"},
	}
	for _, tt := range tests {
		got, err := orderText(cmdWith(tt.name, tt.opts))
		if tt.err != "" {
			require.ErrorContains(t, err, tt.err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tt.want, got)
	}
}

func TestRenderEvent(t *testing.T) {
	payload := func(msg string) string {
		return `{"trade":{"symbol":"AAPL","side":"buy","quantity":"10","broker":"alpaca"},"message":` + quote(msg) + `}`
	}
	tests := []struct{ typ, msg, want string }{
		{realtime.EventTradeFilled, "AAPL buy 10 @ $180.00 filled", "✅ AAPL buy 10 @ $180.00 filled · Alpaca"},
		{realtime.EventTradeRejected, "Insufficient buying power: $20,000 available, $50,000 required",
			"❌ Order rejected — AAPL buy 10: Insufficient buying power: $20,000 available, $50,000 required"},
		{realtime.EventTradeQueued, "Order queued for Monday 9:30am ET", "⏳ Order queued for Monday 9:30am ET — AAPL buy 10"},
		{realtime.EventTradeUpdated, "x", ""},
	}
	for _, tt := range tests {
		got := renderEvent(schema.OutboxEvent{Type: tt.typ, Payload: payload(tt.msg)})
		require.Equal(t, tt.want, got, tt.typ)
	}
	stop := func(status string) string {
		return `{"symbol":"AAPL","status":"` + status + `","side":"sell","quantity":"10","message":"AAPL stop-loss executed: 10 sold"}`
	}
	require.Equal(t, "🛑 Stop-loss triggered: AAPL stop-loss executed: 10 sold",
		renderEvent(schema.OutboxEvent{Type: realtime.EventRiskStopLoss, Payload: stop("triggered")}))
	require.Empty(t, renderEvent(schema.OutboxEvent{Type: realtime.EventRiskStopLoss, Payload: stop("active")}))
}

func quote(s string) string {
	b := []byte{'"'}
	for _, r := range s {
		if r == '"' || r == '\\' {
			b = append(b, '\\')
		}
		b = append(b, string(r)...)
	}
	return string(append(b, '"'))
}

func TestPermissions(t *testing.T) {
	roles := []*discordgo.Role{{ID: "g", Permissions: 1 << 10}, {ID: "mod", Permissions: permManageGuild}, {ID: "x", Permissions: permAdministrator}}
	require.Zero(t, permissions("g", nil, roles)&permManageGuild)
	require.NotZero(t, permissions("g", []string{"mod"}, roles)&permManageGuild)
	require.NotZero(t, permissions("g", []string{"x"}, roles)&permAdministrator)
}

func TestSummaryWords(t *testing.T) {
	require.Equal(t, "the provider's size", sizingWords(sources.DefaultSizing()))
	require.Equal(t, "$250 per entry", sizingWords(sources.Sizing{Mode: sources.SizingFixedAmount, FixedAmount: decimal.NewFromInt(250)}))
	require.Equal(t, "`abcdef12`", "`"+shortID("abcdef12-3456")+"`")
}
