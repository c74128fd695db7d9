package auth

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// testParams keep argon2id cheap in tests.
var testParams = PasswordParams{Memory: 1024, Time: 1, Threads: 1}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	t     *testing.T
	db    *gorm.DB
	svc   *Service
	clock *fakeClock
	cfg   Config
}

func secret(t testing.TB) []byte {
	b := make([]byte, 48)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func newFixture(t *testing.T, db *gorm.DB, mod ...func(*Config)) *fixture {
	t.Helper()
	clock := &fakeClock{t: time.Now().UTC().Truncate(time.Second)}
	cfg := Config{DB: db, Secret: secret(t), Now: clock.Now, Password: testParams}
	for _, m := range mod {
		m(&cfg)
	}
	svc, err := New(context.Background(), cfg)
	require.NoError(t, err)
	return &fixture{t: t, db: db, svc: svc, clock: clock, cfg: cfg}
}

func sqliteFixture(t *testing.T, mod ...func(*Config)) *fixture {
	db, _ := storetest.Open(t)
	return newFixture(t, db, mod...)
}

var browser = Client{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}

const goodPassword = "Correct-Horse-7-Battery"

func (f *fixture) register(email string) Tokens {
	f.t.Helper()
	tok, err := f.svc.Register(context.Background(), Registration{Email: email, Password: goodPassword}, browser)
	require.NoError(f.t, err)
	return tok
}

func (f *fixture) user(role Role) string {
	f.t.Helper()
	id := uuid.NewString()
	require.NoError(f.t, f.db.Create(&schema.User{ID: id, Role: string(role), CreatedAt: f.clock.Now()}).Error)
	return id
}

func (f *fixture) actions(userID string) []string {
	f.t.Helper()
	rows, err := audit.List(context.Background(), f.db, audit.Filter{UserID: userID, Limit: 1000})
	require.NoError(f.t, err)
	out := make([]string, 0, len(rows))
	for i := len(rows) - 1; i >= 0; i-- {
		out = append(out, rows[i].Action)
	}
	return out
}

func (f *fixture) notices(userID string) []Notice {
	f.t.Helper()
	evs, err := realtime.EventsSince(context.Background(), f.db, userID, 0, 100)
	require.NoError(f.t, err)
	var out []Notice
	for _, e := range evs {
		if e.Type != EventSecurityNotice {
			continue
		}
		var n Notice
		require.NoError(f.t, json.Unmarshal([]byte(e.Payload), &n))
		out = append(out, n)
	}
	return out
}

func (f *fixture) session(id string) schema.Session {
	f.t.Helper()
	var s schema.Session
	require.NoError(f.t, f.db.Take(&s, "id = ?", id).Error)
	return s
}

func eachDB(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) { fn(t, db) })
}

func storetestOpen(t *testing.T) (*gorm.DB, store.Dialect) { return storetest.Open(t) }
