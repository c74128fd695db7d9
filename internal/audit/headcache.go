package audit

import (
	lru "github.com/hashicorp/golang-lru/v2"
)

// headCacheSize bounds the chain tips a process remembers.
const headCacheSize = 4096

// tip is a chain head as this process last wrote it.
type tip struct {
	seq  int64
	hash string
}

// heads remembers, per user, the chain tip this process last wrote, so the
// next append advances the head with one conditional UPDATE (WHERE
// last_seq = ? AND last_hash = ?) instead of a locking read and an update:
// a trade writes an audit entry at every step. A tip moved by another
// process, by a transaction of this one that rolled back, or a head row
// that is gone matches no row, and Append falls back to reading the head;
// the cache can cost a statement, never fork a chain. hashicorp/golang-lru
// bounds it and is safe for concurrent use.
var heads = newHeadCache()

type headCache struct{ c *lru.Cache[string, tip] }

func newHeadCache() headCache {
	c, err := lru.New[string, tip](headCacheSize)
	if err != nil {
		panic(err) // only for a size <= 0
	}
	return headCache{c: c}
}

func (h headCache) get(userID string) (tip, bool) { return h.c.Get(userID) }

func (h headCache) put(userID string, seq int64, hash string) {
	h.c.Add(userID, tip{seq: seq, hash: hash})
}
