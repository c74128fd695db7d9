package churn_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/analytics/churn"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/mail"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

var at = time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC)

const d = 24 * time.Hour

func user(t *testing.T, db *gorm.DB, role, tier, status string, created time.Time) string {
	t.Helper()
	id := uuid.NewString()
	email := id + "@example.test"
	require.NoError(t, db.Create(&schema.User{ID: id, Email: &email, Role: role, SubscriptionTier: tier, SubscriptionStatus: status,
		CreatedAt: created}).Error)
	return id
}

func session(t *testing.T, db *gorm.DB, uid string, ts time.Time) {
	t.Helper()
	require.NoError(t, db.Create(&schema.Session{ID: uuid.NewString(), UserID: uid, Kind: "browser", Provider: "password",
		CreatedAt: ts, ExpiresAt: ts.Add(d)}).Error)
}

func trade(t *testing.T, db *gorm.DB, uid, side string, qty, price int64, ts time.Time) {
	t.Helper()
	sig := schema.Signal{ID: uuid.NewString(), Source: "webhook", ExternalID: uuid.NewString(), UserID: uid, Symbol: "AAPL", ReceivedAt: ts}
	require.NoError(t, db.Create(&sig).Error)
	tr := schema.Trade{ID: uuid.NewString(), SignalID: sig.ID, UserID: uid, Symbol: "AAPL", AssetClass: "stock", Side: side,
		OrderType: "market", RequestedQuantity: decimal.NewFromInt(qty), Quantity: decimal.NewFromInt(qty), Status: "filled",
		FilledQuantity: decimal.NewFromInt(qty), CreatedAt: ts, UpdatedAt: ts}
	if price > 0 {
		tr.FillPrice = decimal.NewNullDecimal(decimal.NewFromInt(price))
	}
	require.NoError(t, db.Create(&tr).Error)
}

func paymentFailed(t *testing.T, db *gorm.DB, uid string, ts time.Time) {
	t.Helper()
	require.NoError(t, store.InTx(context.Background(), db, func(tx *gorm.DB) error {
		_, err := audit.Append(tx, audit.Entry{UserID: uid, Action: churn.ActionPaymentFailed, ResourceType: "Subscription",
			Status: audit.StatusFailure, At: ts})
		return err
	}))
}

