package bot

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/discordfake"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

type apiResponse struct {
	Status int
	Body   map[string]any
	Raw    string
}

func (h *harness) api(method, path string, body any) apiResponse {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(h.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.env.URL()+path, rd)
	require.NoError(h.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+h.env.Demo.APIToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := apiResponse{Status: resp.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

// The dashboard flow: a provider registers a channel (pending), the bot
// verifies their Manage Server permission (active), the demo trader
// follows it with a fixed amount, sees a signal's fill, and reads the DM
// that could not be delivered.
func TestDashboardSourcesAndSubscriptions(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{noSource: true})
	demoDiscord := h.fake.NewID()
	mods := h.fake.NewID()
	h.fake.AddRole(h.guild, discordfake.Role{ID: mods, Name: "mods", Permissions: discordfake.PermManageGuild})
	h.fake.AddMember(h.guild, demoDiscord, mods)

	body := map[string]any{"guildId": h.guild, "channelId": h.channel, "name": "Alpha calls", "mode": "freeform",
		"authors": []map[string]string{{"kind": "role", "discordId": h.providerRole}}}
	r := h.api(http.MethodPost, "/api/v1/sources", body)
	require.Equal(t, http.StatusConflict, r.Status, r.Raw)
	require.Equal(t, "discord_not_linked", r.Body["error"])

	require.NoError(t, db.Model(&schema.User{}).Where("id = ?", h.env.Demo.UserID).Update("discord_id", demoDiscord).Error)
	r = h.api(http.MethodPost, "/api/v1/sources", body)
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	src := r.Body["source"].(map[string]any)
	require.Equal(t, "pending", src["status"])
	id := src["id"].(string)

	require.Eventually(t, func() bool {
		s, _ := sources.Get(t.Context(), db, id)
		return s.Status == sources.StatusActive
	}, 10*time.Second, 20*time.Millisecond)

	r = h.api(http.MethodGet, "/api/v1/sources", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	list := r.Body["sources"].([]any)
	require.Len(t, list, 1)
	require.Equal(t, true, list[0].(map[string]any)["owned"])

	r = h.api(http.MethodPost, "/api/v1/subscriptions", map[string]any{"sourceId": id,
		"sizing": map[string]any{"mode": "fixed_amount", "fixedAmount": "360"}})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	subID := r.Body["subscription"].(map[string]any)["id"].(string)
	r = h.api(http.MethodPost, "/api/v1/subscriptions", map[string]any{"sourceId": id,
		"sizing": map[string]any{"mode": "fixed_amount", "fixedAmount": "-1"}})
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	require.Equal(t, "fixedAmount", r.Body["field"])

	// The bot picks the verified source up and executes its signals.
	require.Eventually(t, func() bool { _, ok := h.bot.sources.get(h.channel); return ok }, 10*time.Second, 20*time.Millisecond)
	h.fake.SetDMsClosed(demoDiscord, true)
	msg := h.fake.Post(h.channel, h.provider.DiscordID, "$AAPL LONG")
	require.Eventually(t, func() bool {
		var n int64
		db.Model(&schema.Trade{}).Where("user_id = ? AND broker_order_id <> ''", h.env.Demo.UserID).Count(&n)
		return n == 1
	}, 30*time.Second, 25*time.Millisecond)
	require.Eventually(t, func() bool {
		r := h.api(http.MethodGet, "/api/v1/notifications?status=undeliverable", nil)
		return r.Status == http.StatusOK && len(r.Body["notifications"].([]any)) == 1
	}, 30*time.Second, 50*time.Millisecond)

	r = h.api(http.MethodGet, "/api/v1/sources/"+id+"/messages", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, msg, r.Body["messages"].([]any)[0].(map[string]any)["messageId"])

	r = h.api(http.MethodPatch, "/api/v1/subscriptions/"+subID, map[string]any{"active": false})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, false, r.Body["subscription"].(map[string]any)["active"])
	require.Nil(t, r.Body["subscription"].(map[string]any)["requireApproval"], "follows the trader's setting")
	r = h.api(http.MethodPatch, "/api/v1/subscriptions/"+subID, map[string]any{"requireApproval": true})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, true, r.Body["subscription"].(map[string]any)["requireApproval"])
	r = h.api(http.MethodPatch, "/api/v1/subscriptions/"+subID, map[string]any{"active": false})
	require.Equal(t, true, r.Body["subscription"].(map[string]any)["requireApproval"], "absent keeps it")
	r = h.api(http.MethodPatch, "/api/v1/subscriptions/"+subID, map[string]any{"requireApproval": nil})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Nil(t, r.Body["subscription"].(map[string]any)["requireApproval"], "null returns to the trader's setting")
	r = h.api(http.MethodPatch, "/api/v1/subscriptions/"+subID, map[string]any{"requireApproval": "yes"})
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	r = h.api(http.MethodPatch, "/api/v1/sources/"+id, map[string]any{"paused": true, "maxAgeSeconds": 30})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, "paused", r.Body["source"].(map[string]any)["status"])
	require.EqualValues(t, 30, r.Body["source"].(map[string]any)["maxAgeSeconds"])

	r = h.api(http.MethodPut, "/api/v1/notifications/preferences", map[string]any{"fills": false, "rejects": true, "queued": true, "stopLoss": true})
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	r = h.api(http.MethodPut, "/api/v1/notifications/preferences", map[string]any{"fills": false, "rejects": true, "queued": true,
		"stopLoss": true, "riskLocks": false})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = h.api(http.MethodGet, "/api/v1/notifications/preferences", nil)
	require.Equal(t, map[string]any{"fills": false, "rejects": true, "queued": true, "stopLoss": true, "riskLocks": false}, r.Body["preferences"])

	r = h.api(http.MethodDelete, "/api/v1/subscriptions/"+subID, nil)
	require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
	r = h.api(http.MethodDelete, "/api/v1/sources/"+id, nil)
	require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
	r = h.api(http.MethodDelete, "/api/v1/sources/"+id, nil)
	require.Equal(t, http.StatusNotFound, r.Status, r.Raw)
}
