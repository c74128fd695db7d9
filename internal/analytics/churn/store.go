package churn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/mail"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// The stored model's defaults: with no version stored, scoring trains
// version 1 on DefaultSeed's synthetic histories (deterministic, so every
// replica that races to do it stores the same coefficients).
const (
	DefaultSeed    uint64 = 16
	DefaultTraders        = 6000
	// AlertThreshold: a paying trader scored at or above it is alerted on.
	AlertThreshold = 0.7
	// TopReasons are the reasons kept per score.
	TopReasons = 3
	// MaxPage bounds a scoring page.
	MaxPage = 500
)

// ErrNoModel: no model version is stored.
var ErrNoModel = errors.New("churn: no model stored")

// StoredModel is a model with its version row.
type StoredModel struct {
	*Model
	Row        schema.ChurnModel
	Evaluation Evaluation
}

// LatestModel loads the newest stored version.
func LatestModel(ctx context.Context, db *gorm.DB) (*StoredModel, error) {
	var rows []schema.ChurnModel
	if err := db.WithContext(ctx).Order("version DESC").Limit(1).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, ErrNoModel
	}
	return loadRow(rows[0])
}

// ModelVersion loads version v.
func ModelVersion(ctx context.Context, db *gorm.DB, v int64) (*StoredModel, error) {
	var row schema.ChurnModel
	if err := db.WithContext(ctx).Where("version = ?", v).Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, ErrNoModel
		}
		return nil, err
	}
	return loadRow(row)
}

func loadRow(row schema.ChurnModel) (*StoredModel, error) {
	var p Params
	if err := json.Unmarshal([]byte(row.Params), &p); err != nil {
		return nil, fmt.Errorf("churn: model %d: %w", row.Version, err)
	}
	m, err := NewModel(p)
	if err != nil {
		return nil, fmt.Errorf("churn: model %d: %w", row.Version, err)
	}
	sm := &StoredModel{Model: m, Row: row}
	_ = json.Unmarshal([]byte(row.Metrics), &sm.Evaluation)
	return sm, nil
}

// SaveModel stores m as the next version and returns it.
func SaveModel(ctx context.Context, db *gorm.DB, m *Model, ev Evaluation, trainedOn string, now time.Time) (int64, error) {
	params, err := json.Marshal(m.P)
	if err != nil {
		return 0, err
	}
	metrics, err := json.Marshal(ev)
	if err != nil {
		return 0, err
	}
	var version int64
	err = store.InTx(ctx, db, func(tx *gorm.DB) error {
		var last []int64
		if err := tx.Model(&schema.ChurnModel{}).Order("version DESC").Limit(1).Pluck("version", &last).Error; err != nil {
			return err
		}
		version = 1
		if len(last) == 1 {
			version = last[0] + 1
		}
		return tx.Create(&schema.ChurnModel{Version: version, Algorithm: Algorithm, Params: string(params), Metrics: string(metrics),
			TrainedOn: trainedOn, CreatedAt: now.UTC()}).Error
	})
	return version, err
}

// EnsureModel returns the newest stored version. With none, or when the
// newest was trained on another feature layout (ErrBadModel: a feature was
// added since), it trains the next version on the default synthetic
// histories and stores it (a replica racing it stores nothing: the
// version is the primary key).
func EnsureModel(ctx context.Context, db *gorm.DB, now time.Time) (*StoredModel, error) {
	sm, err := LatestModel(ctx, db)
	if err == nil || !errors.Is(err, ErrNoModel) && !errors.Is(err, ErrBadModel) {
		return sm, err
	}
	// None stored, or the newest was trained on another feature layout
	// (a feature was added since): train the next version.
	var last []int64
	if err := db.WithContext(ctx).Model(&schema.ChurnModel{}).Order("version DESC").Limit(1).Pluck("version", &last).Error; err != nil {
		return nil, err
	}
	version := int64(1)
	if len(last) == 1 {
		version = last[0] + 1
	}
	m, ev, err := Evaluate(DefaultSeed, DefaultTraders, false)
	if err != nil {
		return nil, err
	}
	params, _ := json.Marshal(m.P)
	metrics, _ := json.Marshal(ev)
	if err := db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&schema.ChurnModel{Version: version, Algorithm: Algorithm,
		Params: string(params), Metrics: string(metrics), TrainedOn: fmt.Sprintf("synthetic seed=%d traders=%d", DefaultSeed, DefaultTraders),
		CreatedAt: now.UTC()}).Error; err != nil {
		return nil, err
	}
	return LatestModel(ctx, db)
}

