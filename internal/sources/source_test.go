package sources

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
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

const (
	guild   = "100000000000000001"
	channel = "100000000000000002"
	admin   = "100000000000000003"
	role    = "100000000000000004"
)

func TestRegisterFollowAndAuthorize(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		owner, other, follower := newUser(t, db), newUser(t, db), newUser(t, db)

		src, err := Register(ctx, db, RegisterInput{GuildID: guild, ChannelID: channel, Name: "Alpha calls", OwnerUserID: owner,
			RegisteredBy: admin, Mode: ModeFreeform, SummaryReplies: true, Verified: true})
		if err != nil {
			t.Fatal(err)
		}
		if src.Status != StatusActive || len(src.Authors) != 1 || src.Authors[0] != (Author{AuthorUser, admin}) {
			t.Fatalf("source = %+v", src)
		}
		if !src.Authorized(admin, nil) || src.Authorized("100000000000000009", nil) {
			t.Fatal("author check wrong")
		}
		// Another provider cannot take the channel over.
		_, err = Register(ctx, db, RegisterInput{GuildID: guild, ChannelID: channel, Name: "Mine", OwnerUserID: other,
			RegisteredBy: "100000000000000008", Mode: ModeStrict, Verified: true})
		if e, ok := AsError(err); !ok || e.Code != CodeConflict {
			t.Fatalf("takeover: err = %v", err)
		}
		if err := SetAuthor(ctx, db, src.ID, Author{AuthorRole, role}, true); err != nil {
			t.Fatal(err)
		}
		got, err := ByChannel(ctx, db, channel)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Authorized("100000000000000009", []string{role}) {
			t.Fatalf("role author not authorized: %+v", got.Authors)
		}

		sub, err := Follow(ctx, db, follower, src.ID, Sizing{Mode: SizingFixedAmount, FixedAmount: d("250")}, true)
		if err != nil {
			t.Fatal(err)
		}
		if !sub.Shadow || sub.Sizing.Mode != SizingFixedAmount || !sub.Sizing.FixedAmount.Equal(d("250")) || !sub.Sizing.Multiplier.IsZero() {
			t.Fatalf("subscription = %+v", sub)
		}
		// Following again changes the sizing of the same subscription.
		sub2, err := Follow(ctx, db, follower, src.ID, DefaultSizing(), false)
		if err != nil {
			t.Fatal(err)
		}
		if sub2.ID != sub.ID || sub2.Shadow || !sub2.Sizing.Multiplier.Equal(d("1")) {
			t.Fatalf("re-follow = %+v", sub2)
		}
		if n, _ := FollowerCount(ctx, db, src.ID); n != 1 {
			t.Fatalf("followers = %d", n)
		}
		if err := Unfollow(ctx, db, follower, src.ID); err != nil {
			t.Fatal(err)
		}
		if err := Unfollow(ctx, db, follower, src.ID); err != ErrNotFollowing {
			t.Fatalf("second unfollow: %v", err)
		}

		// Only the owner updates; pausing hides nothing from the owner.
		paused := true
		if _, err := Update(ctx, db, other, src.ID, Patch{Paused: &paused}); err != ErrSourceNotFound {
			t.Fatalf("update by another user: %v", err)
		}
		up, err := Update(ctx, db, owner, src.ID, Patch{Paused: &paused})
		if err != nil || up.Status != StatusPaused {
			t.Fatalf("pause: %+v %v", up, err)
		}
		active, err := List(ctx, db, []string{StatusActive}, "")
		if err != nil || len(active) != 0 {
			t.Fatalf("active list = %+v %v", active, err)
		}
		mine, err := List(ctx, db, []string{StatusActive}, owner)
		if err != nil || len(mine) != 1 {
			t.Fatalf("owner list = %+v %v", mine, err)
		}
		if err := Delete(ctx, db, owner, src.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := ByChannel(ctx, db, channel); err != ErrSourceNotFound {
			t.Fatalf("deleted source still found: %v", err)
		}
	})
}

