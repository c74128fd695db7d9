package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tradeexec/tradeexec/internal/leaderboard"
)

// leaderboardRoutes: the copy-trading leaderboards (issue 17, SPEC
// US-011 #3) and a leader's equity curve (privacy of #5).
func (s *Server) leaderboardRoutes(v1 apiRoutes) {
	v1.GET("/leaderboards", allow(trader, support, admin), s.listLeaderboard)
	v1.GET("/leaders/:id/equity", allow(trader, support, admin), s.leaderEquity)
}

// errLeaderPrivate answers for a leader the caller may not see: the same
// status and code as a missing id (nothing tells a private leader from no
// leader), with the sentence the dashboard shows.
var errLeaderPrivate = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "Profile Private"}

func (s *Server) leaderboardPeriod(c *gin.Context) (leaderboard.Period, bool) {
	v := c.DefaultQuery("period", string(leaderboard.Period30d))
	p, err := leaderboard.ParsePeriod(v)
	if err != nil {
		s.fail(c, badRequest("period", "period must be one of 7d, 30d, 90d."))
		return "", false
	}
	return p, true
}

// positiveQuery reads a whole-number query parameter in [1, max] (def when
// absent).
func (s *Server) positiveQuery(c *gin.Context, name string, def, max int) (int, bool) {
	v, ok := c.GetQuery(name)
	if !ok {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		s.fail(c, badRequest(name, name+" must be a whole number from 1 to "+strconv.Itoa(max)+"."))
		return 0, false
	}
	return n, true
}

// listLeaderboard: GET /api/v1/leaderboards?period=7d|30d|90d&sort=return|
// winrate|drawdown|sharpe|followers&page=&page_size= — one page of the
// ranked opted-in public leaders (defaults: 30d, return, page 1, 25 a page).
func (s *Server) listLeaderboard(c *gin.Context) {
	p, ok := s.leaderboardPeriod(c)
	if !ok {
		return
	}
	sort, err := leaderboard.ParseSort(c.Query("sort"))
	if err != nil {
		s.fail(c, badRequest("sort", "sort must be one of return, winrate, drawdown, sharpe, followers."))
		return
	}
	page, ok := s.positiveQuery(c, "page", 1, 100000)
	if !ok {
		return
	}
	size, ok := s.positiveQuery(c, "page_size", leaderboard.DefaultPageSize, leaderboard.MaxPageSize)
	if !ok {
		return
	}
	out, err := leaderboard.List(c.Request.Context(), s.DB, leaderboard.Query{Period: p, Sort: sort, Page: page, PageSize: size})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// leaderEquity: GET /api/v1/leaders/:id/equity?period=30d — the leader's
// equity curve from their recorded fills, for whoever may see the profile
// (public and opted in; followers-only to followers; the leader); 404
// "Profile Private" otherwise.
func (s *Server) leaderEquity(c *gin.Context) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		s.fail(c, errLeaderPrivate)
		return
	}
	p, ok := s.leaderboardPeriod(c)
	if !ok {
		return
	}
	out, err := leaderboard.Equity(c.Request.Context(), s.DB, c.GetString(ctxUserID), id, p, s.clock())
	if errors.Is(err, leaderboard.ErrProfilePrivate) {
		s.fail(c, errLeaderPrivate)
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}
