package broadcast

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shequ/shequ"
)

// Cue is audio put on a zone's stream: it starts at At by the
// scheduler's clock (as soon as the zone is free after that), unless
// Until has passed by then.
type Cue struct {
	// Key names the cue; a cue of the same key replaces it while it has
	// not started.
	Key   string
	At    time.Time
	Until time.Time
	Audio Audio
	// OnAir is called when the cue starts, with how many listen to the
	// zone then; OnEnd when it has played to its end, with the same and
	// how long it played; OnMiss when it is dropped unplayed.
	OnAir  func(at time.Time, listeners int)
	OnEnd  func(at time.Time, listeners int, played time.Duration)
	OnMiss func()
}

// Player puts audio on the zones' streams.
type Player interface {
	// Cue schedules audio on a zone.
	Cue(ctx context.Context, zoneID int64, c Cue) error
	// InterruptLive plays audio still being made (MP3 of the stream
	// format, read from src as it comes, src closed at its end or on
	// error) on the zones next: urgent at
	// once, cutting into what plays (which resumes after), otherwise when
	// the current item of what plays ends. cue gives each zone's cue.
	InterruptLive(ctx context.Context, zoneIDs []int64, src io.ReadCloser, urgent bool, cue func(zoneID int64) Cue) error
}

// Renderer renders items to audio: ahead of air, whole (Render), or at
// at once as it is spoken (Speak, speech only, after an opening tone).
type Renderer interface {
	Render(ctx context.Context, communityID int64, items []Item) (Audio, error)
	// Rendered returns the audio of items if it was rendered before
	// (ENOTFOUND if not), rendering nothing.
	Rendered(ctx context.Context, communityID int64, items []Item) (Audio, error)
	Speak(ctx context.Context, tone string, items []Item) (io.ReadCloser, error)
}

// SchedulerStore is what the scheduler reads and writes.
type SchedulerStore interface {
	Programmes(ctx context.Context) ([]Programme, error)
	FlagSlot(ctx context.Context, id int64, flag string) error
	RecordAsRun(ctx context.Context, r *AsRun) error
	// Aired records that a slot went out with items (song requests among
	// them have aired).
	Aired(ctx context.Context, slotID int64, items []Item, at time.Time) error
	// EmergenciesSince lists the announcements made from since on, so
	// that every node puts them on its own listeners' streams.
	EmergenciesSince(ctx context.Context, since time.Time) ([]Emergency, error)
}

// Lead is how far ahead of its start a slot is rendered and cued.
const Lead = 10 * time.Minute

// maxSlot is the longest a slot may run (see Slot.Validate): airings that
// started up to this long ago may still be on.
const maxSlot = 180 * time.Minute

// Scheduler renders each airing of the programme ahead of its start and
// cues it on its zones; what went out, and what could not, goes to the
// as-run log, and a slot that cannot be rendered is flagged.
//
// With several nodes, every node runs a scheduler that feeds its own
// listeners, and one of them leads (see Follow and Lead): the leader
// renders ahead, writes the as-run log, flags slots and marks song
// requests aired; the others play what it rendered (rendering it
// themselves only if it is not there a minute before the start) and pick
// up announcements made on other nodes within a second.
type Scheduler struct {
	store  SchedulerStore
	render Renderer
	player Player
	clock  shequ.Clock
	log    *slog.Logger

	// follower says another node may lead.
	follower atomic.Bool
	// leadCtx is the context Lead runs in, while it runs: it carries the
	// lease's fence (jobs.Fence), so that a once-only write made in it
	// commits only while this node still holds the lease. A node that lost
	// the lease but has not yet noticed must not write the as-run log a
	// second time beside the new leader.
	leadCtx atomic.Pointer[context.Context]
	// health checks the speakers, when set (WatchSpeakers).
	health *Health

	mu sync.Mutex
	// announced are the announcements this node put on the air, by id.
	announced map[int64]time.Time
	// prepared holds, by airing, the items it was cued with (as JSON),
	// or the error that kept it from being cued.
	prepared map[string]prepared
}

type prepared struct {
	items string
	err   string
	start time.Time
	// zones are the zones it was cued on.
	zones []int64
	// tried is when it was last rendered; a failed render is tried again
	// a minute later.
	tried time.Time
	// recorded says the failure is on the as-run log.
	recorded bool
}

// NewScheduler returns a scheduler; Run starts it.
func NewScheduler(store SchedulerStore, render Renderer, player Player, clock shequ.Clock, log *slog.Logger) *Scheduler {
	if log == nil {
		log = slog.Default()
	}
	return &Scheduler{store: store, render: render, player: player, clock: clock, log: log, prepared: map[string]prepared{}, announced: map[int64]time.Time{}}
}

