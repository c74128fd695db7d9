package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/copytrade"
	"github.com/tradeexec/tradeexec/schema"
)

// Copy trading (issue 17, DESIGN §8 "Copy trading"). A profile the caller
// may not see — private, followers-only and not followed, or no such
// trader — is answered the same way: 404 not_found "Profile Private", so
// the answer never tells a hidden leader from a missing one.
func (s *Server) copyRoutes(v1 apiRoutes) {
	v1.GET("/copy/settings", allow(trader), s.getCopySettings)
	v1.PUT("/copy/settings", allow(trader), s.putCopySettings)
	v1.GET("/copy/leaders", allow(trader), s.searchLeaders)
	v1.GET("/copy/leaders/:id", allow(trader), s.leaderProfile)
	v1.GET("/copy/follows", allow(trader), s.listCopyFollows)
	v1.POST("/copy/follows", allow(trader), s.followLeader)
	v1.PATCH("/copy/follows/:id", allow(trader), s.updateCopyFollow)
	v1.DELETE("/copy/follows/:id", allow(trader), s.unfollowLeader)
	v1.GET("/copy/activity", allow(trader), s.copyActivity)
	v1.GET("/copy/requests", allow(trader), s.listFollowRequests)
	v1.POST("/copy/requests/:id/approve", allow(trader), s.approveFollowRequest)
	v1.POST("/copy/requests/:id/deny", allow(trader), s.denyFollowRequest)
}

var errProfilePrivate = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "Profile Private"}

func (s *Server) failCopy(c *gin.Context, err error) {
	var ie *copytrade.InputError
	switch {
	case errors.As(err, &ie):
		s.fail(c, badRequest(ie.Field, ie.Message))
	case errors.Is(err, copytrade.ErrNotFound):
		s.fail(c, errNotFound)
	default:
		s.fail(c, err)
	}
}

// GET /api/v1/copy/settings — the caller's leader settings.
func (s *Server) getCopySettings(c *gin.Context) {
	st, err := copytrade.GetSettings(s.DB.WithContext(c.Request.Context()), c.GetString(ctxUserID))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"settings": st})
}

// PUT /api/v1/copy/settings {allowCopy, visibility, displayName}.
func (s *Server) putCopySettings(c *gin.Context) {
	var body struct {
		AllowCopy   *bool   `json:"allowCopy"`
		Visibility  *string `json:"visibility"`
		DisplayName *string `json:"displayName"`
	}
	if !s.bindJSON(c, &body) {
		return
	}
	uid := c.GetString(ctxUserID)
	st, err := copytrade.GetSettings(s.DB.WithContext(c.Request.Context()), uid)
	if err != nil {
		s.fail(c, err)
		return
	}
	if body.AllowCopy != nil {
		st.AllowCopy = *body.AllowCopy
	}
	if body.Visibility != nil {
		st.Visibility = *body.Visibility
	}
	if body.DisplayName != nil {
		st.DisplayName = *body.DisplayName
	}
	st, err = copytrade.SaveSettings(c.Request.Context(), s.DB, uid, st, time.Now().UTC())
	if err != nil {
		s.failCopy(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"settings": st})
}

// leaderView is a leader as a viewer allowed to see them sees them.
type leaderView struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	AllowCopy   bool   `json:"allowCopy"`
	Visibility  string `json:"visibility"`
	Followers   int64  `json:"followers"`
	Following   bool   `json:"following"`
	// Stats (profile only): the leader's copied fills of the last 30 days.
	Fills30d    *int64      `json:"fills30d,omitempty"`
	RecentFills []fillView  `json:"recentFills,omitempty"`
	Follow      *followView `json:"follow,omitempty"`
}

type fillView struct {
	Kind     string          `json:"kind"`
	Symbol   string          `json:"symbol"`
	Side     string          `json:"side"`
	Quantity decimal.Decimal `json:"quantity"`
	Price    decimal.Decimal `json:"price"`
	At       time.Time       `json:"at"`
}

