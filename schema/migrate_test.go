package schema_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	gormschema "gorm.io/gorm/schema"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// allModels lists every model of models.go; a model missing here is a
// model without a tested table.
func allModels() []any {
	return []any{
		&schema.User{}, &schema.WebhookToken{}, &schema.BrokerConnection{},
		&schema.RiskSettings{}, &schema.Signal{}, &schema.Trade{}, &schema.Position{},
		&schema.AuditLog{}, &schema.AuditHead{}, &schema.OutboxEvent{}, &schema.EventSeq{},
		&schema.Subscription{}, &schema.BillingEvent{}, &schema.MailOutbox{}, &schema.PasswordReset{},
		&schema.Session{}, &schema.RefreshToken{}, &schema.SigningKey{}, &schema.AuthIdentity{}, &schema.LoginAttempt{},
		&schema.DiscordSource{}, &schema.DiscordSourceAuthor{}, &schema.SourceSubscription{}, &schema.NotificationPreference{},
		&schema.DiscordMessage{}, &schema.DiscordNotification{}, &schema.DiscordCursor{},
		&schema.SchwabOrderClaim{}, &schema.BrokerOAuthState{}, &schema.BrokerRateLimit{},
		&schema.WSTicket{}, &schema.PortfolioBalance{}, &schema.EquityPoint{},
		&schema.RiskGuard{}, &schema.StopLoss{}, &schema.WorkflowStart{}, &schema.TakeProfitLeg{},
		&schema.AuditArchive{}, &schema.AuditAlert{}, &schema.AuditVerification{},
		&schema.ComplianceReport{},
		&schema.Experiment{}, &schema.ExperimentExposure{}, &schema.ExperimentConversion{},
		&schema.PerformanceLot{}, &schema.PerformanceStat{}, &schema.PerformanceClose{}, &schema.PerformanceOrder{}, &schema.PerformanceBackfill{},
		&schema.ChurnModel{}, &schema.ChurnScore{}, &schema.ChurnAlert{},
		&schema.LeaderboardEntry{},
		&schema.CopyLeader{}, &schema.CopyFollow{}, &schema.CopyFill{}, &schema.CopyOrder{}, &schema.CopyPosition{},
		&schema.CopyLeaderPosition{},
	}
}

func parse(t *testing.T, model any) *gormschema.Schema {
	t.Helper()
	s, err := gormschema.Parse(model, &sync.Map{}, gormschema.NamingStrategy{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMigrationsExistForBothDialectsWithSameVersions(t *testing.T) {
	pg, err := schema.Migrations(store.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	lite, err := schema.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) == 0 || len(pg) != len(lite) {
		t.Fatalf("postgres has %d migrations, sqlite %d", len(pg), len(lite))
	}
	for i := range pg {
		if pg[i].Version != lite[i].Version || pg[i].Name != lite[i].Name {
			t.Errorf("migration %d: postgres %s, sqlite %s", i, pg[i].Name, lite[i].Name)
		}
		if i > 0 && pg[i].Version <= pg[i-1].Version {
			t.Errorf("versions not ascending at %s", pg[i].Name)
		}
	}
	if _, err := schema.Migrations("mysql"); err == nil {
		t.Error("unknown dialect accepted")
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		for i := 0; i < 2; i++ {
			if err := schema.Migrate(ctx, db, d); err != nil {
				t.Fatalf("re-migrate %d: %v", i, err)
			}
		}
		want, _ := schema.Migrations(d)
		got, err := schema.AppliedVersions(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("applied versions %v, want %d", got, len(want))
		}
		for i, m := range want {
			if got[i] != m.Version {
				t.Errorf("applied[%d] = %d, want %d", i, got[i], m.Version)
			}
		}
	})
}

func TestMigrateRefusesDialectMismatch(t *testing.T) {
	db, _ := storetest.Open(t)
	if err := schema.Migrate(context.Background(), db, store.Postgres); err == nil {
		t.Fatal("expected an error")
	}
}

// Every field of every model maps onto a column of the migrated table, every
// column of the table is a model field, and every index declared on the
// model exists with the same columns and uniqueness.
func TestModelsMatchMigratedTables(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		mig := db.Migrator()
		for _, model := range allModels() {
			s := parse(t, model)
			t.Run(s.Table, func(t *testing.T) {
				if !mig.HasTable(model) {
					t.Fatalf("table %s missing", s.Table)
				}
				cols, err := mig.ColumnTypes(model)
				if err != nil {
					t.Fatal(err)
				}
				have := map[string]gorm.ColumnType{}
				for _, c := range cols {
					have[c.Name()] = c
				}
				for _, f := range s.Fields {
					if f.DBName == "" {
						continue
					}
					c, ok := have[f.DBName]
					if !ok {
						t.Errorf("field %s.%s: column %q missing", s.Name, f.Name, f.DBName)
						continue
					}
					if f.NotNull || f.PrimaryKey {
						if nullable, ok := c.Nullable(); ok && nullable && !f.PrimaryKey {
							t.Errorf("column %s.%s is nullable but the model says not null", s.Table, f.DBName)
						}
					}
					delete(have, f.DBName)
				}
				for name := range have {
					t.Errorf("column %s.%s has no model field", s.Table, name)
				}

				indexes, err := mig.GetIndexes(model)
				if err != nil {
					t.Fatal(err)
				}
				byName := map[string]gorm.Index{}
				for _, ix := range indexes {
					byName[ix.Name()] = ix
				}
				for _, want := range s.ParseIndexes() {
					ix, ok := byName[want.Name]
					if !ok {
						t.Errorf("index %s missing", want.Name)
						continue
					}
					unique, _ := ix.Unique()
					if unique != (want.Class == "UNIQUE") {
						t.Errorf("index %s: unique = %v, want %v", want.Name, unique, want.Class == "UNIQUE")
					}
					var wantCols []string
					for _, f := range want.Fields {
						wantCols = append(wantCols, f.DBName)
					}
					gotCols := slices.Clone(ix.Columns())
					sort.Strings(wantCols)
					sort.Strings(gotCols)
					if !slices.Equal(gotCols, wantCols) {
						t.Errorf("index %s: columns %v, want %v", want.Name, gotCols, wantCols)
					}
				}
			})
		}
		var n int64
		if err := db.Raw("SELECT COUNT(*) FROM paper_accounts").Scan(&n).Error; err != nil {
			t.Errorf("paper_accounts: %v", err)
		}
	})
}

