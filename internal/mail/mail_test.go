package mail

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/mail/mailtest"
)

func TestSMTPSenderDeliversToARealServer(t *testing.T) {
	in := mailtest.Start(t)
	s, err := NewSMTPSender(SMTPConfig{Host: in.Host, Port: in.Port, From: "billing@tradeexec.test", TLS: TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Render(KindPaymentFailed, "trader@example.com", map[string]any{
		"Name": "Ada", "Amount": "$99", "Plan": "Pro", "RetryDates": "Dec 6, Dec 8 and Dec 10", "Date": "Dec 10", "URL": "http://localhost/dashboard#/billing"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	mails := in.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails arrived", len(mails))
	}
	got := mails[0]
	if got.From != "billing@tradeexec.test" || len(got.To) != 1 || got.To[0] != "trader@example.com" {
		t.Fatalf("envelope %q → %v", got.From, got.To)
	}
	for _, want := range []string{"Subject: Payment failed: Update card", "We could not charge $99 for your Pro plan", "Dec 6, Dec 8 and Dec 10"} {
		if !strings.Contains(got.Data, want) {
			t.Errorf("mail lacks %q:\n%s", want, got.Data)
		}
	}
}

func TestSMTPSenderStartTLSRequiredRefusesPlainServer(t *testing.T) {
	in := mailtest.Start(t)
	s, err := NewSMTPSender(SMTPConfig{Host: in.Host, Port: in.Port, From: "billing@tradeexec.test"})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := Render(KindPasswordReset, "trader@example.com", map[string]any{"Name": "Ada", "URL": "http://x/reset#t"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Send(ctx, m); err == nil {
		t.Fatal("sent in clear text to a server without STARTTLS although TLS is mandatory by default")
	}
}

func TestMessagesRefuseHeaderInjection(t *testing.T) {
	d := &DevSender{Dir: t.TempDir()}
	for _, m := range []Message{
		{To: "a@b.c\r\nBcc: x@y.z", Subject: "s", Kind: "k"},
		{To: "", Subject: "s"},
		{To: "a@b.c", Subject: "s\nBcc: x@y.z"},
	} {
		if err := d.Send(context.Background(), m); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: err %v", m.To, err)
		}
	}
	// Render joins a multi-line subject value into one line.
	m, err := Render(KindReceipt, "a@b.c", map[string]any{"Name": "x", "Summary": "Paid\r\nBcc: evil@x", "Invoice": "in_1", "URL": "u"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Fatalf("subject %q", m.Subject)
	}
}

func TestDevSenderWritesTheMailbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	d := &DevSender{Dir: dir, Now: func() time.Time { return time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC) }}
	m, err := Render(KindWelcome, "t@example.com", map[string]any{"Name": "Ada", "Plan": "Pro", "Amount": "$99", "Date": "Jan 2, 2027", "Features": "3 live brokers", "URL": "u"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Welcome to Pro Plan" {
		t.Fatalf("subject %q", m.Subject)
	}
	if err := d.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 || !strings.HasSuffix(files[0].Name(), "-welcome.eml") {
		t.Fatalf("files %v", files)
	}
	b, _ := os.ReadFile(filepath.Join(dir, files[0].Name()))
	if !strings.Contains(string(b), "Subject: Welcome to Pro Plan") {
		t.Fatalf("%s", b)
	}
}

func TestEveryTemplateRendersWithItsFields(t *testing.T) {
	data := map[string]any{"Name": "n", "Plan": "Pro", "Amount": "$1", "Date": "d", "URL": "u", "Features": "f",
		"Summary": "s", "Invoice": "i", "RetryDates": "r", "Attempt": 1, "Changes": "c", "Where": "w", "NewPlan": "Basic", "Details": "x"}
	for kind := range templates {
		if _, err := Render(kind, "a@b.c", data); err != nil {
			t.Errorf("%s: %v", kind, err)
		}
	}
	if _, err := Render(KindWelcome, "a@b.c", map[string]any{"Name": "n"}); err == nil {
		t.Error("a missing field rendered silently")
	}
}
