package mail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// DevSender is the mailbox of `tradeexec dev`: each message is logged (to,
// subject, file) and written whole to Dir as an .eml file.
type DevSender struct {
	Dir string
	Log *zap.Logger
	Now func() time.Time
	n   atomic.Int64
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// Send writes m to the dev mailbox.
func (d *DevSender) Send(_ context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return fmt.Errorf("mail: dev mailbox: %w", err)
	}
	now := time.Now().UTC()
	if d.Now != nil {
		now = d.Now().UTC()
	}
	name := fmt.Sprintf("%s-%04d-%s.eml", now.Format("20060102T150405"), d.n.Add(1)%10000, unsafeName.ReplaceAllString(m.Kind, "_"))
	path := filepath.Join(d.Dir, name)
	body := fmt.Sprintf("Date: %s\r\nTo: %s\r\nSubject: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s",
		now.Format(time.RFC1123Z), m.To, m.Subject, m.Text)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return fmt.Errorf("mail: dev mailbox: %w", err)
	}
	if d.Log != nil {
		d.Log.Info("mail (dev: not sent)", zap.String("kind", m.Kind), zap.String("to", m.To),
			zap.String("subject", m.Subject), zap.String("file", path))
	}
	return nil
}
