package broker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// More times in force (TradersPost's vocabulary).
const (
	TIFFOK TimeInForce = "fok" // fill or kill
	TIFOPG TimeInForce = "opg" // at the opening auction
	TIFCLS TimeInForce = "cls" // at the closing auction
)

// Session is what a broker executes of an order's time in force and
// trading session. The default time in force (day for stocks, gtc for
// crypto) is always executed; the lists name the explicit ones. Each
// adapter's converter maps exactly these to its wire values and refuses the
// rest (its tests walk the table), so a signal is refused before it is
// sent when its broker cannot carry it out, never sent as something else.
type Session struct {
	Stock []TimeInForce
	// CryptoLimit apply to crypto limit orders, CryptoMarket to crypto
	// market orders (which fill at once; most exchanges take no time in
	// force on them).
	CryptoLimit, CryptoMarket []TimeInForce
	// ExtendedHours: stock limit day orders in the pre- and after-market.
	ExtendedHours bool
}

// sessions by broker type; a broker missing here executes the defaults only.
var sessions = map[string]Session{
	"paper": {Stock: []TimeInForce{TIFGTC, TIFIOC, TIFFOK}, CryptoLimit: []TimeInForce{TIFGTC, TIFIOC, TIFFOK},
		CryptoMarket: []TimeInForce{TIFGTC, TIFIOC, TIFFOK}, ExtendedHours: true},
	// docs.alpaca.markets: day, gtc, opg, cls, ioc, fok; crypto gtc, ioc;
	// extended_hours with limit + day.
	"alpaca": {Stock: []TimeInForce{TIFGTC, TIFIOC, TIFFOK, TIFOPG, TIFCLS}, CryptoLimit: []TimeInForce{TIFGTC, TIFIOC},
		CryptoMarket: []TimeInForce{TIFGTC, TIFIOC}, ExtendedHours: true},
	// IBKR Client Portal: tif DAY, GTC, IOC, OPG; outsideRTH.
	"ibkr": {Stock: []TimeInForce{TIFGTC, TIFIOC, TIFOPG}, ExtendedHours: true},
	// Schwab Trader API: duration DAY, GOOD_TILL_CANCEL, IMMEDIATE_OR_CANCEL,
	// FILL_OR_KILL; session SEAMLESS.
	"schwab": {Stock: []TimeInForce{TIFGTC, TIFIOC, TIFFOK}, ExtendedHours: true},
	// Coinbase Advanced: limit_limit_gtc, sor_limit_ioc; market orders are
	// market_market_ioc. (limit_limit_fok exists; not sent yet, so refused.)
	"coinbase": {CryptoLimit: []TimeInForce{TIFGTC, TIFIOC}, CryptoMarket: []TimeInForce{TIFIOC}},
	// Kraken AddOrder timeinforce GTC, IOC (limit orders).
	"kraken": {CryptoLimit: []TimeInForce{TIFGTC, TIFIOC}},
	// Binance spot LIMIT timeInForce GTC, IOC, FOK; MARKET takes none.
	"binance": {CryptoLimit: []TimeInForce{TIFGTC, TIFIOC, TIFFOK}},
}

// SessionOf is the broker's session table entry.
func SessionOf(brokerType string) Session { return sessions[brokerType] }

// explicit lists the times in force executed for such an order besides the default.
func (s Session) explicit(class signal.AssetClass, orderType signal.OrderType) []TimeInForce {
	switch {
	case class == signal.AssetStock:
		return s.Stock
	case orderType == signal.OrderMarket:
		return s.CryptoMarket
	default:
		return s.CryptoLimit
	}
}

// Executes reports whether the broker executes an explicit time in force for
// such an order (the default always is).
func (s Session) Executes(class signal.AssetClass, orderType signal.OrderType, tif TimeInForce) bool {
	if tif == "" || tif == TIFDay || class == signal.AssetCrypto && tif == TIFGTC {
		return true // the default: day; crypto trades around the clock, so gtc
	}
	return slices.Contains(s.explicit(class, orderType), tif)
}

// SessionError refuses a time in force or extended hours the trader's
// broker does not execute; Field is the signal's field.
type SessionError struct {
	Field   string
	Message string
}

func (e *SessionError) Error() string { return e.Message }

// CheckSession reports whether brokerType executes the signal's time in
// force and extended-hours request for its order (nil when it does). The
// order itself was validated by signal.Validate.
func CheckSession(brokerType, brokerName string, s signal.Signal) *SessionError {
	tif := TimeInForce(s.TimeInForce)
	sess := sessions[brokerType]
	if s.TimeInForce.Explicit() && !sess.Executes(s.AssetClass, s.OrderType, tif) {
		return &SessionError{Field: "timeInForce", Message: fmt.Sprintf(
			"%s does not execute timeInForce %s for %s %s orders (it does: %s). Order not submitted.",
			brokerName, tif, s.AssetClass, s.OrderType, list(sess.explicit(s.AssetClass, s.OrderType)))}
	}
	if s.ExtendedHours && !sess.ExtendedHours {
		return &SessionError{Field: "extendedHours", Message: fmt.Sprintf(
			"%s does not execute extended-hours orders. Order not submitted.", brokerName)}
	}
	return nil
}

func list(tifs []TimeInForce) string {
	out := []string{"the default"}
	for _, t := range tifs {
		out = append(out, string(t))
	}
	return strings.Join(out, ", ")
}

// TimeInForceFor is the order's time in force: the signal's, else the
// default (day for stocks, gtc for crypto).
func TimeInForceFor(s signal.TimeInForce, class signal.AssetClass) TimeInForce {
	if s.Explicit() {
		return TimeInForce(s)
	}
	if class == signal.AssetCrypto {
		return TIFGTC
	}
	return TIFDay
}
