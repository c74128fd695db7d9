package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/analytics/churn"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// Support staff and admins record contacts with a trader (audited in
// their chain); a trader gets 403; bad fields name themselves; the
// 90-day count sees them.
func TestSupportContactsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		e := newAdminEnv(t, db)
		traderID, trader := e.user(auth.RoleTrader)
		supportID, support := e.user(auth.RoleSupport)
		_, admin := e.user(auth.RoleAdmin)
		body := `{"userId":"` + traderID + `","channel":"email","summary":"asked about fees"}`
		res, _ := e.postBody(trader, "/api/v1/support/contacts", body)
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		for _, tok := range []string{support, admin} {
			res, b := e.postBody(tok, "/api/v1/support/contacts", body)
			require.Equal(t, http.StatusCreated, res.StatusCode, b)
		}
		for in, field := range map[string]string{
			`{"userId":"` + traderID + `","channel":"fax"}`: "channel",
			`nope`: "body",
		} {
			res, b := e.postBody(support, "/api/v1/support/contacts", in)
			require.Equal(t, http.StatusBadRequest, res.StatusCode, b)
			var got struct{ Field string }
			require.NoError(t, json.Unmarshal([]byte(b), &got))
			require.Equal(t, field, got.Field)
		}
		res, _ = e.postBody(support, "/api/v1/support/contacts", `{"userId":"`+supportID+`","channel":"chat"}`)
		require.Equal(t, http.StatusNotFound, res.StatusCode, "not a trader")

		var actions []string
		require.NoError(t, db.Model(&schema.AuditLog{}).Where("user_id = ? AND resource_id = ?", supportID, traderID).Pluck("action", &actions).Error)
		require.Equal(t, []string{churn.ActionSupportContactRecorded}, actions)
		n, err := churn.SupportContacts90(db.WithContext(context.Background()), []string{traderID}, time.Now().Add(time.Minute))
		require.NoError(t, err)
		require.Equal(t, 2, n[traderID])
		n, err = churn.SupportContacts90(db, []string{traderID}, time.Now().Add(91*24*time.Hour))
		require.NoError(t, err)
		require.Zero(t, n[traderID], "older than 90 days")
	})
}
