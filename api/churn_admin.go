package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tradeexec/tradeexec/internal/analytics/churn"
)

// churnRoutes: the churn scores for administrators (issue 16).
func (s *Server) churnRoutes(v1 apiRoutes) {
	v1.GET("/admin/analytics/churn", allow(admin), s.churnScores)
}

const (
	churnDefaultLimit = 500
	churnMaxLimit     = 10000
)

type churnModelView struct {
	Version   int64            `json:"version"`
	Algorithm string           `json:"algorithm"`
	TrainedOn string           `json:"trainedOn"`
	CreatedAt time.Time        `json:"createdAt"`
	Metrics   churn.Evaluation `json:"metrics"`
}

// churnScores: GET /api/v1/admin/analytics/churn?limit=&format=json|csv —
// the newest score of each trader, riskiest first, with its top reasons,
// and the newest model version with its training and held-out metrics.
func (s *Server) churnScores(c *gin.Context) {
	limit := churnDefaultLimit
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > churnMaxLimit {
			s.fail(c, badRequest("limit", "limit must be a whole number from 1 to 10000."))
			return
		}
		limit = n
	}
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "csv" {
		s.fail(c, badRequest("format", "format must be json or csv."))
		return
	}
	ctx := c.Request.Context()
	views, err := churn.ListScores(ctx, s.DB, limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	if format == "csv" {
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Header("Content-Disposition", `attachment; filename="churn-scores.csv"`)
		c.Status(http.StatusOK)
		if err := churn.WriteCSV(c.Writer, views); err != nil {
			s.log(c).Warn("churn csv export cut short")
		}
		return
	}
	body := gin.H{"scores": views, "alertThreshold": churn.AlertThreshold, "model": nil}
	sm, err := churn.LatestModel(ctx, s.DB)
	switch {
	case errors.Is(err, churn.ErrNoModel):
	case err != nil:
		s.fail(c, err)
		return
	default:
		body["model"] = churnModelView{Version: sm.Row.Version, Algorithm: sm.Row.Algorithm, TrainedOn: sm.Row.TrainedOn,
			CreatedAt: sm.Row.CreatedAt.UTC(), Metrics: sm.Evaluation}
	}
	c.JSON(http.StatusOK, body)
}
