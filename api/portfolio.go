package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tradeexec/tradeexec/internal/portfolio"
)

// getPortfolio: GET /api/v1/portfolio — value, cash, buying power and
// unrealized P&L across the caller's active broker connections (as last
// synced from the brokers), each account, and the open positions.
func (s *Server) getPortfolio(c *gin.Context) {
	subject, ok := s.subjectUserID(c, "Portfolio")
	if !ok {
		return
	}
	sum, positions, err := portfolio.Read(c.Request.Context(), s.DB, subject)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"portfolio": sum, "positions": positions})
}

// getPositions: GET /api/v1/positions — the caller's open positions.
func (s *Server) getPositions(c *gin.Context) {
	subject, ok := s.subjectUserID(c, "Position")
	if !ok {
		return
	}
	positions, err := portfolio.Positions(c.Request.Context(), s.DB, subject)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"positions": positions})
}

// getEquityCurve: GET /api/v1/portfolio/equity?days=30 — total equity over
// time (the dashboard's equity curve).
func (s *Server) getEquityCurve(c *gin.Context) {
	days := 30
	if v := c.Query("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 366 {
			s.fail(c, badRequest("days", "days must be a whole number from 1 to 366."))
			return
		}
		days = n
	}
	subject, ok := s.subjectUserID(c, "Portfolio")
	if !ok {
		return
	}
	points, err := portfolio.EquityCurve(c.Request.Context(), s.DB, subject, s.clock().Add(-time.Duration(days)*24*time.Hour))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"points": points})
}

// listPendingOrders: GET /api/v1/orders — the caller's orders that are
// not final (pending, queued for the open, working at the broker).
func (s *Server) listPendingOrders(c *gin.Context) {
	subject, ok := s.subjectUserID(c, "Trade")
	if !ok {
		return
	}
	orders, err := portfolio.PendingOrders(c.Request.Context(), s.DB, subject)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"orders": orders})
}
