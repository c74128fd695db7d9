package storetest_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// recorder stands in for a *testing.T to observe how a helper ends.
type recorder struct {
	testing.TB
	fatal    string
	skipped  bool
	cleanups []func()
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any)              { r.Fatalf("%s", fmt.Sprint(args...)) }
func (r *recorder) Skip(...any)                    { r.SkipNow() }
func (r *recorder) Skipf(string, ...any)           { r.SkipNow() }
func (r *recorder) SkipNow()                       { r.skipped = true; runtime.Goexit() }
func (r *recorder) Cleanup(f func())               { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(format string, a ...any) { r.TB.Logf("cleanup error: "+format, a...) }
func (r *recorder) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}

func TestOpenReturnsFreshMigratedSQLite(t *testing.T) {
	a, d := storetest.Open(t)
	b, _ := storetest.Open(t)
	if d != store.SQLite {
		t.Fatalf("dialect %q", d)
	}
	if err := a.Create(&schema.User{ID: "u1"}).Error; err != nil {
		t.Fatal(err)
	}
	var n int64
	b.Model(&schema.User{}).Count(&n)
	if n != 0 {
		t.Fatal("databases are shared between calls")
	}
}

func TestEachRunsEveryConfiguredEngine(t *testing.T) {
	var seen []store.Dialect
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		seen = append(seen, d)
		if store.DialectOf(db) != d {
			t.Errorf("handle is %q, dialect says %q", store.DialectOf(db), d)
		}
		versions, err := schema.AppliedVersions(t.Context(), db)
		if err != nil || len(versions) == 0 {
			t.Errorf("not migrated: %v %v", versions, err)
		}
	})
	want := []store.Dialect{store.SQLite}
	if _, ok := storetest.PostgresURL(); ok {
		want = append(want, store.Postgres)
	}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("ran on %v, want %v", seen, want)
	}
}

// A configured but unreachable PostgreSQL fails the test instead of
// silently skipping the PostgreSQL half.
func TestUnreachablePostgresFailsTheTest(t *testing.T) {
	t.Setenv(storetest.EnvPostgresURL, "postgres://postgres:pw-9f2c@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
	r := &recorder{TB: t}
	run(func() { storetest.OpenPostgres(r) })
	r.runCleanups()
	if r.skipped || r.fatal == "" {
		t.Fatalf("skipped=%v fatal=%q", r.skipped, r.fatal)
	}
	if !strings.Contains(r.fatal, storetest.EnvPostgresURL) || strings.Contains(r.fatal, "pw-9f2c") {
		t.Fatalf("message %q", r.fatal)
	}
}

func TestPostgresSchemaIsIsolatedAndDropped(t *testing.T) {
	if _, ok := storetest.PostgresURL(); !ok {
		t.Skip(storetest.EnvPostgresURL + " not set")
	}
	r := &recorder{TB: t}
	var db *gorm.DB
	run(func() { db = storetest.OpenPostgres(r) })
	if r.fatal != "" {
		t.Fatal(r.fatal)
	}
	var name string
	db.Raw("SELECT current_schema()").Scan(&name)
	if !strings.HasPrefix(name, "te_") {
		t.Fatalf("schema %q", name)
	}
	other := storetest.OpenPostgres(t)
	if err := db.Create(&schema.User{ID: "u1"}).Error; err != nil {
		t.Fatal(err)
	}
	var n int64
	other.Model(&schema.User{}).Count(&n)
	if n != 0 {
		t.Fatal("schemas are shared between calls")
	}
	r.runCleanups()
	other.Raw("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&n)
	if n != 0 {
		t.Fatalf("schema %s not dropped", name)
	}
}
