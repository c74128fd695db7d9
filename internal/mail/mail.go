// Package mail sends the e-mails billing and security need (dunning,
// receipts, "new sign-in", password reset). Production sends through SMTP
// (wneessen/go-mail: maintained, STARTTLS/implicit TLS, SMTP AUTH); dev
// prints each mail to the log and writes it to DATA_DIR/mail/.
package mail

import (
	"context"
	"errors"
	"strings"
)

// Message is one e-mail, already rendered.
type Message struct {
	To      string
	Subject string
	Text    string
	// Kind names the template ("dunning", "receipt", ...), for logs and
	// the dev mailbox's file names. It is not sent.
	Kind string
}

// Sender delivers messages. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrInvalid is a message that cannot be sent as it is (no recipient,
// header injection).
var ErrInvalid = errors.New("mail: invalid message")

func (m Message) validate() error {
	if m.To == "" || !strings.Contains(m.To, "@") {
		return ErrInvalid
	}
	// A CR or LF in a header value would start a new header.
	if strings.ContainsAny(m.To+m.Subject, "\r\n") {
		return ErrInvalid
	}
	return nil
}
