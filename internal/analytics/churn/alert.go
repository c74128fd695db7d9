package churn

import (
	"fmt"
	"math"
)

// ReasonText phrases one reason for an administrator (US-005 #2: "Last
// login 14 days ago"). Reasons hold the model's feature values, so counts
// and days are recovered from their log1p scale (rounded to whole units);
// trends say which way activity went.
func ReasonText(r Reason) string {
	n := int64(math.Round(math.Expm1(math.Max(0, r.Value))))
	plural := func(n int64, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("1 %s", one)
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	switch r.Feature {
	case FDaysInactive:
		return "Last login or trade " + plural(n, "day", "days") + " ago"
	case FSessions30:
		return plural(n, "login", "logins") + " in the last 30 days"
	case FTrades30:
		return plural(n, "trade", "trades") + " in the last 30 days"
	case FSessionTrend:
		if r.Value < 0 {
			return "Fewer logins than the month before"
		}
		return "Logins changed from the month before"
	case FTradeTrend:
		if r.Value < 0 {
			return "Fewer trades than the month before"
		}
		return "Trades changed from the month before"
	case FFailedPayments:
		return plural(int64(math.Round(r.Value)), "failed payment", "failed payments") + " in 90 days"
	case FSources:
		return plural(int64(math.Round(r.Value)), "signal source", "signal sources") + " followed"
	case FPastDue:
		return "Payment past due"
	case FCancelSched:
		return "Cancellation scheduled"
	case FTenure:
		return plural(n, "month", "months") + " since sign-up"
	case FPlan:
		return "Plan tier"
	case FRealizedPnL:
		if r.Value < 0 {
			return "Losing money on trades"
		}
		return "Realised P&L"
	}
	return r.Feature
}

// AlertText is the admin alert of a trader at risk: "User <id> at risk
// (85%): Last login or trade 14 days ago", the top reason phrased.
func AlertText(userID string, score float64, reasons []Reason) string {
	s := fmt.Sprintf("User %s at risk (%.0f%%)", userID, score*100)
	if len(reasons) > 0 {
		s += ": " + ReasonText(reasons[0])
	}
	return s
}
