package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// This file is the one place where the API turns errors into answers. Bodies
// are {"error": code, "message": sentence[, "field": name]}: the sentence is
// for a trader, the code for a script; neither carries internals.

// Error is an API failure with its HTTP status.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

var (
	errUnauthorized = &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "Authentication required."}
	errNotFound     = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "Not found."}
	errUnknownHook  = &Error{Status: http.StatusNotFound, Code: "unknown_webhook", Message: "Unknown webhook URL. Copy the current URL from Settings → Signal sources."}
	errBadPassword  = &Error{Status: http.StatusUnauthorized, Code: "invalid_passphrase", Message: "The alert's passphrase does not match this webhook."}
	errTooLarge     = &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: "Request body is too large."}
	errUnavailable  = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "The service is temporarily unavailable. Please retry in a few seconds."}
	errInternal     = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "Something went wrong on our side. It has been logged."}
)

func badRequest(field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Field: field, Message: msg}
}

// fail answers with err; unexpected errors are logged with the request id
// and answered with a generic 500.
func (s *Server) fail(c *gin.Context, err error) {
	var ae *Error
	var pe *signal.ParseError
	switch {
	case errors.As(err, &ae):
	case authError(err) != nil:
		ae = authError(err)
	case errors.As(err, &pe):
		ae = &Error{Status: http.StatusBadRequest, Code: "invalid_signal", Field: pe.Field, Message: pe.Error()}
	default:
		s.log(c).Error("request failed", zap.Error(err))
		ae = errInternal
	}
	body := gin.H{"error": ae.Code, "message": ae.Message}
	if ae.Field != "" {
		body["field"] = ae.Field
	}
	c.AbortWithStatusJSON(ae.Status, body)
}
