package ledger

import (
	"context"
	"errors"
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

		// Downgrade: Premium stays until the renewal's paid invoice; the
		// trader is told now what the renewal will pause.
		db.Create(&schema.BrokerConnection{ID: "c1", UserID: "u1", BrokerType: "alpaca", IsActive: true, CreatedAt: t0, UpdatedAt: t0})
		db.Create(&schema.BrokerConnection{ID: "c2", UserID: "u1", BrokerType: "kraken", IsActive: true, CreatedAt: t0, UpdatedAt: t0})
		out = apply(t, db, subEvent("evt_6", t0.Add(5*time.Second), billing.Basic, "active", false))
		if len(out.FollowUps) != 1 || out.FollowUps[0].MailKind != "downgrade_scheduled" || out.FollowUps[0].MailData["NewPlan"] != "Basic" ||
			out.FollowUps[0].MailData["Changes"] != "- 1 of your 2 live broker connections will be paused (not deleted): the oldest 1 keep trading" {
			t.Fatalf("downgrade follow-ups %+v", out.FollowUps)
		}
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

func TestUnknownCustomerIsRetriedThenIgnored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		ev := billing.Event{Provider: "stripe", ID: "evt_1", Type: billing.EventInvoicePaid, Created: t0, CustomerID: "cus_nobody", InvoiceID: "in_1", Tier: billing.Pro}
		row, _, err := Record(ctx, db, ev, t0)
		if err != nil {
			t.Fatal(err)
		}
		early := &Applier{DB: db, Now: func() time.Time { return t0.Add(time.Minute) }}
		if _, err := early.Apply(ctx, row.ID); !errors.Is(err, ErrUnknownCustomer) {
			t.Fatalf("within the patience: %v (the naming event may still come)", err)
		}
		late := &Applier{DB: db, Now: func() time.Time { return t0.Add(UnknownCustomerPatience + time.Minute) }}
		out, err := late.Apply(ctx, row.ID)
		if err != nil || out.UserID != "" || out.Note != "ignored: the event names no known trader" {
			t.Fatalf("%+v %v", out, err)
		}
	})
}

// An invoice.paid that arrives before the subscription's events is
// applied once they are: its retry finds the trader.
func TestInvoiceBeforeSubscriptionIsAppliedOnRetry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		newUser(t, db, "u1", "free")
		ctx := context.Background()
		paid := billing.Event{Provider: "stripe", ID: "evt_paid", Type: billing.EventInvoicePaid, Created: t0.Add(time.Second), CustomerID: "cus_1",
			SubscriptionID: "sub_1", InvoiceID: "in_1", Tier: billing.Pro, AmountCents: 9900, BillingReason: "subscription_create"}
		row, _, err := Record(ctx, db, paid, t0)
		if err != nil {
			t.Fatal(err)
		}
		a := &Applier{DB: db, Now: func() time.Time { return t0.Add(2 * time.Second) }}
		if _, err := a.Apply(ctx, row.ID); !errors.Is(err, ErrUnknownCustomer) {
			t.Fatalf("first try: %v", err)
		}
		apply(t, db, subEvent("evt_sub", t0, billing.Pro, "active", false))
		out, err := a.Apply(ctx, row.ID)
		if err != nil || out.UserID != "u1" || len(out.FollowUps) != 2 || out.FollowUps[1].MailKind != "welcome" {
			t.Fatalf("retry: %+v %v", out, err)
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

// SPEC US-012 #4: the trader moves from Stripe to Polar; the old
// provider's late events (its subscription's cancellation by the bulk
// migration, a late renewal) change nothing.
func TestProviderSwitch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		newUser(t, db, "u1", "free")
		apply(t, db, subEvent("evt_s1", t0, billing.Pro, "active", false))
		apply(t, db, billing.Event{Provider: "polar", ID: "msg_1", Type: billing.EventCheckoutCompleted, Created: t0.Add(time.Hour), UserID: "u1",
			CustomerID: "pcus_1", SubscriptionID: "psub_1"})
		apply(t, db, billing.Event{Provider: "polar", ID: "msg_2", Type: billing.EventSubscriptionUpdated, Created: t0.Add(time.Hour + time.Second), UserID: "u1",
			CustomerID: "pcus_1", SubscriptionID: "psub_1", Tier: billing.Premium, Status: "active", CurrentPeriodStart: t0, CurrentPeriodEnd: t0.AddDate(0, 1, 0)})
		if u := userOf(t, db, "u1"); u.SubscriptionTier != "premium" {
			t.Fatalf("after the switch: %s", u.SubscriptionTier)
		}
		out := apply(t, db, billing.Event{Provider: "stripe", ID: "evt_s2", Type: billing.EventSubscriptionDeleted, Created: t0.Add(2 * time.Hour),
			UserID: "u1", CustomerID: "cus_1", SubscriptionID: "sub_1", Status: "canceled"})
		if out.Note != "ignored: event of the previous provider (polar)" {
			t.Fatalf("note %q", out.Note)
		}
		apply(t, db, billing.Event{Provider: "stripe", ID: "evt_s3", Type: billing.EventPaymentFailed, Created: t0.Add(3 * time.Hour),
			UserID: "u1", CustomerID: "cus_1", SubscriptionID: "sub_1", InvoiceID: "in_late", Tier: billing.Pro})
		u := userOf(t, db, "u1")
		if u.SubscriptionTier != "premium" || u.SubscriptionStatus != "active" {
			t.Fatalf("old provider changed the plan: %s/%s", u.SubscriptionTier, u.SubscriptionStatus)
		}
		var s schema.Subscription
		db.Where("user_id = ?", "u1").Take(&s)
		if s.BillingProvider != "polar" || s.BillingProviderSubscriptionID != "psub_1" {
			t.Fatalf("row %+v", s)
		}
	})
}

