package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tradeexec/tradeexec/internal/performance"
)

// performanceRoutes: the trader's own performance (FR-049).
func (s *Server) performanceRoutes(v1 apiRoutes) {
	v1.GET("/performance", allow(trader, support), s.getPerformance)
}

// getPerformance: GET /api/v1/performance — the caller's win rate,
// realized and unrealized P&L, average and largest win and loss and
// maximum drawdown, overall, per signal source and per symbol. A trader
// reads their own only (user_id of another is 403); support names the
// trader and the read is audited, as for the portfolio.
func (s *Server) getPerformance(c *gin.Context) {
	subject, ok := s.subjectUserID(c, "Performance")
	if !ok {
		return
	}
	sum, err := performance.Read(c.Request.Context(), s.DB, subject)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"performance": sum})
}
