package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/schema"
)

// Discord signal sources, subscriptions and DM preferences (Settings →
// Signal sources). Sources and subscriptions are private to their owner
// (another trader's id answers 404), except that active sources are listed
// for everyone to follow. Registering a channel here leaves it pending until the
// bot has checked that the caller's linked Discord account manages that
// server; /tradeexec register in Discord activates it at once.
func (s *Server) sourceRoutes(v1 apiRoutes) {
	v1.GET("/sources", allow(trader, support, admin), s.listSources)
	v1.POST("/sources", allow(trader), s.registerSource)
	v1.PATCH("/sources/:id", allow(trader), s.updateSource)
	v1.DELETE("/sources/:id", allow(trader), s.deleteSource)
	v1.GET("/sources/:id/messages", allow(trader), s.sourceMessages)
	v1.GET("/subscriptions", allow(trader, support), s.listSubscriptions)
	v1.POST("/subscriptions", allow(trader), s.followSource)
	v1.PATCH("/subscriptions/:id", allow(trader), s.updateSubscription)
	v1.DELETE("/subscriptions/:id", allow(trader), s.unfollowSource)
	v1.GET("/notifications", allow(trader, support), s.listNotifications)
	v1.GET("/notifications/preferences", allow(trader, support), s.getPreferences)
	v1.PUT("/notifications/preferences", allow(trader), s.putPreferences)
}

// sourceView is a source as the dashboard shows it; authors and the
// verification reason only to its owner.
type sourceView struct {
	ID             string           `json:"id"`
	Name           string           `json:"name"`
	GuildID        string           `json:"guildId"`
	ChannelID      string           `json:"channelId"`
	Mode           string           `json:"mode"`
	Status         string           `json:"status"`
	StatusReason   string           `json:"statusReason,omitempty"`
	MaxAgeSeconds  int              `json:"maxAgeSeconds"`
	SummaryReplies bool             `json:"summaryReplies"`
	Followers      int64            `json:"followers"`
	Owned          bool             `json:"owned"`
	Authors        []sources.Author `json:"authors,omitempty"`
	CreatedAt      time.Time        `json:"createdAt"`
}

func viewSource(src sources.Source, followers int64, self string) sourceView {
	v := sourceView{ID: src.ID, Name: src.Name, GuildID: src.GuildID, ChannelID: src.ChannelID, Mode: src.ParseMode,
		Status: src.Status, MaxAgeSeconds: int(src.MaxAge().Seconds()), SummaryReplies: src.SummaryReplies,
		Followers: followers, Owned: src.OwnerUserID == self, CreatedAt: src.CreatedAt.UTC()}
	if v.Owned {
		v.Authors = src.Authors
		v.StatusReason = src.StatusReason
	}
	return v
}

// failSource answers a sources refusal with its status.
func (s *Server) failSource(c *gin.Context, err error) {
	e, ok := sources.AsError(err)
	if !ok {
		s.fail(c, err)
		return
	}
	status := http.StatusBadRequest
	switch e.Code {
	case sources.CodeNotFound:
		status = http.StatusNotFound
	case sources.CodeConflict:
		status = http.StatusConflict
	case sources.CodeForbidden:
		status = http.StatusForbidden
	}
	s.fail(c, &Error{Status: status, Code: e.Code, Field: e.Field, Message: e.Message})
}

// listSources: GET /api/v1/sources — the active sources anyone may follow,
// plus the caller's own in any status.
func (s *Server) listSources(c *gin.Context) {
	self := c.GetString(ctxUserID)
	list, err := sources.List(c.Request.Context(), s.DB, []string{sources.StatusActive}, self)
	if err != nil {
		s.fail(c, err)
		return
	}
	counts, err := followerCounts(s.DB.WithContext(c.Request.Context()))
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]sourceView, 0, len(list))
	for _, src := range list {
		out = append(out, viewSource(src, counts[src.ID], self))
	}
	c.JSON(http.StatusOK, gin.H{"sources": out})
}

func followerCounts(db *gorm.DB) (map[string]int64, error) {
	var rows []struct {
		SourceID string
		N        int64
	}
	err := db.Model(&schema.SourceSubscription{}).Select("source_id, COUNT(*) AS n").Where("active = ?", true).
		Group("source_id").Scan(&rows).Error
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.SourceID] = r.N
	}
	return out, err
}

