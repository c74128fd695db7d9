package copytrade

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

func newUser(t *testing.T, db *gorm.DB) string {
	t.Helper()
	u := schema.User{ID: uuid.NewString(), DisplayName: "T", CreatedAt: time.Now().UTC()}
	if err := db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestSettingsAndFollow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		now := time.Now().UTC()
		leader, follower := newUser(t, db), newUser(t, db)
		if _, err := SaveSettings(ctx, db, leader, Settings{Visibility: "everyone"}, now); err == nil {
			t.Fatal("an unknown visibility was accepted")
		}
		if _, err := SaveSettings(ctx, db, leader, Settings{AllowCopy: true, Visibility: "public", DisplayName: " Alice "}, now); err != nil {
			t.Fatal(err)
		}
		if _, err := SaveSettings(ctx, db, leader, Settings{AllowCopy: true, Visibility: "followers", DisplayName: "Alice"}, now); err != nil {
			t.Fatal(err)
		}
		st, err := GetSettings(db, leader)
		if err != nil || st.Visibility != "followers" || st.DisplayName != "Alice" || !st.AllowCopy {
			t.Fatalf("settings %+v %v", st, err)
		}
		if _, err := Follow(ctx, db, follower, leader, FollowRequest{SizingMode: "multiplier"}, now); err == nil {
			t.Fatal("a zero multiplier was accepted")
		}
		f, err := Follow(ctx, db, follower, leader, FollowRequest{SizingMode: "proportional", LossLimit: decimal.NewFromInt(1000)}, now)
		if err != nil {
			t.Fatal(err)
		}
		f2, err := Follow(ctx, db, follower, leader, FollowRequest{SizingMode: "fixed_amount", FixedAmount: decimal.NewFromInt(500)}, now)
		if err != nil || f2.ID != f.ID || f2.SizingMode != "fixed_amount" {
			t.Fatalf("refollow %+v %v", f2, err)
		}
		ok, err := Follows(db, follower, leader)
		if err != nil || !ok {
			t.Fatal("not following", err)
		}
		if _, err := SetFollowStatus(ctx, db, leader, f.ID, StatusStopped, "", now); err != ErrNotFound {
			t.Fatalf("another trader stopped the follow: %v", err)
		}
		if _, err := SetFollowStatus(ctx, db, follower, f.ID, StatusStopped, "Unfollowed.", now); err != nil {
			t.Fatal(err)
		}
		if ok, _ := Follows(db, follower, leader); ok {
			t.Fatal("still following after unfollow")
		}
	})
}

func TestLeaderFillLedgerAndFollowerPositions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		now := time.Now().UTC()
		leader, follower := newUser(t, db), newUser(t, db)
		fill := func(id, side, qty string) *schema.CopyFill {
			t.Helper()
			var out *schema.CopyFill
			err := store.InTx(ctx, db, func(tx *gorm.DB) error {
				var err error
				out, err = RecordLeaderFill(tx, LeaderFill{FillID: id, LeaderID: leader, Symbol: "TSLA", AssetClass: "stock", Side: side,
					Quantity: d(qty), Price: d("250")}, now)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		if f := fill("trade:0", "buy", "5"); f != nil {
			t.Fatal("a trader who does not allow copying was copied")
		}
		if _, err := SaveSettings(ctx, db, leader, Settings{AllowCopy: true, Visibility: "public"}, now); err != nil {
			t.Fatal(err)
		}
		if f := fill("trade:1", "buy", "20"); f != nil {
			t.Fatal("a fill without followers was recorded")
		}
		if _, err := Follow(ctx, db, follower, leader, FollowRequest{SizingMode: "proportional"}, now); err != nil {
			t.Fatal(err)
		}
		f := fill("trade:2", "buy", "20")
		if f == nil || f.Kind != KindAdd || !f.PositionBefore.Equal(d("20")) {
			t.Fatalf("add: %+v", f)
		}
		if again := fill("trade:2", "buy", "20"); again != nil {
			t.Fatal("the same fill id was recorded twice")
		}
		f = fill("trade:3", "sell", "10")
		if f.Kind != KindExit || !f.ExitFraction.Equal(d("0.25")) {
			t.Fatalf("exit: %+v", f)
		}
		f = fill("trade:4", "sell", "30")
		if f.Kind != KindClose || !f.ExitFraction.Equal(d("1")) {
			t.Fatalf("close: %+v", f)
		}

		// The follower's copy orders move only the copied position.
		order := func(tradeID string) {
			t.Helper()
			if err := db.Create(&schema.CopyOrder{ID: uuid.NewString(), CopyFillID: f.ID, FollowerID: follower, LeaderID: leader,
				Symbol: "TSLA" + tradeID, Side: "buy", Quantity: d("1"), Status: OrderSent, TradeID: tradeID, CreatedAt: now}).Error; err != nil {
				t.Fatal(err)
			}
		}
		order("t1")
		order("t2")
		apply := func(tradeID, side, qty, price string) {
			t.Helper()
			if err := store.InTx(ctx, db, func(tx *gorm.DB) error {
				return FollowerFilled(tx, tradeID, side, d(qty), d(price), now)
			}); err != nil {
				t.Fatal(err)
			}
		}
		apply("t1", "buy", "4", "250")
		apply("t1", "buy", "4", "250") // already filled: no change
		apply("unrelated", "buy", "100", "250")
		var p schema.CopyPosition
		if err := db.Where("follower_id = ? AND symbol = ?", follower, "TSLAt1").Take(&p).Error; err != nil {
			t.Fatal(err)
		}
		if !p.Quantity.Equal(d("4")) || !p.AvgPrice.Equal(d("250")) {
			t.Fatalf("copied position %+v", p)
		}
		// A stop of the follower's own position closes the copied part.
		if err := store.InTx(ctx, db, func(tx *gorm.DB) error {
			return OwnExitFilled(tx, follower, "TSLAt1", "sell", d("10"), d("240"), now)
		}); err != nil {
			t.Fatal(err)
		}
		if err := db.Where("follower_id = ? AND symbol = ?", follower, "TSLAt1").Take(&p).Error; err != nil {
			t.Fatal(err)
		}
		if !p.Quantity.IsZero() || !p.RealizedPnL.Equal(d("-40")) {
			t.Fatalf("after the stop %+v", p)
		}
	})
}