// GET /api/v1/copy/leaders?q=name — public leaders who allow copying
// (followers-only and private leaders are never listed).
func (s *Server) searchLeaders(c *gin.Context) {
	q := strings.TrimSpace(c.Query("q"))
	if len([]rune(q)) > 100 {
		s.fail(c, badRequest("q", "q must be at most 100 characters."))
		return
	}
	db := s.DB.WithContext(c.Request.Context())
	query := db.Where("allow_copy = ? AND visibility = ?", true, string(copytrade.Public))
	if q != "" {
		query = query.Where("LOWER(display_name) LIKE ?", "%"+strings.ToLower(escapeLike(q))+"%")
	}
	var rows []schema.CopyLeader
	if err := query.Order("display_name, user_id").Limit(100).Find(&rows).Error; err != nil {
		s.fail(c, err)
		return
	}
	out := make([]leaderView, 0, len(rows))
	for _, r := range rows {
		v, err := s.leaderSummary(c, r)
		if err != nil {
			s.fail(c, err)
			return
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"leaders": out})
}

func escapeLike(s string) string {
	return strings.NewReplacer("%", "", "_", "").Replace(s)
}

func (s *Server) leaderSummary(c *gin.Context, r schema.CopyLeader) (leaderView, error) {
	db := s.DB.WithContext(c.Request.Context())
	name, err := copytrade.LeaderName(db, r.UserID)
	if err != nil {
		return leaderView{}, err
	}
	var n int64
	if err := db.Model(&schema.CopyFollow{}).Where("leader_id = ? AND status IN ?", r.UserID,
		[]string{copytrade.StatusActive, copytrade.StatusPaused}).Count(&n).Error; err != nil {
		return leaderView{}, err
	}
	following, err := copytrade.Follows(db, c.GetString(ctxUserID), r.UserID)
	if err != nil {
		return leaderView{}, err
	}
	return leaderView{ID: r.UserID, DisplayName: name, AllowCopy: r.AllowCopy, Visibility: r.Visibility, Followers: n, Following: following}, nil
}

// visibleLeader loads the leader of id if the caller may see the profile,
// else answers "Profile Private" (also for an id that is not a trader).
func (s *Server) visibleLeader(c *gin.Context, id string) (schema.CopyLeader, bool) {
	if _, err := uuid.Parse(id); err != nil {
		s.fail(c, errProfilePrivate)
		return schema.CopyLeader{}, false
	}
	db := s.DB.WithContext(c.Request.Context())
	uid := c.GetString(ctxUserID)
	p, err := copytrade.ProfileOf(db, id)
	if err != nil {
		s.fail(c, err)
		return schema.CopyLeader{}, false
	}
	follows, err := copytrade.Follows(db, uid, id)
	if err != nil {
		s.fail(c, err)
		return schema.CopyLeader{}, false
	}
	if !copytrade.CanView(p, copytrade.Viewer{UserID: uid, Follows: follows}) {
		s.fail(c, errProfilePrivate)
		return schema.CopyLeader{}, false
	}
	var row schema.CopyLeader
	if err := db.Where("user_id = ?", id).Take(&row).Error; err != nil {
		// The leader's own profile before any setting: the defaults.
		row = schema.CopyLeader{UserID: id, Visibility: string(copytrade.Private)}
	}
	return row, true
}

// GET /api/v1/copy/leaders/{id} — a leader's profile and stats, to whom
// the visibility allows.
func (s *Server) leaderProfile(c *gin.Context) {
	row, ok := s.visibleLeader(c, c.Param("id"))
	if !ok {
		return
	}
	v, err := s.leaderSummary(c, row)
	if err != nil {
		s.fail(c, err)
		return
	}
	db := s.DB.WithContext(c.Request.Context())
	since := time.Now().UTC().Add(-30 * 24 * time.Hour)
	var n int64
	if err := db.Model(&schema.CopyFill{}).Where("leader_id = ? AND created_at >= ?", row.UserID, since).Count(&n).Error; err != nil {
		s.fail(c, err)
		return
	}
	v.Fills30d = &n
	var fills []schema.CopyFill
	if err := db.Where("leader_id = ?", row.UserID).Order("created_at DESC").Limit(20).Find(&fills).Error; err != nil {
		s.fail(c, err)
		return
	}
	for _, f := range fills {
		v.RecentFills = append(v.RecentFills, fillView{Kind: f.Kind, Symbol: f.Symbol, Side: f.Side, Quantity: f.Quantity, Price: f.Price, At: f.CreatedAt})
	}
	c.JSON(http.StatusOK, gin.H{"leader": v})
}