// Follow makes the scheduler one of several nodes': it does the once-only
// work only while Lead runs.
func (s *Scheduler) Follow() { s.follower.Store(true) }

// Lead is the chore of jobs.Leader: while it runs, this node leads.
func (s *Scheduler) Lead(ctx context.Context) {
	s.leadCtx.Store(&ctx)
	defer s.leadCtx.Store(nil)
	<-ctx.Done()
}

// leads reports whether this node does the once-only work.
func (s *Scheduler) leads() bool {
	_, ok := s.leading(context.Background())
	return ok
}

// leading returns the context once-only work is done in: the leader's
// (with its fence) on a node of several, alone the one given; ok is false
// when this node does not lead.
func (s *Scheduler) leading(alone context.Context) (context.Context, bool) {
	if !s.follower.Load() {
		return alone, true
	}
	if p := s.leadCtx.Load(); p != nil {
		return *p, true
	}
	return nil, false
}

// onceOnly returns the context for one once-only write, bounded to ten
// seconds; ok is false when this node does not lead.
func (s *Scheduler) onceOnly() (ctx context.Context, cancel context.CancelFunc, ok bool) {
	parent, ok := s.leading(context.Background())
	if !ok {
		return nil, nil, false
	}
	ctx, cancel = context.WithTimeout(parent, 10*time.Second)
	return ctx, cancel, true
}

// WatchSpeakers makes the leading node check, every tick, that the
// zones' loudspeakers listen (see Health).
func (s *Scheduler) WatchSpeakers(h *Health) { s.health = h }

// Run looks at the programme every second until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	s.tickLogged(ctx)
	shequ.Every(ctx, time.Second, s.tickLogged)
}

func (s *Scheduler) tickLogged(ctx context.Context) {
	if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("broadcast scheduler", "err", err)
	}
}

func airingKey(o Occurrence) string {
	return strconv.FormatInt(o.SlotID, 10) + "@" + strconv.FormatInt(o.Start.Unix(), 10)
}

// Tick prepares the airings that start within Lead (or are on now) and
// were not prepared with their current items.
func (s *Scheduler) Tick(ctx context.Context) error {
	now := s.clock.Now()
	if err := s.pickUp(ctx); err != nil {
		return err
	}
	programmes, err := s.store.Programmes(ctx)
	if err != nil {
		return err
	}
	if hctx, ok := s.leading(ctx); ok && s.health != nil {
		if err := s.health.Check(hctx, programmes, now); err != nil {
			s.log.Error("speaker health", "err", err)
		}
	}
	for _, p := range programmes {
		for _, o := range Between(p.Slots, p.Location, now.Add(-maxSlot), now.Add(Lead)) {
			if !o.End.After(now) {
				continue
			}
			groups := GroupZones(o.ZoneIDs, ItemsOn(p.Rundowns[o.SlotID], o.Start.In(p.Location).Format(time.DateOnly)))
			for _, g := range groups {
				key := airingKey(o)
				if len(groups) > 1 {
					// Zones that play different items (a grid's notice)
					// are rendered and cued apart.
					key += "/" + strings.Trim(strings.Join(strings.Fields(fmt.Sprint(g.ZoneIDs)), ","), "[]")
				}
				part := o
				part.ZoneIDs = g.ZoneIDs
				s.tickAiring(ctx, p.CommunityID, part, key, g.Items, now)
			}
		}
	}
	s.forget(now)
	return nil
}

// tickAiring prepares one airing on some of its zones, unless it was
// prepared with the same items.
func (s *Scheduler) tickAiring(ctx context.Context, community int64, o Occurrence, key string, items []Item, now time.Time) {
	b, _ := json.Marshal(items)
	s.mu.Lock()
	prev, seen := s.prepared[key]
	started := !now.Before(o.Start) && s.cuedLocked(o)
	s.mu.Unlock()
	if started && (!seen || prev.err == "") {
		// On the air already: a rundown changed since (a song
		// request or notice that aired left it) waits for the
		// next airing rather than playing the slot again.
		return
	}
	if seen && prev.items == string(b) && (prev.err == "" || now.Sub(prev.tried) < time.Minute) {
		if prev.err != "" && !prev.recorded && !now.Before(o.Start) {
			s.missed(community, o, key, prev.err)
		}
		return
	}
	if !s.leads() && now.Before(o.Start.Add(-time.Minute)) {
		// The leader renders it: take its audio when it is there.
		a, err := s.render.Rendered(ctx, community, items)
		if err != nil {
			return
		}
		s.cue(ctx, community, o, key, items, string(b), now, a)
		return
	}
	s.prepare(ctx, community, o, key, items, string(b), now)
}

