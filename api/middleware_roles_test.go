package api

import (
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

// Every /api/v1 route of the engine was registered through apiRoutes, so
// it names its roles.
func TestEveryAPIRouteDeclaresItsRoles(t *testing.T) {
	s := &Server{}
	engine := s.Handler().(*gin.Engine)
	declared := map[string]bool{}
	for _, r := range s.Routes() {
		require.NotEmpty(t, r.Roles, r.Path)
		declared[r.Method+" "+r.Path] = true
	}
	n := 0
	for _, r := range engine.Routes() {
		if strings.HasPrefix(r.Path, "/api/v1/") {
			n++
			require.True(t, declared[r.Method+" "+r.Path], "%s %s declares no role", r.Method, r.Path)
		}
	}
	require.Equal(t, len(declared), n)
}

func TestRouteWithoutRolePanics(t *testing.T) {
	s := &Server{}
	r := gin.New()
	require.Panics(t, func() { apiRoutes{s: s, g: r.Group("/api/v1")}.GET("/x", nil, func(*gin.Context) {}) })
}
