// Package api is the HTTP face of tradeexec: REST /api/v1, webhooks and
// health. Handlers validate, authorize, then read the database or start /
// signal a workflow; they never call a broker.
package api

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/logging"
	"github.com/tradeexec/tradeexec/internal/tracing"
	"github.com/tradeexec/tradeexec/workflows"
)

// Server holds the API's dependencies.
type Server struct {
	DB        *gorm.DB
	Temporal  client.Client
	TaskQueue string
	Log       *zap.Logger
	// Timeouts passed to every TradeWorkflow (tests shorten them).
	Timeouts workflows.Timeouts
	// Committed is called after a transaction wrote outbox events for a user.
	Committed func(userID string)
	// Auth verifies tokens and signs users in (required).
	Auth *auth.Service
	// PublicURL is the external base URL; https makes cookies Secure.
	PublicURL string
	// TrustedProxies are the load balancers whose X-Forwarded-For is
	// believed (CIDRs or IPs); none by default, so the client IP of rate
	// limits and session binding cannot be spoofed.
	TrustedProxies []string
	// Limits are the per-IP rate limits; nil means DefaultRateLimits().
	Limits *RateLimits
	// Connections serve Settings → Brokers (api/brokers.go); nil leaves
	// those routes out.
	Connections *Connections
	// Realtime serves /ws, the portfolio, manual orders and the dashboard
	// (api/ws.go); nil serves only the dashboard page.
	Realtime *Realtime
	// Codec serves the Temporal UI's codec endpoint (api/temporal_codec.go);
	// nil leaves it out.
	Codec *TemporalCodec
	// Billing serves Settings → Billing and the provider's webhook
	// (api/billing.go); nil means BILLING_PROVIDER=none.
	Billing *Billing
	// Keys serve the admin key lifecycle routes (api/keys_admin.go); nil
	// leaves them out.
	Keys *KeysAdmin

	started time.Time
	// draining: the process stopping; /ready answers 503 so load
	// balancers stop sending new requests before the listener closes.
	draining atomic.Bool
	routes   []RouteSpec

	guardOnce    sync.Once
	webhookGuard *webhookGuard
}

const maxBodyBytes = 64 << 10

// Handler builds the gin engine.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	s.started = time.Now()
	if s.TaskQueue == "" {
		s.TaskQueue = workflows.DefaultTaskQueue
	}
	limits := DefaultRateLimits()
	if s.Limits != nil {
		limits = *s.Limits
	}
	r := gin.New()
	trustProxies(r, s.TrustedProxies)
	r.Use(tracing.Gin("tradeexec-api"), s.requestID(), s.recovery(), s.securityHeaders(), s.limitBody(), s.accessLog())
	// Probes: /live is the process answering (no I/O: a slow database
	// must not get the pod restarted); /ready (and /health, its old name)
	// checks the database and Temporal (take the pod out of the balancer).
	r.GET("/live", s.live)
	r.GET("/ready", s.health)
	r.GET("/health", s.health)
	// Webhooks authenticate by the secret in their URL (TradingView sends
	// no cookies or headers of ours), so no session, CSRF or per-IP limit.
	r.POST("/webhooks/tradingview/:token", s.tradingViewWebhook)

	// Sign-in, rate-limited per IP (FR-026).
	loginLimit := s.rateLimit("login", limits.Login)
	r.POST("/auth/register", s.rateLimit("register", limits.Register), s.register)
	r.POST("/auth/login", loginLimit, s.login)
	r.POST("/auth/refresh", s.rateLimit("refresh", limits.Refresh), s.refresh)
	r.POST("/auth/password/forgot", loginLimit, s.forgotPassword)
	r.POST("/auth/password/reset", loginLimit, s.resetPassword)
	authLimit := s.rateLimit("auth", limits.Auth)
	r.POST("/auth/logout", authLimit, s.logout)
	r.GET("/auth/discord", authLimit, s.oauthStart(auth.ProviderDiscord))
	r.GET("/auth/discord/callback", authLimit, s.oauthCallback(auth.ProviderDiscord))

	// Every /api/v1 route names the roles it admits (middleware_roles.go).
	v1 := apiRoutes{s: s, g: r.Group("/api/v1", s.rateLimit("api", limits.API), s.authenticate(), s.csrf())}
	v1.GET("/me", allow(trader, support, admin), s.me)
	v1.POST("/me/password", allow(trader, support, admin), loginLimit, s.changePassword)
	v1.GET("/trades", allow(trader, support), s.listTrades)
	v1.GET("/trades/:id", allow(trader, support), s.getTrade)
	v1.POST("/trades/:id/cancel", allow(trader), s.cancelTrade)
	v1.POST("/trades/:id/approve", allow(trader), s.approveTrade(true))
	v1.POST("/trades/:id/reject", allow(trader), s.approveTrade(false))
	s.auditRoutes(v1)
	s.leaderboardRoutes(v1)
	s.analyticsRoutes(v1)
	s.brokerRoutes(r, v1, authLimit)
	s.sourceRoutes(v1)
	s.realtimeRoutes(r, v1, limits)
	s.riskRoutes(v1)
	s.codecRoutes(r, s.rateLimit("api", limits.API))
	s.billingRoutes(r, v1)
	s.keysRoutes(v1)
	s.experimentRoutes(v1)
	s.supportContactRoutes(v1)
	s.performanceRoutes(v1)
	s.churnRoutes(v1)
	s.copyRoutes(v1)

	r.NoRoute(func(c *gin.Context) { s.fail(c, errNotFound) })
	return r
}