// cuedLocked reports whether o's airing was cued on some of o's zones;
// s.mu is held.
func (s *Scheduler) cuedLocked(o Occurrence) bool {
	base := airingKey(o)
	for k, p := range s.prepared {
		if p.err == "" && (k == base || strings.HasPrefix(k, base+"/")) &&
			slices.ContainsFunc(p.zones, func(z int64) bool { return slices.Contains(o.ZoneIDs, z) }) {
			return true
		}
	}
	return false
}

// prepare renders an airing and cues it on its zones, or flags its slot.
func (s *Scheduler) prepare(ctx context.Context, community int64, o Occurrence, key string, items []Item, itemsJSON string, now time.Time) {
	a, err := s.render.Render(ctx, community, items)
	if err != nil && ctx.Err() != nil {
		return // shutting down: the render was stopped, the slot is not at fault
	}
	if err == nil && len(items) == 0 {
		err = shequ.Errorf(shequ.EINVALID, "the rundown is empty")
	}
	s.mu.Lock()
	p := prepared{items: itemsJSON, start: o.Start, zones: o.ZoneIDs, tried: now, recorded: s.prepared[key].recorded}
	s.mu.Unlock()
	if err != nil {
		p.err = shequ.ErrorMessage(err)
		if shequ.ErrorCode(err) == shequ.EINTERNAL {
			p.err = err.Error()
		}
		s.log.Error("slot cannot be rendered", "slot", o.SlotID, "start", o.Start, "err", err)
		s.flagSlot(o.SlotID, p.err)
		s.mu.Lock()
		s.prepared[key] = p
		s.mu.Unlock()
		return
	}
	s.flagSlot(o.SlotID, "")
	s.cue(ctx, community, o, key, items, itemsJSON, now, a)
}

// cue puts rendered audio of an airing on its zones.
func (s *Scheduler) cue(ctx context.Context, community int64, o Occurrence, key string, items []Item, itemsJSON string, now time.Time, a Audio) {
	s.mu.Lock()
	p := prepared{items: itemsJSON, start: o.Start, zones: o.ZoneIDs, tried: now, recorded: s.prepared[key].recorded}
	s.mu.Unlock()
	for _, z := range o.ZoneIDs {
		// The zone's cue is named by the airing, not by the zones it was
		// rendered with: a regrouped airing replaces what was cued.
		c := Cue{Key: airingKey(o), At: o.Start, Until: o.End, Audio: a,
			OnAir: func(at time.Time, listeners int) {
				s.asRun(community, AsRun{ZoneID: z, SlotID: o.SlotID, Kind: RunSlot, Status: RunPlayed, StartedAt: at, Seconds: a.Seconds,
					Detail: fmt.Sprintf("%d items", len(items)), Listeners: listeners})
				ctx, cancel, ok := s.onceOnly()
				if !ok {
					return
				}
				defer cancel()
				if err := s.store.Aired(ctx, o.SlotID, items, at); err != nil {
					s.log.Error("song requests aired", "slot", o.SlotID, "err", err)
				}
			},
			OnMiss: func() {
				s.asRun(community, AsRun{ZoneID: z, SlotID: o.SlotID, Kind: RunSlot, Status: RunSkipped, StartedAt: o.Start, Detail: "the zone was busy until the slot ended"})
			}}
		if err := s.player.Cue(ctx, z, c); err != nil {
			s.log.Error("cue slot", "slot", o.SlotID, "zone", z, "err", err)
			s.asRun(community, AsRun{ZoneID: z, SlotID: o.SlotID, Kind: RunSlot, Status: RunFailed, StartedAt: o.Start, Detail: err.Error()})
		}
	}
	s.mu.Lock()
	s.prepared[key] = p
	s.mu.Unlock()
}

// missed records, once, that an airing that could not be rendered did not
// go out.
func (s *Scheduler) missed(community int64, o Occurrence, key, why string) {
	s.mu.Lock()
	p := s.prepared[key]
	p.recorded = true
	s.prepared[key] = p
	s.mu.Unlock()
	for _, z := range o.ZoneIDs {
		s.asRun(community, AsRun{ZoneID: z, SlotID: o.SlotID, Kind: RunSlot, Status: RunFailed, StartedAt: o.Start, Detail: why})
	}
}

// asRun writes the as-run log, on the leading node only.
func (s *Scheduler) asRun(community int64, r AsRun) {
	ctx, cancel, ok := s.onceOnly()
	if !ok {
		return
	}
	defer cancel()
	r.CommunityID = community
	if err := s.store.RecordAsRun(ctx, &r); err != nil {
		s.log.Error("as-run", "zone", r.ZoneID, "err", err)
	}
}

