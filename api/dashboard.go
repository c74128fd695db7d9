package api

import (
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tradeexec/tradeexec/internal/auth"
)

// The dashboard is a single page (web/, built by `make web` and embedded
// in the binary): /dashboard serves its index.html, /assets/ its hashed
// files. It talks to /api/v1 with the session cookies and to /ws with a
// ticket.
func (s *Server) dashboardRoutes(r *gin.Engine) {
	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, DashboardPath) })
	r.GET(DashboardPath, s.dashboardIndex)
	r.GET(DashboardPath+"/*path", s.dashboardIndex)
	r.GET("/assets/*filepath", s.dashboardAsset)
	r.GET("/favicon.svg", func(c *gin.Context) { s.serveAsset(c, "favicon.svg", "public, max-age=86400") })
}

func (s *Server) assets() fs.FS {
	if s.Realtime == nil {
		return nil
	}
	return s.Realtime.Assets
}

const dashboardMissing = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tradeexec</title></head>
<body><h1>The dashboard has not been built</h1><p>Run <code>make web</code> (or <code>make build</code>) and restart tradeexec. The API works without it.</p></body></html>`

func (s *Server) dashboardIndex(c *gin.Context) {
	a := s.assets()
	var body []byte
	if a != nil {
		body, _ = fs.ReadFile(a, "index.html")
	}
	c.Header("Cache-Control", "no-cache")
	if len(body) == 0 {
		c.Data(http.StatusServiceUnavailable, "text/html; charset=utf-8", []byte(dashboardMissing))
		return
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", body)
}

func (s *Server) dashboardAsset(c *gin.Context) {
	name := strings.TrimPrefix(path.Clean("/"+c.Param("filepath")), "/")
	// Hashed file names: cache for a year.
	s.serveAsset(c, "assets/"+name, "public, max-age=31536000, immutable")
}

func (s *Server) serveAsset(c *gin.Context, name, cache string) {
	a := s.assets()
	if a == nil || !fs.ValidPath(name) {
		s.fail(c, errNotFound)
		return
	}
	body, err := fs.ReadFile(a, name)
	if err != nil {
		s.fail(c, errNotFound)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	c.Header("Cache-Control", cache)
	c.Data(http.StatusOK, ct, body)
}

// dashboardConfig: GET /api/v1/dashboard/config — what the page needs to
// know about this deployment: the caller's role, where TradingView
// webhooks go and, for support staff, the Temporal UI's workflow links.
func (s *Server) dashboardConfig(c *gin.Context) {
	role := auth.Role(c.GetString(ctxRole))
	body := gin.H{"role": role, "webhookBase": strings.TrimRight(s.PublicURL, "/") + "/webhooks/tradingview/"}
	if (role == support || role == admin) && s.Realtime != nil && s.Realtime.TemporalUI != "" {
		body["temporalUi"] = s.Realtime.TemporalUI
	}
	c.JSON(http.StatusOK, body)
}
