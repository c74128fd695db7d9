package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"gorm.io/gorm"
)

// stmtCacheSize bounds the statements kept prepared. The application's
// distinct statements number a few hundred; an IN list of a new length is a
// new text, so the bound matters only for those.
const stmtCacheSize = 1024

// stmtEvictGrace is how long an evicted statement stays open.
const stmtEvictGrace = time.Minute

// stmtCache is the connection pool gorm sees on SQLite. It keeps one
// *sql.Stmt per statement text, prepared on the pool; database/sql prepares
// it once on each connection that runs it and the driver (modernc.org/sqlite
// ≥ v1.61.1) keeps SQLite's compiled statement between executions. Inside a
// transaction a statement runs through tx.StmtContext, which reuses the one
// already prepared on the transaction's connection; a statement the pool
// does not hold yet runs uncached in the transaction while the pool's copy
// is prepared in the background (a transaction must not wait for a second
// connection).
//
// gorm's own PrepareStmt does not do this for transactions: it prepares on
// the *sql.Tx, so the statement closes with that transaction and every later
// transaction prepares it again (DESIGN §8, Persistence).
//
// Only statements with arguments are cached: those without are DDL,
// PRAGMAs, migration scripts (several statements in one text) and one-off
// reads, run as they are.
type stmtCache struct {
	db        *sql.DB
	stmts     *lru.Cache[string, *sql.Stmt]
	preparing sync.Map // statement text → struct{}: prepareLater in flight
}

func newStmtCache(db *sql.DB, size int, grace time.Duration) (*stmtCache, error) {
	stmts, err := lru.NewWithEvict(size, func(_ string, st *sql.Stmt) {
		// A caller may hold the statement between lookup and use; close
		// it once that is long past. Close also waits for executions in
		// flight, and a transaction that borrowed it keeps its
		// connection's statement until the transaction ends.
		time.AfterFunc(grace, func() { _ = st.Close() })
	})
	if err != nil {
		return nil, err
	}
	return &stmtCache{db: db, stmts: stmts}, nil
}

// stmt returns the cached statement for query, preparing it on first use.
func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.stmts.Get(query); ok {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, ok, _ := c.stmts.PeekOrAdd(query, st); ok {
		// Another goroutine prepared it first; keep one.
		_ = st.Close()
		return prev, nil
	}
	return st, nil
}

// prepareLater prepares query on the pool in the background, once at a
// time per text (a transaction's first run of a statement, see cached).
func (c *stmtCache) prepareLater(query string) {
	if _, busy := c.preparing.LoadOrStore(query, struct{}{}); busy {
		return
	}
	go func() {
		defer c.preparing.Delete(query)
		ctx, cancel := context.WithTimeout(context.Background(), stmtEvictGrace)
		defer cancel()
		_, _ = c.stmt(ctx, query) // an error leaves it uncached; the next run tries again
	}()
}

// stmtClosed reports database/sql's error for a statement closed under its
// caller (evicted between lookup and use); the caller then runs the text
// directly.
func stmtClosed(err error) bool {
	return err != nil && strings.Contains(err.Error(), "sql: statement is closed")
}

// PrepareContext implements gorm.ConnPool.
func (c *stmtCache) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.db.PrepareContext(ctx, query)
}

// ExecContext implements gorm.ConnPool.
func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if len(args) == 0 {
		return c.db.ExecContext(ctx, query)
	}
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := st.ExecContext(ctx, args...)
	if stmtClosed(err) {
		return c.db.ExecContext(ctx, query, args...)
	}
	return res, err
}

// QueryContext implements gorm.ConnPool.
func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if len(args) == 0 {
		return c.db.QueryContext(ctx, query)
	}
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, args...)
	if stmtClosed(err) {
		return c.db.QueryContext(ctx, query, args...)
	}
	return rows, err
}

// QueryRowContext implements gorm.ConnPool. A statement that cannot be
// prepared runs directly, so its error reaches the caller through Scan.
func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if len(args) == 0 {
		return c.db.QueryRowContext(ctx, query)
	}
	st, err := c.stmt(ctx, query)
	if err != nil {
		return c.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// BeginTx implements gorm.ConnPoolBeginner.
func (c *stmtCache) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	tx, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &stmtCacheTx{Tx: tx, cache: c}, nil
}

// GetDBConn implements gorm.GetDBConnector, so db.DB() finds the pool.
func (c *stmtCache) GetDBConn() (*sql.DB, error) { return c.db, nil }

// stmtCacheTx is a transaction whose statements reuse the pool's.
type stmtCacheTx struct {
	*sql.Tx
	cache *stmtCache
}

// cached returns the pool's statement for query, or nil when it has none
// yet: preparing it on the pool needs a connection of its own, which a
// transaction must not wait for (the one-connection pool of sqlite::memory:
// has none to give while the transaction holds it), so it is prepared in
// the background and this run compiles the statement itself.
func (t *stmtCacheTx) cached(query string) *sql.Stmt {
	if st, ok := t.cache.stmts.Get(query); ok {
		return st
	}
	t.cache.prepareLater(query)
	return nil
}

// ExecContext implements gorm.ConnPool.
func (t *stmtCacheTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if len(args) > 0 {
		if st := t.cached(query); st != nil {
			return t.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		}
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

// QueryContext implements gorm.ConnPool.
func (t *stmtCacheTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if len(args) > 0 {
		if st := t.cached(query); st != nil {
			return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
		}
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext implements gorm.ConnPool.
func (t *stmtCacheTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if len(args) > 0 {
		if st := t.cached(query); st != nil {
			return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
		}
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// GetDBConn implements gorm.GetDBConnector.
func (t *stmtCacheTx) GetDBConn() (*sql.DB, error) { return t.cache.db, nil }
