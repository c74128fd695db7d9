package storetest

import (
	"context"
	"net/url"
	"testing"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// OpenPostgresAppRole opens a fresh migrated PostgreSQL schema (as
// OpenPostgres) and a second handle on it connected as a new login role
// that owns nothing and holds only what schema.GrantAppRole grants — the
// way the api and worker connect in production. It returns the owner's
// handle, the app role's handle and the role's name; the role is dropped
// when the test ends.
func OpenPostgresAppRole(t testing.TB) (owner, app *gorm.DB, role string) {
	t.Helper()
	base, ok := PostgresURL()
	if !ok {
		t.Fatalf("storetest: %s is not set", EnvPostgresURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	owner = OpenPostgres(t)
	var schemaName string
	if err := owner.WithContext(ctx).Raw("SELECT current_schema()").Scan(&schemaName).Error; err != nil {
		t.Fatalf("storetest: current schema: %v", err)
	}
	role = "te_app_" + randomHex(t, 6)
	password := randomHex(t, 16)
	if err := owner.WithContext(ctx).Exec("CREATE ROLE " + role + " LOGIN PASSWORD '" + password + "'").Error; err != nil {
		t.Fatalf("storetest: create role: %v", err)
	}
	// Cleanups run last-in first-out: the app handle closes, then the
	// role's grants and the role go, then (OpenPostgres) the schema.
	t.Cleanup(func() {
		owner.Exec("DROP OWNED BY " + role)
		owner.Exec("DROP ROLE " + role)
	})
	if err := schema.GrantAppRole(ctx, owner, role); err != nil {
		t.Fatalf("storetest: grant app role: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: %s: %v", EnvPostgresURL, err)
	}
	u.User = url.UserPassword(role, password)
	q := u.Query()
	q.Del("options")
	q.Set("search_path", schemaName)
	u.RawQuery = q.Encode()
	app, _, err = store.Open(ctx, u.String(), nil)
	if err != nil {
		t.Fatalf("storetest: open as app role: %v", err)
	}
	t.Cleanup(func() { _ = store.Close(app) })
	return owner, app, role
}
