package config

import (
	"fmt"
	"regexp"
)

var roleName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// databaseAppRole reads DATABASE_APP_ROLE: the PostgreSQL role the api,
// worker and bot connect as (their DATABASE_URL's user), which `tradeexec
// migrate` — connected as the tables' owner — grants only SELECT, INSERT,
// UPDATE and DELETE (schema.GrantAppRole). Optional; PostgreSQL only.
func (l *loader) databaseAppRole() {
	v := l.env("DATABASE_APP_ROLE")
	if v == "" {
		return
	}
	switch {
	case !roleName.MatchString(v):
		l.c.add("DATABASE_APP_ROLE", fmt.Sprintf("invalid role %q (a plain lower-case identifier: a-z, 0-9, _)", v))
	case l.cfg.DatabaseDriver == "sqlite":
		l.c.add("DATABASE_APP_ROLE", "set with a SQLite DATABASE_URL (roles are a PostgreSQL feature)")
	}
	l.cfg.DatabaseAppRole = v
}