// followView is one of the caller's follows.
type followView struct {
	ID           string          `json:"id"`
	LeaderID     string          `json:"leaderId"`
	LeaderName   string          `json:"leaderName"`
	SizingMode   string          `json:"sizingMode"`
	Multiplier   decimal.Decimal `json:"multiplier"`
	FixedAmount  decimal.Decimal `json:"fixedAmount"`
	MaxPosition  decimal.Decimal `json:"maxPosition"`
	LossLimit    decimal.Decimal `json:"lossLimit"`
	Status       string          `json:"status"`
	StatusReason string          `json:"statusReason,omitempty"`
	// CopyPnL: realized + unrealized on the copied positions (at the last
	// price copy trading saw).
	CopyPnL   decimal.Decimal `json:"copyPnl"`
	Positions []copyPosView   `json:"positions"`
}

type copyPosView struct {
	Symbol      string          `json:"symbol"`
	Quantity    decimal.Decimal `json:"quantity"`
	AvgPrice    decimal.Decimal `json:"avgPrice"`
	RealizedPnL decimal.Decimal `json:"realizedPnl"`
}

// answerFollow answers 200 with the follow as the trader sees it.
func (s *Server) answerFollow(c *gin.Context, row schema.CopyFollow) {
	v, err := s.followViewOf(c, row)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"follow": v})
}

func (s *Server) followViewOf(c *gin.Context, f schema.CopyFollow) (followView, error) {
	db := s.DB.WithContext(c.Request.Context())
	name, err := copytrade.LeaderName(db, f.LeaderID)
	if err != nil {
		return followView{}, err
	}
	var ps []schema.CopyPosition
	if err := db.Where("follower_id = ? AND leader_id = ?", f.FollowerID, f.LeaderID).Order("symbol").Find(&ps).Error; err != nil {
		return followView{}, err
	}
	v := followView{ID: f.ID, LeaderID: f.LeaderID, LeaderName: name, SizingMode: f.SizingMode, Multiplier: f.Multiplier,
		FixedAmount: f.FixedAmount, MaxPosition: f.MaxPosition, LossLimit: f.LossLimit, Status: f.Status, StatusReason: f.StatusReason,
		Positions: []copyPosView{}}
	var cps []copytrade.Position
	for _, p := range ps {
		cps = append(cps, copytrade.Position{Quantity: p.Quantity, AvgPrice: p.AvgPrice, RealizedPnL: p.RealizedPnL, LastPrice: p.LastPrice})
		if !p.Quantity.IsZero() || !p.RealizedPnL.IsZero() {
			v.Positions = append(v.Positions, copyPosView{Symbol: p.Symbol, Quantity: p.Quantity, AvgPrice: p.AvgPrice, RealizedPnL: p.RealizedPnL})
		}
	}
	v.CopyPnL = copytrade.Loss(cps)
	return v, nil
}

// GET /api/v1/copy/follows — the leaders the caller follows (also paused
// and stopped ones, with the reason).
func (s *Server) listCopyFollows(c *gin.Context) {
	var rows []schema.CopyFollow
	if err := s.DB.WithContext(c.Request.Context()).Where("follower_id = ?", c.GetString(ctxUserID)).
		Order("created_at, id").Find(&rows).Error; err != nil {
		s.fail(c, err)
		return
	}
	out := make([]followView, 0, len(rows))
	for _, r := range rows {
		v, err := s.followViewOf(c, r)
		if err != nil {
			s.fail(c, err)
			return
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"follows": out})
}

type followLeaderBody struct {
	LeaderID    string           `json:"leaderId"`
	SizingMode  string           `json:"sizingMode"`
	Multiplier  *decimal.Decimal `json:"multiplier"`
	FixedAmount *decimal.Decimal `json:"fixedAmount"`
	MaxPosition *decimal.Decimal `json:"maxPosition"`
	LossLimit   *decimal.Decimal `json:"lossLimit"`
}

func orZero(d *decimal.Decimal) decimal.Decimal {
	if d == nil {
		return decimal.Zero
	}
	return *d
}

// POST /api/v1/copy/follows — follow a leader the caller may see and who
// allows copy trading.
func (s *Server) followLeader(c *gin.Context) {
	var body followLeaderBody
	if !s.bindJSON(c, &body) {
		return
	}
	uid := c.GetString(ctxUserID)
	if body.LeaderID == uid {
		s.fail(c, badRequest("leaderId", "You cannot copy yourself."))
		return
	}
	// Following needs the profile visible or followers-only (the link).
	if _, err := uuid.Parse(body.LeaderID); err != nil {
		s.fail(c, errProfilePrivate)
		return
	}
	db := s.DB.WithContext(c.Request.Context())
	p, err := copytrade.ProfileOf(db, body.LeaderID)
	if err != nil {
		s.fail(c, err)
		return
	}
	if reason := copytrade.CanFollow(p, uid); reason != "" {
		s.fail(c, errProfilePrivate)
		return
	}
	row, err := copytrade.Follow(c.Request.Context(), s.DB, uid, body.LeaderID, copytrade.FollowRequest{SizingMode: body.SizingMode,
		Multiplier: orZero(body.Multiplier), FixedAmount: orZero(body.FixedAmount), MaxPosition: orZero(body.MaxPosition),
		LossLimit: orZero(body.LossLimit)}, time.Now().UTC())
	if err != nil {
		s.failCopy(c, err)
		return
	}
	s.answerFollow(c, row)
}

