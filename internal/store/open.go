package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/libtnb/sqlite"
	"go.uber.org/zap"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// sqliteDriverName is the database/sql driver SQLite is opened with
// (modernc.org/sqlite's, registered by libtnb/sqlite); tests wrap it.
var sqliteDriverName = sqlite.DriverName

// Pool and timeout settings. SQLite serialises writers itself; the pool is
// kept small so waiting happens in SQLite's busy handler, not in a long
// queue of connections.
const (
	sqliteBusyTimeout   = 10 * time.Second
	sqliteMaxOpenConns  = 4
	postgresMaxOpen     = 25
	postgresMaxIdle     = 10
	postgresMaxLifetime = 30 * time.Minute
	postgresMaxIdleTime = 5 * time.Minute
	postgresConnTimeout = 10 * time.Second
)

// Open connects to databaseURL and returns the gorm handle and its dialect.
//
// Accepted forms:
//
//	sqlite:///abs/path/file.db   absolute path
//	sqlite://relative/path.db    relative to the working directory
//	file:path.db?mode=rwc        SQLite URI, passed through
//	sqlite::memory:              private in-memory database (one connection)
//	postgres://user:pass@host:5432/db?sslmode=require
//	postgresql://...             same
//
// SQLite is opened in WAL mode with foreign keys on, a 10 s busy timeout and
// BEGIN IMMEDIATE for every transaction, so a write transaction takes the
// write lock up front and never fails half-way on a lock upgrade. A new
// SQLite file is created with mode 0600 (it holds credential ciphertext).
// PostgreSQL sessions run with TimeZone=UTC unless the URL sets it.
//
// Errors name the problem and show the URL with its password redacted.
func Open(ctx context.Context, databaseURL string, log *zap.Logger) (*gorm.DB, Dialect, error) {
	if log == nil {
		log = zap.NewNop()
	}
	cfg := &gorm.Config{
		Logger:                 newGormLogger(log),
		NowFunc:                func() time.Time { return time.Now().UTC() },
		TranslateError:         true,
		DisableAutomaticPing:   true,
		SkipDefaultTransaction: true,
	}
	lower := strings.ToLower(databaseURL)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		db, err := openPostgres(ctx, databaseURL, cfg)
		if err != nil {
			return nil, "", err
		}
		log.Info("database opened", zap.String("dialect", string(Postgres)), zap.String("url", RedactURL(databaseURL)))
		return db, Postgres, nil
	case strings.HasPrefix(lower, "sqlite:"), strings.HasPrefix(lower, "file:"):
		db, err := openSQLite(ctx, databaseURL, cfg)
		if err != nil {
			return nil, "", err
		}
		log.Info("database opened", zap.String("dialect", string(SQLite)), zap.String("url", RedactURL(databaseURL)))
		return db, SQLite, nil
	case databaseURL == "":
		return nil, "", openErr(ErrUnsupportedURL, databaseURL, "no database URL configured")
	default:
		return nil, "", openErr(ErrUnsupportedURL, databaseURL,
			"unsupported scheme (use sqlite://, file:, sqlite::memory: or postgres://)")
	}
}

// Close closes the connection pool behind db.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	unregisterWriteGate(sqlDB)
	return sqlDB.Close()
}

