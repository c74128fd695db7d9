package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// riskRoutes: a trader's risk settings (FR-005..FR-007) and the account
// guard's state; the administrator's unlock of an account stopped by the
// circuit breaker.
func (s *Server) riskRoutes(v1 apiRoutes) {
	v1.GET("/risk", allow(trader, support), s.getRisk)
	v1.PUT("/risk", allow(trader), s.putRisk)
	v1.POST("/admin/users/:id/unlock", allow(admin), s.unlockUser)
}

var (
	errNotLocked = &Error{Status: http.StatusConflict, Code: "not_locked", Message: "This account is not locked."}
)

// riskSettingsBody is the settings as the API shows and takes them. PUT
// changes the fields it names and keeps the others.
type riskSettingsBody struct {
	MaxPositionPct         *decimal.Decimal `json:"maxPositionPct"`
	DailyLossLimitPct      *decimal.Decimal `json:"dailyLossLimitPct"`
	DailyLossLimitAmount   *decimal.Decimal `json:"dailyLossLimitAmount"`
	CircuitBreakerPct      *decimal.Decimal `json:"circuitBreakerPct"`
	StopLossPct            *decimal.Decimal `json:"stopLossPct"`
	ExtendedHours          *bool            `json:"extendedHours"`
	TrailingStop           *bool            `json:"trailingStop"`
	AllowReversal          *bool            `json:"allowReversal"`
	MaxAlertLagSeconds     *int             `json:"maxAlertLagSeconds"`
	RequireApproval        *bool            `json:"requireApproval"`
	ApprovalTimeoutSeconds *int             `json:"approvalTimeoutSeconds"`
	LadderStop             *string          `json:"ladderStop"`
	BreakevenOffsetPct     *decimal.Decimal `json:"breakevenOffsetPct"`
	TrailAfterTarget       *int             `json:"trailAfterTarget"`
	LadderTrailPct         *decimal.Decimal `json:"ladderTrailPct"`
	EntryStrategy          *string          `json:"entryStrategy"`
}

// riskStateView is the account guard's view of one connection today.
type riskStateView struct {
	ConnectionID   string          `json:"connectionId"`
	Day            string          `json:"day"`
	Level          string          `json:"level"`
	Message        string          `json:"message,omitempty"`
	BlockedUntil   *time.Time      `json:"blockedUntil,omitempty"`
	StartEquity    decimal.Decimal `json:"startEquity"`
	Equity         decimal.Decimal `json:"equity"`
	DrawdownPct    decimal.Decimal `json:"drawdownPct"`
	DrawdownAmount decimal.Decimal `json:"drawdownAmount"`
	ObservedAt     time.Time       `json:"observedAt"`
}

// loadRiskSettings returns the stored row (or a new one with the defaults)
// and the settings it holds.
func loadRiskSettings(tx *gorm.DB, userID string) (schema.RiskSettings, risk.Settings, bool, error) {
	var row schema.RiskSettings
	err := tx.Where("user_id = ?", userID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		d := risk.DefaultSettings()
		return schema.RiskSettings{UserID: userID}, d, false, nil
	}
	if err != nil {
		return row, risk.Settings{}, false, err
	}
	return row, risk.Settings{MaxPositionPct: row.MaxPositionPct, DailyLossLimitPct: row.DailyLossLimitPct,
		DailyLossLimitAmount: row.DailyLossLimitAmount, CircuitBreakerPct: row.CircuitBreakerPct, StopLossPct: row.StopLossPct,
		ExtendedHours: row.ExtendedHours, TrailingStop: row.TrailingStop, AllowReversal: row.AllowReversal,
		MaxAlertLagSeconds: row.MaxAlertLagSeconds, RequireApproval: row.RequireApproval, ApprovalTimeoutSeconds: row.ApprovalTimeoutSeconds,
		LadderStop: row.LadderStop, BreakevenOffsetPct: row.BreakevenOffsetPct, TrailAfterTarget: row.TrailAfterTarget, LadderTrailPct: row.LadderTrailPct,
		EntryStrategy: row.EntryStrategy}, true, nil
}

