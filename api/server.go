// Package api is the HTTP face of tradeexec: REST /api/v1, webhooks and
// health. Handlers validate, authorize, then read the database or start /
// signal a workflow; they never call a broker.
package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gorm.io/gorm"

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
	started   time.Time
}

const maxBodyBytes = 64 << 10

// Handler builds the gin engine.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	s.started = time.Now()
	if s.TaskQueue == "" {
		s.TaskQueue = workflows.DefaultTaskQueue
	}
	r := gin.New()
	r.Use(s.requestID(), s.recovery(), s.accessLog())
	r.GET("/health", s.health)
	r.POST("/webhooks/tradingview/:token", s.tradingViewWebhook)

	v1 := r.Group("/api/v1", s.requireToken())
	v1.GET("/trades", s.listTrades)
	v1.GET("/trades/:id", s.getTrade)
	v1.POST("/trades/:id/cancel", s.cancelTrade)

	r.NoRoute(func(c *gin.Context) { s.fail(c, errNotFound) })
	return r
}

const ctxRequestID = "request_id"

func (s *Server) requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if id == "" || len(id) > 64 {
			id = uuid.NewString()
		}
		c.Set(ctxRequestID, id)
		c.Header("X-Request-ID", id)
		c.Next()
	}
}

func (s *Server) log(c *gin.Context) *zap.Logger {
	l := s.Log
	if l == nil {
		l = zap.NewNop()
	}
	return l.With(zap.String("request_id", c.GetString(ctxRequestID)))
}

func (s *Server) recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
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

func (s *Server) health(c *gin.Context) {
	ctx := c.Request.Context()
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
