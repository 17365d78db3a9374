package web

import (
	"context"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/internal/kept"
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

// maxCachedSessions bounds the cache; past it the least recently used go.
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
	// actors are the sessions' actors, by token, under the sessions
	// version (or the write generation) they were read at.
	actors *kept.Cache[string, *auth.Actor]
}

func newSessionCache(store any, clock shequ.Clock) *sessionCache {
	g, _ := store.(writeGenerationer)
	v, _ := store.(sessionsVersioner)
	return &sessionCache{gen: g, version: v, clock: clock, actors: kept.New[string, *auth.Actor](kept.Limits{Entries: maxCachedSessions}, nil)}
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
	var version int64
	ttl := versionedSessionTTL
	if c.version != nil {
		var err error
		if version, err = c.version.SessionsVersion(ctx); err != nil {
			return nil, err
		}
	} else {
		version, ttl = int64(c.gen.WriteGeneration()), sessionTTL
	}
	a, err := c.actors.Get(ctx, token, version, now, func(ctx context.Context) (*auth.Actor, time.Time, error) {
		a, err := lookup(ctx, token)
		if err != nil {
			return nil, time.Time{}, err
		}
		until := now.Add(ttl)
		if exp := a.Session.ExpiresAt; exp.Before(until) {
			until = exp
		}
		if !until.After(now) {
			until = now // never holds (the zero time would hold for ever)
		}
		return a, until, nil
	})
	if err != nil {
		return nil, err
	}
	own := *a
	return &own, nil
}
