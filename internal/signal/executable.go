package signal

// Unexecuted refuses a signal that asks for something the order path does
// not carry out yet, rather than sending the order without it (a trader
// who asked for a take-profit must not get a position without one). Every
// entry point calls it before anything is stored — the webhook, slash
// commands, and a channel message before its fan-out (the dashboard's
// order form has no take-profit) — not intake, so a fan-out already
// running is never stuck on it.
func Unexecuted(s Signal) *ParseError {
	if s.TakeProfitPercent.IsPositive() || s.TakeProfitPrice.IsPositive() {
		return errTakeProfitNotExecuted()
	}
	return nil
}