func seedUserAndSignal(t *testing.T, db *gorm.DB, userID, signalID string) {
	t.Helper()
	now := time.Now().UTC()
	if err := db.Create(&schema.User{ID: userID, DisplayName: "T", CreatedAt: now}).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&schema.Signal{ID: signalID, Source: "dashboard", ExternalID: signalID, UserID: userID, ReceivedAt: now}).Error; err != nil {
		t.Fatal(err)
	}
}

func TestDecimalsRoundTripExactly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		seedUserAndSignal(t, db, "u1", "s1")
		small := decimal.RequireFromString("0.123456789012345678")
		large := decimal.RequireFromString("12345678901234567.5")
		negative := decimal.RequireFromString("-98765.000000000000000001")
		in := schema.Trade{
			ID: "t1", SignalID: "s1", UserID: "u1", Symbol: "AAPL", AssetClass: "stock", Side: "buy",
			OrderType: "limit", Status: "pending",
			RequestedQuantity: small, Quantity: large, FilledQuantity: decimal.Zero,
			LimitPrice:       decimal.NewNullDecimal(negative),
			ReservedNotional: large,
		}
		if err := db.Create(&in).Error; err != nil {
			t.Fatal(err)
		}
		var out schema.Trade
		if err := db.First(&out, "id = ?", "t1").Error; err != nil {
			t.Fatal(err)
		}
		checks := []struct {
			name      string
			got, want decimal.Decimal
		}{
			{"requested_quantity", out.RequestedQuantity, small},
			{"quantity", out.Quantity, large},
			{"reserved_notional", out.ReservedNotional, large},
			{"filled_quantity", out.FilledQuantity, decimal.Zero},
			{"limit_price", out.LimitPrice.Decimal, negative},
		}
		for _, c := range checks {
			if !c.got.Equal(c.want) {
				t.Errorf("%s: got %s, want %s", c.name, c.got, c.want)
			}
		}
		if !out.LimitPrice.Valid || out.StopPrice.Valid || out.FillPrice.Valid {
			t.Errorf("null decimals: limit=%v stop=%v fill=%v", out.LimitPrice.Valid, out.StopPrice.Valid, out.FillPrice.Valid)
		}
	})
}

func TestTimestampsRoundTripInUTC(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		at := time.Date(2024, 3, 15, 14, 23, 11, 123456000, time.FixedZone("EST", -5*3600))
		if err := db.Create(&schema.User{ID: "u1", CreatedAt: at}).Error; err != nil {
			t.Fatal(err)
		}
		var u schema.User
		if err := db.First(&u, "id = ?", "u1").Error; err != nil {
			t.Fatal(err)
		}
		if !u.CreatedAt.Equal(at) {
			t.Fatalf("created_at = %v, want %v", u.CreatedAt, at)
		}
		if u.Role != "trader" || u.SubscriptionTier != "free" || u.Locked {
			t.Errorf("defaults not applied: %+v", u)
		}
	})
}

func TestForeignKeysAreEnforced(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		seedUserAndSignal(t, db, "u1", "s1")
		trade := schema.Trade{ID: "t1", SignalID: "s1", UserID: "nobody", Symbol: "AAPL", AssetClass: "stock",
			Side: "buy", OrderType: "market", Status: "pending"}
		if err := db.Create(&trade).Error; !errors.Is(err, gorm.ErrForeignKeyViolated) {
			t.Fatalf("trade for unknown user: err = %v, want ErrForeignKeyViolated", err)
		}
		// Deleting a user removes their tokens but not their trades.
		now := time.Now().UTC()
		if err := db.Create(&schema.WebhookToken{ID: "k1", UserID: "u1", TokenHash: "h1", CreatedAt: now}).Error; err != nil {
			t.Fatal(err)
		}
		trade.UserID = "u1"
		if err := db.Create(&trade).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Delete(&schema.User{ID: "u1"}).Error; !errors.Is(err, gorm.ErrForeignKeyViolated) {
			t.Fatalf("deleting a user with trades: err = %v, want ErrForeignKeyViolated", err)
		}
		if err := db.Delete(&schema.Trade{ID: "t1"}).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Delete(&schema.User{ID: "u1"}).Error; err != nil {
			t.Fatal(err)
		}
		var tokens int64
		db.Model(&schema.WebhookToken{}).Where("user_id = ?", "u1").Count(&tokens)
		if tokens != 0 {
			t.Error("webhook token survived its user")
		}
	})
}

