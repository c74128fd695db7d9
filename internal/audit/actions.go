package audit

// Actions recorded in the audit log (FR-052, FR-053). Action names are
// UPPER_SNAKE_CASE; Append accepts any name of that shape so a new feature
// can add its own constant here.
const (
	// Trade lifecycle.
	ActionTradeCreated     = "TRADE_CREATED"
	ActionTradeSized       = "TRADE_SIZED"
	ActionTradeRejected    = "TRADE_REJECTED"
	ActionTradeQueued      = "TRADE_QUEUED"
	ActionTradeSubmitted   = "TRADE_SUBMITTED"
	ActionTradePartialFill = "TRADE_PARTIAL_FILL"
	ActionTradeExecuted    = "TRADE_EXECUTED"
	ActionStopLossPlaced   = "STOP_LOSS_PLACED"
	ActionOrderCancelled   = "ORDER_CANCELLED"
	ActionTradeFailed      = "TRADE_FAILED"
	ActionSignalReceived   = "SIGNAL_RECEIVED"
	// Approval mode (TradersPost's auto-submit off).
	ActionTradeAwaitingApproval = "TRADE_AWAITING_APPROVAL"
	ActionTradeApproved         = "TRADE_APPROVED"
	ActionTradeNotApproved      = "TRADE_NOT_APPROVED"
	// Take-profit: a native one-cancels-other pair with the stop, or
	// watched server-side (EMULATED says why there is no native pair).
	ActionTakeProfitEmulated  = "TAKE_PROFIT_EMULATED"
	ActionTakeProfitArmed     = "TAKE_PROFIT_ARMED"
	ActionTakeProfitTriggered = "TAKE_PROFIT_TRIGGERED"
	ActionTakeProfitFilled    = "TAKE_PROFIT_FILLED"
	ActionTakeProfitCancelled = "TAKE_PROFIT_CANCELLED"

	// Security events.
	ActionLoginSuccess              = "LOGIN_SUCCESS"
	ActionLoginFailed               = "LOGIN_FAILED"
	ActionLogout                    = "LOGOUT"
	ActionTokenRefreshed            = "TOKEN_REFRESHED"
	ActionPasswordChanged           = "PASSWORD_CHANGED"
	ActionCredentialsUpdated        = "CREDENTIALS_UPDATED"
	ActionBrokerConnected           = "BROKER_CONNECTED"
	ActionBrokerDisconnected        = "BROKER_DISCONNECTED"
	ActionBrokerUnhealthy           = "BROKER_UNHEALTHY"
	ActionBrokerRecovered           = "BROKER_RECOVERED"
	ActionBrokerDefaultsChanged     = "BROKER_DEFAULTS_CHANGED"
	ActionSessionHijackDetected     = "SESSION_HIJACK_DETECTED"
	ActionUnauthorizedAccessAttempt = "UNAUTHORIZED_ACCESS_ATTEMPT"
	ActionRiskSettingsChanged       = "RISK_SETTINGS_CHANGED"
)

// Entry statuses (FR-054).
const (
	StatusSuccess = "success"
	StatusFailure = "failure"
)

// AnonymousUserID is the chain for events without an authenticated user,
// e.g. LOGIN_FAILED for an unknown account. SystemUserID is the chain for
// actions taken by the system itself (schedules, key rotation).
const (
	AnonymousUserID = "anonymous"
	SystemUserID    = "system"
)

// ActionAuditExported: an administrator exported audit entries (the
// filters are in the details).
const ActionAuditExported = "AUDIT_EXPORTED"
