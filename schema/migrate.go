package schema

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
)

// Migrations are hand-written SQL files per dialect, named
// NNNN_description.sql; NNNN is the version. Both dialects carry the same
// versions. A migration, once released, is never edited: add a new file.
//
//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFiles embed.FS

// Migration is one versioned schema change for one dialect.
type Migration struct {
	Version int64
	Name    string // file name, e.g. 0001_init.sql
	SQL     string
}

// migrateLockKey namespaces the PostgreSQL advisory lock taken while
// migrating; it is combined with the current schema so that databases in
// different schemas migrate independently.
const migrateLockKey = "tradeexec.schema.migrate"

// Migrations returns the embedded migrations of dialect in version order.
func Migrations(dialect store.Dialect) ([]Migration, error) {
	dir := "migrations/" + string(dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("schema: no migrations for dialect %q", dialect)
	}
	var out []Migration
	seen := map[int64]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		prefix, _, ok := strings.Cut(name, "_")
		if !ok {
			return nil, fmt.Errorf("schema: migration %s: name must be NNNN_description.sql", name)
		}
		v, err := strconv.ParseInt(prefix, 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("schema: migration %s: name must start with a positive version number", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("schema: migrations %s and %s share version %d", other, name, v)
		}
		seen[v] = name
		body, err := migrationFiles.ReadFile(path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("schema: read migration %s: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate applies every embedded migration of dialect that db has not
// applied yet, in version order, each in its own transaction together with
// its row in schema_migrations(version, applied_at). Running it again is a
// no-op. On PostgreSQL each transaction first takes a transaction-scoped
// advisory lock (pg_advisory_xact_lock) so that processes migrating the same
// schema at once apply each migration exactly once; on SQLite the
// BEGIN IMMEDIATE write lock does the same.
//
// Versions recorded in the database but unknown to this binary (a newer
// release already migrated) are left alone.
func Migrate(ctx context.Context, db *gorm.DB, dialect store.Dialect) error {
	if actual := store.DialectOf(db); actual != dialect {
		return fmt.Errorf("schema: migrate: handle is %q but dialect %q was requested", actual, dialect)
	}
	migrations, err := Migrations(dialect)
	if err != nil {
		return err
	}
	if err := store.InTx(ctx, db, func(tx *gorm.DB) error {
		if err := lockMigrations(ctx, tx, dialect); err != nil {
			return err
		}
		return execRaw(ctx, tx, createMigrationsTable(dialect))
	}); err != nil {
		return fmt.Errorf("schema: create schema_migrations: %w", err)
	}
	for _, m := range migrations {
		if err := store.InTx(ctx, db, func(tx *gorm.DB) error {
			return applyMigration(ctx, tx, dialect, m)
		}); err != nil {
			return fmt.Errorf("schema: migration %s (%s): %w", m.Name, dialect, err)
		}
	}
	return nil
}

// AppliedVersions lists the versions recorded in schema_migrations, in
// ascending order.
func AppliedVersions(ctx context.Context, db *gorm.DB) ([]int64, error) {
	var versions []int64
	err := db.WithContext(ctx).Raw("SELECT version FROM schema_migrations ORDER BY version").Scan(&versions).Error
	return versions, err
}

func applyMigration(ctx context.Context, tx *gorm.DB, dialect store.Dialect, m Migration) error {
	if err := lockMigrations(ctx, tx, dialect); err != nil {
		return err
	}
	var applied int64
	if err := tx.Raw("SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.Version).Scan(&applied).Error; err != nil {
		return err
	}
	if applied > 0 {
		return nil
	}
	if err := execRaw(ctx, tx, m.SQL); err != nil {
		return err
	}
	return tx.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
		m.Version, time.Now().UTC()).Error
}

func lockMigrations(ctx context.Context, tx *gorm.DB, dialect store.Dialect) error {
	if dialect != store.Postgres {
		return nil
	}
	return tx.WithContext(ctx).Exec(
		"SELECT pg_advisory_xact_lock(hashtext(? || '.' || current_schema()))", migrateLockKey).Error
}

func createMigrationsTable(dialect store.Dialect) string {
	ts := "DATETIME"
	if dialect == store.Postgres {
		ts = "timestamptz"
	}
	return "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, applied_at " + ts + " NOT NULL)"
}

// execRaw runs a (multi-statement) script on the transaction's connection
// without gorm's placeholder processing, so '?' and '@' in SQL text are
// left alone.
func execRaw(ctx context.Context, tx *gorm.DB, script string) error {
	pool := tx.Statement.ConnPool
	if pool == nil {
		return errors.New("no connection")
	}
	_, err := pool.ExecContext(ctx, script)
	return err
}
