// Package kept keeps answers in memory while the version they were read
// at holds (issue 13): the API's kept lists, the resident's home page and
// notice pages, the Open311 listings. The caller reads the version first
// (usually a sum of change counters, sqlstore/liststamp.go) and asks for
// the answer at that version; a change committed after the version was
// read moves it, so an answer is never kept under a version that counts a
// change it does not show, and a kept answer is used only while the
// version the caller reads is still its own.
//
// The key names everything else the answer depends on — the asker's
// scope, the filter, the session — so that one asker's answer is never
// given to another.
package kept

import (
	lru "container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"
)

// Limits bound what a Cache keeps; past either, the least recently used
// entries go first. A zero field is no bound of its kind, but a Cache with
// neither keeps nothing.
type Limits struct {
	Entries int
	// Bytes bounds the entries' cost (the cost function given to New);
	// an entry costing more than a quarter of it is given but not kept.
	Bytes int
}

// Entry is a kept value with the version it was read at and the time it
// holds until.
type Entry[V any] struct {
	Value   V
	Version int64
	// Read is when the version was read; Until is when the value may
	// change with no write at all (a notice's publication, a matter
	// coming due). The zero Until is no such time.
	Read, Until time.Time
}

// holdsAt reports whether e may be used at now: a clock set back before
// Read does not make it younger.
func (e *Entry[V]) holdsAt(now time.Time) bool {
	return e.Until.IsZero() || !now.Before(e.Read) && now.Before(e.Until)
}

// Cache keeps values of V by key; it is safe for concurrent use.
type Cache[K comparable, V any] struct {
	limits Limits
	cost   func(K, V) int

	mu       sync.Mutex
	size     int
	order    *lru.List // of *item[K, V], most recently used first
	byKey    map[K]*lru.Element
	building map[building[K]]*build[V]
}

type item[K comparable, V any] struct {
	key  K
	cost int
	Entry[V]
}

// building names one read under way.
type building[K comparable] struct {
	key     K
	version int64
}

// build is a read under way; done closes when it ended.
type build[V any] struct {
	done chan struct{}
	e    Entry[V]
	err  error
}

// New returns a Cache bounded by limits; cost says what an entry weighs
// against limits.Bytes (nil: nothing).
func New[K comparable, V any](limits Limits, cost func(K, V) int) *Cache[K, V] {
	if cost == nil {
		cost = func(K, V) int { return 0 }
	}
	return &Cache[K, V]{limits: limits, cost: cost, order: lru.New(), byKey: map[K]*lru.Element{}, building: map[building[K]]*build[V]{}}
}

// Peek returns the entry of key while it holds at now, whatever its
// version: for an answer whose version depends on what it was read for
// (the home page's, on the household's home), which the caller reads and
// compares, and keeps with Put.
func (c *Cache[K, V]) Peek(key K, now time.Time) (Entry[V], bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok || !el.Value.(*item[K, V]).holdsAt(now) {
		return Entry[V]{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*item[K, V]).Entry, true
}

// Get returns the value of key at version, at now: the kept one, or the one
// another caller is reading for that same version, or the one read returns
// (with when it stops holding: zero for never by itself), which is then
// kept. While one caller reads a key at a version, the others wait for it
// rather than read again; should it fail, each reads on its own. A key's
// versions are taken to only grow: a read at an older version than the
// one kept is given but does not replace it.
func (c *Cache[K, V]) Get(ctx context.Context, key K, version int64, now time.Time, read func(context.Context) (V, time.Time, error)) (V, error) {
	c.mu.Lock()
	if el, ok := c.byKey[key]; ok {
		if it := el.Value.(*item[K, V]); it.Version == version && it.holdsAt(now) {
			c.order.MoveToFront(el)
			v := it.Value
			c.mu.Unlock()
			return v, nil
		}
	}
	id := building[K]{key, version}
	if b, ok := c.building[id]; ok {
		c.mu.Unlock()
		select {
		case <-b.done:
			if b.err == nil {
				return b.e.Value, nil
			}
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
		e, err := c.read(ctx, key, version, now, read)
		return e.Value, err
	}
	b := &build[V]{done: make(chan struct{})}
	c.building[id] = b
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.building, id)
		c.mu.Unlock()
		close(b.done)
	}()
	// Should read panic (a handler aborting), the waiters read on their
	// own.
	b.err = errAbandoned
	b.e, b.err = c.read(ctx, key, version, now, read)
	return b.e.Value, b.err
}

var errAbandoned = errors.New("kept: read abandoned")

// read runs read and keeps what it returned.
func (c *Cache[K, V]) read(ctx context.Context, key K, version int64, now time.Time, read func(context.Context) (V, time.Time, error)) (Entry[V], error) {
	v, until, err := read(ctx)
	if err != nil {
		return Entry[V]{}, err
	}
	e := Entry[V]{Value: v, Version: version, Read: now, Until: until}
	c.keep(key, e, true)
	return e, nil
}

// Put keeps e under key in place of what was kept, then drops the least
// recently used entries beyond the limits.
func (c *Cache[K, V]) Put(key K, e Entry[V]) { c.keep(key, e, false) }

// keep keeps e under key; with unlessLater, not when a later version of key
// is kept already (a read begun before a change and ended after it).
func (c *Cache[K, V]) keep(key K, e Entry[V], unlessLater bool) {
	if c.limits.Entries <= 0 && c.limits.Bytes <= 0 {
		return
	}
	cost := c.cost(key, e.Value)
	if c.limits.Bytes > 0 && cost > c.limits.Bytes/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		if unlessLater && el.Value.(*item[K, V]).Version > e.Version {
			return
		}
		c.remove(el)
	}
	c.byKey[key] = c.order.PushFront(&item[K, V]{key: key, cost: cost, Entry: e})
	c.size += cost
	for c.limits.Bytes > 0 && c.size > c.limits.Bytes || c.limits.Entries > 0 && c.order.Len() > c.limits.Entries {
		c.remove(c.order.Back())
	}
}

func (c *Cache[K, V]) remove(el *lru.Element) {
	it := el.Value.(*item[K, V])
	c.size -= it.cost
	c.order.Remove(el)
	delete(c.byKey, it.key)
}

// Len returns how many entries are kept and their cost.
func (c *Cache[K, V]) Len() (n, cost int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.size
}

// Page is an encoded answer kept with its entity tag.
type Page struct {
	Body []byte
	// ETag is a strong entity tag of Body: equal bytes give an equal tag
	// on every node.
	ETag string
}

// NewPage returns body with its tag.
func NewPage(body []byte) Page { return Page{Body: body, ETag: ETag(body)} }

// pageOverhead is what a kept page costs beyond its key and body: the
// list element, the map entry, the tag.
const pageOverhead = 256

// StringPageCost is the cost of a page kept under a string key.
func StringPageCost(key string, p Page) int { return pageOverhead + len(key) + len(p.Body) }

// ETag is the strong entity tag of body: the same bytes, the same tag,
// whoever asked.
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// NotModified reports whether an If-None-Match header value lets a
// server answer 304 Not Modified for a resource tagged etag: the header
// names etag (compared weakly, as RFC 9110 has it for this header) or is
// "*".
func NotModified(header, etag string) bool {
	if header == "" || etag == "" {
		return false
	}
	etag = strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
