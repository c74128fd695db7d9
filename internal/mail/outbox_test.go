package mail

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/mail/mailtest"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

type failingSender struct{ n int }

func (f *failingSender) Send(context.Context, Message) error {
	f.n++
	return errors.New("smtp: 421 try later")
}

func TestOutboxIsSentAfterCommitOnlyOnceAndRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		email := "eve@example.com"
		now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
		if err := db.Create(&schema.User{ID: "u1", Email: &email, DisplayName: "Eve", Role: "trader", CreatedAt: now}).Error; err != nil {
			t.Fatal(err)
		}
		// A rolled-back transaction sends nothing.
		_ = store.InTx(ctx, db, func(tx *gorm.DB) error {
			if err := Enqueue(tx, "u1", KindNewSignIn, map[string]string{"Where": "Berlin", "Date": "d"}, now); err != nil {
				t.Fatal(err)
			}
			return errors.New("rolled back")
		})
		if err := store.InTx(ctx, db, func(tx *gorm.DB) error {
			return Enqueue(tx, "u1", KindPasswordReset, map[string]string{"URL": "https://x/dashboard#/reset?token=SECRET"}, now)
		}); err != nil {
			t.Fatal(err)
		}
		clock := now
		failing := &failingSender{}
		r := &Relay{DB: db, Sender: failing, Log: zap.NewNop(), Now: func() time.Time { return clock }}
		if n, err := r.Sweep(ctx); err != nil || n != 0 || failing.n != 1 {
			t.Fatalf("failing send: n=%d err=%v tries=%d", n, err, failing.n)
		}
		if n, _ := r.Sweep(ctx); n != 0 || failing.n != 1 {
			t.Fatalf("retried before its backoff: tries=%d", failing.n)
		}

		in := mailtest.Start(t)
		s, err := NewSMTPSender(SMTPConfig{Host: in.Host, Port: in.Port, From: "security@tradeexec.test", TLS: TLSNone})
		if err != nil {
			t.Fatal(err)
		}
		clock = now.Add(2 * time.Minute)
		r1 := &Relay{DB: db, Sender: s, Log: zap.NewNop(), Now: func() time.Time { return clock }}
		r2 := &Relay{DB: db, Sender: s, Log: zap.NewNop(), Now: func() time.Time { return clock }}
		done := make(chan int, 2)
		go func() { n, _ := r1.Sweep(ctx); done <- n }()
		go func() { n, _ := r2.Sweep(ctx); done <- n }()
		if total := <-done + <-done; total != 1 {
			t.Fatalf("two relays sent %d mails", total)
		}
		mails := in.Mails()
		if len(mails) != 1 || mails[0].Subject() != "Reset your tradeexec password" || !strings.Contains(mails[0].Data, "SECRET") {
			t.Fatalf("inbox %+v", mails)
		}
		var row schema.MailOutbox
		db.Take(&row)
		if row.SentAt == nil || strings.Contains(row.Data, "SECRET") {
			t.Fatalf("after sending: %+v (the link must not outlive the sending)", row)
		}
	})
}
