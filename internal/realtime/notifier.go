package realtime

import (
	"context"
	"errors"
	"strings"
	"sync"
)

// NoticeKind says what a Notice asks every api replica to do.
type NoticeKind string

const (
	// NoticeEvents: the user has new outbox events; deliver them.
	NoticeEvents NoticeKind = "e"
	// NoticeSignOut: a session of the user ended; close the user's sockets.
	NoticeSignOut NoticeKind = "s"
)

// Notice is the message that crosses replicas. It names a user and never
// carries the event itself: every replica reads the events from the outbox,
// so what a socket receives is always what was committed, in seq order.
type Notice struct {
	Kind   NoticeKind
	UserID string
}

func (n Notice) encode() string { return string(n.Kind) + "|" + n.UserID }

func decodeNotice(s string) (Notice, bool) {
	kind, user, ok := strings.Cut(s, "|")
	if !ok || user == "" || len(user) > maxUserIDLen {
		return Notice{}, false
	}
	switch NoticeKind(kind) {
	case NoticeEvents, NoticeSignOut:
		return Notice{Kind: NoticeKind(kind), UserID: user}, true
	}
	return Notice{}, false
}

// Notifier carries Notices to every api replica, this one included.
// LocalNotifier serves a single process (SQLite); PGNotifier uses
// PostgreSQL LISTEN/NOTIFY.
type Notifier interface {
	// Publish sends n to every replica's listener.
	Publish(ctx context.Context, n Notice) error
	// Listen calls fn for each notice until ctx ends. It calls resync
	// whenever notices may have been missed (the listener connected or
	// reconnected), so the caller re-reads what it holds.
	Listen(ctx context.Context, fn func(Notice), resync func()) error
}

// ErrNotifierClosed is returned by Listen after its context ended.
var ErrNotifierClosed = errors.New("realtime: notifier closed")

// LocalNotifier delivers notices inside one process.
type LocalNotifier struct {
	mu        sync.RWMutex
	listeners map[int]func(Notice)
	next      int
}

// NewLocalNotifier returns an in-process notifier.
func NewLocalNotifier() *LocalNotifier { return &LocalNotifier{listeners: map[int]func(Notice){}} }

// Publish implements Notifier; listeners run on the caller's goroutine and
// must not block.
func (l *LocalNotifier) Publish(_ context.Context, n Notice) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, fn := range l.listeners {
		fn(n)
	}
	return nil
}

// Listen implements Notifier.
func (l *LocalNotifier) Listen(ctx context.Context, fn func(Notice), resync func()) error {
	l.mu.Lock()
	id := l.next
	l.next++
	l.listeners[id] = fn
	l.mu.Unlock()
	if resync != nil {
		resync()
	}
	<-ctx.Done()
	l.mu.Lock()
	delete(l.listeners, id)
	l.mu.Unlock()
	return ErrNotifierClosed
}