// getRisk: GET /api/v1/risk — the caller's risk settings, whether the
// account is locked, and the guard's state of each connection today.
// Support staff name the trader in ?user_id= (audited).
func (s *Server) getRisk(c *gin.Context) {
	subject, ok := s.subjectUserID(c, "RiskSettings")
	if !ok {
		return
	}
	db := s.DB.WithContext(c.Request.Context())
	_, settings, _, err := loadRiskSettings(db, subject)
	if err != nil {
		s.fail(c, err)
		return
	}
	var u schema.User
	if err := db.Select("id", "locked").Take(&u, "id = ?", subject).Error; err != nil {
		s.fail(c, err)
		return
	}
	var rows []schema.RiskGuard
	if err := db.Where("user_id = ?", subject).Order("connection_id").Find(&rows).Error; err != nil {
		s.fail(c, err)
		return
	}
	now := time.Now().UTC()
	states := make([]riskStateView, 0, len(rows))
	for _, r := range rows {
		v := riskStateView{ConnectionID: r.ConnectionID, Day: r.Day, Level: r.Level, Message: r.Message,
			StartEquity: r.DayStartEquity, Equity: r.Equity, ObservedAt: r.ObservedAt.UTC(), DrawdownPct: decimal.Zero, DrawdownAmount: decimal.Zero}
		if r.BlockedUntil != nil && now.Before(*r.BlockedUntil) {
			t := r.BlockedUntil.UTC()
			v.BlockedUntil = &t
		}
		if r.Day == risk.TradingDay(now) {
			loss := risk.EvaluateDailyLoss(r.DayStartEquity, r.Equity, settings)
			v.DrawdownPct, v.DrawdownAmount = loss.DrawdownPct, loss.DrawdownAmount
		}
		states = append(states, v)
	}
	c.JSON(http.StatusOK, gin.H{"settings": settings, "locked": u.Locked, "accounts": states})
}

