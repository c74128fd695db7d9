package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Issue 13 #1: a Schwab consent is bound to the browser that started it
// and to that trader's session. An attacker who sends a victim their own
// consent link must not get the victim's Schwab account connected to the
// attacker's tradeexec account.
func TestSchwabConsentIsBoundToTheBrowserAndTheTrader(t *testing.T) {
	h := newBrokerHarness(t, openSQLite(t), store.SQLite)
	schwabRows := func(userID string) int64 {
		var n int64
		require.NoError(t, h.db.Model(&schema.BrokerConnection{}).Where("user_id = ? AND broker_type = ?", userID, "schwab").Count(&n).Error)
		return n
	}

	// The attacker: a trader of their own, signed in (cookies), starts a consent.
	attacker := h.browser("")
	body, _ := json.Marshal(map[string]string{"email": "mallory@example.com", "password": "Correct-Horse-7-Battery"})
	resp, err := attacker.hc.Post(h.stack.URL+"/auth/register", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	var attackerID string
	require.NoError(t, h.db.Model(&schema.User{}).Where("email = ?", "mallory@example.com").Pluck("id", &attackerID).Error)
	// A paying attacker (the plan would refuse a Free one before any consent).
	require.NoError(t, h.db.Model(&schema.User{}).Where("id = ?", attackerID).Update("subscription_tier", "pro").Error)
	attackerState := attacker.authorizeSchwab("")

	// The victim (the demo trader, signed in in their own browser) opens
	// the link and approves at Schwab; Schwab sends the victim's browser
	// back with the attacker's state and the victim's code.
	victim := h.browser(h.demo.APIToken)
	victimCode, _ := h.fakes.schwab.IssueAuthCode(decimal.NewFromInt(250_000))
	loc := victim.schwabCallback(attackerState, victimCode)
	require.Equal(t, "failed", loc.Query().Get("status"), loc.String())
	require.Contains(t, loc.Query().Get("message"), "not started in this browser")

	// A victim without a session, holding no binding either: refused too.
	anon := h.browser("")
	loc = anon.schwabCallback(attackerState, victimCode)
	require.Equal(t, "failed", loc.Query().Get("status"))

	// Even with the attacker's binding cookie copied into a browser where
	// the victim is signed in, the state belongs to another trader.
	stolen := h.browser(h.demo.APIToken)
	u, _ := url.Parse(h.stack.URL)
	stolen.jar.SetCookies(u, []*http.Cookie{{Name: "te_schwab", Value: attackerState, Path: "/"}})
	loc = stolen.schwabCallback(attackerState, victimCode)
	require.Equal(t, "failed", loc.Query().Get("status"), loc.String())
	require.Zero(t, schwabRows(attackerID), "the victim's Schwab account was connected to the attacker")
	require.Zero(t, schwabRows(h.demo.UserID))

	// The trader's own flow: the session expired meanwhile, so the
	// callback sends the browser to sign in and come back; the state is
	// not used up, and after signing in the same link connects.
	own := h.browser(h.demo.APIToken)
	state := own.authorizeSchwab("")
	code, _ := h.fakes.schwab.IssueAuthCode(decimal.NewFromInt(90_000))
	var binding *http.Cookie
	for _, c := range own.jar.Cookies(u) {
		if c.Name == "te_schwab" {
			binding = c
		}
	}
	require.NotNil(t, binding, "authorize sets the binding cookie")
	signedOut := h.browser("")
	signedOut.jar.SetCookies(u, []*http.Cookie{binding})
	loc = signedOut.schwabCallback(state, code)
	require.True(t, strings.HasPrefix(loc.Fragment, "/resume?to="), loc.String())
	resume, err := url.QueryUnescape(strings.TrimPrefix(loc.Fragment, "/resume?to="))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(resume, "/brokers/schwab/callback?"), resume)
	signedOut.jar.SetCookies(u, []*http.Cookie{{Name: "te_access", Value: h.demo.APIToken, Path: "/"}})
	loc = signedOut.schwabCallback(state, code)
	require.Equal(t, "/settings/brokers", loc.Path)
	require.NotEqual(t, "failed", loc.Query().Get("status"), loc.String())
	require.EqualValues(t, 1, schwabRows(h.demo.UserID))
}
