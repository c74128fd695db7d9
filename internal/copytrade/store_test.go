package copytrade

import (
	"context"
	"strings"
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
		// A followers-only leader: the request waits for approval.
		if f.Status != StatusPending {
			t.Fatalf("follow of a followers-only leader is %s, want pending", f.Status)
		}
		if ok, _ := Follows(db, follower, leader); ok {
			t.Fatal("a pending request counts as a follower")
		}
		if reqs, err := PendingRequests(db, leader); err != nil || len(reqs) != 1 || reqs[0].ID != f.ID {
			t.Fatalf("pending requests %+v %v", reqs, err)
		}
		if _, err := DecideRequest(ctx, db, follower, f.ID, true, now); err != ErrNotFound {
			t.Fatalf("the follower approved their own request: %v", err)
		}
		if a, err := DecideRequest(ctx, db, leader, f.ID, true, now); err != nil || a.Status != StatusActive {
			t.Fatalf("approve %+v %v", a, err)
		}
		if _, err := DecideRequest(ctx, db, leader, f.ID, false, now); err != ErrNotFound {
			t.Fatalf("an approved follow was decided again: %v", err)
		}
		var n int64
		db.Model(&schema.AuditLog{}).Where("user_id = ? AND action = ?", leader, ActionApproved).Count(&n)
		if n != 1 {
			t.Fatalf("approval audited %d times", n)
		}
		f2, err := Follow(ctx, db, follower, leader, FollowRequest{SizingMode: "fixed_amount", FixedAmount: decimal.NewFromInt(500)}, now)
		if err != nil || f2.ID != f.ID || f2.SizingMode != "fixed_amount" || f2.Status != StatusActive {
			t.Fatalf("refollow %+v %v", f2, err)
		}
		ok, err := Follows(db, follower, leader)
		if err != nil || !ok {
			t.Fatal("not following", err)
		}
		// A denied request: not a follower; asking again is pending again.
		other := newUser(t, db)
		o, err := Follow(ctx, db, other, leader, FollowRequest{SizingMode: "proportional"}, now)
		if err != nil || o.Status != StatusPending {
			t.Fatalf("%+v %v", o, err)
		}
		if dn, err := DecideRequest(ctx, db, leader, o.ID, false, now); err != nil || dn.Status != StatusDenied {
			t.Fatalf("deny %+v %v", dn, err)
		}
		if ok, _ := Follows(db, other, leader); ok {
			t.Fatal("a denied request counts as a follower")
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

func seedCopied(t *testing.T, db *gorm.DB, follower, leader, symbol, qty, avg string) {
	t.Helper()
	if err := db.Create(&schema.CopyPosition{FollowerID: follower, LeaderID: leader, Symbol: symbol, Quantity: d(qty), AvgPrice: d(avg),
		RealizedPnL: decimal.Zero, LastPrice: d(avg), UpdatedAt: time.Now().UTC()}).Error; err != nil {
		t.Fatal(err)
	}
}

// Unfollowing keeps the copied positions as the trader's own by default
// (released from the copy ledger), or closes them when asked.
func TestUnfollowKeepsOrClosesCopiedPositions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		now := time.Now().UTC()
		leader := newUser(t, db)
		if _, err := SaveSettings(ctx, db, leader, Settings{AllowCopy: true, Visibility: "public"}, now); err != nil {
			t.Fatal(err)
		}
		for _, closing := range []bool{false, true} {
			follower := newUser(t, db)
			f, err := Follow(ctx, db, follower, leader, FollowRequest{SizingMode: "proportional"}, now)
			if err != nil {
				t.Fatal(err)
			}
			seedCopied(t, db, follower, leader, "TSLA", "5", "250")
			seedCopied(t, db, follower, leader, "NVDA", "-2", "500")
			var closed []string
			closer := func(tx *gorm.DB, _ schema.CopyFollow, ps []schema.CopyPosition) error {
				for _, p := range ps {
					closed = append(closed, p.Symbol+":"+string(CloseSignal("x", p, "").Side))
				}
				return nil
			}
			if _, err := Unfollow(ctx, db, newUser(t, db), f.ID, closing, closer, now); err != ErrNotFound {
				t.Fatalf("another trader unfollowed: %v", err)
			}
			rel, err := Unfollow(ctx, db, follower, f.ID, closing, closer, now)
			if err != nil || len(rel) != 2 {
				t.Fatalf("released %+v %v", rel, err)
			}
			var n int64
			db.Model(&schema.CopyPosition{}).Where("follower_id = ?", follower).Count(&n)
			if n != 0 {
				t.Fatalf("closePositions=%v: %d copied positions left in the ledger", closing, n)
			}
			var row schema.CopyFollow
			db.Where("id = ?", f.ID).Take(&row)
			if row.Status != StatusStopped {
				t.Fatalf("status %s", row.Status)
			}
			if closing != (len(closed) == 2) {
				t.Fatalf("closePositions=%v closed %v", closing, closed)
			}
			if closing && (closed[0] != "NVDA:buy" || closed[1] != "TSLA:sell") {
				t.Fatalf("closes %v", closed)
			}
			var a schema.AuditLog
			if err := db.Where("user_id = ? AND action = ?", follower, ActionUnfollowed).Take(&a).Error; err != nil {
				t.Fatal(err)
			}
		}
	})
}