// ActionPaymentFailed is the audit action billing writes for a failed
// payment (internal/billing/ledger).
const ActionPaymentFailed = "SUBSCRIPTION_PAYMENT_FAILED"

const day = 24 * time.Hour

// LoadActivity reads the activity of users at at from the real tables:
// sessions (sign-ins), trades, source subscriptions, failed-payment audit
// entries, fills (realized P&L) and open positions, subscriptions. A few
// queries per page, never one per user.
func LoadActivity(ctx context.Context, db *gorm.DB, users []schema.User, at time.Time) ([]Activity, error) {
	at = at.UTC()
	db = db.WithContext(ctx)
	ids := make([]string, len(users))
	byID := make(map[string]*Activity, len(users))
	out := make([]Activity, len(users))
	for i, u := range users {
		ids[i] = u.ID
		out[i] = Activity{UserID: u.ID, At: at, Plan: u.SubscriptionTier, Status: u.SubscriptionStatus, CreatedAt: u.CreatedAt.UTC(),
			RealizedPnL: decimal.Zero}
		if u.LastLoginAt != nil {
			out[i].LastActivity = u.LastLoginAt.UTC()
		}
		byID[u.ID] = &out[i]
	}
	if len(ids) == 0 {
		return out, nil
	}
	seen := func(a *Activity, t time.Time) {
		if t.After(a.LastActivity) && !t.After(at) {
			a.LastActivity = t.UTC()
		}
	}
	from := at.Add(-60 * day)
	mid := at.Add(-30 * day)
	var stamps []struct {
		UserID    string
		CreatedAt time.Time
	}
	if err := db.Model(&schema.Session{}).Select("user_id", "created_at").
		Where("user_id IN ? AND created_at >= ? AND created_at < ?", ids, from, at).Find(&stamps).Error; err != nil {
		return nil, err
	}
	for _, s := range stamps {
		a := byID[s.UserID]
		if s.CreatedAt.Before(mid) {
			a.SessionsPrev30++
		} else {
			a.Sessions30++
		}
		seen(a, s.CreatedAt)
	}
	stamps = stamps[:0]
	if err := db.Model(&schema.Trade{}).Select("user_id", "created_at").
		Where("user_id IN ? AND created_at >= ? AND created_at < ?", ids, from, at).Find(&stamps).Error; err != nil {
		return nil, err
	}
	for _, s := range stamps {
		a := byID[s.UserID]
		if s.CreatedAt.Before(mid) {
			a.TradesPrev30++
		} else {
			a.Trades30++
		}
		seen(a, s.CreatedAt)
	}
	var counts []struct {
		UserID string
		N      int
	}
	if err := db.Model(&schema.SourceSubscription{}).Select("user_id, COUNT(*) AS n").
		Where("user_id IN ? AND active = ?", ids, true).Group("user_id").Find(&counts).Error; err != nil {
		return nil, err
	}
	for _, c := range counts {
		byID[c.UserID].SourcesFollowed = c.N
	}
	counts = counts[:0]
	if err := db.Model(&schema.AuditLog{}).Select("user_id, COUNT(*) AS n").
		Where("user_id IN ? AND action = ? AND timestamp >= ? AND timestamp < ?", ids, ActionPaymentFailed, at.Add(-90*day), at).
		Group("user_id").Find(&counts).Error; err != nil {
		return nil, err
	}
	for _, c := range counts {
		byID[c.UserID].FailedPayments90 = c.N
	}
	support, err := SupportContacts90(db, ids, at)
	if err != nil {
		return nil, err
	}
	for id, n := range support {
		byID[id].SupportContacts90 = n
	}
	var cancels []string
	if err := db.Model(&schema.Subscription{}).Where("user_id IN ? AND cancel_at_period_end = ? AND status <> ?", ids, true, "cancelled").
		Pluck("user_id", &cancels).Error; err != nil {
		return nil, err
	}
	for _, id := range cancels {
		byID[id].CancelScheduled = true
	}
	// Realized P&L = sells - buys over every fill + the cost of what is
	// still held (quantity × average entry of the open positions).
	var fills []struct {
		UserID         string
		Side           string
		FilledQuantity decimal.Decimal
		FillPrice      decimal.NullDecimal
	}
	if err := db.Model(&schema.Trade{}).Select("user_id", "side", "filled_quantity", "fill_price").
		Where("user_id IN ? AND fill_price IS NOT NULL", ids).Find(&fills).Error; err != nil {
		return nil, err
	}
	for _, f := range fills {
		if !f.FillPrice.Valid {
			continue
		}
		v := f.FilledQuantity.Mul(f.FillPrice.Decimal)
		a := byID[f.UserID]
		if strings.EqualFold(f.Side, "sell") {
			a.RealizedPnL = a.RealizedPnL.Add(v)
		} else {
			a.RealizedPnL = a.RealizedPnL.Sub(v)
		}
	}
	var held []struct {
		UserID            string
		Quantity          decimal.Decimal
		AverageEntryPrice decimal.Decimal
	}
	if err := db.Model(&schema.Position{}).Select("user_id", "quantity", "average_entry_price").
		Where("user_id IN ? AND closed_at IS NULL", ids).Find(&held).Error; err != nil {
		return nil, err
	}
	for _, p := range held {
		a := byID[p.UserID]
		a.RealizedPnL = a.RealizedPnL.Add(p.Quantity.Mul(p.AverageEntryPrice))
	}
	return out, nil
}

