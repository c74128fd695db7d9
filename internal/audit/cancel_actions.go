package audit

// Cancelling orders (a cancel signal or a cancel from the dashboard).
const (
	// ActionOrderCancelRequested: a cancel reached an order working at the
	// broker; ORDER_CANCELLED (or TRADE_EXECUTED, when it filled first)
	// follows with the outcome.
	ActionOrderCancelRequested = "ORDER_CANCEL_REQUESTED"
)
