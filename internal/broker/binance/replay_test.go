package binance

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// replay is a server answering recorded Binance responses by route:
// "METHOD /path?orderId=N" or "METHOD /path?symbol=X" when given, else
// "METHOD /path".
type replay struct {
	srv *httptest.Server

	mu      sync.Mutex
	answers map[string]replayAnswer
	counts  map[string]int
	last    map[string]url.Values
}

type replayAnswer struct {
	status int
	body   []byte
	header map[string]string
}

func newReplay(t *testing.T) *replay {
	t.Helper()
	r := &replay{answers: map[string]replayAnswer{}, counts: map[string]int{}, last: map[string]url.Values{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *replay) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	params, _ := url.ParseQuery(req.URL.RawQuery)
	if bp, err := url.ParseQuery(string(body)); err == nil {
		for k, v := range bp {
			params[k] = append(params[k], v...)
		}
	}
	route := req.Method + " " + req.URL.Path
	r.mu.Lock()
	r.counts[route]++
	r.last[route] = params
	a, ok := r.answers[route+"?orderId="+params.Get("orderId")]
	if !ok || !params.Has("orderId") {
		a, ok = r.answers[route+"?symbol="+params.Get("symbol")]
	}
	if !ok {
		a, ok = r.answers[route]
	}
	r.mu.Unlock()
	if !ok {
		a = replayAnswer{status: 404, body: []byte(`{"code":-1000,"msg":"An unknown error occurred while processing the request."}`)}
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// answer sets the answer of route; header is key, value pairs.
func (r *replay) answer(route string, status int, body string, header ...string) {
	a := replayAnswer{status: status, body: []byte(body), header: map[string]string{}}
	for i := 0; i+1 < len(header); i += 2 {
		a.header[header[i]] = header[i+1]
	}
	r.mu.Lock()
	r.answers[route] = a
	r.mu.Unlock()
}

// recorded answers route with 200 and the file testdata/recorded/name.
func (r *replay) recorded(t *testing.T, route, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "recorded", name))
	if err != nil {
		t.Fatal(err)
	}
	r.answer(route, 200, string(b))
}

func (r *replay) hits(route string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[route]
}

// params are the parameters of the last request on route.
func (r *replay) params(route string) url.Values {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[route]
}

func (r *replay) adapter(t *testing.T, opts Options) *Adapter {
	t.Helper()
	opts.AllowCustomURLs = true
	b, err := Factory(opts)(broker.Config{Credentials: broker.Credentials{
		"api_key": "replay-key", "api_secret": "replay-secret", "base_url": r.srv.URL,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return b.(*Adapter)
}