// Features come from the real tables, each counted in its window.
func TestLoadActivityReadsTheTables(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		uid := user(t, db, "trader", "pro", "past_due", at.Add(-200*d))
		other := user(t, db, "trader", "free", "active", at.Add(-10*d))
		session(t, db, uid, at.Add(-2*d))
		session(t, db, uid, at.Add(-40*d))
		session(t, db, uid, at.Add(-45*d))
		session(t, db, uid, at.Add(-90*d)) // outside both windows
		session(t, db, other, at.Add(-1*d))
		trade(t, db, uid, "buy", 10, 100, at.Add(-50*d))     // -1000
		trade(t, db, uid, "sell", 10, 80, at.Add(-35*d))     // +800: realized -200
		trade(t, db, uid, "buy", 5, 90, at.Add(-5*d))        // -450, still held at 90: 0
		trade(t, db, uid, "buy", 3, 0, at.Add(-3*time.Hour)) // not filled: no P&L, but activity
		conn := schema.BrokerConnection{ID: uuid.NewString(), UserID: uid, BrokerType: "paper", CreatedAt: at, UpdatedAt: at}
		require.NoError(t, db.Create(&conn).Error)
		require.NoError(t, db.Create(&schema.Position{ID: uuid.NewString(), UserID: uid, BrokerConnectionID: conn.ID, Symbol: "AAPL",
			Quantity: decimal.NewFromInt(5), AverageEntryPrice: decimal.NewFromInt(90), CurrentPrice: decimal.NewFromInt(95),
			UnrealizedPnL: decimal.NewFromInt(25), OpenedAt: at.Add(-5 * d), UpdatedAt: at}).Error)
		for i, active := range []bool{true, true, false} {
			src := schema.DiscordSource{ID: uuid.NewString(), GuildID: "g", ChannelID: uuid.NewString()[:30], Name: "s", OwnerUserID: other,
				ParseMode: "strict", Status: "active", CreatedAt: at, UpdatedAt: at}
			require.NoError(t, db.Create(&src).Error)
			require.NoError(t, db.Create(&schema.SourceSubscription{ID: uuid.NewString(), SourceID: src.ID, UserID: uid,
				SizingMode: "multiplier", Multiplier: decimal.NewFromInt(int64(i + 1)), FixedAmount: decimal.Zero, Active: active,
				CreatedAt: at, UpdatedAt: at}).Error)
		}
		for _, ago := range []time.Duration{10 * d, 60 * d, 120 * d} {
			paymentFailed(t, db, uid, at.Add(-ago))
		}
		require.NoError(t, db.Create(&schema.Subscription{ID: uuid.NewString(), UserID: uid, Plan: "pro", Status: "past_due",
			CancelAtPeriodEnd: true, CreatedAt: at.Add(-200 * d)}).Error)

		staff := user(t, db, "support", "free", "active", at.Add(-900*d))
		for _, ago := range []time.Duration{5 * d, 80 * d, 100 * d} { // the last is outside 90 days
			require.NoError(t, store.InTx(ctx, db, func(tx *gorm.DB) error {
				_, err := churn.RecordContact(tx, churn.Contact{UserID: uid, Channel: "email", Summary: "asked about a loss"}, staff, at.Add(-ago))
				return err
			}))
		}

		var users []schema.User
		require.NoError(t, db.Where("id IN ?", []string{uid, other}).Order("id").Find(&users).Error)
		acts, err := churn.LoadActivity(ctx, db, users, at)
		require.NoError(t, err)
		got := map[string]churn.Activity{}
		for _, a := range acts {
			got[a.UserID] = a
		}
		a := got[uid]
		require.Equal(t, 1, a.Sessions30)
		require.Equal(t, 2, a.SessionsPrev30)
		require.Equal(t, 2, a.Trades30)
		require.Equal(t, 2, a.TradesPrev30)
		require.Equal(t, 2, a.SourcesFollowed)
		require.Equal(t, 2, a.FailedPayments90)
		require.True(t, a.CancelScheduled)
		require.Equal(t, 2, a.SupportContacts90)
		require.True(t, a.RealizedPnL.Equal(decimal.NewFromInt(-200)), a.RealizedPnL.String())
		require.WithinDuration(t, at.Add(-3*time.Hour), a.LastActivity, time.Second)
		require.Equal(t, "pro", a.Plan)
		require.True(t, a.Paying())
		b := got[other]
		require.Equal(t, 1, b.Sessions30)
		require.Zero(t, b.Trades30)
		require.Zero(t, b.SourcesFollowed)
		require.True(t, b.RealizedPnL.IsZero())
		require.Zero(t, b.SupportContacts90)
		require.False(t, b.Paying())
	})
}

// A stored model trained before a feature was added (another layout) is
// not used: EnsureModel trains and stores the next version.
func TestEnsureModelRetrainsAnOlderFeatureLayout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		n := len(churn.FeatureNames) - 1 // the layout before support contacts
		old := churn.Params{Features: append([]string(nil), churn.FeatureNames[:n]...), Mean: make([]float64, n),
			Std: make([]float64, n), Weights: make([]float64, n)}
		for i := range old.Std {
			old.Std[i] = 1
		}
		params, err := json.Marshal(old)
		require.NoError(t, err)
		require.NoError(t, db.Create(&schema.ChurnModel{Version: 1, Algorithm: churn.Algorithm, Params: string(params),
			Metrics: "{}", TrainedOn: "before support contacts", CreatedAt: at}).Error)
		_, err = churn.LatestModel(ctx, db)
		require.ErrorIs(t, err, churn.ErrBadModel)

		sm, err := churn.EnsureModel(ctx, db, at)
		require.NoError(t, err)
		require.EqualValues(t, 2, sm.Row.Version)
		require.Equal(t, churn.FeatureNames, sm.Model.P.Features)
		again, err := churn.EnsureModel(ctx, db, at)
		require.NoError(t, err)
		require.EqualValues(t, 2, again.Row.Version)
	})
}

