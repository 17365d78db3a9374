package web

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/live"
)

// liveReader is what the feeds read.
type liveReader interface {
	LiveSince(ctx context.Context, scope auth.Scope, after int64, limit int) ([]live.Event, error)
	LastLiveID(ctx context.Context) (int64, error)
}

// feedKeep is how many recent events a feed holds for its streams.
const feedKeep = 1000

// liveFeeds shares the reading of live events among the streams of one
// scope. Every stream wakes at every commit; 500 consoles each querying
// LiveSince are 500 queries per alarm on the same cores. One feed per
// scope queries once per wake-up (and once a second, for other nodes'
// commits) and keeps the last feedKeep events for its streams; a stream
// behind what the feed holds (a reconnect with an old Last-Event-ID) reads
// the store itself until it has caught up. A feed ends with its last
// stream.
type liveFeeds struct {
	store liveReader
	hub   *live.Hub
	log   *slog.Logger
	stop  <-chan struct{}

	mu    sync.Mutex
	feeds map[string]*liveFeed
}

type liveFeed struct {
	scope auth.Scope
	key   string
	users int // guarded by liveFeeds.mu
	quit  chan struct{}

	mu sync.Mutex
	// from: the feed holds every event after from that scope reaches,
	// in recent, oldest first.
	from    int64
	recent  []live.Event
	changed chan struct{} // closed when recent grows
}

func newLiveFeeds(store liveReader, hub *live.Hub, log *slog.Logger, stop <-chan struct{}) *liveFeeds {
	return &liveFeeds{store: store, hub: hub, log: log, stop: stop, feeds: map[string]*liveFeed{}}
}

// join returns the feed of scope, started if it was not running; the
// caller leaves it when its stream ends.
func (fs *liveFeeds) join(ctx context.Context, scope auth.Scope) (*liveFeed, error) {
	key := fmt.Sprint(scope)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.feeds[key]
	if f == nil {
		from, err := fs.store.LastLiveID(ctx)
		if err != nil {
			return nil, err
		}
		f = &liveFeed{scope: slices.Clone(scope), key: key, quit: make(chan struct{}), from: from, changed: make(chan struct{})}
		fs.feeds[key] = f
		go fs.run(f, from)
	}
	f.users++
	return f, nil
}

func (fs *liveFeeds) leave(f *liveFeed) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f.users--; f.users == 0 {
		delete(fs.feeds, f.key)
		close(f.quit)
	}
}

// run reads the feed's events as they are committed.
func (fs *liveFeeds) run(f *liveFeed, after int64) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-f.quit:
		case <-fs.stop:
		}
		cancel()
	}()
	for {
		var wake <-chan struct{}
		if fs.hub != nil {
			wake = fs.hub.Wait()
		}
		evs, err := fs.store.LiveSince(ctx, f.scope, after, 500)
		if err != nil && ctx.Err() == nil {
			fs.log.Error("live feed", "scope", f.key, "err", err)
		}
		if len(evs) > 0 {
			after = evs[len(evs)-1].ID
			f.add(evs)
			if len(evs) == 500 {
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-time.After(time.Second):
			// Another node may have committed: look again.
		}
	}
}

func (f *liveFeed) add(evs []live.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recent = append(f.recent, evs...)
	if over := len(f.recent) - feedKeep; over > 0 {
		f.from = f.recent[over-1].ID
		f.recent = slices.Clone(f.recent[over:])
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

// since returns the feed's events after after and whether the feed holds
// all of them (false: after is older than what it keeps), with a channel
// closed when it has more, and the id the feed holds everything after.
func (f *liveFeed) since(after int64) (evs []live.Event, held bool, changed <-chan struct{}, from int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if after < f.from {
		return nil, false, f.changed, f.from
	}
	i := sort.Search(len(f.recent), func(i int) bool { return f.recent[i].ID > after })
	return slices.Clone(f.recent[i:]), true, f.changed, f.from
}