// trustProxies makes c.ClientIP() the TCP peer unless the peer is one of
// proxies, and then the address its X-Forwarded-For names (walked from the
// right past trusted hops). gin's defaults trust every peer and also read
// X-Real-IP; here an empty list trusts none (a nil list clears gin's
// 0.0.0.0/0, ::/0), and only X-Forwarded-For counts, which proxies append
// to rather than pass through from the client.
func trustProxies(r *gin.Engine, proxies []string) {
	if err := r.SetTrustedProxies(proxies); err != nil {
		panic("api: invalid trusted proxies (config validates TRUSTED_PROXIES): " + err.Error())
	}
	r.ForwardedByClientIP = true
	r.RemoteIPHeaders = []string{"X-Forwarded-For"}
	r.TrustedPlatform = ""
}

const (
	ctxRequestID = "request_id"
	ctxTraceID   = "trace_id"
)

// requestID names the request (X-Request-ID, or a new one) and its trace:
// the span's trace id (tracing.Gin runs first), or the request id when
// tracing is off and no traceparent came in. Both go on every log line of
// the request (s.log) and on the logger in the request's context
// (logging.FromContext), which intake and Temporal calls inherit.
func (s *Server) requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if id == "" || len(id) > 64 {
			id = uuid.NewString()
		}
		traceID := logging.TraceIDFrom(c.Request.Context())
		if traceID == "" {
			traceID = id
		}
		c.Set(ctxRequestID, id)
		c.Set(ctxTraceID, traceID)
		c.Header("X-Request-ID", id)
		ctx := logging.WithContext(c.Request.Context(), s.baseLog())
		c.Request = c.Request.WithContext(logging.WithTraceID(logging.WithRequestID(ctx, id), traceID))
		c.Next()
	}
}

func (s *Server) baseLog() *zap.Logger {
	if s.Log == nil {
		return zap.NewNop()
	}
	return s.Log
}

func (s *Server) log(c *gin.Context) *zap.Logger {
	return s.baseLog().With(logging.RequestID(c.GetString(ctxRequestID)), logging.TraceID(c.GetString(ctxTraceID)))
}

func (s *Server) recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r) // a stream cut on purpose: net/http drops the connection
				}
				s.log(c).Error("panic in handler", zap.Any("panic", r), zap.Stack("stack"))
				s.fail(c, errInternal)
			}
		}()
		c.Next()
	}
}

// accessLog logs method, route template (never the raw path: webhook URLs
// contain a secret token), status and latency.
func (s *Server) accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		s.log(c).Info("http",
			zap.String("method", c.Request.Method),
			zap.String("route", c.FullPath()),
			zap.Int("status", c.Writer.Status()),
			zap.Duration("latency", time.Since(start)),
			zap.String("user_id", c.GetString(ctxUserID)),
		)
	}
}

// live: GET /live — liveness, without I/O.
func (s *Server) live(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "alive", "uptime": int(time.Since(s.started).Seconds())})
}

// SetDraining makes /ready answer 503 "draining" (on SIGTERM, before the
// drain delay; requests are still served).
func (s *Server) SetDraining() { s.draining.Store(true) }

func (s *Server) health(c *gin.Context) {
	ctx := c.Request.Context()
	if s.draining.Load() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "draining"})
		return
	}
	body := gin.H{"status": "healthy", "database": "connected", "temporal": "connected", "uptime": int(time.Since(s.started).Seconds())}
	code := http.StatusOK
	if sqlDB, err := s.DB.DB(); err != nil || sqlDB.PingContext(ctx) != nil {
		body["database"], body["status"], code = "unreachable", "unhealthy", http.StatusServiceUnavailable
	}
	if s.Temporal == nil {
		body["temporal"], body["status"], code = "not configured", "unhealthy", http.StatusServiceUnavailable
	} else if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		body["temporal"], body["status"], code = "unreachable", "unhealthy", http.StatusServiceUnavailable
	}
	c.JSON(code, body)
}