// PATCH /api/v1/copy/follows/{id} — change sizing or limits, pause
// (status "paused") or resume (status "active": copying starts again with
// the next fill of the leader).
func (s *Server) updateCopyFollow(c *gin.Context) {
	var body struct {
		SizingMode  *string          `json:"sizingMode"`
		Multiplier  *decimal.Decimal `json:"multiplier"`
		FixedAmount *decimal.Decimal `json:"fixedAmount"`
		MaxPosition *decimal.Decimal `json:"maxPosition"`
		LossLimit   *decimal.Decimal `json:"lossLimit"`
		Status      *string          `json:"status"`
	}
	if !s.bindJSON(c, &body) {
		return
	}
	uid := c.GetString(ctxUserID)
	db := s.DB.WithContext(c.Request.Context())
	var row schema.CopyFollow
	if err := db.Where("id = ? AND follower_id = ?", c.Param("id"), uid).Take(&row).Error; err != nil {
		s.fail(c, errNotFound)
		return
	}
	req := copytrade.FollowRequest{SizingMode: row.SizingMode, Multiplier: row.Multiplier, FixedAmount: row.FixedAmount,
		MaxPosition: row.MaxPosition, LossLimit: row.LossLimit}
	if body.SizingMode != nil {
		req.SizingMode = *body.SizingMode
	}
	for _, f := range []struct {
		in  *decimal.Decimal
		out *decimal.Decimal
	}{{body.Multiplier, &req.Multiplier}, {body.FixedAmount, &req.FixedAmount}, {body.MaxPosition, &req.MaxPosition}, {body.LossLimit, &req.LossLimit}} {
		if f.in != nil {
			*f.out = *f.in
		}
	}
	status, reason := row.Status, row.StatusReason
	if body.Status != nil && (row.Status == copytrade.StatusPending || row.Status == copytrade.StatusDenied || row.Status == copytrade.StatusStopped) {
		s.fail(c, badRequest("status", "Only an approved follow can be paused or resumed (this one is "+row.Status+")."))
		return
	}
	if body.Status != nil {
		reason = "Paused by you."
		if *body.Status != copytrade.StatusActive && *body.Status != copytrade.StatusPaused {
			s.fail(c, badRequest("status", "status must be active or paused (DELETE unfollows)."))
			return
		}
		status = *body.Status
	}
	now := time.Now().UTC()
	if status == copytrade.StatusActive {
		// Resuming needs the leader to still allow copying.
		p, err := copytrade.ProfileOf(db, row.LeaderID)
		if err != nil {
			s.fail(c, err)
			return
		}
		if copytrade.CanFollow(p, uid) != "" {
			s.fail(c, errProfilePrivate)
			return
		}
	}
	var err error
	if row, err = copytrade.Follow(c.Request.Context(), s.DB, uid, row.LeaderID, req, now); err != nil {
		s.failCopy(c, err)
		return
	}
	if status != copytrade.StatusActive && row.Status == copytrade.StatusActive {
		if row, err = copytrade.SetFollowStatus(c.Request.Context(), s.DB, uid, row.ID, status, reason, now); err != nil {
			s.failCopy(c, err)
			return
		}
	}
	s.answerFollow(c, row)
}

