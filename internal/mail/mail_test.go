package mail

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"
)

// inbox is a real SMTP server on a loopback port (emersion/go-smtp) that
// keeps what arrives.
type inbox struct {
	mu    sync.Mutex
	mails []received
}

type received struct {
	from string
	to   []string
	data string
}

type backend struct{ in *inbox }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{in: b.in}, nil }

type session struct {
	in  *inbox
	cur received
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.cur.from = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	s.in.mu.Lock()
	s.in.mails = append(s.in.mails, s.cur)
	s.in.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }

func startInbox(t *testing.T) (*inbox, int) {
	t.Helper()
	in := &inbox{}
	srv := smtp.NewServer(backend{in: in})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return in, ln.Addr().(*net.TCPAddr).Port
}

func TestSMTPSenderDeliversToARealServer(t *testing.T) {
	in, port := startInbox(t)
	s, err := NewSMTPSender(SMTPConfig{Host: "127.0.0.1", Port: port, From: "billing@tradeexec.test", TLS: TLSNone})
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
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.mails) != 1 {
		t.Fatalf("%d mails arrived", len(in.mails))
	}
	got := in.mails[0]
	if got.from != "billing@tradeexec.test" || len(got.to) != 1 || got.to[0] != "trader@example.com" {
		t.Fatalf("envelope %q → %v", got.from, got.to)
	}
	for _, want := range []string{"Subject: Payment failed: Update card", "We could not charge $99 for your Pro plan", "Dec 6, Dec 8 and Dec 10"} {
		if !strings.Contains(got.data, want) {
			t.Errorf("mail lacks %q:\n%s", want, got.data)
		}
	}
}

func TestSMTPSenderStartTLSRequiredRefusesPlainServer(t *testing.T) {
	_, port := startInbox(t)
	s, err := NewSMTPSender(SMTPConfig{Host: "127.0.0.1", Port: port, From: "billing@tradeexec.test"})
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
		"Summary": "s", "Invoice": "i", "RetryDates": "r", "Attempt": 1, "Changes": "c", "Where": "w"}
	for kind := range templates {
		if _, err := Render(kind, "a@b.c", data); err != nil {
			t.Errorf("%s: %v", kind, err)
		}
	}
	if _, err := Render(KindWelcome, "a@b.c", map[string]any{"Name": "n"}); err == nil {
		t.Error("a missing field rendered silently")
	}
}
