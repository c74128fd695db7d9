package api

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// ActionWebhookURLCreated: a trader created (or replaced) their TradingView
// webhook URL.
const ActionWebhookURLCreated = "WEBHOOK_URL_CREATED"

// Passphrase limits of a webhook (TradingView sends it in the alert body).
const (
	minPassphrase = 8
	maxPassphrase = 128
)

// webhookRoutes: Settings → Signal sources. The URL's token is stored
// hashed, so it is shown once, when created.
func (s *Server) webhookRoutes(v1 apiRoutes) {
	v1.GET("/webhook", allow(trader), s.getWebhook)
	v1.POST("/webhook", allow(trader), s.createWebhook)
}

// getWebhook: GET /api/v1/webhook — whether the caller has a webhook URL.
func (s *Server) getWebhook(c *gin.Context) {
	var hook schema.WebhookToken
	err := s.DB.WithContext(c.Request.Context()).Where("user_id = ? AND revoked_at IS NULL", c.GetString(ctxUserID)).
		Order("created_at DESC").Take(&hook).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		c.JSON(http.StatusOK, gin.H{"configured": false})
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"configured": true, "createdAt": hook.CreatedAt.UTC(), "passphrase": hook.PassphraseHash != "",
		"tradingViewIPsOnly": hook.TradingViewIPsOnly})
}

type webhookRequest struct {
	Passphrase string `json:"passphrase"`
	// TradingViewIPsOnly accepts alerts only from TradingView's published
	// source addresses.
	TradingViewIPsOnly bool `json:"tradingViewIPsOnly"`
}

// createWebhook: POST /api/v1/webhook {passphrase?} — a new webhook URL;
// the previous one stops working. The URL is in this answer only.
func (s *Server) createWebhook(c *gin.Context) {
	var req webhookRequest
	if !s.bindJSON(c, &req) {
		return
	}
	if n := utf8.RuneCountInString(req.Passphrase); req.Passphrase != "" && (n < minPassphrase || n > maxPassphrase || !utf8.ValidString(req.Passphrase)) {
		s.fail(c, badRequest("passphrase", "passphrase must have 8 to 128 characters."))
		return
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		s.fail(c, err)
		return
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	row := schema.WebhookToken{ID: uuid.NewString(), UserID: c.GetString(ctxUserID), TokenHash: HashToken(token), CreatedAt: s.clock().UTC(),
		TradingViewIPsOnly: req.TradingViewIPsOnly}
	if req.Passphrase != "" {
		h, err := bcrypt.GenerateFromPassword([]byte(req.Passphrase), bcrypt.DefaultCost)
		if err != nil {
			s.fail(c, err)
			return
		}
		row.PassphraseHash = string(h)
	}
	cl := s.client(c)
	err := store.InTx(c.Request.Context(), s.DB, func(tx *gorm.DB) error {
		if err := tx.Model(&schema.WebhookToken{}).Where("user_id = ? AND revoked_at IS NULL", row.UserID).
			Update("revoked_at", row.CreatedAt).Error; err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		_, err := audit.Append(tx, audit.Entry{UserID: row.UserID, Action: ActionWebhookURLCreated, ResourceType: "WebhookToken",
			ResourceID: row.ID, IPAddress: cl.IP, UserAgent: cl.UserAgent, Details: map[string]any{"passphrase": row.PassphraseHash != "",
				"tradingViewIPsOnly": row.TradingViewIPsOnly}})
		return err
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"url": strings.TrimRight(s.PublicURL, "/") + "/webhooks/tradingview/" + token,
		"createdAt": row.CreatedAt, "passphrase": row.PassphraseHash != "", "tradingViewIPsOnly": row.TradingViewIPsOnly})
}
