package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Enqueue writes a mail to userID inside the caller's transaction: it is
// sent after commit by a Relay, and never if the transaction rolls back.
// data are the template's fields except Name, URL defaults and the address,
// which are read when it is sent.
func Enqueue(tx *gorm.DB, userID, kind string, data map[string]string, now time.Time) error {
	if !store.InTransaction(tx) {
		return errors.New("mail: Enqueue must be called inside a transaction")
	}
	if _, ok := templates[kind]; !ok {
		return fmt.Errorf("mail: unknown template %q", kind)
	}
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	now = now.UTC()
	return tx.Create(&schema.MailOutbox{ID: uuid.NewString(), UserID: userID, Kind: kind, Data: string(b), CreatedAt: now, NextAt: now}).Error
}

// Relay sends the mail outbox. Every api and worker process may run one:
// a row is claimed by moving its next_at forward (compare-and-set), so
// two relays never send the same row at once; a relay that dies after
// sending but before recording may send it twice (at least once).
type Relay struct {
	DB        *gorm.DB
	Sender    Sender
	Log       *zap.Logger
	PublicURL string
	Now       func() time.Time
	// Interval between sweeps (default 1 s).
	Interval time.Duration
}

// MaxAttempts bounds the retries of one mail.
const MaxAttempts = 12

const lease = 2 * time.Minute

func (r *Relay) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

// Run sweeps until ctx ends.
func (r *Relay) Run(ctx context.Context) {
	iv := r.Interval
	if iv <= 0 {
		iv = time.Second
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		if _, err := r.Sweep(ctx); err != nil && ctx.Err() == nil {
			r.Log.Warn("mail relay sweep", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep sends what is due and returns how many were sent.
func (r *Relay) Sweep(ctx context.Context) (int, error) {
	now := r.now()
	var due []schema.MailOutbox
	if err := r.DB.WithContext(ctx).Where("sent_at IS NULL AND next_at <= ? AND attempts < ?", now, MaxAttempts).
		Order("next_at").Limit(20).Find(&due).Error; err != nil {
		return 0, err
	}
	sent := 0
	for _, m := range due {
		res := r.DB.WithContext(ctx).Model(&schema.MailOutbox{}).Where("id = ? AND next_at = ? AND sent_at IS NULL", m.ID, m.NextAt).
			Update("next_at", now.Add(lease))
		if res.Error != nil {
			return sent, res.Error
		}
		if res.RowsAffected == 0 {
			continue // another relay has it
		}
		err := r.send(ctx, m)
		upd := map[string]any{"attempts": m.Attempts + 1}
		if err == nil {
			upd["sent_at"] = r.now()
			upd["data"] = "{}" // a reset link is a secret: it does not outlive the sending
			sent++
		} else {
			backoff := time.Duration(1<<min(m.Attempts, 7)) * 30 * time.Second
			upd["next_at"] = r.now().Add(backoff)
			msg := err.Error()
			if len(msg) > 300 {
				msg = msg[:300]
			}
			upd["last_error"] = msg
			r.Log.Warn("mail not sent; retrying", zap.String("mail_id", m.ID), zap.String("kind", m.Kind), zap.Int("attempt", m.Attempts+1), zap.Error(err))
		}
		if err := r.DB.WithContext(ctx).Model(&schema.MailOutbox{}).Where("id = ?", m.ID).Updates(upd).Error; err != nil {
			return sent, err
		}
	}
	return sent, nil
}

func (r *Relay) send(ctx context.Context, m schema.MailOutbox) error {
	var u schema.User
	if err := r.DB.WithContext(ctx).Select("id", "email", "display_name").Where("id = ?", m.UserID).Take(&u).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil // the account is gone: nothing to tell
		}
		return err
	}
	if u.Email == nil || *u.Email == "" || r.Sender == nil {
		return nil // no address (Discord-only) or no mail configured: the dashboard notice still tells
	}
	data := map[string]string{"Name": u.DisplayName, "URL": r.PublicURL + "/dashboard#/settings"}
	if data["Name"] == "" {
		data["Name"] = "trader"
	}
	var extra map[string]string
	if err := json.Unmarshal([]byte(m.Data), &extra); err != nil {
		return fmt.Errorf("mail %s: data: %w", m.ID, err)
	}
	for k, v := range extra {
		data[k] = v
	}
	msg, err := Render(m.Kind, *u.Email, data)
	if err != nil {
		return err
	}
	return r.Sender.Send(ctx, msg)
}
