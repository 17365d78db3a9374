package open311

import (
	lru "container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Listings keeps encoded GET requests answers in memory, each under the
// key of what was asked (ListingKey) and the version of the community's
// requests it was read at. A listing of a thousand requests costs
// milliseconds of CPU to read and encode, most of it the database driver
// stepping the rows, while clients poll the same few listings and the
// requests change far less often than that. The caller reads the version
// (one cheap query) with every request; a kept listing serves only that
// same version, so a change made anywhere, by any node, is seen by the
// next request. The bytes kept are bounded: the least recently used
// listings go first.
type Listings struct {
	max int // bytes kept at most

	mu       sync.Mutex
	size     int
	order    *lru.List // of *kept, most recently used first
	byKey    map[string]*lru.Element
	building map[building]*build
}

// Listing is one encoded answer and its entity tag.
type Listing struct {
	Body []byte
	// ETag is a strong entity tag of Body: equal bytes give an equal tag
	// on every node.
	ETag string
}

type kept struct {
	key     string
	version int64
	Listing
}

// building names one build under way.
type building struct {
	key     string
	version int64
}

// build is a build under way; done closes when it ended.
type build struct {
	done chan struct{}
	l    Listing
	err  error
}

// keptOverhead is what a kept listing costs beyond its key and body: the
// list element, the map entry, the tag.
const keptOverhead = 256

// NewListings keeps listings of at most maxBytes in all; a listing larger
// than a quarter of that is sent but not kept. maxBytes <= 0 keeps none.
func NewListings(maxBytes int) *Listings {
	return &Listings{max: maxBytes, order: lru.New(), byKey: map[string]*lru.Element{}, building: map[building]*build{}}
}

// Get returns the listing of key at version: the kept one, or the one
// encode writes, which is then kept. While one call encodes a key at a
// version, others for the same wait for it rather than read the rows
// again; should it fail, each encodes on its own.
func (c *Listings) Get(ctx context.Context, key string, version int64, encode func() ([]byte, error)) (Listing, error) {
	c.mu.Lock()
	if e, ok := c.byKey[key]; ok && e.Value.(*kept).version == version {
		c.order.MoveToFront(e)
		l := e.Value.(*kept).Listing
		c.mu.Unlock()
		return l, nil
	}
	id := building{key, version}
	if b, ok := c.building[id]; ok {
		c.mu.Unlock()
		select {
		case <-b.done:
			if b.err == nil {
				return b.l, nil
			}
		case <-ctx.Done():
			return Listing{}, ctx.Err()
		}
		return c.encode(key, version, encode)
	}
	b := &build{done: make(chan struct{})}
	c.building[id] = b
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.building, id)
		c.mu.Unlock()
		close(b.done)
	}()
	// Should encode panic (a handler aborting), the waiters encode on
	// their own.
	b.err = errBuildAbandoned
	b.l, b.err = c.encode(key, version, encode)
	return b.l, b.err
}

var errBuildAbandoned = errors.New("open311: listing build abandoned")

// encode runs encode and keeps what it wrote.
func (c *Listings) encode(key string, version int64, encode func() ([]byte, error)) (Listing, error) {
	body, err := encode()
	if err != nil {
		return Listing{}, err
	}
	l := Listing{Body: body, ETag: ETag(body)}
	c.keep(key, version, l)
	return l, nil
}

// keep stores l unless a later version of key is kept already, then drops
// the least recently used listings beyond the bound.
func (c *Listings) keep(key string, version int64, l Listing) {
	cost := keptOverhead + len(key) + len(l.Body)
	if cost > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		k := e.Value.(*kept)
		if k.version > version {
			return
		}
		c.size -= keptOverhead + len(k.key) + len(k.Body)
		c.order.Remove(e)
		delete(c.byKey, key)
	}
	c.byKey[key] = c.order.PushFront(&kept{key: key, version: version, Listing: l})
	c.size += cost
	for c.size > c.max {
		e := c.order.Back()
		k := e.Value.(*kept)
		c.size -= keptOverhead + len(k.key) + len(k.Body)
		c.order.Remove(e)
		delete(c.byKey, k.key)
	}
}

// Len returns how many listings are kept and their cost in bytes.
func (c *Listings) Len() (n, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.size
}

// ListingKey names a listing: everything its bytes depend on besides the
// community's requests, categories and places (which its version
// covers): the community, its name (the agency shown) and zone (the
// times' offset), the format and the filter with its window as
// effective. Texts are length-prefixed, so no value a client sends can
// pass for another field.
func ListingKey(f Filter, format Format, agency, zone string) string {
	var b strings.Builder
	b.Grow(64 + len(agency) + len(zone))
	b.WriteString(string(format))
	b.WriteByte('|')
	b.WriteString(strconv.FormatInt(f.CommunityID, 10))
	keyText(&b, agency)
	keyText(&b, zone)
	keyText(&b, f.Status)
	keyTime(&b, f.Since)
	keyTime(&b, f.Until)
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(f.Limit))
	b.WriteString("|c")
	b.WriteString(strconv.Itoa(len(f.Categories)))
	for _, c := range f.Categories {
		keyText(&b, c)
	}
	b.WriteString("|t")
	b.WriteString(strconv.Itoa(len(f.Tracking)))
	for _, t := range f.Tracking {
		keyText(&b, t)
	}
	return b.String()
}

func keyText(b *strings.Builder, s string) {
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.WriteString(s)
}

func keyTime(b *strings.Builder, t time.Time) {
	b.WriteByte('|')
	if t.IsZero() {
		return
	}
	b.WriteString(strconv.FormatInt(t.Unix(), 10))
	b.WriteByte('.')
	b.WriteString(strconv.Itoa(t.Nanosecond()))
}

// ETag is the strong entity tag of body: the same bytes, the same tag,
// whoever asked.
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// NotModified reports whether an If-None-Match header value lets a
// server answer 304 Not Modified for a resource tagged etag: the header names
// etag (compared weakly, as RFC 9110 has it for this header) or is "*".
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
