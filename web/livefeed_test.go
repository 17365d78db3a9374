package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/live"
)

// fakeLive is a live log: events 1…n, each of a community.
type fakeLive struct {
	mu      sync.Mutex
	events  []live.Event
	queries int
}

func (f *fakeLive) append(community int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := int64(len(f.events) + 1)
	f.events = append(f.events, live.Event{ID: id, CommunityID: community, Type: "incident", Payload: []byte(fmt.Sprint(id))})
}

func (f *fakeLive) LiveSince(_ context.Context, scope auth.Scope, after int64, limit int) ([]live.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	var out []live.Event
	for _, e := range f.events {
		if e.ID > after && len(out) < limit && (scope.All() || e.CommunityID == scope[0].CommunityID) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeLive) LastLiveID(context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(len(f.events)), nil
}

// TestLiveFeedSharesReads: streams of one scope share one reader, which
// reads once per wake-up however many streams wait; a stream behind what
// the feed keeps reads the store until it has caught up, then the feed.
func TestLiveFeedSharesReads(t *testing.T) {
	store := &fakeLive{}
	hub := live.NewHub()
	stop := make(chan struct{})
	defer close(stop)
	feeds := newLiveFeeds(store, hub, slog.New(slog.NewTextHandler(io.Discard, nil)), stop)
	ctx := t.Context()
	scope := auth.Scope{{CommunityID: 1}}
	var fs []*liveFeed
	for range 50 {
		f, err := feeds.join(ctx, scope)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	if fs[0] != fs[49] {
		t.Fatal("two feeds for one scope")
	}
	other, _ := feeds.join(ctx, auth.Scope{{CommunityID: 2}})
	if other == fs[0] {
		t.Fatal("one feed for two scopes")
	}
	feed := fs[0]
	_, _, changed, _ := feed.since(0)
	store.mu.Lock()
	before := store.queries
	store.mu.Unlock()
	store.append(1)
	store.append(2)
	store.append(1)
	hub.Changed()
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("feed not woken")
	}
	evs, held, _, _ := feed.since(0)
	if !held || len(evs) != 2 || evs[0].ID != 1 || evs[1].ID != 3 {
		t.Errorf("feed of community 1 after 0: held %v, %+v", held, evs)
	}
	store.mu.Lock()
	// One read per feed (two scopes), not one per stream.
	if n := store.queries - before; n > 4 {
		t.Errorf("%d queries for one wake-up of 51 streams", n)
	}
	store.mu.Unlock()

	// More than the feed keeps: an old position is not held.
	for range feedKeep + 10 {
		store.append(1)
	}
	hub.Changed()
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs, held, _, from := feed.since(3)
		if !held && from > 3 {
			if len(evs) != 0 {
				t.Errorf("events handed out from a position not held: %d", len(evs))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("feed did not move on")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, f := range fs {
		feeds.leave(f)
	}
	feeds.leave(other)
	feeds.mu.Lock()
	if len(feeds.feeds) != 0 {
		t.Errorf("feeds left running: %d", len(feeds.feeds))
	}
	feeds.mu.Unlock()
}
