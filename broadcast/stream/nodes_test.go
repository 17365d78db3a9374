package stream

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/broadcast/render"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/media/disk"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// savesCounter counts the renders a node saves: the renders it made.
type savesCounter struct {
	*sqlstore.Store
	mu    sync.Mutex
	saves int
}

func (c *savesCounter) SaveRender(ctx context.Context, communityID int64, hash string, a broadcast.Audio, blob media.Media) error {
	c.mu.Lock()
	c.saves++
	c.mu.Unlock()
	return c.Store.SaveRender(ctx, communityID, hash, a, blob)
}

func (c *savesCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.saves
}

// node is one shequ process: its own store, renderer, zone streams and
// scheduler, on the shared database and media store.
type node struct {
	name  string
	st    *sqlstore.Store
	saves *savesCounter
	rend  *render.Renderer
	hub   *Hub
	sched *broadcast.Scheduler
}

// TestTwoNodes: two nodes on one database both feed their listeners the
// slot at 07:00, but only the leader renders it and writes the as-run
// log; an announcement made on one node is heard on the other's stream
// too, and logged once.
func TestTwoNodes(t *testing.T) {
	shequtest.NeedCommand(t, "espeak-ng", "ffmpeg", "ffprobe")
	ctx := t.Context()
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	clock := shequtest.NewClock(time.Date(2026, 12, 1, 6, 58, 0, 0, shanghai))
	dsn := sqlstoretest.DSN(t, sqlstore.SQLite)
	blobs, err := disk.New(t.TempDir())
	must(t, err)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	everyone := auth.Scope{{}}

	setup := sqlstoretest.OpenDSN(t, dsn, clock)
	c := community.Community{Code: "nodes", Name: "测试社区", Timezone: "Asia/Shanghai"}
	must(t, setup.CreateCommunity(ctx, everyone, &c))
	zone := broadcast.Zone{CommunityID: c.ID, Code: "g1", Name: "第1网格"}
	must(t, setup.CreateZone(ctx, everyone, &zone))
	slot := broadcast.Slot{CommunityID: c.ID, ZoneIDs: []int64{zone.ID}, Days: []int{1, 2, 3, 4, 5, 6, 7}, Start: "07:00", Minutes: 20}
	must(t, setup.CreateSlot(ctx, everyone, &slot))
	items := []broadcast.Item{{Kind: broadcast.ItemChime}, {Kind: broadcast.ItemSpeech, Text: "早上好，两个节点同时播出。"}}
	must(t, setup.SetRundown(ctx, everyone, &broadcast.Rundown{SlotID: slot.ID, Items: items}))

	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { stop(); wg.Wait() })
	var nodes []*node
	for _, name := range []string{"a", "b"} {
		n := &node{name: name, st: sqlstoretest.OpenDSN(t, dsn, clock)}
		n.saves = &savesCounter{Store: n.st}
		n.rend = render.New(render.FindTools(), n.saves, blobs, quiet)
		n.rend.Warm()
		t.Cleanup(n.rend.Close)
		n.hub = New(clock, blobs, quiet)
		n.sched = broadcast.NewScheduler(n.st, n.rend, n.hub, clock, quiet)
		n.sched.Follow()
		// Leases by the wall clock: the fake one jumps.
		leases := sqlstoretest.OpenDSN(t, dsn, nil)
		l := &jobs.Leader{Store: leases, Name: "broadcast", Holder: name, TTL: 3 * time.Second, Log: quiet}
		wg.Add(3)
		go func() { defer wg.Done(); n.hub.Run(runCtx) }()
		go func() { defer wg.Done(); l.Run(runCtx, n.sched.Lead) }()
		go func() { defer wg.Done(); n.sched.Run(runCtx) }()
		nodes = append(nodes, n)
	}
	var leader, follower *node
	for deadline := time.Now().Add(10 * time.Second); leader == nil; time.Sleep(50 * time.Millisecond) {
		ls, err := setup.Leases(ctx)
		must(t, err)
		for _, l := range ls {
			if l.Name == "broadcast" {
				for i, n := range nodes {
					if n.name == l.Holder {
						leader, follower = n, nodes[1-i]
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no node leads")
		}
	}
	// The leader renders ahead; the follower takes its audio.
	for deadline := time.Now().Add(60 * time.Second); leader.saves.count() == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the leader did not render the slot")
		}
	}
	items[1].Voice = broadcast.VoiceMandarin
	slotAudio, err := leader.rend.Render(ctx, c.ID, items)
	must(t, err)
	slotFrames, err := leader.hub.load(ctx, slotAudio)
	must(t, err)

	lctx, stopListening := context.WithCancel(ctx)
	defer stopListening()
	var ears []*arrivals
	for _, n := range nodes {
		ch, err := n.hub.Listen(lctx, zone.ID)
		must(t, err)
		ears = append(ears, listenInBackground(ch))
	}
	clock.Advance(2 * time.Minute)
	for i, a := range ears {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if at, _ := a.find(0, slotFrames[:3]); at >= 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s's listener did not get the slot", nodes[i].name)
			}
		}
	}
	if n := follower.saves.count(); n != 0 {
		t.Errorf("the follower rendered %d times", n)
	}

	// An announcement made on the follower: both streams carry it.
	e := broadcast.Emergency{CommunityID: c.ID, ZoneIDs: []int64{zone.ID}, Text: "测试两个节点。", Level: broadcast.LevelUrgent, Status: broadcast.StatusTest, Repeat: 1}
	must(t, follower.st.CreateEmergency(ctx, everyone, &e))
	ref, words := spoken(t, &rig{rend: follower.rend}, e)
	asked := time.Now()
	must(t, follower.sched.Announce(ctx, e))
	for i, a := range ears {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if at, came := a.find(0, ref[words:words+3]); at >= 0 {
				t.Logf("node %s: the words on the air %s after the announcement", nodes[i].name, came.Sub(asked))
				if came.Sub(asked) > 3*time.Second {
					t.Errorf("node %s: the words came %s after the announcement", nodes[i].name, came.Sub(asked))
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s's listener did not hear the announcement", nodes[i].name)
			}
		}
	}
	// One as-run entry for the slot and, once said, one for the
	// announcement, though two nodes played them.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		l, err := setup.ListAsRun(ctx, everyone, broadcast.AsRunFilter{ZoneID: zone.ID})
		must(t, err)
		slots, ems := 0, 0
		for _, r := range l.Items {
			if r.SlotID == slot.ID && r.Status == broadcast.RunPlayed {
				slots++
			}
			if r.EmergencyID == e.ID {
				ems++
			}
		}
		if slots > 1 || ems > 1 {
			t.Fatalf("as-run written by both nodes: %+v", l.Items)
		}
		if slots == 1 && ems == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("as-run: %+v", l.Items)
		}
	}
}
