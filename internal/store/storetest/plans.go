package storetest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Statement is one SQL statement a test's code ran, with its arguments.
type Statement struct {
	SQL  string
	Vars []any
}

// RecordStatements records the reads, updates and deletes db runs from now
// on (inserts have no plan to check); the returned function gives what was
// recorded so far, in order.
func RecordStatements(t testing.TB, db *gorm.DB) func() []Statement {
	t.Helper()
	var mu sync.Mutex
	var out []Statement
	rec := func(tx *gorm.DB) {
		if tx.Error != nil || tx.Statement.SQL.Len() == 0 || strings.HasPrefix(tx.Statement.SQL.String(), "EXPLAIN") {
			return // nothing ran, or UnselectivePlans asking for a plan
		}
		mu.Lock()
		out = append(out, Statement{SQL: tx.Statement.SQL.String(), Vars: slices.Clone(tx.Statement.Vars)})
		mu.Unlock()
	}
	name := "storetest:record:" + uuid.NewString()
	cb := db.Callback()
	for _, err := range []error{
		cb.Query().After("gorm:query").Register(name, rec),
		cb.Update().After("gorm:update").Register(name, rec),
		cb.Delete().After("gorm:delete").Register(name, rec),
		cb.Row().After("gorm:row").Register(name, rec),
	} {
		if err != nil {
			t.Fatalf("storetest: record statements: %v", err)
		}
	}
	return func() []Statement {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(out)
	}
}

// FewValued are columns of a handful of values (a status, a flag, a
// kind): rows found by them alone are a share of the table that grows
// with every trader.
var FewValued = []string{"is_active", "status", "locked", "active", "paper", "side", "kind", "type"}

// planConstraint is the "(col=? AND col>?)" of a SEARCH step.
var planConstraint = regexp.MustCompile(`\(([^()]*)\)$`)

// UnselectivePlans asks SQLite (db must be SQLite) for the plan of each
// statement and describes those that read a whole table, or that find
// their rows only by columns of few values (fewValued: a status, a flag),
// which reads a share of the table that grows with it. A statement whose
// plan SQLite cannot make is reported too. Each statement is explained
// once.
//
// SQLite plans without statistics here (the database is never ANALYZEd),
// so a plan is what every SQLite deployment runs; PostgreSQL chooses by
// its statistics and is not checked.
func UnselectivePlans(t testing.TB, db *gorm.DB, stmts []Statement, fewValued ...string) []string {
	t.Helper()
	few := map[string]bool{}
	for _, c := range fewValued {
		few[c] = true
	}
	partial := func(index string) bool {
		var ddl string
		err := db.Raw("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", index).Row().Scan(&ddl)
		return err == nil && strings.Contains(strings.ToUpper(ddl), " WHERE ")
	}
	var problems []string
	seen := map[string]bool{}
	for _, s := range stmts {
		if seen[s.SQL] {
			continue
		}
		seen[s.SQL] = true
		rows, err := db.Raw("EXPLAIN QUERY PLAN "+s.SQL, s.Vars...).Rows()
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: no plan: %v", s.SQL, err))
			continue
		}
		var steps []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				_ = rows.Close()
				t.Fatalf("storetest: read plan of %s: %v", s.SQL, err)
			}
			steps = append(steps, detail)
		}
		if err := rows.Close(); err != nil {
			t.Fatalf("storetest: read plan of %s: %v", s.SQL, err)
		}
		for _, step := range steps {
			if why := unselective(step, few, partial); why != "" {
				problems = append(problems, fmt.Sprintf("%s\n\t%s (plan: %s)", s.SQL, why, strings.Join(steps, " | ")))
				break
			}
		}
	}
	return problems
}

// usingIndex is the index a plan step reads.
var usingIndex = regexp.MustCompile(`USING (?:COVERING )?INDEX (\S+)`)

// unselective says why one plan step reads more than its rows, or "". A
// scan of a partial index (partial reports one) reads only the rows the
// index holds.
func unselective(step string, few map[string]bool, partial func(index string) bool) string {
	f := strings.Fields(step)
	if len(f) < 2 {
		return ""
	}
	switch f[0] {
	case "SCAN":
		// A VALUES list or a subquery's result is not a table.
		if strings.Contains(step, "VALUES CLAUSE") || strings.Contains(step, "CONSTANT ROW") || strings.HasPrefix(f[1], "(") {
			return ""
		}
		if m := usingIndex.FindStringSubmatch(step); m != nil && partial(m[1]) {
			return ""
		}
		return "reads the whole table " + f[1]
	case "SEARCH":
		m := planConstraint.FindStringSubmatch(step)
		if m == nil {
			return "" // e.g. MAX(id) from the primary key's end
		}
		for _, c := range strings.Split(m[1], " AND ") {
			col := strings.TrimSpace(c)
			if i := strings.IndexAny(col, "=<>"); i > 0 {
				col = col[:i]
			}
			if !few[col] {
				return ""
			}
		}
		return "finds rows of " + f[1] + " only by " + m[1]
	}
	return ""
}
