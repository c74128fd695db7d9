// Package store opens the database (SQLite for the embedded default,
// PostgreSQL in production) with production-safe settings and provides the
// transaction helper every writer uses.
//
// Usage:
//
//	db, dialect, err := store.Open(ctx, cfg.DatabaseURL, log)
//	if err != nil { ... }
//	defer store.Close(db)
//	if err := schema.Migrate(ctx, db, dialect); err != nil { ... }
//	err = store.InTx(ctx, db, func(tx *gorm.DB) error {
//		// trade row + audit.Append + realtime.AppendEvent, all via tx
//		return nil
//	})
//
// Unique-key violations surface as gorm.ErrDuplicatedKey and foreign-key
// violations as gorm.ErrForeignKeyViolated on both engines (TranslateError is
// on), so callers test them with errors.Is.
package store

import "gorm.io/gorm"

// Dialect names the SQL engine behind a *gorm.DB.
type Dialect string

const (
	// SQLite is the embedded engine (modernc.org/sqlite through
	// github.com/libtnb/sqlite, pure Go).
	SQLite Dialect = "sqlite"
	// Postgres is PostgreSQL via gorm.io/driver/postgres (pgx).
	Postgres Dialect = "postgres"
)

// String returns the dialect name.
func (d Dialect) String() string { return string(d) }

// DialectOf reports the dialect of an open handle (including a transaction
// handle passed to an InTx callback). It returns "" for an unknown driver.
func DialectOf(db *gorm.DB) Dialect {
	if db == nil || db.Dialector == nil {
		return ""
	}
	switch db.Dialector.Name() {
	case "sqlite":
		return SQLite
	case "postgres":
		return Postgres
	}
	return ""
}

// InTransaction reports whether db is a handle inside an open transaction
// (the tx passed to an InTx or gorm Transaction callback).
func InTransaction(db *gorm.DB) bool {
	if db == nil || db.Statement == nil {
		return false
	}
	committer, ok := db.Statement.ConnPool.(gorm.TxCommitter)
	return ok && committer != nil
}
