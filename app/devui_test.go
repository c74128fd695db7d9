package app

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tradeexec/tradeexec/api"
)

// The dev UI proxy sends the codec endpoint, with the browser's cookies,
// to the api, and everything else to the Temporal UI.
func TestDevUIProxyRoutesTheCodecToTheAPI(t *testing.T) {
	backend := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ck, _ := r.Cookie("te_access")
			cookie := ""
			if ck != nil {
				cookie = ck.Value
			}
			_, _ = io.WriteString(w, name+" "+r.Method+" "+r.URL.Path+" cookie="+cookie)
		}))
	}
	ui, apiSrv := backend("ui"), backend("api")
	defer ui.Close()
	defer apiSrv.Close()
	h, err := newDevUIProxy(ui.URL, apiSrv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(h)
	defer proxy.Close()
	for _, tt := range []struct{ method, path, want string }{
		{http.MethodPost, api.TemporalCodecPath + "/decode", "api POST " + api.TemporalCodecPath + "/decode cookie=s1"},
		{http.MethodPost, api.TemporalCodecPath + "/encode", "api POST " + api.TemporalCodecPath + "/encode cookie=s1"},
		{http.MethodGet, "/namespaces/default/workflows", "ui GET /namespaces/default/workflows cookie=s1"},
		{http.MethodGet, "/api/v1/namespaces/default/workflows", "ui GET /api/v1/namespaces/default/workflows cookie=s1"},
		{http.MethodGet, api.TemporalCodecPath, "ui GET " + api.TemporalCodecPath + " cookie=s1"},
	} {
		req, _ := http.NewRequest(tt.method, proxy.URL+tt.path, strings.NewReader("{}"))
		req.AddCookie(&http.Cookie{Name: "te_access", Value: "s1"})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != tt.want {
			t.Errorf("%s %s → %q, want %q", tt.method, tt.path, b, tt.want)
		}
	}
	if _, err := newDevUIProxy("", apiSrv.URL); err == nil {
		t.Error("empty UI URL accepted")
	}
}