type sourceBody struct {
	GuildID        string           `json:"guildId"`
	ChannelID      string           `json:"channelId"`
	Name           string           `json:"name"`
	Mode           string           `json:"mode"`
	Authors        []sources.Author `json:"authors"`
	SummaryReplies *bool            `json:"summaryReplies"`
	MaxAgeSeconds  int              `json:"maxAgeSeconds"`
}

// registerSource: POST /api/v1/sources — pending until the bot verifies
// that the caller's Discord account manages the server.
func (s *Server) registerSource(c *gin.Context) {
	var body sourceBody
	if !s.bindJSON(c, &body) {
		return
	}
	self := c.GetString(ctxUserID)
	var u schema.User
	if err := s.DB.WithContext(c.Request.Context()).Select("id", "discord_id").Where("id = ?", self).First(&u).Error; err != nil {
		s.fail(c, err)
		return
	}
	if u.DiscordID == nil || *u.DiscordID == "" {
		s.fail(c, &Error{Status: http.StatusConflict, Code: "discord_not_linked",
			Message: "Link your Discord account (sign in with Discord) before registering a signal source."})
		return
	}
	summary := true
	if body.SummaryReplies != nil {
		summary = *body.SummaryReplies
	}
	if body.Mode == "" {
		body.Mode = sources.ModeStrict
	}
	src, err := sources.Register(c.Request.Context(), s.DB, sources.RegisterInput{
		GuildID: body.GuildID, ChannelID: body.ChannelID, Name: body.Name, OwnerUserID: self, RegisteredBy: *u.DiscordID,
		Mode: body.Mode, Authors: body.Authors, SummaryReplies: summary, MaxAgeSeconds: body.MaxAgeSeconds,
	})
	if err != nil {
		s.failSource(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"source": viewSource(src, 0, self)})
}

type sourcePatch struct {
	Name           *string           `json:"name"`
	Mode           *string           `json:"mode"`
	MaxAgeSeconds  *int              `json:"maxAgeSeconds"`
	SummaryReplies *bool             `json:"summaryReplies"`
	Paused         *bool             `json:"paused"`
	Authors        *[]sources.Author `json:"authors"`
}

// updateSource: PATCH /api/v1/sources/{id} — the owner changes settings,
// authorized authors, or pauses the source.
func (s *Server) updateSource(c *gin.Context) {
	var body sourcePatch
	if !s.bindJSON(c, &body) {
		return
	}
	self := c.GetString(ctxUserID)
	src, err := sources.Update(c.Request.Context(), s.DB, self, c.Param("id"), sources.Patch{
		Name: body.Name, Mode: body.Mode, MaxAgeSeconds: body.MaxAgeSeconds, SummaryReplies: body.SummaryReplies,
		Paused: body.Paused, Authors: body.Authors,
	})
	if err != nil {
		s.failSource(c, err)
		return
	}
	n, err := sources.FollowerCount(c.Request.Context(), s.DB, src.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"source": viewSource(src, n, self)})
}

