package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tradeexec/tradeexec/internal/auth"
)

// Password reset by e-mail (FR-029). The request answers the same whether
// or not the address has an account (no enumeration); the link is mailed
// by the mail relay after commit.

var errResetInvalid = &Error{Status: http.StatusBadRequest, Code: "reset_invalid",
	Message: "This reset link is invalid, already used or expired. Ask for a new one."}

const resetRequestedMessage = "If an account exists for this address, we sent it a link to reset the password. The link works once, for 30 minutes."

type forgotRequest struct {
	Email string `json:"email"`
}

// forgotPassword: POST /auth/password/forgot {"email"}.
func (s *Server) forgotPassword(c *gin.Context) {
	var req forgotRequest
	if !s.bindJSON(c, &req) {
		return
	}
	if len(req.Email) > 320 {
		s.fail(c, badRequest("email", "email must have at most 320 characters."))
		return
	}
	if err := s.Auth.RequestPasswordReset(c.Request.Context(), req.Email, s.client(c)); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"message": resetRequestedMessage})
}

type resetRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// resetPassword: POST /auth/password/reset {"token", "password"}; every
// session of the account ends.
func (s *Server) resetPassword(c *gin.Context) {
	var req resetRequest
	if !s.bindJSON(c, &req) {
		return
	}
	err := s.Auth.ResetPassword(c.Request.Context(), req.Token, req.Password, s.client(c))
	switch {
	case errors.Is(err, auth.ErrResetInvalid):
		s.fail(c, errResetInvalid)
	case err != nil:
		s.fail(c, err)
	default:
		c.JSON(http.StatusOK, gin.H{"message": "Your password was reset and every session signed out. Sign in with the new password."})
	}
}