// Ping checks that the database answers a trivial query within ctx; meant
// for /health. The error wraps ErrUnavailable.
func Ping(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	var one int
	if err := sqlDB.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// sqliteSource is a parsed SQLite URL.
type sqliteSource struct {
	dsn    string // driver DSN including our query parameters
	path   string // filesystem path, "" for memory databases and file: URIs
	memory bool
}

func parseSQLiteURL(databaseURL string) (sqliteSource, error) {
	var src sqliteSource
	var userQuery string
	var base string
	lower := strings.ToLower(databaseURL)
	switch {
	case strings.HasPrefix(lower, "file:"):
		base = databaseURL
		if i := strings.IndexByte(base, '?'); i >= 0 {
			base, userQuery = base[:i], base[i+1:]
		}
		src.memory = strings.Contains(base, ":memory:") || strings.Contains(strings.ToLower(userQuery), "mode=memory")
	case lower == "sqlite::memory:" || lower == "sqlite://:memory:":
		base = ":memory:"
		src.memory = true
	case strings.HasPrefix(lower, "sqlite://"):
		rest := databaseURL[len("sqlite://"):]
		if i := strings.IndexByte(rest, '?'); i >= 0 {
			rest, userQuery = rest[:i], rest[i+1:]
		}
		p, err := url.PathUnescape(rest)
		if err != nil {
			return src, fmt.Errorf("malformed path: %v", err)
		}
		if p == "" || p == "/" {
			return src, errors.New("missing file path (sqlite:///abs/path.db or sqlite://relative/path.db)")
		}
		base = p
		src.path = p
	default:
		return src, errors.New("malformed SQLite URL (sqlite:///abs/path.db, sqlite://relative/path.db, file:..., sqlite::memory:)")
	}

	uq, err := url.ParseQuery(userQuery)
	if err != nil {
		return src, fmt.Errorf("malformed query string: %v", err)
	}
	if uq.Has("_time_format") {
		// The layout is fixed: rows of one file compare their times as
		// text, so every writer must write the same layout.
		return src, errors.New("the _time_format parameter is not supported")
	}
	if uq.Has("_txlock") {
		return src, errors.New("the _txlock parameter is fixed to immediate and cannot be set")
	}

	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	if !src.memory {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
	}
	// Statement journals (and temporary tables) in memory. With the default
	// (files), SQLite keeps a statement journal in memory anyway until it
	// reaches 64 KiB and allocates it in 64 KiB chunks; the pure-Go
	// allocator maps and unmaps a fresh region for nearly every one, once
	// per statement of a transaction — 9% of the worker's CPU in the
	// fan-out benchmark. In memory the journal grows in 1 KiB chunks from
	// the allocator's slabs (DESIGN §8, Persistence).
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	// Times as the previous driver (glebarez/go-sqlite) wrote them, so
	// text comparisons keep ordering rows of an existing file; columns
	// declared DATETIME read back as time.Time in UTC.
	q.Set("_texttotime", "1")
	q.Set("_inttotime", "1")
	q.Set("_timezone", "UTC")
	q.Set("_time_format", "sqlite")
	for k, vs := range uq {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	src.dsn = base + "?" + q.Encode()
	return src, nil
}

func openSQLite(ctx context.Context, databaseURL string, cfg *gorm.Config) (*gorm.DB, error) {
	src, err := parseSQLiteURL(databaseURL)
	if err != nil {
		return nil, openErr(ErrUnsupportedURL, databaseURL, err.Error())
	}
	if src.path != "" {
		if err := prepareSQLiteFile(src.path); err != nil {
			return nil, openErr(ErrUnavailable, databaseURL, err.Error())
		}
	}
	sqlDB, err := sql.Open(sqliteDriverName, src.dsn)
	if err != nil {
		return nil, openErr(ErrUnavailable, databaseURL, err.Error())
	}
	cache, err := newStmtCache(sqlDB, stmtCacheSize, stmtEvictGrace)
	if err != nil {
		_ = sqlDB.Close()
		return nil, openErr(ErrUnavailable, databaseURL, err.Error())
	}
	db, err := gorm.Open(sqlite.New(sqlite.Config{Conn: cache}), cfg)
	if err != nil {
		_ = sqlDB.Close()
		return nil, openErr(ErrUnavailable, databaseURL, err.Error())
	}
	if src.memory {
		// Every connection to :memory: is a separate database; keep one
		// connection open for the life of the pool.
		sqlDB.SetMaxOpenConns(1)
		sqlDB.SetMaxIdleConns(1)
		sqlDB.SetConnMaxLifetime(0)
		sqlDB.SetConnMaxIdleTime(0)
	} else {
		sqlDB.SetMaxOpenConns(sqliteMaxOpenConns)
		sqlDB.SetMaxIdleConns(sqliteMaxOpenConns)
		sqlDB.SetConnMaxLifetime(0)
		sqlDB.SetConnMaxIdleTime(0)
	}
	if err := checkSQLite(ctx, sqlDB, src.memory); err != nil {
		_ = sqlDB.Close()
		return nil, openErr(ErrUnavailable, databaseURL, err.Error())
	}
	if err := registerGateCallbacks(db); err != nil {
		_ = sqlDB.Close()
		return nil, openErr(ErrUnavailable, databaseURL, err.Error())
	}
	registerWriteGate(sqlDB)
	return db, nil
}

// prepareSQLiteFile creates the parent directory (0700) and, for a new
// database, an empty file with mode 0600 so SQLite never creates it
// world-readable.
func prepareSQLiteFile(path string) error {
	if dir := filepath.Dir(path); dir != "" && dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create directory: %v", err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- the file the operator's DATABASE_URL names
	switch {
	case err == nil:
		return f.Close()
	case errors.Is(err, os.ErrExist):
		return nil
	default:
		return fmt.Errorf("create database file: %v", err)
	}
}

// checkSQLite verifies that the pragmas took effect on a live connection.
func checkSQLite(ctx context.Context, sqlDB *sql.DB, memory bool) error {
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var fk int
	if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return err
	}
	if fk != 1 {
		return errors.New("foreign keys could not be enabled")
	}
	if !memory {
		var mode string
		if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			return err
		}
		if !strings.EqualFold(mode, "wal") {
			return fmt.Errorf("journal mode is %q, WAL could not be enabled", mode)
		}
	}
	return nil
}

