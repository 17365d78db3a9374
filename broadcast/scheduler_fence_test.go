package broadcast

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/shequtest"
)

// fencedStore serves one programme and records, for each once-only
// write, the fence its context carried ("" for none).
type fencedStore struct {
	programme Programme
	mu        sync.Mutex
	writes    []string
}

func (f *fencedStore) Programmes(context.Context) ([]Programme, error) {
	return []Programme{f.programme}, nil
}

func (f *fencedStore) record(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fence, _ := jobs.FenceFrom(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes = append(f.writes, what+" "+fence.Holder)
	return nil
}

func (f *fencedStore) FlagSlot(ctx context.Context, _ int64, _ string) error {
	return f.record(ctx, "flag")
}
func (f *fencedStore) RecordAsRun(ctx context.Context, _ *AsRun) error {
	return f.record(ctx, "as-run")
}
func (f *fencedStore) Aired(ctx context.Context, _ int64, _ []Item, _ time.Time) error {
	return f.record(ctx, "aired")
}
func (f *fencedStore) EmergenciesSince(context.Context, time.Time) ([]Emergency, error) {
	return nil, nil
}

func (f *fencedStore) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.writes
	f.writes = nil
	return out
}

// airAtOnce renders anything and puts every cue on the air as it comes.
type airAtOnce struct{}

func (airAtOnce) Render(context.Context, int64, []Item) (Audio, error) {
	return Audio{SHA256: "rendered", Seconds: 60}, nil
}
func (airAtOnce) Rendered(context.Context, int64, []Item) (Audio, error) {
	return Audio{}, shequ.Errorf(shequ.ENOTFOUND, "not rendered")
}
func (airAtOnce) Speak(context.Context, string, []Item) (io.ReadCloser, error) {
	return nil, shequ.Errorf(shequ.EINTERNAL, "not in this test")
}
func (airAtOnce) Cue(_ context.Context, _ int64, c Cue) error {
	c.OnAir(c.At, 1)
	return nil
}
func (airAtOnce) InterruptLive(context.Context, []int64, io.ReadCloser, bool, func(int64) Cue) error {
	return nil
}

// TestOnceOnlyWritesCarryTheLease: on a node of several, the as-run log,
// the slot's flag and the aired song requests are written only while the
// node leads, and in the lease's context, so that the store commits them
// only while the lease is still this node's (a node that lost its lease
// and has not yet noticed must not write them beside the new leader).
func TestOnceOnlyWritesCarryTheLease(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	clock := shequtest.NewClock(time.Date(2026, 12, 7, 6, 59, 30, 0, loc))
	slot := func(id int64, start string) Slot {
		return Slot{ID: id, CommunityID: 1, ZoneIDs: []int64{10}, Days: []int{1, 2, 3, 4, 5, 6, 7}, Start: start, Minutes: 20}
	}
	store := &fencedStore{programme: Programme{CommunityID: 1, Location: loc, Zones: []Zone{{ID: 10, CommunityID: 1}},
		Rundowns: map[int64][]Item{1: {{Kind: ItemChime}}, 2: {{Kind: ItemChime}}, 3: {{Kind: ItemChime}}}}}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := NewScheduler(store, airAtOnce{}, airAtOnce{}, clock, quiet)
	s.Follow()
	ctx := t.Context()

	// Not leading: the slot is played, nothing once-only is written.
	store.programme.Slots = []Slot{slot(1, "07:00")}
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if w := store.take(); len(w) != 0 {
		t.Fatalf("a node that does not lead wrote %v", w)
	}

	// Leading: each write in the lease's context.
	leadCtx, endLease := context.WithCancel(jobs.WithFence(ctx, jobs.Fence{Lease: "broadcast", Holder: "node-a"}))
	led := make(chan struct{})
	go func() { defer close(led); s.Lead(leadCtx) }()
	for !s.leads() {
		time.Sleep(time.Millisecond)
	}
	store.programme.Slots = []Slot{slot(1, "07:00"), slot(2, "07:05")}
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	got := store.take()
	want := []string{"flag node-a", "as-run node-a", "aired node-a"}
	if len(got) != len(want) {
		t.Fatalf("leading, the writes were %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("leading, the writes were %v, want %v", got, want)
		}
	}

	// The lease lost: nothing once-only is written any more.
	endLease()
	<-led
	store.programme.Slots = []Slot{slot(1, "07:00"), slot(2, "07:05"), slot(3, "06:59")}
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if w := store.take(); len(w) != 0 {
		t.Fatalf("after the lease ended the node wrote %v", w)
	}
}
