package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/analytics/churn"
	"github.com/tradeexec/tradeexec/internal/store"
)

// supportContactRoutes: support staff record contacts with traders
// (FR-043's support tickets; issue 16).
func (s *Server) supportContactRoutes(v1 apiRoutes) {
	v1.POST("/support/contacts", allow(support, admin), s.recordSupportContact)
}

// recordSupportContact: POST /api/v1/support/contacts {userId, channel,
// summary} — 201 {id}; audited SUPPORT_CONTACT_RECORDED; 404 for a user
// who is not a trader; 400 names the field.
func (s *Server) recordSupportContact(c *gin.Context) {
	var req churn.Contact
	if err := c.ShouldBindJSON(&req); err != nil {
		s.fail(c, badRequest("body", "The body must be JSON: {userId, channel, summary}."))
		return
	}
	var id string
	err := store.InTx(c.Request.Context(), s.DB, func(tx *gorm.DB) error {
		var err error
		id, err = churn.RecordContact(tx, req, c.GetString(ctxUserID), s.clock())
		return err
	})
	var ce *churn.ContactError
	switch {
	case errors.As(err, &ce):
		s.fail(c, badRequest(ce.Field, ce.Message))
	case errors.Is(err, churn.ErrUnknownTrader):
		s.fail(c, errNotFound)
	case err != nil:
		s.fail(c, err)
	default:
		c.JSON(http.StatusCreated, gin.H{"id": id})
	}
}