func openPostgres(ctx context.Context, databaseURL string, cfg *gorm.Config) (*gorm.DB, error) {
	pgCfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, openErr(ErrUnsupportedURL, databaseURL, "malformed PostgreSQL URL: "+err.Error())
	}
	// pool_max_conns=N (pgxpool's name for it) sizes this process's pool:
	// every api and worker process opens up to that many connections, and
	// together with Temporal's they must stay under the server's
	// max_connections (100 by default). It is ours, not a server setting.
	maxOpen, maxIdle := postgresMaxOpen, postgresMaxIdle
	if v, ok := pgCfg.RuntimeParams["pool_max_conns"]; ok {
		delete(pgCfg.RuntimeParams, "pool_max_conns")
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, openErr(ErrUnsupportedURL, databaseURL, fmt.Sprintf("pool_max_conns must be a whole number from 1 to 1000, not %q", v))
		}
		maxOpen, maxIdle = n, min(postgresMaxIdle, n)
	}
	hasTZ := false
	for k := range pgCfg.RuntimeParams {
		if strings.EqualFold(k, "timezone") {
			hasTZ = true
		}
	}
	if !hasTZ {
		pgCfg.RuntimeParams["timezone"] = "UTC"
	}
	if pgCfg.ConnectTimeout == 0 {
		pgCfg.ConnectTimeout = postgresConnTimeout
	}
	afterConnect := stdlib.OptionAfterConnect(func(_ context.Context, conn *pgx.Conn) error {
		// Return timestamptz values in UTC regardless of the host's zone.
		conn.TypeMap().RegisterType(&pgtype.Type{
			Name:  "timestamptz",
			OID:   pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	})
	sqlDB := stdlib.OpenDB(*pgCfg, afterConnect)
	sqlDB.SetMaxOpenConns(maxOpen)
	sqlDB.SetMaxIdleConns(maxIdle)
	sqlDB.SetConnMaxLifetime(postgresMaxLifetime)
	sqlDB.SetConnMaxIdleTime(postgresMaxIdleTime)

	pingCtx, cancel := context.WithTimeout(ctx, postgresConnTimeout)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		_ = sqlDB.Close()
		return nil, openErr(ErrUnavailable, databaseURL, "cannot connect: "+err.Error())
	}
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), cfg)
	if err != nil {
		_ = sqlDB.Close()
		return nil, openErr(ErrUnavailable, databaseURL, err.Error())
	}
	return db, nil
}