// PageResult is one scoring page's outcome.
type PageResult struct {
	Scored   int    `json:"scored"`
	HighRisk int    `json:"highRisk"`
	Alerted  int    `json:"alerted"` // new alerts (mailed to admins)
	Closed   int    `json:"closed"`  // alerts closed: the trader is no longer high risk
	Last     string `json:"last"`
	Done     bool   `json:"done"`
}

// ScorePage scores the active traders (role trader, subscription not
// cancelled) after the id after, up to limit, with model version, stores
// each score and its top reasons, alerts on new high-risk paying traders
// (an admin-visible churn_alerts row and a mail to every admin, once while
// the alert is open) and closes the alerts of traders no longer at risk.
// Rerunning a page (a retried activity) changes nothing more.
func ScorePage(ctx context.Context, db *gorm.DB, sm *StoredModel, after string, limit int, at time.Time) (PageResult, error) {
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	at = at.UTC()
	var users []schema.User
	if err := db.WithContext(ctx).Where("role = ? AND subscription_status <> ? AND id > ?", "trader", "cancelled", after).
		Order("id").Limit(limit).Find(&users).Error; err != nil {
		return PageResult{}, err
	}
	res := PageResult{Last: after, Done: len(users) < limit}
	if len(users) == 0 {
		return res, nil
	}
	acts, err := LoadActivity(ctx, db, users, at)
	if err != nil {
		return PageResult{}, err
	}
	err = store.InTx(ctx, db, func(tx *gorm.DB) error {
		var admins []string
		for _, a := range acts {
			x := a.Vector()
			score := sm.Score(x)
			reasons := sm.Reasons(x, TopReasons)
			rj, _ := json.Marshal(reasons)
			fj, _ := json.Marshal(a)
			high := score >= AlertThreshold
			row := schema.ChurnScore{UserID: a.UserID, ModelVersion: sm.Row.Version, Score: score, HighRisk: high, Paying: a.Paying(),
				Plan: a.Plan, Reasons: string(rj), Features: string(fj), ScoredAt: at}
			if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "user_id"}}, UpdateAll: true}).Create(&row).Error; err != nil {
				return err
			}
			res.Scored++
			if !high || !a.Paying() {
				r := tx.Model(&schema.ChurnAlert{}).Where("user_id = ? AND closed_at IS NULL", a.UserID).Update("closed_at", at)
				if r.Error != nil {
					return r.Error
				}
				res.Closed += int(r.RowsAffected)
				continue
			}
			res.HighRisk++
			r := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&schema.ChurnAlert{ID: uuid.NewString(), UserID: a.UserID,
				ModelVersion: sm.Row.Version, Score: score, Reasons: string(rj), RaisedAt: at})
			if r.Error != nil {
				return r.Error
			}
			if r.RowsAffected == 0 {
				continue // alerted already while open
			}
			res.Alerted++
			if admins == nil {
				admins = []string{}
				if err := tx.Model(&schema.User{}).Where("role = ?", "admin").Order("id").Pluck("id", &admins).Error; err != nil {
					return err
				}
			}
			names := make([]string, len(reasons))
			for i, rs := range reasons {
				names[i] = ReasonText(rs)
			}
			for _, adm := range admins {
				if err := mail.Enqueue(tx, adm, mail.KindChurnAlert, map[string]string{
					"Summary": AlertText(a.UserID, score, reasons) + " (" + a.Plan + " plan)",
					"Date":    at.Format(time.RFC3339), "Details": "Top reasons: " + strings.Join(names, ", ")}, at); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return PageResult{}, err
	}
	res.Last = users[len(users)-1].ID
	return res, nil
}

