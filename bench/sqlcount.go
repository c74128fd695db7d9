package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"gorm.io/gorm"
)

// sqlCounts counts the SQL statements tradeexec sends to its database
// (every gorm callback: create, query, update, delete, row, raw), by
// statement text up to its WHERE: the persistence work per trade on our
// side, printed next to Temporal's history events and tasks.
var sqlCounts = struct {
	sync.Mutex
	m map[string]int
}{m: map[string]int{}}

func countSQL(db *gorm.DB) {
	f := func(tx *gorm.DB) {
		s := tx.Statement.SQL.String()
		if i := strings.Index(s, " WHERE"); i > 0 {
			s = s[:i]
		}
		if i := strings.Index(s, " VALUES"); i > 0 {
			s = s[:i]
		}
		if len(s) > 90 {
			s = s[:90] + "…"
		}
		sqlCounts.Lock()
		sqlCounts.m[s]++
		sqlCounts.Unlock()
	}
	cb := db.Callback()
	must(cb.Create().After("gorm:create").Register("bench:count", f))
	must(cb.Query().After("gorm:query").Register("bench:count", f))
	must(cb.Update().After("gorm:update").Register("bench:count", f))
	must(cb.Delete().After("gorm:delete").Register("bench:count", f))
	must(cb.Row().After("gorm:row").Register("bench:count", f))
	must(cb.Raw().After("gorm:raw").Register("bench:count", f))
}

// sqlTop is how many statements sqlPer lists (-sql-top).
var sqlTop = 6

func resetSQL() {
	sqlCounts.Lock()
	sqlCounts.m = map[string]int{}
	sqlCounts.Unlock()
}

// sqlPer summarises the statements counted since resetSQL per unit of
// work: the total, the writes, and the most frequent statements.
func sqlPer(n int) string {
	sqlCounts.Lock()
	defer sqlCounts.Unlock()
	type kv struct {
		k string
		v int
	}
	var all []kv
	total, writes := 0, 0
	for k, v := range sqlCounts.m {
		all = append(all, kv{k, v})
		total += v
		if !strings.HasPrefix(k, "SELECT") {
			writes += v
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	var top []string
	for _, e := range all[:min(sqlTop, len(all))] {
		top = append(top, fmt.Sprintf("%.1f × %s", float64(e.v)/float64(n), e.k))
	}
	return fmt.Sprintf("%.1f SQL statements (%.1f writes); most frequent: %s",
		float64(total)/float64(n), float64(writes)/float64(n), strings.Join(top, "; "))
}
