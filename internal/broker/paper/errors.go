package paper

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// Name is the broker type of the paper broker.
const Name = "paper"

// ErrAccountNotFound is returned by a Store for an account id it does not
// hold.
var ErrAccountNotFound = errors.New("paper account not found")

// brokerErr builds a typed broker error with a factual message.
func brokerErr(kind broker.Kind, format string, args ...any) *broker.Error {
	return broker.NewError(Name, kind, fmt.Sprintf(format, args...), nil)
}

// storeErr maps a Store failure to a typed broker error. The cause is kept
// for logs; the message never includes it.
func storeErr(accountID string, err error) error {
	var be *broker.Error
	switch {
	case errors.As(err, &be):
		return err
	case errors.Is(err, ErrAccountNotFound):
		// The account id works as the connection's credential: never in a message.
		return broker.NewError(Name, broker.KindAuthFailed, "paper account does not exist", err)
	default:
		return broker.NewError(Name, broker.KindUnavailable, "paper account store is unavailable", err)
	}
}

// feedErr maps a PriceFeed failure to a typed broker error.
func feedErr(symbol string, err error) error {
	if errors.Is(err, ErrUnknownSymbol) {
		return broker.NewError(Name, broker.KindInvalidSymbol, "unknown symbol "+symbol, err)
	}
	return broker.NewError(Name, broker.KindUnavailable, "no price available for "+symbol, err)
}

// usd formats an amount of dollars for a message: "$20,000.00".
func usd(d decimal.Decimal) string {
	sign := ""
	if d.IsNegative() {
		sign = "-"
		d = d.Neg()
	}
	s := d.StringFixed(2)
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + "$" + b.String() + "." + frac
}
