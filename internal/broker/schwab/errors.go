package schwab

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// Error mapping: every failure leaves this package as a *broker.Error whose
// Message is safe to show to the trader (never a token, never a raw body).

const (
	msgUnavailable  = "Schwab temporarily unavailable"
	msgInsufficient = "Insufficient buying power at Schwab for this order."
	msgRateLimited  = "Schwab rate limit reached; the request will be retried."
	msgMarketClosed = "The market is closed for this order at Schwab."
	msgForbidden    = "Schwab refused access to this account. Reconnect Schwab in Settings → Brokers."
	msgHalted       = "Trading in this symbol is halted at Schwab; the order waits until trading resumes."
)

func newErr(kind broker.Kind, msg string, cause error) *broker.Error {
	return broker.NewError(Name, kind, msg, cause)
}

func invalidOrder(msg string) *broker.Error { return newErr(broker.KindInvalidOrder, msg, nil) }

func invalidSymbol(symbol string) *broker.Error {
	return newErr(broker.KindInvalidSymbol, "Schwab does not list "+symbol+" as a tradable stock.", nil)
}

// errorKind classifies a Schwab error text.
func errorKind(text string) (broker.Kind, bool) {
	t := strings.ToLower(text)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(t, s) {
				return true
			}
		}
		return false
	}
	switch {
	// A halted security (exchange halt, LULD pause), checked before the
	// closed-market texts a halt rejection may also contain. Schwab's
	// wording is assumed (see SetHalted in fake.go).
	case has("halted", "trading halt", "trading pause", "luld"):
		return broker.KindHalted, true
	case has("buying power", "available cash", "insufficient funds", "not enough funds"):
		return broker.KindInsufficientFunds, true
	case has("no such security", "invalid instrument", "unknown symbol", "invalid symbol") ||
		strings.Contains(t, "symbol") && has("not valid", "not found", "is invalid"):
		return broker.KindInvalidSymbol, true
	case has("market is closed", "outside of market hours", "not accepting orders"):
		return broker.KindMarketClosed, true
	case has("not found", "does not exist"):
		return broker.KindNotFound, true
	}
	return "", false
}

// mapError turns any error of the wire layer into a *broker.Error. what names
// the operation for rejections ("order", "cancel", ...).
func mapError(err error, what string) error {
	if err == nil {
		return nil
	}
	var be *broker.Error
	if errors.As(err, &be) {
		switch be.Kind {
		case broker.KindUnavailable:
			if be.Message == msgUnavailable {
				return be
			}
			return &broker.Error{Kind: be.Kind, Broker: Name, Message: msgUnavailable, Err: be}
		case broker.KindRateLimited:
			return &broker.Error{Kind: be.Kind, Broker: Name, Message: msgRateLimited, RetryAfter: be.RetryAfter, Err: be}
		}
		return be
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		return newErr(broker.KindUnavailable, msgUnavailable, err)
	}
	switch ae.Status {
	case http.StatusUnauthorized:
		return newErr(broker.KindAuthFailed, msgReconsent, ae)
	case http.StatusForbidden:
		return newErr(broker.KindAuthFailed, msgForbidden, ae)
	case http.StatusNotFound:
		return newErr(broker.KindNotFound, "Schwab could not find the "+what+".", ae)
	}
	if kind, ok := errorKind(ae.Message); ok {
		msg := ""
		switch kind {
		case broker.KindInsufficientFunds:
			msg = msgInsufficient
		case broker.KindInvalidSymbol:
			msg = "Schwab does not know this symbol."
		case broker.KindMarketClosed:
			msg = msgMarketClosed
		case broker.KindHalted:
			msg = msgHalted
		case broker.KindNotFound:
			msg = "Schwab could not find the " + what + "."
		}
		return newErr(kind, msg, ae)
	}
	if what == "order" {
		return newErr(broker.KindRejected, "Schwab rejected the order: "+clip(ae.Message), ae)
	}
	return newErr(broker.KindInvalidOrder, "Schwab refused the "+what+": "+clip(ae.Message), ae)
}

// clip bounds a broker text shown to a trader.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
