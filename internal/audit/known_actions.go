package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// knownActions is every action name the code records, wherever its
// constant lives (internal/auth, billing/ledger, sources, api …), plus the
// SPEC's names (FR-052, FR-053). The administrators' query refuses any other
// name unless an entry with it was stored (an action since renamed).
// TestEveryRecordedActionIsKnown scans the source tree for action constants
// and fails when one is missing here.
var knownActions = []string{
	"COPY_TRADE_SENT", "COPY_TRADE_SKIPPED", "COPY_TRADING_PAUSED", "COPY_SETTINGS_CHANGED",
	"COPY_FOLLOW_APPROVED", "COPY_FOLLOW_DENIED", "COPY_UNFOLLOWED",
	"ACCOUNT_LOCKED", "ACCOUNT_UNLOCKED", "AUDIT_EXPORTED", "COMPLIANCE_REPORT_GENERATED", "BILLING_WEBHOOK_REJECTED", "BROKER_CONNECTED",
	"BROKER_DEFAULTS_CHANGED", "BROKER_DISCONNECTED", "BROKER_RECOVERED", "BROKER_UNHEALTHY",
	"CIRCUIT_BREAKER_TRIGGERED", "CREDENTIALS_UPDATED", "DAILY_LOSS_LIMIT_REACHED", "DAILY_LOSS_WARNING",
	"FUNDS_DEPOSITED", "FUNDS_WITHDRAWN",
	"LOGIN_FAILED", "LOGIN_SUCCESS", "LOGOUT", "ORDER_CANCELLED", "ORDER_CANCEL_REQUESTED",
	"PASSWORD_CHANGED", "PASSWORD_RESET", "PASSWORD_RESET_REQUESTED", "POSITIONS_FLATTENED",
	"RISK_SETTINGS_CHANGED", "SECURITY_ALERT", "SESSION_HIJACK_DETECTED", "SESSION_REVOKED",
	"SIGNAL_RECEIVED", "SIGNAL_SKIPPED", "SOURCE_REASSIGNED", "SOURCE_UNVERIFIED",
	"STOP_LOSS_AMENDED", "STOP_LOSS_CANCELLED", "STOP_LOSS_PLACED", "STOP_LOSS_REPLACED", "STOP_LOSS_TRIGGERED",
	"SUBSCRIPTION_CANCELLED", "SUBSCRIPTION_CANCEL_SCHEDULED", "SUBSCRIPTION_CHANGED", "SUBSCRIPTION_CHARGED",
	"SUBSCRIPTION_CREATED", "SUBSCRIPTION_PAYMENT_FAILED", "SUBSCRIPTION_REFUNDED", "SUBSCRIPTION_REFUND_ISSUED",
	"SUBSCRIPTION_SUSPENDED", "SUPPORT_DATA_ACCESSED",
	"TAKE_PROFIT_ARMED", "TAKE_PROFIT_CANCELLED", "TAKE_PROFIT_FILLED", "TAKE_PROFIT_TRIGGERED",
	"TOKEN_REFRESHED", "TRADE_APPROVED", "TRADE_AWAITING_APPROVAL", "TRADE_CREATED", "TRADE_EXECUTED",
	"TRADE_FAILED", "TRADE_HALTED", "TRADE_NOT_APPROVED", "TRADE_PARTIAL_FILL", "TRADE_QUEUED",
	"TRADE_REJECTED", "TRADE_SIZED", "TRADE_SUBMITTED", "UNAUTHORIZED_ACCESS_ATTEMPT", "USER_REGISTERED",
	"WEBHOOK_LOCKED", "WEBHOOK_PASSPHRASE_FAILED", "WEBHOOK_URL_CREATED",
	// Key lifecycle, tamper-evidence alerts, take-profit ladders and pairs.
	"SECURITY_ALERT_ACKNOWLEDGED", "SIGNING_KEY_RETIRED", "SIGNING_KEY_REVOKED", "SIGNING_KEY_ROTATED",
	"STOP_LOSS_MOVED", "TAKE_PROFIT_EMULATED", "USER_SESSIONS_REVOKED", "VAULT_KEY_CREATED",
	"VAULT_KEY_REENCRYPTED", "VAULT_KEY_RETIRED", "VAULT_KEY_RETIRE_SKIPPED",
	// Administrators' A/B experiments (internal/experiments).
	"EXPERIMENT_CREATED", "EXPERIMENT_STARTED", "EXPERIMENT_STOPPED",
	// Support contacts with traders (internal/analytics/churn).
	"SUPPORT_CONTACT_RECORDED",
}

func init() { slices.Sort(knownActions) }

// KnownActions returns every known action name, sorted.
func KnownActions() []string { return slices.Clone(knownActions) }

// KnownAction reports whether name is an action the code records, or one
// an entry was stored with.
func KnownAction(ctx context.Context, db *gorm.DB, name string) (bool, error) {
	if _, ok := slices.BinarySearch(knownActions, name); ok {
		return true, nil
	}
	var row schema.AuditLog
	err := db.WithContext(ctx).Select("id").Where("action = ?", name).Limit(1).Take(&row).Error
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("audit: look up action: %w", err)
	}
}
