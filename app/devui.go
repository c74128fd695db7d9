package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/api"
)

// DevUIAddr is where `tradeexec dev` serves the Temporal UI: a reverse
// proxy in front of the embedded UI (on a free port) that also routes the
// api's codec endpoint, so the UI reaches the codec on its own origin.
// The browser then sends the dashboard's session cookie with the UI's
// codec calls (cookies are per host, not per port), and support staff
// signed in to the dashboard read decrypted histories with no UI setting
// to change — the Temporal CLI cannot set the UI's "include credentials".
const DevUIAddr = "127.0.0.1:8233"

// DevUIURL is the URL the banner prints for the proxied UI (localhost:
// the dashboard's host, whose cookies the UI's requests carry).
const DevUIURL = "http://localhost:8233"

// newDevUIProxy routes the codec endpoint to the api and everything else
// to the Temporal UI.
func newDevUIProxy(uiURL, apiURL string) (http.Handler, error) {
	ui, err := url.Parse(uiURL)
	if err != nil || ui.Host == "" {
		return nil, fmt.Errorf("dev UI proxy: bad UI URL %q", uiURL)
	}
	apiU, err := url.Parse(apiURL)
	if err != nil || apiU.Host == "" {
		return nil, fmt.Errorf("dev UI proxy: bad api URL %q", apiURL)
	}
	toUI := httputil.NewSingleHostReverseProxy(ui)
	toUI.FlushInterval = -1 // the UI streams some answers
	toAPI := httputil.NewSingleHostReverseProxy(apiU)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, api.TemporalCodecPath+"/") {
			toAPI.ServeHTTP(w, r)
			return
		}
		toUI.ServeHTTP(w, r)
	}), nil
}

// startDevUIProxy listens on DevUIAddr until ctx ends.
func startDevUIProxy(ctx context.Context, uiURL, apiURL string, log *zap.Logger) error {
	h, err := newDevUIProxy(uiURL, apiURL)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", DevUIAddr)
	if err != nil {
		return fmt.Errorf("Temporal UI on %s: %w (is another tradeexec dev running?)", DevUIAddr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("Temporal UI proxy stopped", zap.Error(err))
		}
	}()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	return nil
}
