package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"
)

// bindJSON decodes the request body into v: application/json only, one
// object, no unknown fields, at most maxBodyBytes. It answers the request
// itself and returns false on any problem.
func (s *Server) bindJSON(c *gin.Context, v any) bool {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "application/json" {
		s.fail(c, errUnsupportedMedia)
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.fail(c, errTooLarge)
			return false
		}
		s.fail(c, badRequest("", "Could not read the request body."))
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			s.fail(c, badRequest(typeErr.Field, typeErr.Field+" has the wrong type."))
			return false
		}
		s.fail(c, badRequest("", "The request body must be one JSON object with the documented fields."))
		return false
	}
	if dec.More() {
		s.fail(c, badRequest("", "The request body must be one JSON object with the documented fields."))
		return false
	}
	return true
}
