// Package mailtest is a real SMTP server on a loopback port
// (emersion/go-smtp) that keeps what arrives, for tests of everything that
// sends mail.
package mailtest

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"
)

// Mail is one delivered message.
type Mail struct {
	From string
	To   []string
	Data string // headers and body as received
}

// Subject returns the Subject header's value.
func (m Mail) Subject() string {
	for _, line := range strings.Split(m.Data, "\r\n") {
		if v, ok := strings.CutPrefix(line, "Subject: "); ok {
			return v
		}
	}
	return ""
}

// Inbox is a running SMTP server.
type Inbox struct {
	Host string
	Port int

	mu    sync.Mutex
	mails []Mail
}

// Start runs an inbox until the test ends.
func Start(t testing.TB) *Inbox {
	t.Helper()
	in := &Inbox{}
	srv := smtp.NewServer(backend{in: in})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	in.Host, in.Port = "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
	return in
}

// Mails returns what arrived so far.
func (in *Inbox) Mails() []Mail {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]Mail(nil), in.mails...)
}

// WaitFor waits until a mail to rcpt whose subject contains subject
// arrived, and returns it (ok=false after timeout).
func (in *Inbox) WaitFor(rcpt, subject string, timeout time.Duration) (Mail, bool) {
	deadline := time.Now().Add(timeout)
	for {
		for _, m := range in.Mails() {
			for _, to := range m.To {
				if to == rcpt && strings.Contains(m.Subject(), subject) {
					return m, true
				}
			}
		}
		if time.Now().After(deadline) {
			return Mail{}, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type backend struct{ in *Inbox }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{in: b.in}, nil }

type session struct {
	in  *Inbox
	cur Mail
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.cur.From = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = string(b)
	s.in.mu.Lock()
	s.in.mails = append(s.in.mails, s.cur)
	s.in.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.cur = Mail{} }
func (s *session) Logout() error { return nil }