// The loss limit between the leader's fills: prices move, the follow
// pauses once at 50% of the limit, the closes are recorded with the pause.
func TestCheckLossAtPrices(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		now := time.Now().UTC()
		leader, follower, unlimited := newUser(t, db), newUser(t, db), newUser(t, db)
		if _, err := SaveSettings(ctx, db, leader, Settings{AllowCopy: true, Visibility: "public", DisplayName: "TradeMaster"}, now); err != nil {
			t.Fatal(err)
		}
		f, err := Follow(ctx, db, follower, leader, FollowRequest{SizingMode: "proportional", LossLimit: d("1000")}, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Follow(ctx, db, unlimited, leader, FollowRequest{SizingMode: "proportional"}, now); err != nil {
			t.Fatal(err)
		}
		seedCopied(t, db, follower, leader, "TSLA", "10", "250")
		seedCopied(t, db, unlimited, leader, "TSLA", "10", "250")
		var closes []string
		closer := func(tx *gorm.DB, _ schema.CopyFollow, ps []schema.CopyPosition, msg string) error {
			for _, p := range ps {
				closes = append(closes, p.Symbol+" "+p.Quantity.String())
			}
			return nil
		}
		check := func(user, price string) []schema.CopyFollow {
			t.Helper()
			paused, err := CheckLossAtPrices(ctx, db, PriceCheck{FollowerID: user, Prices: map[string]decimal.Decimal{"TSLA": d(price)}}, closer, now)
			if err != nil {
				t.Fatal(err)
			}
			return paused
		}
		// -$490 (49%): not yet; the mark is stored.
		if p := check(follower, "201"); len(p) != 0 {
			t.Fatal("paused below 50% of the limit")
		}
		var pos schema.CopyPosition
		db.Where("follower_id = ? AND symbol = ?", follower, "TSLA").Take(&pos)
		if !pos.LastPrice.Equal(d("201")) {
			t.Fatalf("mark %s", pos.LastPrice)
		}
		// -$500: paused, closes recorded, the ledger closed at the mark.
		if p := check(follower, "200"); len(p) != 1 || p[0].ID != f.ID {
			t.Fatalf("paused %+v", p)
		}
		if len(closes) != 1 || closes[0] != "TSLA 10" {
			t.Fatalf("closes %v", closes)
		}
		var row schema.CopyFollow
		db.Where("id = ?", f.ID).Take(&row)
		if row.Status != StatusPaused || !strings.HasPrefix(row.StatusReason, "Copy trading paused: Loss limit approaching") {
			t.Fatalf("follow %+v", row)
		}
		db.Where("follower_id = ? AND symbol = ?", follower, "TSLA").Take(&pos)
		if !pos.Quantity.IsZero() || !pos.RealizedPnL.Equal(d("-500")) {
			t.Fatalf("ledger %+v", pos)
		}
		var ev int64
		db.Model(&schema.OutboxEvent{}).Where("user_id = ? AND type = ? AND payload LIKE ?", follower, EventNotice, "%Loss limit approaching%").Count(&ev)
		if ev != 1 {
			t.Fatalf("%d pause notices", ev)
		}
		// Again, lower: already paused, nothing more.
		if p := check(follower, "150"); len(p) != 0 || len(closes) != 1 {
			t.Fatal("paused twice")
		}
		// No limit: never paused.
		if p := check(unlimited, "100"); len(p) != 0 {
			t.Fatal("a follow without a limit was paused")
		}
	})
}
