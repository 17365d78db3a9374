package web

import (
	"context"
	"sync"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
)

// sessionTTL is how long a looked-up session is used again without asking
// the store. It bounds how late a change made elsewhere is seen: another
// node (PostgreSQL), or another process on the same SQLite file (the
// command line), signing a session out, disabling its account or changing
// its grants. A change made through this node's store is seen at once
// (writeGeneration below).
const sessionTTL = 2 * time.Second

// maxCachedSessions bounds the cache; past it the cache starts again.
const maxCachedSessions = 10_000

// writeGenerationer is a store that counts its committed writes. The
// session cache keeps nothing without it.
type writeGenerationer interface {
	WriteGeneration() uint64
}

// sessionCache remembers resolved sessions for sessionTTL: the look-up was
// two queries (the session with its user, then the grants) on every
// request (issue 13). An entry holds only while the store has committed no
// write since it was read, so that signing out, a revoked session, a
// disabled account or a changed grant stops at once on this node: any
// commit drops every entry, which is cheap since reads far outnumber
// writes.
type sessionCache struct {
	gen   writeGenerationer
	clock shequ.Clock

	mu      sync.Mutex
	entries map[string]cachedSession
}

type cachedSession struct {
	actor *auth.Actor
	gen   uint64
	until time.Time
}

func newSessionCache(store any, clock shequ.Clock) *sessionCache {
	g, _ := store.(writeGenerationer)
	return &sessionCache{gen: g, clock: clock, entries: map[string]cachedSession{}}
}

// actor returns token's actor, from the cache when it may, else from
// lookup. The caller gets its own copy of the actor.
func (c *sessionCache) actor(ctx context.Context, token string, lookup func(context.Context, string) (*auth.Actor, error)) (*auth.Actor, error) {
	if c.gen == nil {
		return lookup(ctx, token)
	}
	now := c.clock.Now()
	gen := c.gen.WriteGeneration()
	c.mu.Lock()
	e, ok := c.entries[token]
	c.mu.Unlock()
	if ok && e.gen == gen && now.Before(e.until) && now.Before(e.actor.Session.ExpiresAt) {
		a := *e.actor
		return &a, nil
	}
	// gen was read before the look-up: if a write commits meanwhile, the
	// entry is stale at birth and never used.
	a, err := lookup(ctx, token)
	if err != nil {
		return a, err
	}
	keep := *a
	c.mu.Lock()
	if len(c.entries) >= maxCachedSessions {
		clear(c.entries)
	}
	c.entries[token] = cachedSession{actor: &keep, gen: gen, until: now.Add(sessionTTL)}
	c.mu.Unlock()
	return a, nil
}