// flagSlot sets (or, with "", clears) the flag of a slot that cannot be
// rendered, on the leading node only.
func (s *Scheduler) flagSlot(id int64, flag string) {
	ctx, cancel, ok := s.onceOnly()
	if !ok {
		return
	}
	defer cancel()
	if err := s.store.FlagSlot(ctx, id, flag); err != nil {
		s.log.Error("flag slot", "slot", id, "flag", flag, "err", err)
	}
}

// forget drops what it knows of airings that started more than a day ago.
func (s *Scheduler) forget(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, p := range s.prepared {
		if now.Sub(p.start) > 24*time.Hour {
			delete(s.prepared, k)
		}
	}
}

// announceFor bounds how long an announcement may take to say.
const announceFor = 10 * time.Minute

// Announce puts an emergency announcement on its zones at once: its tone
// and words are spoken straight into the zones' streams as they are
// synthesised (see Renderer.Speak), so that an urgent one, which cuts
// into what plays (resuming it after), is heard within 2 seconds. A
// non-urgent one follows the current item. It goes on the as-run log when
// it has been said, or failed.
func (s *Scheduler) Announce(ctx context.Context, e Emergency) error {
	now := s.clock.Now()
	s.mu.Lock()
	_, done := s.announced[e.ID]
	if !done && e.ID != 0 {
		s.announced[e.ID] = now
	}
	s.mu.Unlock()
	if done {
		return nil
	}
	failed := func(err error) error {
		s.log.Error("emergency cannot be spoken", "emergency", e.ID, "err", err)
		for _, z := range e.ZoneIDs {
			s.asRun(e.CommunityID, AsRun{ZoneID: z, EmergencyID: e.ID, Kind: RunEmergency, Status: RunFailed, StartedAt: now, Detail: err.Error()})
		}
		return err
	}
	// The announcement outlives the request that asked for it.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), announceFor)
	src, err := s.render.Speak(sctx, e.Tone(), e.Script())
	if err != nil {
		cancel()
		return failed(err)
	}
	cue := func(z int64) Cue {
		return Cue{Key: "emergency-" + strconv.FormatInt(e.ID, 10), At: now,
			OnEnd: func(at time.Time, listeners int, played time.Duration) {
				s.asRun(e.CommunityID, AsRun{ZoneID: z, EmergencyID: e.ID, Kind: RunEmergency, Status: RunPlayed, StartedAt: at, Seconds: played.Seconds(),
					Detail: e.Level + " " + e.Status, Listeners: listeners})
			},
			OnMiss: func() {
				s.asRun(e.CommunityID, AsRun{ZoneID: z, EmergencyID: e.ID, Kind: RunEmergency, Status: RunSkipped, StartedAt: now, Detail: "the stream stopped before it was said"})
			}}
	}
	src = closeThen{src, cancel}
	if err := s.player.InterruptLive(sctx, e.ZoneIDs, src, e.Level == LevelUrgent, cue); err != nil {
		_ = src.Close()
		return failed(err)
	}
	return nil
}

// pickUpWindow is how far back each look for announcements made on other
// nodes reaches. It must exceed the time between an announcement's
// created_at (stamped from its node's clock before it commits) and the
// moment it is visible here: commit delay plus clock skew between nodes.
// It is also how old an announcement a node that starts late still plays.
const pickUpWindow = 2 * time.Minute

// announcedFor is how long an id stays in the played set. It must exceed
// pickUpWindow plus the clock skew between nodes, so that no row the look
// can still return has been forgotten.
const announcedFor = time.Hour

// pickUp announces, on this node, the announcements made on others.
//
// It reads the whole recent window every tick rather than from the newest
// created_at seen: created_at is stamped before commit, from the clock of
// the node that made the announcement, so a row can become visible after
// one stamped later (a slow commit, a node whose clock is behind), and a
// cursor on created_at, or on the id (PostgreSQL hands ids out before
// commit too), would pass over it for good. Within the window a late
// commit is read on the next tick after it is visible; the played set
// (announced, kept longer than the window) makes sure it is said once.
func (s *Scheduler) pickUp(ctx context.Context) error {
	now := s.clock.Now()
	es, err := s.store.EmergenciesSince(ctx, now.Add(-pickUpWindow))
	if err != nil {
		return err
	}
	for _, e := range es {
		// Announce skips the ids already in the played set.
		if err := s.Announce(ctx, e); err != nil {
			s.log.Error("announcement from another node", "emergency", e.ID, "err", err)
		}
	}
	s.mu.Lock()
	for id, at := range s.announced {
		if now.Sub(at) > announcedFor {
			delete(s.announced, id)
		}
	}
	s.mu.Unlock()
	return nil
}

// closeThen calls after once it is closed.
type closeThen struct {
	io.ReadCloser
	after func()
}

func (c closeThen) Close() error {
	err := c.ReadCloser.Close()
	c.after()
	return err
}
