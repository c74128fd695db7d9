package schema

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
)

// The application's PostgreSQL role (DATABASE_APP_ROLE) is not the owner
// of the tables: the owner (the role `tradeexec migrate` connects as)
// creates them, and GrantAppRole gives the app only what it uses. A role
// that does not own audit_logs cannot ALTER TABLE … DISABLE TRIGGER, DROP
// TRIGGER, DROP TABLE or TRUNCATE it, so a compromised app process cannot
// switch off the audit log's append-only triggers.

// appRoleName is what DATABASE_APP_ROLE may be: a plain, unquoted
// PostgreSQL identifier (no quoting games in GRANT statements).
var appRoleName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ErrInvalidRoleName: DATABASE_APP_ROLE is not a plain lower-case identifier.
var ErrInvalidRoleName = errors.New("schema: the app role must be a plain identifier (a-z, 0-9, _; at most 63 characters)")

// ValidAppRole reports whether name can be used as the app role.
func ValidAppRole(name string) bool { return appRoleName.MatchString(name) }

// GrantAppRole grants role, in the current schema: USAGE on the schema,
// SELECT, INSERT, UPDATE and DELETE on every table, USAGE and SELECT on
// every sequence (identity columns) — and takes back what the app never
// does: UPDATE and DELETE on audit_logs (append-only), writes to
// schema_migrations. No ownership, TRUNCATE, TRIGGER or REFERENCES. It is
// idempotent and runs after every migration, so tables added by later
// migrations are covered. PostgreSQL only.
func GrantAppRole(ctx context.Context, db *gorm.DB, role string) error {
	if store.DialectOf(db) != store.Postgres {
		return errors.New("schema: an app role exists only on PostgreSQL")
	}
	if !ValidAppRole(role) {
		return ErrInvalidRoleName
	}
	return store.InTx(ctx, db, func(tx *gorm.DB) error {
		var schemaName string
		if err := tx.Raw("SELECT current_schema()").Scan(&schemaName).Error; err != nil {
			return err
		}
		var owner bool
		if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema()
			AND tablename = 'audit_logs' AND tableowner = ?)`, role).Scan(&owner).Error; err != nil {
			return err
		}
		if owner {
			return fmt.Errorf("schema: role %s owns the tables; the app role must be another role than the migration owner", role)
		}
		var super bool
		if err := tx.Raw("SELECT COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = ?), false)", role).Scan(&super).Error; err != nil {
			return err
		}
		if super {
			return fmt.Errorf("schema: role %s is a superuser, which no trigger or grant restrains; use a plain login role", role)
		}
		s := quoteIdent(schemaName)
		for _, stmt := range []string{
			"GRANT USAGE ON SCHEMA " + s + " TO " + role,
			"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + s + " TO " + role,
			"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA " + s + " TO " + role,
			"REVOKE UPDATE, DELETE ON " + s + ".audit_logs FROM " + role,
			"REVOKE UPDATE, DELETE ON " + s + ".audit_archives FROM " + role,
			"REVOKE INSERT, UPDATE, DELETE ON " + s + ".schema_migrations FROM " + role,
		} {
			if err := tx.Exec(stmt).Error; err != nil {
				return fmt.Errorf("schema: grant app role: %w", err)
			}
		}
		return nil
	})
}

// OwnsAuditLog reports whether the connected role owns audit_logs (and
// so could disable its triggers). The api and worker warn at start when
// it does (PostgreSQL; always false on SQLite, which has no roles).
func OwnsAuditLog(ctx context.Context, db *gorm.DB) (bool, error) {
	if store.DialectOf(db) != store.Postgres {
		return false, nil
	}
	var owner bool
	err := db.WithContext(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema()
		AND tablename = 'audit_logs' AND tableowner = current_user)`).Scan(&owner).Error
	return owner, err
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string {
	out := []byte{'"'}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, s[i])
	}
	return string(append(out, '"'))
}