// DELETE /api/v1/copy/follows/{id}?closePositions=true|false — stop
// copying. Default (false): the copied positions stay open and become the
// trader's own (released from the copy ledger: no later exit of the leader
// or loss limit touches them). true: they are closed at market (close-only
// orders, recorded with the unfollow). The answer lists what was released.
func (s *Server) unfollowLeader(c *gin.Context) {
	closePositions := false
	if v := c.Query("closePositions"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.fail(c, badRequest("closePositions", "closePositions must be true or false."))
			return
		}
		closePositions = b
	}
	uid := c.GetString(ctxUserID)
	svc := s.intake()
	released, err := copytrade.Unfollow(c.Request.Context(), s.DB, uid, c.Param("id"), closePositions,
		func(tx *gorm.DB, f schema.CopyFollow, ps []schema.CopyPosition) error {
			for _, p := range ps {
				sig := copytrade.CloseSignal(uid+":unfollow:"+f.ID+":"+f.UpdatedAt.UTC().Format(time.RFC3339Nano)+":"+p.Symbol, p,
					"Unfollowed: closing the copied "+p.Quantity.Abs().String()+" "+p.Symbol)
				if _, err := svc.RecordFollowUp(tx, intake.Request{UserID: uid, Signal: sig, Memo: map[string]any{"leaderId": f.LeaderID}}); err != nil {
					return err
				}
			}
			return nil
		}, time.Now().UTC())
	if err != nil {
		s.failCopy(c, err)
		return
	}
	if released == nil {
		released = []copytrade.Released{}
	}
	c.JSON(http.StatusOK, gin.H{"closePositions": closePositions, "positions": released})
}

// GET /api/v1/copy/requests — follow requests waiting for the caller's
// approval (a followers-only leader's).
func (s *Server) listFollowRequests(c *gin.Context) {
	rows, err := copytrade.PendingRequests(s.DB.WithContext(c.Request.Context()), c.GetString(ctxUserID))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"requests": rows})
}

func (s *Server) decideFollowRequest(c *gin.Context, approve bool) {
	row, err := copytrade.DecideRequest(c.Request.Context(), s.DB, c.GetString(ctxUserID), c.Param("id"), approve, time.Now().UTC())
	if err != nil {
		s.failCopy(c, err)
		return
	}
	if s.Committed != nil {
		s.Committed(row.FollowerID)
	}
	c.JSON(http.StatusOK, gin.H{"request": gin.H{"id": row.ID, "followerId": row.FollowerID, "status": row.Status}})
}

// POST /api/v1/copy/requests/{id}/approve — the leader approves a pending
// follow: copying starts with the leader's next fill (audited).
func (s *Server) approveFollowRequest(c *gin.Context) { s.decideFollowRequest(c, true) }

// POST /api/v1/copy/requests/{id}/deny — the leader declines it (audited).
func (s *Server) denyFollowRequest(c *gin.Context) { s.decideFollowRequest(c, false) }

// copyOrderView is one outcome of a leader's fill for the caller.
type copyOrderView struct {
	LeaderID   string          `json:"leaderId"`
	LeaderName string          `json:"leaderName"`
	Symbol     string          `json:"symbol"`
	Side       string          `json:"side"`
	Quantity   decimal.Decimal `json:"quantity"`
	Status     string          `json:"status"`
	Reason     string          `json:"reason,omitempty"`
	TradeID    string          `json:"tradeId,omitempty"`
	// Text: "Copy Trade: NVDA +1 share (5% allocation)" (SPEC US-011 #2)
	// for an order sent or filled.
	Text string    `json:"text,omitempty"`
	At   time.Time `json:"at"`
}

// GET /api/v1/copy/activity?limit=50 — the caller's copies, newest first:
// orders sent or filled, and skips with their reason (never silent).
func (s *Server) copyActivity(c *gin.Context) {
	limit := 50
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			s.fail(c, badRequest("limit", "limit must be between 1 and 500."))
			return
		}
		limit = n
	}
	db := s.DB.WithContext(c.Request.Context())
	var rows []schema.CopyOrder
	if err := db.Where("follower_id = ?", c.GetString(ctxUserID)).Order("created_at DESC, id").Limit(limit).Find(&rows).Error; err != nil {
		s.fail(c, err)
		return
	}
	names := map[string]string{}
	out := make([]copyOrderView, 0, len(rows))
	for _, r := range rows {
		if _, ok := names[r.LeaderID]; !ok {
			n, err := copytrade.LeaderName(db, r.LeaderID)
			if err != nil {
				s.fail(c, err)
				return
			}
			names[r.LeaderID] = n
		}
		v := copyOrderView{LeaderID: r.LeaderID, LeaderName: names[r.LeaderID], Symbol: r.Symbol, Side: r.Side,
			Quantity: r.Quantity, Status: r.Status, Reason: r.Reason, TradeID: r.TradeID, At: r.CreatedAt}
		if r.Status != copytrade.OrderSkipped {
			v.Text = copytrade.DashboardLine(r.Symbol, copytrade.UnitsOf(r.Symbol), r.Quantity, r.Side == "buy", r.AllocationPct)
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"activity": out})
}
