package ledger

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/billing"
	"github.com/tradeexec/tradeexec/internal/experiments"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// A completed checkout is the upgrade-prompt experiment's conversion: for
// a user shown the prompt, credited to the variant shown; for a user never
// shown it, nothing.
func TestCheckoutConvertsUpgradePrompt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		newUser(t, db, "u1", "free")
		newUser(t, db, "u2", "free")
		variant, err := experiments.Expose(context.Background(), db, experiments.UpgradePrompt, "u1", t0.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		apply(t, db, billing.Event{Provider: "stripe", ID: "evt_1", Type: billing.EventCheckoutCompleted, Created: t0, UserID: "u1", CustomerID: "cus_1", SubscriptionID: "sub_1"})
		apply(t, db, billing.Event{Provider: "stripe", ID: "evt_2", Type: billing.EventCheckoutCompleted, Created: t0, UserID: "u2", CustomerID: "cus_2", SubscriptionID: "sub_2"})
		var rows []schema.ExperimentConversion
		if err := db.Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].UserID != "u1" || rows[0].Variant != variant || rows[0].ExperimentID != experiments.UpgradePrompt {
			t.Fatalf("conversions %+v, want u1 in %s", rows, variant)
		}
	})
}
