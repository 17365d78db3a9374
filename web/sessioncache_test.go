package web

import (
	"context"
	"testing"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/shequtest"
)

type fakeGeneration struct{ n uint64 }

func (f *fakeGeneration) WriteGeneration() uint64 { return f.n }

func TestSessionCache(t *testing.T) {
	clock := shequtest.NewClock(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	gen := &fakeGeneration{}
	c := newSessionCache(gen, clock)
	lookups := 0
	expires := clock.Now().Add(time.Hour)
	lookup := func(context.Context, string) (*auth.Actor, error) {
		lookups++
		a := &auth.Actor{}
		a.Session.ExpiresAt = expires
		return a, nil
	}
	get := func() *auth.Actor {
		t.Helper()
		a, err := c.actor(t.Context(), "token", lookup)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	steps := []struct {
		name    string
		before  func()
		lookups int
	}{
		{"first", func() {}, 1},
		{"again, nothing written", func() {}, 1},
		{"a write committed on this node", func() { gen.n++ }, 2},
		{"again after it", func() {}, 2},
		{"past the TTL (another node's change)", func() { clock.Advance(sessionTTL) }, 3},
	}
	for _, s := range steps {
		s.before()
		a := get()
		if lookups != s.lookups {
			t.Errorf("%s: %d look-ups, want %d", s.name, lookups, s.lookups)
		}
		a.ViaCookie = true // each caller's own copy
		if b := get(); b.ViaCookie {
			t.Errorf("%s: a caller's change reached the cache", s.name)
		}
	}
	// A session that expires within the TTL is not used past its end.
	expires = clock.Now().Add(time.Second)
	c = newSessionCache(gen, clock)
	get()
	clock.Advance(time.Second)
	before := lookups
	get()
	if lookups != before+1 {
		t.Error("an expired session was served from the cache")
	}
	// A store that counts no writes gets no cache.
	plain := newSessionCache(struct{}{}, clock)
	before = lookups
	for range 3 {
		if _, err := plain.actor(t.Context(), "token", lookup); err != nil {
			t.Fatal(err)
		}
	}
	if lookups-before != 3 {
		t.Errorf("without a write count: %d look-ups for 3 requests", lookups-before)
	}
}

type fakeSessionsVersion struct {
	fakeGeneration
	v int64
}

func (f *fakeSessionsVersion) SessionsVersion(context.Context) (int64, error) { return f.v, nil }

// TestSessionCacheVersioned: with a store that versions sessions, an entry
// holds while the version holds — past the unversioned TTL, and through
// writes that do not touch sessions — and not a request longer once it
// moves.
func TestSessionCacheVersioned(t *testing.T) {
	clock := shequtest.NewClock(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	store := &fakeSessionsVersion{}
	c := newSessionCache(store, clock)
	lookups := 0
	lookup := func(context.Context, string) (*auth.Actor, error) {
		lookups++
		a := &auth.Actor{}
		a.Session.ExpiresAt = clock.Now().Add(time.Hour)
		return a, nil
	}
	for _, s := range []struct {
		name    string
		before  func()
		lookups int
	}{
		{"first", func() {}, 1},
		{"again", func() {}, 1},
		{"past the unversioned TTL", func() { clock.Advance(sessionTTL) }, 1},
		{"a write elsewhere", func() { store.n++ }, 1},
		{"a session, account or grant changed", func() { store.v++ }, 2},
		{"again after it", func() {}, 2},
		{"past the versioned TTL", func() { clock.Advance(versionedSessionTTL) }, 3},
	} {
		s.before()
		if _, err := c.actor(t.Context(), "token", lookup); err != nil {
			t.Fatal(err)
		}
		if lookups != s.lookups {
			t.Errorf("%s: %d look-ups, want %d", s.name, lookups, s.lookups)
		}
	}
}