func TestUniqueConstraints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		seedUserAndSignal(t, db, "u1", "s1")
		dup := schema.Signal{ID: "s2", Source: "dashboard", ExternalID: "s1", ReceivedAt: time.Now().UTC()}
		if err := db.Create(&dup).Error; !errors.Is(err, gorm.ErrDuplicatedKey) {
			t.Errorf("duplicate (source, external_id): err = %v", err)
		}
		base := schema.Trade{SignalID: "s1", Symbol: "AAPL", AssetClass: "stock", Side: "buy", OrderType: "market", Status: "rejected"}
		// Several trades may lack a client order id; assigned ones are unique.
		if err := db.Create(&schema.User{ID: "u2", CreatedAt: time.Now()}).Error; err != nil {
			t.Fatal(err)
		}
		a, b := base, base
		a.ID, a.UserID = "t1", "u1"
		b.ID, b.UserID = "t2", "u2"
		if err := db.Create(&a).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&b).Error; err != nil {
			t.Fatalf("second trade without client order id: %v", err)
		}
		if err := db.Model(&a).Update("client_order_id", "coid-1").Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Model(&b).Update("client_order_id", "coid-1").Error; !errors.Is(err, gorm.ErrDuplicatedKey) {
			t.Errorf("duplicate client order id: err = %v", err)
		}
		c := base
		c.ID, c.UserID = "t3", "u1"
		if err := db.Create(&c).Error; !errors.Is(err, gorm.ErrDuplicatedKey) {
			t.Errorf("second trade for (signal, user): err = %v", err)
		}
	})
}

// The database itself refuses to change audit rows, whatever the client.
func TestAuditLogsRejectUpdateAndDeleteInSQL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		err := db.Exec(`INSERT INTO audit_logs (id, seq, timestamp, user_id, action, previous_hash, current_hash)
			VALUES ('a1', 1, ?, 'u1', 'LOGIN_SUCCESS', 'p', 'c')`, time.Now().UTC()).Error
		if err != nil {
			t.Fatal(err)
		}
		stmts := []string{
			"UPDATE audit_logs SET action = 'LOGOUT' WHERE id = 'a1'",
			"DELETE FROM audit_logs WHERE id = 'a1'",
			"DELETE FROM audit_logs",
		}
		if d == store.Postgres {
			stmts = append(stmts, "TRUNCATE audit_logs")
		}
		for _, sql := range stmts {
			err := db.Exec(sql).Error
			if err == nil || !strings.Contains(err.Error(), "audit_log is append-only") {
				t.Errorf("%s: err = %v", sql, err)
			}
		}
		var n int64
		db.Raw("SELECT COUNT(*) FROM audit_logs WHERE action = 'LOGIN_SUCCESS'").Scan(&n)
		if n != 1 {
			t.Fatalf("audit row changed: count = %d", n)
		}
	})
}

// Two processes migrating one empty database at once both succeed and each
// migration is applied exactly once.
func TestConcurrentMigrate(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "race.db")
		migrateConcurrently(t, func() *gorm.DB {
			db, _, err := store.Open(ctx, "sqlite://"+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close(db) })
			return db
		}, store.SQLite)
	})
	base, ok := storetest.PostgresURL()
	if !ok {
		return
	}
	t.Run("postgres", func(t *testing.T) {
		admin, _, err := store.Open(ctx, base, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		name := "te_mig_" + hex.EncodeToString(b)
		if err := admin.Exec("CREATE SCHEMA " + name).Error; err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			admin.Exec("DROP SCHEMA " + name + " CASCADE")
			store.Close(admin)
		})
		u, _ := url.Parse(base)
		q := u.Query()
		q.Set("search_path", name)
		u.RawQuery = q.Encode()
		migrateConcurrently(t, func() *gorm.DB {
			db, _, err := store.Open(ctx, u.String(), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close(db) })
			return db
		}, store.Postgres)
	})
}

func migrateConcurrently(t *testing.T, open func() *gorm.DB, d store.Dialect) {
	const processes = 4
	dbs := make([]*gorm.DB, processes)
	for i := range dbs {
		dbs[i] = open()
	}
	var wg sync.WaitGroup
	errs := make([]error, processes)
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = schema.Migrate(context.Background(), db, d)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	want, _ := schema.Migrations(d)
	got, err := schema.AppliedVersions(context.Background(), dbs[0])
	if err != nil || len(got) != len(want) {
		t.Fatalf("applied = %v (%v), want %d versions", got, err, len(want))
	}
}
