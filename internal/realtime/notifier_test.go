package realtime_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
)

// Two replicas: on PostgreSQL each hub LISTENs on its own connection and
// events are announced by the NOTIFY inside the writer's transaction (no
// Committed call); on SQLite the replicas share an in-process notifier.
func TestTwoReplicasDeliverAndSignOutAcrossTheNotifier(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		var na, nb realtime.Notifier
		if d == store.Postgres {
			na, nb = realtime.NewPGNotifier(db, nil), realtime.NewPGNotifier(db, nil)
		} else {
			shared := realtime.NewLocalNotifier()
			na, nb = shared, shared
		}
		a := startHub(t, db, hubOpts{notifier: na})
		b := startHub(t, db, hubOpts{notifier: nb})
		_, sa := connect(a, "u1", true, 0)
		_, sb := connect(b, "u1", true, 0)
		_, other := connect(b, "u2", true, 0)
		time.Sleep(200 * time.Millisecond) // listeners up
		appendN(t, db, nil, "u1", 5)
		eventually(t, "both replicas deliver 1..5", func() bool {
			return fmt.Sprint(sa.seqs()) == "[1 2 3 4 5]" && fmt.Sprint(sb.seqs()) == "[1 2 3 4 5]"
		})
		if len(other.seqs()) != 0 {
			t.Fatal("u2 received u1's events")
		}
		if err := a.SignOut(context.Background(), "u1"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "u1 closed on both replicas", func() bool {
			_, ca := sa.snapshot()
			_, cb := sb.snapshot()
			return ca == realtime.CloseSignedOut && cb == realtime.CloseSignedOut
		})
		if _, c := other.snapshot(); c != 0 {
			t.Fatal("u2 closed")
		}
	})
}

func TestTicketsAreSingleUseAndShortLived(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		user, sess := newSession(t, db)
		now := time.Now().UTC()
		g := realtime.Grant{UserID: user, SessionID: sess, ExpiresAt: now.Add(time.Hour)}
		tk, err := realtime.IssueTicket(ctx, db, g, now)
		require(t, err)
		got, err := realtime.RedeemTicket(ctx, db, tk.Ticket, now.Add(time.Second))
		require(t, err)
		if got.UserID != user || got.SessionID != sess || got.ExpiresAt.Sub(g.ExpiresAt).Abs() > time.Millisecond {
			t.Fatalf("grant %+v", got)
		}
		if _, err := realtime.RedeemTicket(ctx, db, tk.Ticket, now.Add(time.Second)); err != realtime.ErrTicketInvalid {
			t.Fatalf("second redemption: %v", err)
		}
		old, err := realtime.IssueTicket(ctx, db, g, now)
		require(t, err)
		if _, err := realtime.RedeemTicket(ctx, db, old.Ticket, now.Add(realtime.TicketTTL+time.Second)); err != realtime.ErrTicketInvalid {
			t.Fatalf("expired ticket: %v", err)
		}
		for _, bad := range []string{"", "nope", string(make([]byte, 500))} {
			if _, err := realtime.RedeemTicket(ctx, db, bad, now); err != realtime.ErrTicketInvalid {
				t.Fatalf("%q: %v", bad, err)
			}
		}
		// A ticket of a session that has since ended opens nothing.
		tk, err = realtime.IssueTicket(ctx, db, g, now)
		require(t, err)
		require(t, db.Exec("UPDATE sessions SET revoked_at = ? WHERE id = ?", now, sess).Error)
		if _, err := realtime.RedeemTicket(ctx, db, tk.Ticket, now.Add(time.Second)); err != realtime.ErrTicketInvalid {
			t.Fatalf("ticket of ended session: %v", err)
		}
		// Purge drops old events and expired tickets.
		appendN(t, db, nil, user, 2)
		_, err = realtime.IssueTicket(ctx, db, g, now)
		require(t, err)
		require(t, realtime.Purge(ctx, db, time.Now().Add(time.Hour), now.Add(time.Hour)))
		evs, err := realtime.EventsSince(ctx, db, user, 0, 0)
		require(t, err)
		var tickets int64
		require(t, db.Table("ws_tickets").Count(&tickets).Error)
		if len(evs) != 0 || tickets != 0 {
			t.Fatalf("after purge: %d events, %d tickets", len(evs), tickets)
		}
	})
}
