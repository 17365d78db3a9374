package web

import (
	"context"
	"sync"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
)

// sessionTTL is how long a looked-up session is used again without asking
// the store, when the store cannot version sessions: it bounds how late a
// change made elsewhere is seen. A change made through this node's store
// is seen at once (writeGeneration below).
const sessionTTL = 2 * time.Second

// versionedSessionTTL is how long a session is used again while the
// store's sessions version has not moved: that version follows every
// change a session's actor is read from, on every node, so this only
// bounds how long an entry lives unasked.
const versionedSessionTTL = time.Minute

// maxCachedSessions bounds the cache; past it the cache starts again.
const maxCachedSessions = 10_000

// writeGenerationer is a store that counts its committed writes. The
// session cache keeps nothing without it.
type writeGenerationer interface {
	WriteGeneration() uint64
}

// sessionsVersioner is a store that versions what sessions are read from
// (sqlstore.SessionsVersion): a sign-out, a revoked session, a disabled
// account or a changed grant on any node moves it at commit.
type sessionsVersioner interface {
	SessionsVersion(ctx context.Context) (int64, error)
}

// sessionCache remembers resolved sessions: the look-up was two queries
// (the session with its user, then the grants) on every request (issue
// 13). With a store that versions sessions, an entry holds while the
// sessions version it was read under has not moved: a change on any node
// is honoured at the next request once heard, and checking usually costs
// no query (the store mirrors its counters). Without one, an entry holds for
// sessionTTL while the store has committed no write since it was read, so
// that signing out, a revoked session, a disabled account or a changed
// grant stops at once on this node: any commit drops every entry.
type sessionCache struct {
	gen     writeGenerationer
	version sessionsVersioner
	clock   shequ.Clock

	mu      sync.Mutex
	entries map[string]cachedSession
}

type cachedSession struct {
	actor   *auth.Actor
	gen     uint64
	version int64
	until   time.Time
}

func newSessionCache(store any, clock shequ.Clock) *sessionCache {
	g, _ := store.(writeGenerationer)
	v, _ := store.(sessionsVersioner)
	return &sessionCache{gen: g, version: v, clock: clock, entries: map[string]cachedSession{}}
}

// actor returns token's actor, from the cache when it may, else from
// lookup. The caller gets its own copy of the actor.
func (c *sessionCache) actor(ctx context.Context, token string, lookup func(context.Context, string) (*auth.Actor, error)) (*auth.Actor, error) {
	if c.gen == nil && c.version == nil {
		return lookup(ctx, token)
	}
	now := c.clock.Now()
	// The version (or the generation) is read before the look-up: if a
	// change commits meanwhile, the entry is stale at birth and never used.
	var gen uint64
	var version int64
	ttl := versionedSessionTTL
	if c.version != nil {
		var err error
		if version, err = c.version.SessionsVersion(ctx); err != nil {
			return nil, err
		}
	} else {
		gen, ttl = c.gen.WriteGeneration(), sessionTTL
	}
	c.mu.Lock()
	e, ok := c.entries[token]
	c.mu.Unlock()
	if ok && e.gen == gen && e.version == version && now.Before(e.until) && now.Before(e.actor.Session.ExpiresAt) {
		a := *e.actor
		return &a, nil
	}
	a, err := lookup(ctx, token)
	if err != nil {
		return a, err
	}
	keep := *a
	c.mu.Lock()
	if len(c.entries) >= maxCachedSessions {
		clear(c.entries)
	}
	c.entries[token] = cachedSession{actor: &keep, gen: gen, version: version, until: now.Add(ttl)}
	c.mu.Unlock()
	return a, nil
}
