package discordfake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const redirect = "https://app.example.com/auth/discord/callback"

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func authorize(t *testing.T, f *Fake, q url.Values) *http.Response {
	t.Helper()
	res, err := noFollow.Get(f.URL() + "/oauth2/authorize?" + q.Encode())
	require.NoError(t, err)
	res.Body.Close()
	return res
}

func consentQuery(verifier string) url.Values {
	sum := sha256.Sum256([]byte(verifier))
	return url.Values{"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {redirect}, "scope": {"identify email"},
		"state": {"st"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
}

func postToken(t *testing.T, f *Fake, form url.Values, basic bool) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.URL()+"/api/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth("app", "s3cret")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var body map[string]any
	raw, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(raw, &body)
	return res.StatusCode, body
}

func me(t *testing.T, f *Fake, access string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.URL()+"/api/v10/users/@me", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw)
}

func TestAuthorizationCodeFlowWithPKCE(t *testing.T) {
	f := New("app", "s3cret", redirect)
	defer f.Close()
	verifier := strings.Repeat("v", 43)
	res := authorize(t, f, consentQuery(verifier))
	require.Equal(t, http.StatusFound, res.StatusCode)
	loc, _ := url.Parse(res.Header.Get("Location"))
	require.Equal(t, "st", loc.Query().Get("state"))
	code := loc.Query().Get("code")

	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
	bad := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {strings.Repeat("w", 43)}}
	status, body := postToken(t, f, bad, true)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_grant", body["error"])
	status, _ = postToken(t, f, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"code_verifier": {verifier}, "client_id": {"app"}, "client_secret": {"wrong"}}, false)
	require.Equal(t, http.StatusUnauthorized, status)

	status, body = postToken(t, f, exchange, true)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "Bearer", body["token_type"])
	access := body["access_token"].(string)
	status, raw := me(t, f, access)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, raw, `"email":"nelly@example.com"`)

	// Codes are single-use; reuse also revokes what the code issued.
	status, body = postToken(t, f, exchange, true)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_grant", body["error"])
	status, raw = me(t, f, access)
	require.Equal(t, http.StatusUnauthorized, status)
	require.JSONEq(t, `{"message": "401: Unauthorized", "code": 0}`, raw)
}

func TestTokensAndCodesExpire(t *testing.T) {
	f := New("app", "s3cret", redirect)
	defer f.Close()
	verifier := strings.Repeat("v", 43)
	code := func() string {
		loc, _ := url.Parse(authorize(t, f, consentQuery(verifier)).Header.Get("Location"))
		return loc.Query().Get("code")
	}
	stale := code()
	f.Advance(CodeTTL + time.Second)
	status, _ := postToken(t, f, url.Values{"grant_type": {"authorization_code"}, "code": {stale}, "redirect_uri": {redirect}, "code_verifier": {verifier}}, true)
	require.Equal(t, http.StatusBadRequest, status)

	f.SetTokenTTL(time.Minute)
	_, body := postToken(t, f, url.Values{"grant_type": {"authorization_code"}, "code": {code()}, "redirect_uri": {redirect}, "code_verifier": {verifier}}, true)
	access := body["access_token"].(string)
	status, _ = me(t, f, access)
	require.Equal(t, http.StatusOK, status)
	f.Advance(2 * time.Minute)
	status, _ = me(t, f, access)
	require.Equal(t, http.StatusUnauthorized, status)

	// Refresh rotates the refresh token.
	status, body2 := postToken(t, f, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)}}, true)
	require.Equal(t, http.StatusOK, status)
	status, _ = me(t, f, body2["access_token"].(string))
	require.Equal(t, http.StatusOK, status)
	status, _ = postToken(t, f, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)}}, true)
	require.Equal(t, http.StatusBadRequest, status)
}

func TestAuthorizeChecks(t *testing.T) {
	f := New("app", "s3cret", redirect)
	defer f.Close()
	q := consentQuery(strings.Repeat("v", 43))
	q.Set("redirect_uri", "https://evil.example.com/cb")
	require.Equal(t, http.StatusBadRequest, authorize(t, f, q).StatusCode, "unregistered redirect: no redirect")
	q = consentQuery(strings.Repeat("v", 43))
	q.Set("code_challenge_method", "plain")
	loc, _ := url.Parse(authorize(t, f, q).Header.Get("Location"))
	require.Equal(t, "invalid_request", loc.Query().Get("error"))
	f.SetDeny(true)
	loc, _ = url.Parse(authorize(t, f, consentQuery(strings.Repeat("v", 43))).Header.Get("Location"))
	require.Equal(t, "access_denied", loc.Query().Get("error"))
	require.Equal(t, "st", loc.Query().Get("state"))
}