// deleteSource: DELETE /api/v1/sources/{id} (owner).
func (s *Server) deleteSource(c *gin.Context) {
	if err := sources.Delete(c.Request.Context(), s.DB, c.GetString(ctxUserID), c.Param("id")); err != nil {
		s.failSource(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// messageView is one logged signal message.
type messageView struct {
	MessageID     string     `json:"messageId"`
	AuthorID      string     `json:"authorId"`
	Content       string     `json:"content"`
	Status        string     `json:"status"`
	Reason        string     `json:"reason,omitempty"`
	Followers     int        `json:"followers"`
	Skipped       int        `json:"skipped"`
	PostedAt      time.Time  `json:"postedAt"`
	ReceivedAt    time.Time  `json:"receivedAt"`
	EditedAt      *time.Time `json:"editedAt,omitempty"`
	EditedContent string     `json:"editedContent,omitempty"`
	DeletedAt     *time.Time `json:"deletedAt,omitempty"`
}

// sourceMessages: GET /api/v1/sources/{id}/messages — the owner's log of
// what the bot made of each signal message (newest first, 50).
func (s *Server) sourceMessages(c *gin.Context) {
	self := c.GetString(ctxUserID)
	src, err := sources.Get(c.Request.Context(), s.DB, c.Param("id"))
	if err != nil || src.OwnerUserID != self {
		s.failSource(c, sources.ErrSourceNotFound)
		return
	}
	var rows []schema.DiscordMessage
	if err := s.DB.WithContext(c.Request.Context()).Where("source_id = ?", src.ID).Order("posted_at DESC").Limit(50).Find(&rows).Error; err != nil {
		s.fail(c, err)
		return
	}
	out := make([]messageView, 0, len(rows))
	for _, m := range rows {
		out = append(out, messageView{MessageID: m.MessageID, AuthorID: m.AuthorID, Content: m.Content, Status: m.Status,
			Reason: m.Reason, Followers: m.Followers, Skipped: m.Skipped, PostedAt: m.PostedAt.UTC(), ReceivedAt: m.ReceivedAt.UTC(),
			EditedAt: utcPtr(m.EditedAt), EditedContent: m.EditedContent, DeletedAt: utcPtr(m.DeletedAt)})
	}
	c.JSON(http.StatusOK, gin.H{"messages": out})
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// sizingBody is a subscription's sizing in a request.
type sizingBody struct {
	Mode        string          `json:"mode"`
	Multiplier  decimal.Decimal `json:"multiplier"`
	FixedAmount decimal.Decimal `json:"fixedAmount"`
}

func (b *sizingBody) sizing() sources.Sizing {
	if b == nil || b.Mode == "" {
		return sources.DefaultSizing()
	}
	return sources.Sizing{Mode: b.Mode, Multiplier: b.Multiplier, FixedAmount: b.FixedAmount}
}

type followBody struct {
	SourceID string      `json:"sourceId"`
	Sizing   *sizingBody `json:"sizing"`
	Shadow   bool        `json:"shadow"`
}

// followSource: POST /api/v1/subscriptions — follow a source (or, when
// already following, change sizing and shadow mode).
func (s *Server) followSource(c *gin.Context) {
	var body followBody
	if !s.bindJSON(c, &body) {
		return
	}
	sub, err := sources.Follow(c.Request.Context(), s.DB, c.GetString(ctxUserID), body.SourceID, body.Sizing.sizing(), body.Shadow)
	if err != nil {
		s.failSource(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"subscription": sub})
}

// updateSubscription: PATCH /api/v1/subscriptions/{id} — sizing, shadow
// mode, or active (pause copying).
func (s *Server) updateSubscription(c *gin.Context) {
	var body struct {
		Sizing *sizingBody `json:"sizing"`
		Shadow *bool       `json:"shadow"`
		Active *bool       `json:"active"`
		// RequireApproval: true or false overrides the trader's approval
		// setting for this channel, null returns to it, absent keeps it.
		RequireApproval json.RawMessage `json:"requireApproval"`
		// LadderStop: none, breakeven or trail overrides the trader's
		// stop move after a take-profit ladder's leg for this channel,
		// null returns to it, absent keeps it.
		LadderStop json.RawMessage `json:"ladderStop"`
	}
	if !s.bindJSON(c, &body) {
		return
	}
	p := sources.SubscriptionPatch{Shadow: body.Shadow, Active: body.Active}
	if len(body.RequireApproval) > 0 {
		p.SetApproval = true
		if string(body.RequireApproval) != "null" {
			var v bool
			if err := json.Unmarshal(body.RequireApproval, &v); err != nil {
				s.fail(c, badRequest("requireApproval", "requireApproval must be true, false or null (follow your Settings → Risk)."))
				return
			}
			p.RequireApproval = &v
		}
	}
	if len(body.LadderStop) > 0 {
		p.SetLadderStop = true
		if string(body.LadderStop) != "null" {
			var v string
			if err := json.Unmarshal(body.LadderStop, &v); err != nil || !risk.ValidLadderStop(v) {
				s.fail(c, badRequest("ladderStop", "ladderStop must be \"none\", \"breakeven\", \"trail\" or null (follow your Settings → Risk)."))
				return
			}
			p.LadderStop = &v
		}
	}
	if body.Sizing != nil {
		sz := body.Sizing.sizing()
		p.Sizing = &sz
	}
	sub, err := sources.UpdateSubscription(c.Request.Context(), s.DB, c.GetString(ctxUserID), c.Param("id"), p)
	if err != nil {
		s.failSource(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"subscription": sub})
}

// unfollowSource: DELETE /api/v1/subscriptions/{id}.
func (s *Server) unfollowSource(c *gin.Context) {
	if err := sources.DeleteSubscription(c.Request.Context(), s.DB, c.GetString(ctxUserID), c.Param("id")); err != nil {
		s.failSource(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// listSubscriptions: GET /api/v1/subscriptions.
func (s *Server) listSubscriptions(c *gin.Context) {
	uid, ok := s.subjectUserID(c, "SourceSubscription")
	if !ok {
		return
	}
	subs, err := sources.Subscriptions(c.Request.Context(), s.DB, uid)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"subscriptions": subs})
}

// notificationView is a Discord DM to the trader and its delivery.
type notificationView struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	Content   string     `json:"content"`
	Status    string     `json:"status"`
	Error     string     `json:"error,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	SentAt    *time.Time `json:"sentAt,omitempty"`
}

var notificationStatuses = []string{sources.NotifyPending, sources.NotifySending, sources.NotifySent, sources.NotifyUndeliverable, sources.NotifyFailed}

// listNotifications: GET /api/v1/notifications?status=undeliverable — the
// caller's Discord DMs, newest first; those Discord could not deliver are
// shown on the dashboard from here.
func (s *Server) listNotifications(c *gin.Context) {
	uid, ok := s.subjectUserID(c, "DiscordNotification")
	if !ok {
		return
	}
	q := s.DB.WithContext(c.Request.Context()).Where("user_id = ?", uid)
	if st := c.Query("status"); st != "" {
		valid := false
		for _, v := range notificationStatuses {
			valid = valid || v == st
		}
		if !valid {
			s.fail(c, badRequest("status", "status must be one of pending, sending, sent, undeliverable, failed."))
			return
		}
		q = q.Where("status = ?", st)
	}
	var rows []schema.DiscordNotification
	if err := q.Order("created_at DESC").Limit(50).Find(&rows).Error; err != nil {
		s.fail(c, err)
		return
	}
	out := make([]notificationView, 0, len(rows))
	for _, r := range rows {
		out = append(out, notificationView{ID: r.ID, Kind: r.Kind, Content: r.Content, Status: r.Status, Error: r.Error,
			CreatedAt: r.CreatedAt.UTC(), SentAt: utcPtr(r.SentAt)})
	}
	c.JSON(http.StatusOK, gin.H{"notifications": out})
}

// getPreferences: GET /api/v1/notifications/preferences.
func (s *Server) getPreferences(c *gin.Context) {
	uid, ok := s.subjectUserID(c, "NotificationPreference")
	if !ok {
		return
	}
	p, err := sources.GetPreferences(c.Request.Context(), s.DB, uid)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"preferences": p})
}

// putPreferences: PUT /api/v1/notifications/preferences — every field
// (fills, rejects, queued, stopLoss, riskLocks) is required.
func (s *Server) putPreferences(c *gin.Context) {
	var body struct {
		Fills     *bool `json:"fills"`
		Rejects   *bool `json:"rejects"`
		Queued    *bool `json:"queued"`
		StopLoss  *bool `json:"stopLoss"`
		RiskLocks *bool `json:"riskLocks"`
	}
	if !s.bindJSON(c, &body) {
		return
	}
	if body.Fills == nil || body.Rejects == nil || body.Queued == nil || body.StopLoss == nil || body.RiskLocks == nil {
		s.fail(c, badRequest("", "Send all of fills, rejects, queued, stopLoss and riskLocks."))
		return
	}
	p := sources.Preferences{Fills: *body.Fills, Rejects: *body.Rejects, Queued: *body.Queued, StopLoss: *body.StopLoss, RiskLocks: *body.RiskLocks}
	if err := sources.SetPreferences(c.Request.Context(), s.DB, c.GetString(ctxUserID), p); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"preferences": p})
}