// ScoreView is one row of the admin view.
type ScoreView struct {
	UserID       string    `json:"userId"`
	Email        string    `json:"email"`
	Plan         string    `json:"plan"`
	Paying       bool      `json:"paying"`
	Score        float64   `json:"score"`
	HighRisk     bool      `json:"highRisk"`
	Reasons      []Reason  `json:"reasons"`
	ModelVersion int64     `json:"modelVersion"`
	ScoredAt     time.Time `json:"scoredAt"`
	AlertOpen    bool      `json:"alertOpen"`
	Alert        string    `json:"alert"` // AlertText: "User <id> at risk (85%): Last login or trade 14 days ago"
}

// ListScores returns the stored scores, riskiest first, at most limit.
func ListScores(ctx context.Context, db *gorm.DB, limit int) ([]ScoreView, error) {
	db = db.WithContext(ctx)
	var rows []schema.ChurnScore
	if err := db.Order("score DESC, user_id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]ScoreView, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.UserID
	}
	var users []schema.User
	if err := db.Select("id", "email").Where("id IN ?", ids).Find(&users).Error; err != nil {
		return nil, err
	}
	email := map[string]string{}
	for _, u := range users {
		if u.Email != nil {
			email[u.ID] = *u.Email
		}
	}
	var open []string
	if err := db.Model(&schema.ChurnAlert{}).Where("user_id IN ? AND closed_at IS NULL", ids).Pluck("user_id", &open).Error; err != nil {
		return nil, err
	}
	isOpen := map[string]bool{}
	for _, id := range open {
		isOpen[id] = true
	}
	for i, r := range rows {
		v := ScoreView{UserID: r.UserID, Email: email[r.UserID], Plan: r.Plan, Paying: r.Paying, Score: r.Score, HighRisk: r.HighRisk,
			ModelVersion: r.ModelVersion, ScoredAt: r.ScoredAt.UTC(), AlertOpen: isOpen[r.UserID], Reasons: []Reason{}}
		_ = json.Unmarshal([]byte(r.Reasons), &v.Reasons)
		v.Alert = AlertText(r.UserID, r.Score, v.Reasons)
		out[i] = v
	}
	return out, nil
}
