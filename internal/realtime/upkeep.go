package realtime

import (
	"context"
	"encoding/json"
	"time"

	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/schema"
)

// upkeep runs the hub's periodic duties until ctx ends: token expiry
// (every second), ended sessions, the lag sweep, presence and purging.
func (h *Hub) upkeep(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastSession, lastLag, lastPurge time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := h.now()
		h.checkExpiry(now)
		h.pruneActive(now)
		if now.Sub(lastSession) >= h.cfg.SessionCheck {
			lastSession = now
			if err := h.checkSessions(ctx, now); err != nil && ctx.Err() == nil {
				h.log.Warn("realtime: session check failed", zap.Error(err))
			}
		}
		if now.Sub(lastLag) >= h.cfg.LagCheck {
			lastLag = now
			if err := h.checkLag(ctx); err != nil && ctx.Err() == nil {
				h.log.Warn("realtime: lag sweep failed", zap.Error(err))
			}
		}
		if now.Sub(lastPurge) >= h.cfg.PurgeEvery {
			lastPurge = now
			if err := Purge(ctx, h.db, now.Add(-h.cfg.Retention), now); err != nil && ctx.Err() == nil {
				h.log.Warn("realtime: purge failed", zap.Error(err))
			}
		}
	}
}

// checkExpiry warns sockets whose authorization ends within
// ExpiryWarning (token.expiring, once per token) and closes those whose
// authorization has ended.
func (h *Hub) checkExpiry(now time.Time) {
	for _, c := range h.allConns() {
		c.mu.Lock()
		exp, warned, closed := c.expiresAt, c.warned, c.closed
		warn := !closed && !warned && !now.Before(exp.Add(-h.cfg.ExpiryWarning)) && now.Before(exp)
		if warn {
			c.warned = true
		}
		c.mu.Unlock()
		switch {
		case closed:
		case !now.Before(exp):
			h.closeConn(c, CloseSessionExpired, ReasonSessionExpired)
		case warn:
			msg := ControlFrame(EventTokenExpiring, ExpiringData{ExpiresAt: exp.UTC(),
				Message: "Your session expires soon; renewing it keeps this connection open."}, now)
			if err := c.sender.Send(msg); err != nil {
				h.closeConn(c, CloseTryAgain, ReasonSlowConsumer)
			}
		}
	}
}

// checkSessions closes the sockets of users one of whose connected
// sessions has ended (logout, revocation, expiry), here and — through the
// notifier — on every replica.
func (h *Hub) checkSessions(ctx context.Context, now time.Time) error {
	bySession := map[string]string{}
	for _, c := range h.allConns() {
		c.mu.Lock()
		if !c.closed && c.sessionID != "" {
			bySession[c.sessionID] = c.userID
		}
		c.mu.Unlock()
	}
	if len(bySession) == 0 {
		return nil
	}
	ids := make([]string, 0, len(bySession))
	for id := range bySession {
		ids = append(ids, id)
	}
	alive := map[string]bool{}
	for start := 0; start < len(ids); start += chunkIDs {
		chunk := ids[start:min(start+chunkIDs, len(ids))]
		var live []string
		if err := h.db.WithContext(ctx).Model(&schema.Session{}).
			Where("id IN ? AND revoked_at IS NULL AND expires_at > ?", chunk, now).
			Pluck("id", &live).Error; err != nil {
			return err
		}
		for _, id := range live {
			alive[id] = true
		}
	}
	ended := map[string]bool{}
	for id, user := range bySession {
		if !alive[id] {
			ended[user] = true
		}
	}
	for user := range ended {
		if err := h.SignOut(ctx, user); err != nil {
			return err
		}
	}
	return nil
}

// checkLag is the safety net under the notifier: users whose last seq is
// ahead of what their sockets received are woken.
func (h *Hub) checkLag(ctx context.Context) error {
	h.mu.Lock()
	behind := map[string]int64{}
	for c, u := range h.conns {
		s := c.sent.Load()
		if cur, ok := behind[u.id]; !ok || s < cur {
			behind[u.id] = s
		}
	}
	h.mu.Unlock()
	ids := make([]string, 0, len(behind))
	for id := range behind {
		ids = append(ids, id)
	}
	for start := 0; start < len(ids); start += chunkIDs {
		chunk := ids[start:min(start+chunkIDs, len(ids))]
		var rows []schema.EventSeq
		if err := h.db.WithContext(ctx).Where("user_id IN ?", chunk).Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			if r.LastSeq > behind[r.UserID] {
				h.onNotice(Notice{Kind: NoticeEvents, UserID: r.UserID})
			}
		}
	}
	return nil
}

func (h *Hub) markActive(userID string) {
	if h.cfg.OnActive == nil {
		return
	}
	select {
	case h.active <- userID:
	default:
		// Full: this user's guards poll on their own schedule anyway.
	}
}

func (h *Hub) runActive(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-h.active:
			h.cfg.OnActive(id)
		}
	}
}

// tail reads the outbox by id on SQLite, where ids are in commit order
// (one writer at a time): every event written by any code path of this
// process wakes its user within TailInterval even without a Committed call.
func (h *Hub) tail(ctx context.Context) {
	var last int64
	for {
		err := h.db.WithContext(ctx).Model(&schema.OutboxEvent{}).Select("COALESCE(MAX(id), 0)").Scan(&last).Error
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	t := time.NewTicker(h.cfg.TailInterval)
	defer t.Stop()
	type row struct {
		ID     int64
		UserID string
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var rows []row
		if err := h.db.WithContext(ctx).Model(&schema.OutboxEvent{}).Select("id, user_id").
			Where("id > ?", last).Order("id").Limit(1000).Scan(&rows).Error; err != nil {
			continue
		}
		seen := map[string]bool{}
		for _, r := range rows {
			last = r.ID
			if !seen[r.UserID] {
				seen[r.UserID] = true
				h.onNotice(Notice{Kind: NoticeEvents, UserID: r.UserID})
			}
		}
	}
}

func jsonRaw(v any) (json.RawMessage, error) {
	if raw, ok := v.(json.RawMessage); ok {
		return raw, nil
	}
	return json.Marshal(v)
}

func (h *Hub) pruneActive(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, t := range h.lastActive {
		if now.Sub(t) >= h.cfg.ActiveEvery {
			delete(h.lastActive, id)
		}
	}
}
