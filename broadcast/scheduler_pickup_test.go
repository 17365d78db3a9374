package broadcast

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/shequtest"
)

// committedStore serves the announcements "committed" so far, as the real
// EmergenciesSince does: created_at >= since.
type committedStore struct {
	fencedStore
	mu2       sync.Mutex
	committed []Emergency
}

func (c *committedStore) EmergenciesSince(_ context.Context, since time.Time) ([]Emergency, error) {
	c.mu2.Lock()
	defer c.mu2.Unlock()
	var out []Emergency
	for _, e := range c.committed {
		if !e.CreatedAt.Before(since) {
			out = append(out, e)
		}
	}
	return out, nil
}

type speakRecorder struct {
	airAtOnce
	mu    sync.Mutex
	spoke []string
}

func (r *speakRecorder) Speak(_ context.Context, _ string, items []Item) (io.ReadCloser, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.spoke = append(r.spoke, "x")
	return io.NopCloser(strings.NewReader("pcm")), nil
}

// Node A stamps announcement 1 (created_at T+1s) and commits it a moment
// after node B's scheduler has read announcement 2 (T+2s, from node C):
// B must still play announcement 1, and play each of them once only.
func TestEmergencyCommittedLateIsPickedUpOnce(t *testing.T) {
	clock := shequtest.NewClock(time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC))
	t0 := clock.Now()
	store := &committedStore{fencedStore: fencedStore{programme: Programme{CommunityID: 1, Location: time.UTC}}}
	rec := &speakRecorder{}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := NewScheduler(store, rec, rec, clock, quiet)
	s.Follow()
	ctx := t.Context()

	clock.Advance(3 * time.Second)
	store.committed = []Emergency{{ID: 2, CommunityID: 1, ZoneIDs: []int64{10}, Text: "二号", Level: LevelUrgent, CreatedAt: t0.Add(2 * time.Second)}}
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	// Announcement 1 commits now, stamped before announcement 2.
	store.committed = append(store.committed, Emergency{ID: 1, CommunityID: 1, ZoneIDs: []int64{10}, Text: "一号", Level: LevelUrgent, CreatedAt: t0.Add(1 * time.Second)})
	for i := 0; i < 3; i++ {
		clock.Advance(time.Second)
		if err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Ticks later in the window read both rows again.
	for i := 0; i < 3; i++ {
		clock.Advance(30 * time.Second)
		if err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rec.mu.Lock()
	spoken := len(rec.spoke)
	rec.mu.Unlock()
	if spoken != 2 {
		t.Errorf("spoken %d times on this node, want 2 (once each)", spoken)
	}
	s.mu.Lock()
	_, got1 := s.announced[1]
	_, got2 := s.announced[2]
	s.mu.Unlock()
	if !got1 || !got2 {
		t.Errorf("announced on this node: #1 %v, #2 %v; want both", got1, got2)
	}
}
