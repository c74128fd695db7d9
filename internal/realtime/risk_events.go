package realtime

// Risk events (the account guard, internal/risk): the daily loss limit
// approached or reached, the circuit breaker locking the account, an
// administrator unlocking it, positions closed by the guard, a trader's risk
// settings changed, and the alert every administrator receives when an
// account is locked.
const (
	EventRiskWarning         = "risk.warning"
	EventRiskLocked          = "risk.locked"
	EventRiskUnlocked        = "risk.unlocked"
	EventRiskPositionsClosed = "risk.positionsClosed"
	EventRiskSettingsChanged = "risk.settingsChanged"
	EventRiskAdminAlert      = "risk.adminAlert"
	// EventRiskStopLoss: a position's protective stop changed outside a
	// trade (placed again after the broker dropped it, executed, cancelled).
	EventRiskStopLoss = "risk.stopLoss"
)
