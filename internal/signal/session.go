package signal

import "fmt"

// TimeInForce is how long an order works (TradersPost's timeInForce). The
// zero value is the default: day for stocks, good-till-cancelled for crypto
// (which trades around the clock; "day" on crypto means the same).
type TimeInForce string

const (
	TIFDefault TimeInForce = ""
	TIFDay     TimeInForce = "day"
	TIFGTC     TimeInForce = "gtc" // good till cancelled
	TIFIOC     TimeInForce = "ioc" // immediate or cancel: fill what fills now, cancel the rest
	TIFFOK     TimeInForce = "fok" // fill or kill: fill all now or nothing
	TIFOPG     TimeInForce = "opg" // at the opening auction
	TIFCLS     TimeInForce = "cls" // at the closing auction
)

var timesInForce = []string{string(TIFDay), string(TIFGTC), string(TIFIOC), string(TIFFOK), string(TIFOPG), string(TIFCLS)}

// Explicit reports whether the signal asks for a time in force other than
// the default.
func (t TimeInForce) Explicit() bool { return t != TIFDefault && t != TIFDay }

// validateSession checks the time in force and the extended-hours request
// against the order itself; whether the trader's broker executes them is
// decided by the broker's session table (internal/broker/session.go).
func (s Signal) validateSession() *ParseError {
	if s.TimeInForce != TIFDefault && !contains(timesInForce, string(s.TimeInForce)) {
		return errOneOf("timeInForce", timesInForce)
	}
	if s.Action == ActionCancel || s.Action == ActionExit {
		if s.TimeInForce.Explicit() {
			return errNotWithAction("timeInForce", s.Action)
		}
		if s.ExtendedHours {
			return errNotWithAction("extendedHours", s.Action)
		}
		return nil
	}
	switch s.TimeInForce {
	case TIFIOC, TIFFOK:
		if s.OrderType != OrderMarket && s.OrderType != OrderLimit {
			return perr("timeInForce", fmt.Sprintf("%s applies to market and limit orders, not %s orders", s.TimeInForce, s.OrderType))
		}
	case TIFOPG, TIFCLS:
		if s.AssetClass != AssetStock {
			return perr("timeInForce", fmt.Sprintf("%s (an exchange auction) applies to stocks only", s.TimeInForce))
		}
		if s.OrderType != OrderMarket && s.OrderType != OrderLimit {
			return perr("timeInForce", fmt.Sprintf("%s applies to market and limit orders, not %s orders", s.TimeInForce, s.OrderType))
		}
	}
	if s.ExtendedHours {
		if s.AssetClass != AssetStock {
			return perr("extendedHours", "applies to stocks only (crypto trades around the clock)")
		}
		if s.OrderType != OrderLimit {
			return perr("extendedHours", "needs a limit order (brokers take only limit orders outside regular hours)")
		}
		if s.TimeInForce.Explicit() {
			return perr("extendedHours", fmt.Sprintf("needs timeInForce day, not %s", s.TimeInForce))
		}
	}
	return nil
}
