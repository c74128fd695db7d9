package ibkr

import (
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"unicode"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// Error mapping: every failure leaves this package as a *broker.Error whose
// Message is safe to show to the trader.

// Messages shown to traders.
const (
	msgUnavailable   = "Interactive Brokers temporarily unavailable"
	msgNotLoggedIn   = "IB Gateway is not logged in. Log in to IB Gateway (with two-factor authentication) and try again."
	msgIPRefused     = "IB Gateway refused this server. Whitelist the server IP in the gateway configuration."
	msgUntrustedCert = "IB Gateway's certificate is not trusted. Add the gateway certificate's SHA-256 fingerprint in Settings → Brokers."
	msgInsufficient  = "Insufficient buying power at Interactive Brokers for this order."
	msgMarketClosed  = "The market is closed for this order at Interactive Brokers."
	msgRateLimited   = "Interactive Brokers rate limit reached; the request will be retried."
	msgOrderNotFound = "Interactive Brokers has no such order."
	msgHalted        = "Trading in this symbol is halted at Interactive Brokers; the order waits until trading resumes."
)

func newErr(kind broker.Kind, msg string, cause error) *broker.Error {
	return broker.NewError(Name, kind, msg, cause)
}

func invalidOrder(msg string) *broker.Error { return newErr(broker.KindInvalidOrder, msg, nil) }

func invalidSymbol(symbol string) *broker.Error {
	return newErr(broker.KindInvalidSymbol, "Interactive Brokers does not list "+symbol+" as a tradable stock.", nil)
}

// errorKind classifies a gateway error text. ok is false when the text says
// nothing the kinds express.
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
	// A halted contract (exchange halt, LULD pause): checked before the
	// closed-market texts, which a halt message may also contain. The
	// gateway's wording is assumed (see SetHalted in fake.go).
	case has("halted", "trading halt", "trading pause", "luld"):
		return broker.KindHalted, true
	case has("not authenticated", "no bridge", "please log in", "session is not"):
		return broker.KindAuthFailed, true
	case has("equity with loan value", "initial margin", "insufficient", "available funds", "buying power", "not enough cash"):
		return broker.KindInsufficientFunds, true
	case has("no symbol found", "invalid symbol", "no security definition", "contract not found", "invalid conid", "unknown contract"):
		return broker.KindInvalidSymbol, true
	case has("market is closed", "exchange is closed", "not open for trading", "outside of regular trading hours"):
		return broker.KindMarketClosed, true
	case has("not found", "doesn't exist", "does not exist", "no such order"):
		return broker.KindNotFound, true
	}
	return "", false
}

// isDuplicateCOID reports the gateway's refusal of a reused client order id.
func isDuplicateCOID(text string) bool {
	t := strings.ToLower(text)
	return strings.Contains(t, "already registered") || strings.Contains(t, "duplicate order id") ||
		strings.Contains(t, "duplicate coid")
}

// needsAccountsQuery reports the gateway's demand that /iserver/accounts be
// called first in this brokerage session.
func needsAccountsQuery(text string) bool {
	return strings.Contains(strings.ToLower(text), "query /accounts first")
}

// mapError turns any error of the wire layer into a *broker.Error. what says
// what was being done, for rejections ("order", "cancel", ...).
func mapError(err error, what string) error {
	if err == nil {
		return nil
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return newErr(broker.KindAuthFailed, msgUntrustedCert, err)
	}
	var be *broker.Error
	if errors.As(err, &be) {
		switch be.Kind {
		case broker.KindUnavailable:
			return &broker.Error{Kind: be.Kind, Broker: Name, Message: msgUnavailable, Err: be}
		case broker.KindRateLimited:
			return &broker.Error{Kind: be.Kind, Broker: Name, Message: msgRateLimited, RetryAfter: be.RetryAfter, Err: be}
		}
		return err
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		return newErr(broker.KindUnavailable, msgUnavailable, err)
	}
	switch ae.Status {
	case http.StatusUnauthorized:
		return newErr(broker.KindAuthFailed, msgNotLoggedIn, ae)
	case http.StatusForbidden:
		return newErr(broker.KindAuthFailed, msgIPRefused, ae)
	case http.StatusNotFound:
		return newErr(broker.KindNotFound, "Interactive Brokers could not find the "+what+".", ae)
	}
	if kind, ok := errorKind(ae.Message); ok {
		msg := ""
		switch kind {
		case broker.KindAuthFailed:
			msg = msgNotLoggedIn
		case broker.KindInsufficientFunds:
			msg = msgInsufficient
		case broker.KindMarketClosed:
			msg = msgMarketClosed
		case broker.KindHalted:
			msg = msgHalted
		case broker.KindInvalidSymbol:
			msg = "Interactive Brokers does not know this symbol."
		case broker.KindNotFound:
			msg = "Interactive Brokers could not find the " + what + "."
		}
		return newErr(kind, msg, ae)
	}
	if what == "order" {
		return newErr(broker.KindRejected, withReason("Interactive Brokers rejected the order", ae.Message), ae)
	}
	return newErr(broker.KindInvalidOrder, withReason("Interactive Brokers refused the "+what, ae.Message), ae)
}

// withReason appends the gateway's own (JSON) reason, cleaned, to a
// sentence; with none it is the sentence alone.
func withReason(sentence, reason string) string {
	if r := clip(reason); r != "" {
		return sentence + ": " + r
	}
	return sentence + "."
}

// clip bounds a broker text shown to a trader: printable characters only
// (no markup or control characters from the gateway), at most 200.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '<' || r == '>' || !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
