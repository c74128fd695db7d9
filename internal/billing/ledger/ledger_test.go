package ledger

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/billing"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func newUser(t *testing.T, db *gorm.DB, id, tier string) {
	t.Helper()
	email := id + "@example.com"
	if err := db.Create(&schema.User{ID: id, Email: &email, DisplayName: "Ada", Role: "trader", SubscriptionTier: tier,
		SubscriptionStatus: "active", CreatedAt: t0}).Error; err != nil {
		t.Fatal(err)
	}
}

func apply(t *testing.T, db *gorm.DB, ev billing.Event) Outcome {
	t.Helper()
	ctx := context.Background()
	row, processed, err := Record(ctx, db, ev, t0)
	if err != nil {
		t.Fatal(err)
	}
	if processed {
		t.Fatalf("event %s already processed", ev.ID)
	}
	a := &Applier{DB: db, PublicURL: "http://localhost:8080", Now: func() time.Time { return t0 }}
	out, err := a.Apply(ctx, row.ID)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func userOf(t *testing.T, db *gorm.DB, id string) schema.User {
	t.Helper()
	var u schema.User
	if err := db.Where("id = ?", id).Take(&u).Error; err != nil {
		t.Fatal(err)
	}
	return u
}

func actions(t *testing.T, db *gorm.DB, userID string) []string {
	t.Helper()
	var rows []schema.AuditLog
	if err := db.Where("user_id = ?", userID).Order("seq").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Action)
	}
	return out
}

func subEvent(id string, created time.Time, tier billing.Tier, status string, cancel bool) billing.Event {
	return billing.Event{Provider: "stripe", ID: id, Type: billing.EventSubscriptionUpdated, Created: created, UserID: "u1", CustomerID: "cus_1",
		SubscriptionID: "sub_1", PriceID: "price_" + string(tier), Tier: tier, Status: status, CancelAtPeriodEnd: cancel,
		CurrentPeriodStart: t0, CurrentPeriodEnd: t0.AddDate(0, 0, 30)}
}

func TestSignUpUpgradeDowngradeAndCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		newUser(t, db, "u1", "free")
		apply(t, db, billing.Event{Provider: "stripe", ID: "evt_1", Type: billing.EventCheckoutCompleted, Created: t0, UserID: "u1", CustomerID: "cus_1", SubscriptionID: "sub_1"})
		apply(t, db, subEvent("evt_2", t0.Add(time.Second), billing.Pro, "active", false))
		out := apply(t, db, billing.Event{Provider: "stripe", ID: "evt_3", Type: billing.EventInvoicePaid, Created: t0.Add(2 * time.Second), CustomerID: "cus_1",
			SubscriptionID: "sub_1", InvoiceID: "in_1", PriceID: "price_pro", Tier: billing.Pro, AmountCents: 9900, Currency: "usd", BillingReason: "subscription_create"})
		if u := userOf(t, db, "u1"); u.SubscriptionTier != "pro" || u.SubscriptionStatus != "active" {
			t.Fatalf("after sign-up: %s/%s", u.SubscriptionTier, u.SubscriptionStatus)
		}
		if len(out.FollowUps) != 2 || out.FollowUps[1].MailKind != "welcome" || out.FollowUps[1].MailData["Amount"] != "$99" {
			t.Fatalf("follow-ups %+v", out.FollowUps)
		}

		// Upgrade: at once.
		apply(t, db, subEvent("evt_4", t0.Add(3*time.Second), billing.Premium, "active", false))
		if u := userOf(t, db, "u1"); u.SubscriptionTier != "premium" {
			t.Fatalf("upgrade not immediate: %s", u.SubscriptionTier)
		}
		out = apply(t, db, billing.Event{Provider: "stripe", ID: "evt_5", Type: billing.EventInvoicePaid, Created: t0.Add(4 * time.Second), CustomerID: "cus_1",
			SubscriptionID: "sub_1", InvoiceID: "in_2", PriceID: "price_premium", Tier: billing.Premium, AmountCents: 27450, Proration: true, BillingReason: "subscription_update"})
		if got := out.FollowUps[1].MailData["Summary"]; got != "Upgraded to Premium: $274.50 charged (prorated)" {
			t.Fatalf("receipt %q", got)
		}

		// Downgrade: billing.Premium stays until the renewal's paid invoice.
		apply(t, db, subEvent("evt_6", t0.Add(5*time.Second), billing.Basic, "active", false))
		if u := userOf(t, db, "u1"); u.SubscriptionTier != "premium" {
			t.Fatalf("downgrade applied before renewal: %s", u.SubscriptionTier)
		}
		apply(t, db, billing.Event{Provider: "stripe", ID: "evt_7", Type: billing.EventInvoicePaid, Created: t0.AddDate(0, 0, 30), CustomerID: "cus_1",
			SubscriptionID: "sub_1", InvoiceID: "in_3", PriceID: "price_basic", Tier: billing.Basic, AmountCents: 4900, BillingReason: "subscription_cycle"})
		if u := userOf(t, db, "u1"); u.SubscriptionTier != "basic" {
			t.Fatalf("downgrade not applied at renewal: %s", u.SubscriptionTier)
		}

		// Cancel at period end, then the subscription ends.
		out = apply(t, db, subEvent("evt_8", t0.AddDate(0, 0, 31), billing.Basic, "active", true))
		if len(out.FollowUps) != 1 || out.FollowUps[0].MailKind != "cancel_scheduled" {
			t.Fatalf("cancel follow-ups %+v", out.FollowUps)
		}
		apply(t, db, billing.Event{Provider: "stripe", ID: "evt_9", Type: billing.EventSubscriptionDeleted, Created: t0.AddDate(0, 0, 60), CustomerID: "cus_1", SubscriptionID: "sub_1", Status: "canceled"})
		if u := userOf(t, db, "u1"); u.SubscriptionTier != "free" || u.SubscriptionStatus != "active" {
			t.Fatalf("after cancel: %s/%s", u.SubscriptionTier, u.SubscriptionStatus)
		}
		want := []string{ActionSubscriptionCreated, ActionSubscriptionChanged, ActionSubscriptionCharged, ActionSubscriptionChanged,
			ActionSubscriptionCharged, ActionSubscriptionChanged, ActionSubscriptionCharged, ActionSubscriptionCancelScheduled, ActionSubscriptionCancelled}
		if got := actions(t, db, "u1"); len(got) != len(want) {
			t.Fatalf("audit %v, want %v", got, want)
		} else {
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("audit %v, want %v", got, want)
				}
			}
		}
		if res, err := audit.Verify(context.Background(), db, "u1"); err != nil || !res.Valid {
			t.Fatalf("audit chain: %+v %v", res, err)
		}
	})
}

func TestRedeliveredEventChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		newUser(t, db, "u1", "free")
		ev := billing.Event{Provider: "stripe", ID: "evt_1", Type: billing.EventInvoicePaid, Created: t0, UserID: "u1", CustomerID: "cus_1",
			SubscriptionID: "sub_1", InvoiceID: "in_1", Tier: billing.Pro, AmountCents: 9900}
		first := apply(t, db, ev)
		ctx := context.Background()
		row, processed, err := Record(ctx, db, ev, t0.Add(time.Hour))
		if err != nil || !processed {
			t.Fatalf("second delivery: processed=%v err=%v", processed, err)
		}
		a := &Applier{DB: db, Now: func() time.Time { return t0 }}
		again, err := a.Apply(ctx, row.ID)
		if err != nil {
			t.Fatal(err)
		}
		if again.Note != first.Note || len(again.FollowUps) != len(first.FollowUps) {
			t.Fatalf("second apply %+v, first %+v", again, first)
		}
		if got := actions(t, db, "u1"); len(got) != 1 {
			t.Fatalf("audit entries %v", got)
		}
		var n int64
		db.Model(&schema.BillingEvent{}).Count(&n)
		if n != 1 {
			t.Fatalf("%d event rows", n)
		}
	})
}

func TestOlderSubscriptionEventArrivingLateChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		newUser(t, db, "u1", "free")
		apply(t, db, subEvent("evt_new", t0.Add(time.Minute), billing.Premium, "active", false))
		out := apply(t, db, subEvent("evt_old", t0, billing.Basic, "active", false))
		if out.Note != "ignored: older than the subscription's newest event" {
			t.Fatalf("note %q", out.Note)
		}
		var sub schema.Subscription
		db.Where("user_id = ?", "u1").Take(&sub)
		if sub.Plan != "premium" {
			t.Fatalf("plan %s", sub.Plan)
		}
	})
}

func TestPaymentFailedStartsDunningAndKeepsThePlan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		newUser(t, db, "u1", "free")
		apply(t, db, subEvent("evt_1", t0, billing.Pro, "active", false))
		out := apply(t, db, billing.Event{Provider: "stripe", ID: "evt_2", Type: billing.EventPaymentFailed, Created: t0.Add(time.Minute), CustomerID: "cus_1",
			SubscriptionID: "sub_1", InvoiceID: "in_9", Tier: billing.Pro, AmountCents: 9900})
		u := userOf(t, db, "u1")
		if u.SubscriptionTier != "pro" || u.SubscriptionStatus != "past_due" {
			t.Fatalf("%s/%s", u.SubscriptionTier, u.SubscriptionStatus)
		}
		if len(out.FollowUps) != 1 || out.FollowUps[0].Kind != FollowStartDunning || out.FollowUps[0].InvoiceID != "in_9" || out.FollowUps[0].SubscriptionID != "sub_1" {
			t.Fatalf("%+v", out.FollowUps)
		}
	})
}

func TestUnknownCustomerIsKeptAndIgnored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		out := apply(t, db, billing.Event{Provider: "stripe", ID: "evt_1", Type: billing.EventInvoicePaid, Created: t0, CustomerID: "cus_nobody", InvoiceID: "in_1", Tier: billing.Pro})
		if out.UserID != "" || out.Note == "" {
			t.Fatalf("%+v", out)
		}
	})
}

func TestSuspendIsIdempotentAndSkipsPaidInvoices(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		newUser(t, db, "u1", "free")
		db.Create(&schema.BrokerConnection{ID: "c1", UserID: "u1", BrokerType: "alpaca", IsActive: true, CreatedAt: t0, UpdatedAt: t0})
		db.Create(&schema.BrokerConnection{ID: "c2", UserID: "u1", BrokerType: "paper", Paper: true, IsActive: true, CreatedAt: t0, UpdatedAt: t0})
		apply(t, db, subEvent("evt_1", t0, billing.Pro, "active", false))
		apply(t, db, billing.Event{Provider: "stripe", ID: "evt_2", Type: billing.EventPaymentFailed, Created: t0.Add(time.Minute), CustomerID: "cus_1",
			SubscriptionID: "sub_1", InvoiceID: "in_9", Tier: billing.Pro, AmountCents: 9900})
		a := &Applier{DB: db, Now: func() time.Time { return t0.AddDate(0, 0, 7) }}
		ctx := context.Background()

		if r, err := a.Suspend(ctx, "u1", "stripe", "sub_1", "in_other"); err != nil || r.Suspended {
			t.Fatalf("another invoice: %+v %v", r, err)
		}
		for i := 0; i < 2; i++ {
			r, err := a.Suspend(ctx, "u1", "stripe", "sub_1", "in_9")
			if err != nil || !r.Suspended || r.Previous.Name != "Pro" || r.Paused != 1 {
				t.Fatalf("call %d: %+v %v", i, r, err)
			}
		}
		u := userOf(t, db, "u1")
		if u.SubscriptionTier != "free" || u.SubscriptionStatus != "active" {
			t.Fatalf("%s/%s", u.SubscriptionTier, u.SubscriptionStatus)
		}
		var n int64
		db.Model(&schema.AuditLog{}).Where("user_id = ? AND action = ?", "u1", ActionSubscriptionSuspended).Count(&n)
		if n != 1 {
			t.Fatalf("%d suspension entries", n)
		}
		var conns int64
		db.Model(&schema.BrokerConnection{}).Where("user_id = ?", "u1").Count(&conns)
		if conns != 2 {
			t.Fatalf("connections deleted: %d left", conns)
		}
	})
}
