package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/analytics/churn"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// The churn scores are for administrators only: a trader (even the one
// scored) or a support agent gets 403 and no score; the admin gets the
// scores riskiest first with reasons, the model version and its metrics,
// as JSON or CSV.
func TestAdminChurnScoresAreForAdminsOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		e := newAdminEnv(t, db)
		ctx := context.Background()
		traderID, trader := e.user(auth.RoleTrader)
		_, support := e.user(auth.RoleSupport)
		_, admin := e.user(auth.RoleAdmin)

		// Before any run: no model, no scores.
		res, body := e.get(admin, "/api/v1/admin/analytics/churn")
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		require.JSONEq(t, `{"scores":[],"alertThreshold":0.7,"model":null}`, body)

		now := time.Now().UTC()
		risky := uuid.NewString()
		email := "=cmd@example.test" // a formula if a spreadsheet ran it
		require.NoError(t, db.Create(&schema.User{ID: risky, Email: &email, Role: "trader", SubscriptionTier: "premium",
			SubscriptionStatus: "past_due", CreatedAt: now.Add(-60 * 24 * time.Hour)}).Error)
		require.NoError(t, db.Create(&schema.Subscription{ID: uuid.NewString(), UserID: risky, Plan: "premium", Status: "past_due",
			CancelAtPeriodEnd: true, CreatedAt: now.Add(-60 * 24 * time.Hour)}).Error)
		sm, err := churn.EnsureModel(ctx, db, now)
		require.NoError(t, err)
		_, err = churn.ScorePage(ctx, db, sm, "", 100, now)
		require.NoError(t, err)

		paths := []string{"/api/v1/admin/analytics/churn", "/api/v1/admin/analytics/churn?format=csv",
			"/api/v1/admin/analytics/churn?user_id=" + traderID}
		for _, p := range paths {
			for name, tok := range map[string]string{"trader": trader, "support": support} {
				res, body := e.get(tok, p)
				require.Equal(t, http.StatusForbidden, res.StatusCode, "%s %s: %s", name, p, body)
				require.NotContains(t, body, risky)
				require.NotContains(t, body, "score")
			}
		}

		res, body = e.get(admin, "/api/v1/admin/analytics/churn")
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		var got struct {
			Scores []churn.ScoreView `json:"scores"`
			Model  struct {
				Version int64            `json:"version"`
				Metrics churn.Evaluation `json:"metrics"`
			} `json:"model"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &got))
		require.EqualValues(t, 1, got.Model.Version)
		require.Greater(t, got.Model.Metrics.Test.F1, 0.70)
		require.Len(t, got.Scores, 2) // the two traders; admin and support are not scored
		require.Equal(t, risky, got.Scores[0].UserID)
		require.True(t, got.Scores[0].HighRisk && got.Scores[0].AlertOpen)
		require.NotEmpty(t, got.Scores[0].Reasons)
		require.GreaterOrEqual(t, got.Scores[0].Score, got.Scores[1].Score)

		res, body = e.get(admin, "/api/v1/admin/analytics/churn?format=csv&limit=1")
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv"))
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 2)
		require.Equal(t, churn.CSVHeader, rows[0])
		require.Equal(t, risky, rows[1][0])
		require.Equal(t, "'=cmd@example.test", rows[1][1])

		for _, q := range []string{"?limit=0", "?limit=x", "?limit=10001", "?format=xml"} {
			res, body := e.get(admin, "/api/v1/admin/analytics/churn"+q)
			require.Equal(t, http.StatusBadRequest, res.StatusCode, "%s: %s", q, body)
		}
	})
}
