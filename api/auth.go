package api

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tradeexec/tradeexec/schema"
)

const ctxUserID = "user_id"

// HashToken is how API and webhook tokens are stored: SHA-256 hex. Tokens
// are 256-bit random values, so a plain hash is enough (no brute force).
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// requireToken authenticates "Authorization: Bearer <api token>".
func (s *Server) requireToken() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || token == "" || len(token) > 512 {
			s.fail(c, errUnauthorized)
			return
		}
		var t schema.APIToken
		err := s.DB.WithContext(c.Request.Context()).
			Where("token_hash = ? AND revoked_at IS NULL", HashToken(token)).First(&t).Error
		if err != nil || (t.ExpiresAt != nil && t.ExpiresAt.Before(time.Now())) {
			s.fail(c, errUnauthorized)
			return
		}
		c.Set(ctxUserID, t.UserID)
		c.Next()
	}
}
