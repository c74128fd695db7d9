package api

import (
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/store"
)

// Role shorthands for route declarations.
const (
	trader  = auth.RoleTrader
	support = auth.RoleSupport
	admin   = auth.RoleAdmin
)

// allow lists the roles a route admits.
func allow(roles ...auth.Role) []auth.Role { return roles }

// RouteSpec is one /api/v1 route and the roles it admits.
type RouteSpec struct {
	Method string
	Path   string // gin pattern, e.g. /api/v1/trades/:id
	Roles  []auth.Role
}

// Routes lists every /api/v1 route with its roles (after Handler). The
// security suite walks it to test access control on every route.
func (s *Server) Routes() []RouteSpec { return slices.Clone(s.routes) }

// apiRoutes registers /api/v1 routes. Every route must name its roles:
// there is no other way to add one (least privilege, FR-078).
type apiRoutes struct {
	s *Server
	g *gin.RouterGroup
}

func (a apiRoutes) GET(path string, roles []auth.Role, h gin.HandlerFunc) {
	a.handle(http.MethodGet, path, roles, h)
}

func (a apiRoutes) POST(path string, roles []auth.Role, h ...gin.HandlerFunc) {
	a.handle(http.MethodPost, path, roles, h...)
}

func (a apiRoutes) PUT(path string, roles []auth.Role, h gin.HandlerFunc) {
	a.handle(http.MethodPut, path, roles, h)
}

func (a apiRoutes) PATCH(path string, roles []auth.Role, h gin.HandlerFunc) {
	a.handle(http.MethodPatch, path, roles, h)
}

func (a apiRoutes) DELETE(path string, roles []auth.Role, h gin.HandlerFunc) {
	a.handle(http.MethodDelete, path, roles, h)
}

func (a apiRoutes) handle(method, path string, roles []auth.Role, h ...gin.HandlerFunc) {
	if len(roles) == 0 {
		panic("api: route " + method + " " + a.g.BasePath() + path + " declares no role")
	}
	a.s.routes = append(a.s.routes, RouteSpec{Method: method, Path: a.g.BasePath() + path, Roles: slices.Clone(roles)})
	a.g.Handle(method, path, append([]gin.HandlerFunc{a.s.requireRole(roles)}, h...)...)
}

// requireRole is the one place roles are enforced. A refusal is recorded
// as UNAUTHORIZED_ACCESS_ATTEMPT.
func (s *Server) requireRole(roles []auth.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		role := auth.Role(c.GetString(ctxRole))
		if slices.Contains(roles, role) {
			c.Next()
			return
		}
		uid := c.GetString(ctxUserID)
		cl := s.client(c)
		err := store.InTx(c.Request.Context(), s.DB, func(tx *gorm.DB) error {
			_, err := audit.Append(tx, audit.Entry{UserID: uid, Action: audit.ActionUnauthorizedAccessAttempt, ResourceType: "Route",
				Status: audit.StatusFailure, IPAddress: cl.IP, UserAgent: cl.UserAgent,
				Details: map[string]any{"method": c.Request.Method, "route": c.FullPath(), "role": string(role)}})
			return err
		})
		if err != nil {
			s.log(c).Error("audit unauthorized access attempt", zap.Error(err))
		}
		s.fail(c, errForbidden)
	}
}

// subjectUserID is whose data a read is about. A trader reads their own
// (naming another user_id is forbidden); support staff name the trader in
// ?user_id= (required) and the access is audited on that trader's chain.
func (s *Server) subjectUserID(c *gin.Context, resourceType string) (string, bool) {
	self := c.GetString(ctxUserID)
	want := c.Query("user_id")
	if auth.Role(c.GetString(ctxRole)) != support {
		if want != "" && want != self {
			s.fail(c, errForbidden)
			return "", false
		}
		return self, true
	}
	if _, err := uuid.Parse(want); err != nil {
		s.fail(c, errSupportNeedsUser)
		return "", false
	}
	if err := s.auditSupportAccess(c, want, resourceType, ""); err != nil {
		s.fail(c, err)
		return "", false
	}
	return want, true
}

// auditSupportAccess records a support agent reading a trader's data
// (SUPPORT_DATA_ACCESSED on the trader's chain) before the data is shown.
func (s *Server) auditSupportAccess(c *gin.Context, userID, resourceType, resourceID string) error {
	cl := s.client(c)
	return store.InTx(c.Request.Context(), s.DB, func(tx *gorm.DB) error {
		_, err := audit.Append(tx, audit.Entry{UserID: userID, Action: auth.ActionSupportAccess, ResourceType: resourceType,
			ResourceID: resourceID, IPAddress: cl.IP, UserAgent: cl.UserAgent,
			Details: map[string]any{"support_user_id": c.GetString(ctxUserID), "route": c.FullPath()}})
		return err
	})
}