func TestPendingSourceCannotBeFollowed(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	owner, follower := newUser(t, db), newUser(t, db)
	src, err := Register(ctx, db, RegisterInput{GuildID: guild, ChannelID: channel, Name: "Pending", OwnerUserID: owner,
		RegisteredBy: admin, Mode: ModeStrict})
	if err != nil {
		t.Fatal(err)
	}
	if src.Status != StatusPending {
		t.Fatalf("status = %s", src.Status)
	}
	if _, err := Follow(ctx, db, follower, src.ID, DefaultSizing(), false); err == nil {
		t.Fatal("followed a pending source")
	}
	if err := SetStatus(ctx, db, src.ID, StatusActive, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := Follow(ctx, db, follower, src.ID, DefaultSizing(), false); err != nil {
		t.Fatal(err)
	}
}

func TestPreferencesAndQueue(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	u := newUser(t, db)
	p, err := GetPreferences(ctx, db, u)
	if err != nil || p != AllPreferences() {
		t.Fatalf("default preferences = %+v %v", p, err)
	}
	p.Queued = false
	if err := SetPreferences(ctx, db, u, p); err != nil {
		t.Fatal(err)
	}
	p.Fills = false
	if err := SetPreferences(ctx, db, u, p); err != nil {
		t.Fatal(err)
	}
	got, _ := GetPreferences(ctx, db, u)
	if got.Queued || got.Fills || !got.Rejects || got.Allows(KindQueued) || !got.Allows(KindSkipped) {
		t.Fatalf("preferences = %+v", got)
	}
	now := time.Now()
	o := Outgoing{DedupeKey: "k1", Kind: KindFill, UserID: u, Content: "hello"}
	if fresh, err := Enqueue(db, o, now); err != nil || !fresh {
		t.Fatalf("enqueue: %v %v", fresh, err)
	}
	if fresh, err := Enqueue(db, o, now); err != nil || fresh {
		t.Fatalf("second enqueue: %v %v", fresh, err)
	}
	if _, err := Enqueue(db, Outgoing{DedupeKey: "k2", Kind: KindSummary, Content: "no target"}, now); err == nil {
		t.Fatal("a message without recipient was queued")
	}
}

// Issue 13 #3: the first registrant cannot squat a channel. A registration
// verified by a current server admin replaces a pending or rejected one,
// and an active one whose owner is no longer an admin; otherwise it is a
// conflict, and an unverified (dashboard) registration never takes over.
func TestChannelSquattingIsResolvedByAVerifiedAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		squatter, realAdmin, third := newUser(t, db), newUser(t, db), newUser(t, db)
		const squatterDiscord, adminDiscord, thirdDiscord = "100000000000000011", "100000000000000012", "100000000000000013"
		admins := map[string]bool{adminDiscord: true, thirdDiscord: true}
		stillAdmin := func(_ context.Context, _, id string) (bool, error) { return admins[id], nil }

		// A pending registration from the dashboard (never verified).
		pending, err := Register(ctx, db, RegisterInput{GuildID: guild, ChannelID: channel, Name: "squat", OwnerUserID: squatter,
			RegisteredBy: squatterDiscord, Mode: ModeStrict})
		if err != nil || pending.Status != StatusPending {
			t.Fatalf("pending: %+v %v", pending, err)
		}
		// Another unverified registration cannot take it.
		if _, err := Register(ctx, db, RegisterInput{GuildID: guild, ChannelID: channel, Name: "x", OwnerUserID: third,
			RegisteredBy: thirdDiscord, Mode: ModeStrict, StillAdmin: stillAdmin}); err == nil {
			t.Fatal("an unverified registration took the channel")
		}
		// A verified admin does.
		src, err := Register(ctx, db, RegisterInput{GuildID: guild, ChannelID: channel, Name: "Alpha", OwnerUserID: realAdmin,
			RegisteredBy: adminDiscord, Mode: ModeStrict, Verified: true, StillAdmin: stillAdmin})
		if err != nil || src.OwnerUserID != realAdmin || src.Status != StatusActive || src.ID != pending.ID {
			t.Fatalf("takeover of a pending registration: %+v %v", src, err)
		}
		// An active source of a current admin stays theirs.
		if _, err := Register(ctx, db, RegisterInput{GuildID: guild, ChannelID: channel, Name: "y", OwnerUserID: third,
			RegisteredBy: thirdDiscord, Mode: ModeStrict, Verified: true, StillAdmin: stillAdmin}); err == nil {
			t.Fatal("a current admin's active source was taken")
		}
		// Once its owner lost Manage Server, another verified admin takes it.
		delete(admins, adminDiscord)
		src, err = Register(ctx, db, RegisterInput{GuildID: guild, ChannelID: channel, Name: "z", OwnerUserID: third,
			RegisteredBy: thirdDiscord, Mode: ModeStrict, Verified: true, StillAdmin: stillAdmin})
		if err != nil || src.OwnerUserID != third {
			t.Fatalf("takeover from a former admin: %+v %v", src, err)
		}
		var n int64
		db.Model(&schema.AuditLog{}).Where("action = ?", ActionSourceReassigned).Count(&n)
		if n != 4 {
			t.Fatalf("%d reassignment entries, want 2 per takeover (both owners' chains)", n)
		}
	})
}
