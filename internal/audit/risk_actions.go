package audit

// Risk actions (the account guard, stop-loss lifecycle, administrator
// unlock). RISK_SETTINGS_CHANGED is in actions.go.
const (
	ActionDailyLossWarning        = "DAILY_LOSS_WARNING"
	ActionDailyLossLimitReached   = "DAILY_LOSS_LIMIT_REACHED"
	ActionCircuitBreakerTriggered = "CIRCUIT_BREAKER_TRIGGERED"
	ActionAccountLocked           = "ACCOUNT_LOCKED"
	ActionAccountUnlocked         = "ACCOUNT_UNLOCKED"
	ActionPositionsFlattened      = "POSITIONS_FLATTENED"
	ActionStopLossAmended         = "STOP_LOSS_AMENDED"
	ActionStopLossCancelled       = "STOP_LOSS_CANCELLED"
	ActionStopLossReplaced        = "STOP_LOSS_REPLACED"
	ActionStopLossTriggered       = "STOP_LOSS_TRIGGERED"
	// ActionStopLossMoved: a take-profit ladder's leg filled and the stop
	// moved to breakeven or started trailing (once per ladder).
	ActionStopLossMoved = "STOP_LOSS_MOVED"
	ActionTradeHalted   = "TRADE_HALTED"
)
