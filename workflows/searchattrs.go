package workflows

import "go.temporal.io/sdk/temporal"

// Search attributes every TradeWorkflow carries so support staff can find
// "all of user X's AAPL trades yesterday" in the Temporal UI (DESIGN §3).
// They are registered on the server by `tradeexec dev` / the deploy setup.
var (
	SAUserID       = temporal.NewSearchAttributeKeyKeyword("UserId")
	SASymbol       = temporal.NewSearchAttributeKeyKeyword("Symbol")
	SABroker       = temporal.NewSearchAttributeKeyKeyword("Broker")
	SASignalSource = temporal.NewSearchAttributeKeyKeyword("SignalSource")
	SATradeStatus  = temporal.NewSearchAttributeKeyKeyword("TradeStatus")
)

// SearchAttributeNames lists the custom attributes (all Keyword).
var SearchAttributeNames = []string{"UserId", "Symbol", "Broker", "SignalSource", "TradeStatus"}