// Two events of one new subscriber applied at the same time (checkout and
// subscription.created arrive together): one subscription row, both
// applied, no unique-key failure.
func TestConcurrentEventsOfANewSubscriber(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		newUser(t, db, "u1", "free")
		ctx := context.Background()
		evs := []billing.Event{
			{Provider: "stripe", ID: "evt_a", Type: billing.EventCheckoutCompleted, Created: t0, UserID: "u1", CustomerID: "cus_1", SubscriptionID: "sub_1"},
			subEvent("evt_b", t0.Add(time.Second), billing.Pro, "active", false),
		}
		rows := make([]string, len(evs))
		for i, ev := range evs {
			row, _, err := Record(ctx, db, ev, t0)
			if err != nil {
				t.Fatal(err)
			}
			rows[i] = row.ID
		}
		a := &Applier{DB: db, Now: func() time.Time { return t0 }}
		errs := make(chan error, len(rows))
		for _, id := range rows {
			go func() { _, err := a.Apply(ctx, id); errs <- err }()
		}
		for range rows {
			if err := <-errs; err != nil {
				t.Fatalf("apply: %v", err)
			}
		}
		var n int64
		db.Model(&schema.Subscription{}).Where("user_id = ?", "u1").Count(&n)
		if n != 1 {
			t.Fatalf("%d subscription rows", n)
		}
		if u := userOf(t, db, "u1"); u.SubscriptionTier != "pro" {
			t.Fatalf("tier %s", u.SubscriptionTier)
		}
	})
}

// FR-067: "upcoming renewal (3 days before)" — a mail, no change.
func TestRenewalUpcomingIsAMailOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		newUser(t, db, "u1", "free")
		apply(t, db, subEvent("evt_1", t0, billing.Pro, "active", false))
		before := actions(t, db, "u1")
		out := apply(t, db, billing.Event{Provider: "stripe", ID: "evt_up", Type: billing.EventRenewalUpcoming, Created: t0.Add(time.Hour), UserID: "u1",
			CustomerID: "cus_1", SubscriptionID: "sub_1", AmountCents: 9900, CurrentPeriodEnd: t0.AddDate(0, 0, 30)})
		if len(out.FollowUps) != 1 || out.FollowUps[0].MailKind != "renewal_upcoming" || out.FollowUps[0].MailData["Amount"] != "$99" ||
			out.FollowUps[0].MailData["Plan"] != "Pro" {
			t.Fatalf("%+v", out)
		}
		if got := actions(t, db, "u1"); len(got) != len(before) {
			t.Fatalf("audit changed: %v", got)
		}
		// Nothing to announce once the cancellation is scheduled.
		apply(t, db, subEvent("evt_2", t0.Add(2*time.Hour), billing.Pro, "active", true))
		out = apply(t, db, billing.Event{Provider: "stripe", ID: "evt_up2", Type: billing.EventRenewalUpcoming, Created: t0.Add(3 * time.Hour), UserID: "u1",
			CustomerID: "cus_1", SubscriptionID: "sub_1", AmountCents: 9900, CurrentPeriodEnd: t0.AddDate(0, 0, 30)})
		if len(out.FollowUps) != 0 {
			t.Fatalf("%+v", out)
		}
	})
}
