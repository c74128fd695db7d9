package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/realtime"
)

// wsTicket: POST /api/v1/ws-ticket — a single-use ticket, valid 30 s, that
// opens one WebSocket (/ws?ticket=…) for the caller's session, so access
// tokens stay out of URLs and logs. The socket's authorization ends with
// the access token the ticket was issued under (token.expiring, then
// connection.reauth).
func (s *Server) wsTicket(c *gin.Context) {
	token, _, _ := s.accessToken(c)
	claims, err := s.Auth.Verify(auth.WithClient(c.Request.Context(), s.client(c)), token)
	if err != nil {
		s.fail(c, err)
		return
	}
	t, err := realtime.IssueTicket(c.Request.Context(), s.DB,
		realtime.Grant{UserID: claims.UserID, SessionID: claims.SessionID, ExpiresAt: claims.ExpiresAt}, s.clock())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"ticket": t.Ticket, "expiresAt": t.ExpiresAt, "url": "/ws?ticket=" + t.Ticket})
}
