package api

import (
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/experiments"
	"github.com/tradeexec/tradeexec/internal/store"
)

// experimentRoutes: the upgrade prompt's exposure (traders) and the
// experiments' results (admins only).
func (s *Server) experimentRoutes(v1 apiRoutes) {
	v1.POST("/experiments/upgrade-prompt/exposure", allow(trader), s.upgradePromptExposure)
	v1.GET("/admin/experiments", allow(admin), s.listExperiments)
	v1.POST("/admin/experiments", allow(admin), s.createExperiment)
	v1.POST("/admin/experiments/:id/start", allow(admin), s.setExperimentStatus(experiments.StatusRunning))
	v1.POST("/admin/experiments/:id/stop", allow(admin), s.setExperimentStatus(experiments.StatusStopped))
}

// experimentError maps the experiments' typed errors to answers.
func (s *Server) experimentError(c *gin.Context, err error) {
	var ve *experiments.ValidationError
	switch {
	case errors.As(err, &ve):
		s.fail(c, badRequest(ve.Field, ve.Message))
	case errors.Is(err, experiments.ErrExists):
		s.fail(c, &Error{Status: http.StatusConflict, Code: "experiment_exists", Field: "id", Message: "An experiment with this id exists."})
	case errors.Is(err, experiments.ErrBadTransition):
		s.fail(c, &Error{Status: http.StatusConflict, Code: "bad_status",
			Message: "Only a draft or stopped experiment can be started, and only a running one stopped."})
	case errors.Is(err, experiments.ErrUnknownExperiment):
		s.fail(c, errNotFound)
	default:
		s.fail(c, err)
	}
}

// createExperiment: POST /api/v1/admin/experiments {id, name, description,
// variants:[{name, weight}]} — a draft experiment (201), audited
// EXPERIMENT_CREATED. Start it with POST …/:id/start.
func (s *Server) createExperiment(c *gin.Context) {
	var req experiments.NewExperiment
	if err := c.ShouldBindJSON(&req); err != nil {
		s.fail(c, badRequest("body", "The body must be JSON: {id, name, description, variants: [{name, weight}]}."))
		return
	}
	if err := store.InTx(c.Request.Context(), s.DB, func(tx *gorm.DB) error {
		return experiments.Create(tx, req, c.GetString(ctxUserID), s.clock())
	}); err != nil {
		s.experimentError(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"id": req.ID, "status": experiments.StatusDraft})
}

// setExperimentStatus: POST /api/v1/admin/experiments/:id/start|stop —
// audited EXPERIMENT_STARTED / EXPERIMENT_STOPPED; 409 for a change the
// status does not allow.
func (s *Server) setExperimentStatus(status string) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.Param("id")
		if err := store.InTx(c.Request.Context(), s.DB, func(tx *gorm.DB) error {
			return experiments.SetStatus(tx, id, status, c.GetString(ctxUserID))
		}); err != nil {
			s.experimentError(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"id": id, "status": status})
	}
}

// upgradePromptExposure: POST /api/v1/experiments/upgrade-prompt/exposure —
// the dashboard is about to show the free plan's upgrade prompt: the
// exposure is recorded (once per trader) and the variant to show returned.
func (s *Server) upgradePromptExposure(c *gin.Context) {
	v, err := experiments.Expose(c.Request.Context(), s.DB, experiments.UpgradePrompt, c.GetString(ctxUserID), s.clock())
	if errors.Is(err, experiments.ErrUnknownExperiment) {
		s.fail(c, errNotFound)
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"experiment": experiments.UpgradePrompt, "variant": v})
}

// listExperiments: GET /api/v1/admin/experiments[?format=csv] — every
// experiment with exposures, conversions, conversion rate per variant and
// each variant's two-proportion z-test against the control (lift with its
// 95% interval, z, two-sided p-value).
func (s *Server) listExperiments(c *gin.Context) {
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "csv" {
		s.fail(c, badRequest("format", "format must be json or csv."))
		return
	}
	res, err := experiments.Report(c.Request.Context(), s.DB)
	if err != nil {
		s.fail(c, err)
		return
	}
	if format == "json" {
		c.JSON(http.StatusOK, gin.H{"experiments": res})
		return
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="experiments-`+s.clock().UTC().Format("20060102T150405Z")+`.csv"`)
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	_ = w.Write([]string{"experiment", "name", "status", "variant", "control", "weight", "exposures", "conversions", "rate",
		"lift", "lift_low_95", "lift_high_95", "z", "p_value", "chi_square", "chi_df", "chi_p_value"})
	for _, e := range res {
		for _, v := range e.Variants {
			row := []string{e.ID, e.Name, e.Status, v.Name, strconv.FormatBool(v.Control), strconv.Itoa(v.Weight),
				strconv.FormatInt(v.Exposures, 10), strconv.FormatInt(v.Conversions, 10), f(v.Rate), "", "", "", "", "", "", "", ""}
			if v.Tested {
				row[9], row[10], row[11], row[12], row[13] = f(v.Lift), f(v.LiftLow), f(v.LiftHigh), f(v.Z), f(v.PValue)
			}
			if e.ChiSquare.Valid {
				row[14], row[15], row[16] = f(e.ChiSquare.ChiSquare), strconv.Itoa(e.ChiSquare.DF), f(e.ChiSquare.PValue)
			}
			_ = w.Write(row)
		}
	}
	w.Flush()
}
