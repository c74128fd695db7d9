package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
)

// TemporalCodec serves Temporal's codec-server protocol for the Temporal
// UI (POST <base>/decode and <base>/encode, body and answer
// {"payloads": [...]}, the JSON of temporal.api.common.v1.Payloads), so
// support staff read the encrypted workflow histories decrypted in the UI
// and nobody else does.
type TemporalCodec struct {
	// Codec decrypts and encrypts (internal/payloadcodec).
	Codec converter.PayloadCodec
	// UIOrigins are the Temporal UI origins allowed to call the endpoint
	// from a browser with the staff member's session cookie (CORS with
	// credentials), e.g. "http://localhost:8233". Others get no CORS grant.
	UIOrigins []string
}

// TemporalCodecPath is the codec endpoint the Temporal UI is configured
// with (its requests go to this path + /decode and /encode).
const TemporalCodecPath = "/api/v1/temporal-codec"

var (
	errCodecContentType = &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
		Message: "Send the payloads as application/json."}
	errCodecFailed = &Error{Status: http.StatusUnprocessableEntity, Code: "codec_failed",
		Message: "The payloads cannot be decoded with this deployment's keys (another key, a retired key version or modified data)."}
)

// codecRoutes registers the endpoint: decode for support and admin staff,
// encode (which lets the UI start or signal a workflow with typed input)
// for admins only — support staff read, they change nothing. It lives
// outside the /api/v1 group's CSRF check: the UI sends no CSRF token, and
// requiring application/json makes every cross-origin call a CORS
// preflight that only the configured UI origins pass.
func (s *Server) codecRoutes(r *gin.Engine, limit gin.HandlerFunc) {
	if s.Codec == nil || s.Codec.Codec == nil {
		return
	}
	cors := s.codecCORS()
	r.OPTIONS(TemporalCodecPath+"/:op", cors, func(c *gin.Context) { c.AbortWithStatus(http.StatusNoContent) })
	g := apiRoutes{s: s, g: r.Group(TemporalCodecPath, cors, limit, s.authenticate())}
	g.POST("/decode", allow(support, admin), s.codecHandler(false))
	g.POST("/encode", allow(admin), s.codecHandler(true))
}

// codecCORS grants the configured Temporal UI origins credentialed access
// (exact match; no wildcard can carry credentials).
func (s *Server) codecCORS() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Add("Vary", "Origin")
		origin := c.GetHeader("Origin")
		if origin != "" && slices.Contains(s.Codec.UIOrigins, origin) {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
			h.Set("Access-Control-Max-Age", "600")
			h.Set("Cross-Origin-Resource-Policy", "same-site")
		}
		c.Next()
	}
}

func (s *Server) codecHandler(encode bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		ct := strings.ToLower(strings.TrimSpace(strings.Split(c.GetHeader("Content-Type"), ";")[0]))
		if ct != "application/json" {
			s.fail(c, errCodecContentType)
			return
		}
		// limitBody bounds it to maxBodyBytes: the UI sends one event's
		// payloads (or a page of memos) at a time.
		raw, err := io.ReadAll(c.Request.Body)
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			s.fail(c, errTooLarge)
			return
		case err != nil:
			s.fail(c, badRequest("payloads", "The request body could not be read."))
			return
		}
		var in commonpb.Payloads
		if err := json.Unmarshal(raw, &in); err != nil {
			s.fail(c, badRequest("payloads", `Send {"payloads": [...]} as Temporal's codec server protocol defines it.`))
			return
		}
		op, fn := "decode", s.Codec.Codec.Decode
		if encode {
			op, fn = "encode", s.Codec.Codec.Encode
		}
		out, err := fn(in.Payloads)
		if err != nil {
			// The reason names a key version or tampering, never content.
			s.log(c).Warn("temporal codec refused payloads", zap.String("op", op), zap.Error(err),
				zap.String("user_id", c.GetString(ctxUserID)), zap.String("namespace", c.GetHeader("X-Namespace")))
			s.fail(c, errCodecFailed)
			return
		}
		s.log(c).Info("temporal codec", zap.String("op", op), zap.Int("payloads", len(out)),
			zap.String("user_id", c.GetString(ctxUserID)), zap.String("namespace", c.GetHeader("X-Namespace")))
		body, err := json.Marshal(&commonpb.Payloads{Payloads: out})
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Data(http.StatusOK, "application/json", body)
	}
}
