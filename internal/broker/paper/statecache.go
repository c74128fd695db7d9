package paper

import (
	lru "github.com/hashicorp/golang-lru/v2"
)

// stateCacheSize bounds the decoded accounts a GormStore keeps.
const stateCacheSize = 2048

// stateCache keeps recently used accounts decoded, keyed by account id and
// checked against the exact stored JSON: a hit needs the row just read to
// hold byte for byte the text the cached state was decoded from (or
// encoded to), so a write by any process — or a write that was rolled back
// — can never be served stale. Decoding an account's JSON (it holds the
// account's orders of the last 30 days) was the largest CPU cost of the
// trade path; comparing two strings is a memcmp.
//
// hashicorp/golang-lru bounds memory with LRU eviction and is safe for
// concurrent use.
type stateCache struct {
	c *lru.Cache[string, cachedState]
}

type cachedState struct {
	raw string
	st  AccountState
	// version is the row version raw was committed at; 0 when unknown.
	version int64
}

func newStateCache(size int) *stateCache {
	c, err := lru.New[string, cachedState](size)
	if err != nil {
		panic(err) // only for size <= 0
	}
	return &stateCache{c: c}
}

// decode returns the account stored as raw (read from the row at version),
// from the cache when raw is the text it was cached under. The result is
// the caller's own copy.
func (c *stateCache) decode(id, raw string, version int64) (AccountState, error) {
	if e, ok := c.c.Get(id); ok && e.raw == raw {
		if e.version != version {
			e.version = version
			c.c.Add(id, e)
		}
		return e.st.Clone(), nil
	}
	st, err := decodeState([]byte(raw))
	if err != nil {
		return AccountState{}, err
	}
	c.c.Add(id, cachedState{raw: raw, st: st.Clone(), version: version})
	return st, nil
}

// put records st as the decoded form of raw, committed at version (after
// the write's transaction committed: a version is then written once, so
// it names one text).
func (c *stateCache) put(id, raw string, st AccountState, version int64) {
	c.c.Add(id, cachedState{raw: raw, st: st.Clone(), version: version})
}

// atVersion returns the account as committed at version when the cache
// holds exactly that version (ListWorking reads versions first and only
// the states it does not hold).
func (c *stateCache) atVersion(id string, version int64) (AccountState, bool) {
	if e, ok := c.c.Get(id); ok && e.version != 0 && e.version == version {
		return e.st.Clone(), true
	}
	return AccountState{}, false
}