// putRisk: PUT /api/v1/risk — changes the caller's risk settings. Every
// change is audited (RISK_SETTINGS_CHANGED with the old and new values)
// and announced (risk.settingsChanged). A day already blocked by the loss
// rules stays blocked until its reset whatever the new settings say.
func (s *Server) putRisk(c *gin.Context) {
	var body riskSettingsBody
	if !s.bindJSON(c, &body) {
		return
	}
	uid := c.GetString(ctxUserID)
	cl := s.client(c)
	var out risk.Settings
	err := store.InTx(c.Request.Context(), s.DB, func(tx *gorm.DB) error {
		row, old, found, err := loadRiskSettings(tx.Clauses(clause.Locking{Strength: "UPDATE"}), uid)
		if err != nil {
			return err
		}
		next := old
		set := func(dst *decimal.Decimal, v *decimal.Decimal) {
			if v != nil {
				*dst = *v
			}
		}
		set(&next.MaxPositionPct, body.MaxPositionPct)
		set(&next.DailyLossLimitPct, body.DailyLossLimitPct)
		set(&next.DailyLossLimitAmount, body.DailyLossLimitAmount)
		set(&next.CircuitBreakerPct, body.CircuitBreakerPct)
		set(&next.StopLossPct, body.StopLossPct)
		if body.ExtendedHours != nil {
			next.ExtendedHours = *body.ExtendedHours
		}
		if body.TrailingStop != nil {
			next.TrailingStop = *body.TrailingStop
		}
		if body.AllowReversal != nil {
			next.AllowReversal = *body.AllowReversal
		}
		if body.MaxAlertLagSeconds != nil {
			next.MaxAlertLagSeconds = *body.MaxAlertLagSeconds
		}
		if body.RequireApproval != nil {
			next.RequireApproval = *body.RequireApproval
		}
		if body.ApprovalTimeoutSeconds != nil {
			next.ApprovalTimeoutSeconds = *body.ApprovalTimeoutSeconds
		}
		if body.LadderStop != nil {
			next.LadderStop = *body.LadderStop
		}
		set(&next.BreakevenOffsetPct, body.BreakevenOffsetPct)
		if body.TrailAfterTarget != nil {
			next.TrailAfterTarget = *body.TrailAfterTarget
		}
		set(&next.LadderTrailPct, body.LadderTrailPct)
		if body.EntryStrategy != nil {
			next.EntryStrategy = *body.EntryStrategy
		}
		if err := next.Validate(); err != nil {
			return err
		}
		out = next
		changed := changedRiskFields(old, next)
		if found && len(changed) == 0 {
			return nil
		}
		row.MaxPositionPct, row.DailyLossLimitPct, row.DailyLossLimitAmount = next.MaxPositionPct, next.DailyLossLimitPct, next.DailyLossLimitAmount
		row.CircuitBreakerPct, row.StopLossPct, row.ExtendedHours, row.TrailingStop = next.CircuitBreakerPct, next.StopLossPct, next.ExtendedHours, next.TrailingStop
		row.AllowReversal, row.MaxAlertLagSeconds = next.AllowReversal, next.MaxAlertLagSeconds
		row.RequireApproval, row.ApprovalTimeoutSeconds = next.RequireApproval, next.ApprovalTimeoutSeconds
		row.LadderStop, row.BreakevenOffsetPct, row.TrailAfterTarget, row.LadderTrailPct = next.LadderStop, next.BreakevenOffsetPct, next.TrailAfterTarget, next.LadderTrailPct
		row.EntryStrategy = next.EntryStrategy
		row.UpdatedAt = time.Now().UTC()
		if err := tx.Save(&row).Error; err != nil {
			return err
		}
		if _, err := audit.Append(tx, audit.Entry{UserID: uid, Action: audit.ActionRiskSettingsChanged, ResourceType: "RiskSettings", ResourceID: uid,
			IPAddress: cl.IP, UserAgent: cl.UserAgent,
			Details: map[string]any{"old": old, "new": next, "changedFields": changed}}); err != nil {
			return err
		}
		_, err = realtime.AppendEvent(tx, uid, realtime.EventRiskSettingsChanged, gin.H{"settings": next, "changedFields": changed})
		return err
	})
	var se *risk.SettingsError
	if errors.As(err, &se) {
		s.fail(c, badRequest(se.Fields[0].Field, se.Error()))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if s.Committed != nil {
		s.Committed(uid)
	}
	c.JSON(http.StatusOK, gin.H{"settings": out})
}

// changedRiskFields names the settings that differ, in field order.
func changedRiskFields(a, b risk.Settings) []string {
	var out []string
	add := func(changed bool, name string) {
		if changed {
			out = append(out, name)
		}
	}
	add(!a.MaxPositionPct.Equal(b.MaxPositionPct), "maxPositionPct")
	add(!a.DailyLossLimitPct.Equal(b.DailyLossLimitPct), "dailyLossLimitPct")
	add(!a.DailyLossLimitAmount.Equal(b.DailyLossLimitAmount), "dailyLossLimitAmount")
	add(!a.CircuitBreakerPct.Equal(b.CircuitBreakerPct), "circuitBreakerPct")
	add(!a.StopLossPct.Equal(b.StopLossPct), "stopLossPct")
	add(a.ExtendedHours != b.ExtendedHours, "extendedHours")
	add(a.TrailingStop != b.TrailingStop, "trailingStop")
	add(a.AllowReversal != b.AllowReversal, "allowReversal")
	add(a.MaxAlertLagSeconds != b.MaxAlertLagSeconds, "maxAlertLagSeconds")
	add(a.RequireApproval != b.RequireApproval, "requireApproval")
	add(a.ApprovalTimeoutSeconds != b.ApprovalTimeoutSeconds, "approvalTimeoutSeconds")
	add(a.LadderStop != b.LadderStop, "ladderStop")
	add(!a.BreakevenOffsetPct.Equal(b.BreakevenOffsetPct), "breakevenOffsetPct")
	add(a.TrailAfterTarget != b.TrailAfterTarget, "trailAfterTarget")
	add(!a.LadderTrailPct.Equal(b.LadderTrailPct), "ladderTrailPct")
	add(a.EntryStrategy != b.EntryStrategy, "entryStrategy")
	return out
}

// unlockUser: POST /api/v1/admin/users/{id}/unlock — an administrator
// lifts the circuit breaker's lock after review. The day's drawdown then
// counts from the account's equity now (the breaker does not fire again on
// the loss already taken). Audited on the trader's chain with the
// administrator's id; the trader is told (risk.unlocked).
func (s *Server) unlockUser(c *gin.Context) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		s.fail(c, errNotFound)
		return
	}
	adminID := c.GetString(ctxUserID)
	cl := s.client(c)
	now := time.Now().UTC()
	err := store.InTx(c.Request.Context(), s.DB, func(tx *gorm.DB) error {
		var u schema.User
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&u, "id = ?", id).Error; err != nil {
			return err
		}
		if !u.Locked {
			return errNotLocked
		}
		if err := tx.Model(&schema.User{}).Where("id = ?", id).Update("locked", false).Error; err != nil {
			return err
		}
		var rows []schema.RiskGuard
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("user_id = ?", id).Find(&rows).Error; err != nil {
			return err
		}
		rebased := []string{}
		for _, r := range rows {
			if risk.LossLevel(r.Level) != risk.LossCircuitBreaker {
				continue
			}
			st := risk.Rebase(now, r.Equity)
			if err := tx.Model(&schema.RiskGuard{}).Where("connection_id = ?", r.ConnectionID).Updates(map[string]any{
				"day": st.Day, "day_start_equity": st.StartEquity, "level": string(st.Level), "message": "", "blocked_until": nil, "updated_at": now,
			}).Error; err != nil {
				return err
			}
			rebased = append(rebased, r.ConnectionID)
		}
		if _, err := audit.Append(tx, audit.Entry{UserID: id, Action: audit.ActionAccountUnlocked, ResourceType: "User", ResourceID: id,
			IPAddress: cl.IP, UserAgent: cl.UserAgent,
			Details: map[string]any{"admin_user_id": adminID, "rebasedConnections": rebased}}); err != nil {
			return err
		}
		_, err := realtime.AppendEvent(tx, id, realtime.EventRiskUnlocked, gin.H{"locked": false, "message": risk.UnlockedMessage()})
		return err
	})
	if errors.Is(err, gorm.ErrRecordNotFound) {
		s.fail(c, errNotFound)
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if s.Committed != nil {
		s.Committed(id)
	}
	c.JSON(http.StatusOK, gin.H{"userId": id, "locked": false, "message": risk.UnlockedMessage()})
}