// Scoring stores a score per active trader, alerts once on a high-risk
// paying trader (row + mail to each admin), never on a free or a low-risk
// one, and closes the alert when the trader recovers.
func TestScorePageAlertsOncePerOpenAlert(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		sm, err := churn.EnsureModel(ctx, db, at)
		require.NoError(t, err)
		require.EqualValues(t, 1, sm.Row.Version)
		again, err := churn.EnsureModel(ctx, db, at)
		require.NoError(t, err)
		require.Equal(t, sm.Model.P, again.Model.P)
		require.Greater(t, sm.Evaluation.Test.F1, 0.70)

		admin1 := user(t, db, "admin", "free", "active", at.Add(-900*d))
		user(t, db, "admin", "free", "active", at.Add(-900*d))
		user(t, db, "support", "free", "active", at.Add(-900*d))
		// Gone quiet: no sign-in for 50 days, cancellation scheduled, failed payments.
		risky := user(t, db, "trader", "premium", "past_due", at.Add(-100*d))
		session(t, db, risky, at.Add(-50*d))
		session(t, db, risky, at.Add(-52*d))
		require.NoError(t, db.Create(&schema.Subscription{ID: uuid.NewString(), UserID: risky, Plan: "premium", Status: "past_due",
			CancelAtPeriodEnd: true, CreatedAt: at.Add(-100 * d)}).Error)
		paymentFailed(t, db, risky, at.Add(-d))
		paymentFailed(t, db, risky, at.Add(-2*d))
		freeRisky := user(t, db, "trader", "free", "active", at.Add(-20*d))
		cancelled := user(t, db, "trader", "pro", "cancelled", at.Add(-300*d))
		happy := user(t, db, "trader", "pro", "active", at.Add(-400*d))
		for i := 0; i < 20; i++ {
			session(t, db, happy, at.Add(-time.Duration(i+1)*36*time.Hour))
			trade(t, db, happy, "buy", 1, 10, at.Add(-time.Duration(i+1)*30*time.Hour))
		}

		score := func() churn.PageResult {
			var total churn.PageResult
			after := ""
			for {
				p, err := churn.ScorePage(ctx, db, sm, after, 2, at)
				require.NoError(t, err)
				total.Scored += p.Scored
				total.HighRisk += p.HighRisk
				total.Alerted += p.Alerted
				total.Closed += p.Closed
				after = p.Last
				if p.Done {
					return total
				}
			}
		}
		r := score()
		require.Equal(t, 3, r.Scored) // cancelled, admins and support are not scored
		require.Equal(t, 1, r.Alerted)
		var n int64
		require.NoError(t, db.Model(&schema.ChurnScore{}).Where("user_id = ?", cancelled).Count(&n).Error)
		require.Zero(t, n)
		views, err := churn.ListScores(ctx, db, 100)
		require.NoError(t, err)
		require.Len(t, views, 3)
		require.Equal(t, risky, views[0].UserID)
		require.True(t, views[0].HighRisk && views[0].Paying && views[0].AlertOpen)
		require.NotEmpty(t, views[0].Reasons)
		require.Equal(t, happy, views[2].UserID)
		require.Less(t, views[2].Score, 0.2)
		for _, v := range views {
			if v.UserID == freeRisky {
				require.False(t, v.AlertOpen)
			}
		}
		var mails []schema.MailOutbox
		require.NoError(t, db.Where("kind = ?", mail.KindChurnAlert).Find(&mails).Error)
		require.Len(t, mails, 2) // one per admin
		require.Contains(t, []string{mails[0].UserID, mails[1].UserID}, admin1)
		var data map[string]string
		require.NoError(t, json.Unmarshal([]byte(mails[0].Data), &data))
		data["Name"], data["URL"] = "Ops", "http://127.0.0.1/dashboard"
		msg, err := mail.Render(mails[0].Kind, "ops@example.test", data)
		require.NoError(t, err)
		require.Contains(t, msg.Subject, "Churn risk: User "+risky+" at risk (")
		require.Contains(t, msg.Subject, "(premium plan)")
		require.Contains(t, msg.Text, "Top reasons: ")

		// The next night: still at risk, no second alert or mail.
		r = score()
		require.Zero(t, r.Alerted)
		require.NoError(t, db.Model(&schema.MailOutbox{}).Where("kind = ?", mail.KindChurnAlert).Count(&n).Error)
		require.EqualValues(t, 2, n)

		// The trader comes back: the alert closes.
		require.NoError(t, db.Model(&schema.Subscription{}).Where("user_id = ?", risky).Update("cancel_at_period_end", false).Error)
		require.NoError(t, db.Model(&schema.User{}).Where("id = ?", risky).Update("subscription_status", "active").Error)
		for i := 0; i < 25; i++ {
			session(t, db, risky, at.Add(-time.Duration(i+1)*20*time.Hour))
			trade(t, db, risky, "buy", 1, 10, at.Add(-time.Duration(i+1)*25*time.Hour))
		}
		r = score()
		require.Equal(t, 1, r.Closed)
		require.NoError(t, db.Model(&schema.ChurnAlert{}).Where("user_id = ? AND closed_at IS NULL", risky).Count(&n).Error)
		require.Zero(t, n)
	})
}
