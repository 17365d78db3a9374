// Package stream is the embedded delivery of the broadcast: one MP3
// stream per zone, fed by one goroutine per zone and shared by all its
// listeners (the loudspeakers, a browser). The feeder sends frames at
// their pace by the wall clock: the cued audio when its time has come by
// the scheduler's clock, silence in between. All audio is already in the
// stream format (see package mp3), so nothing is encoded per listener.
package stream

import (
	"context"
	"io"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/broadcast/mp3"
	"github.com/shequ/shequ/media"
)

// Chunk is how often the feeder sends: a listener gets the frames of a
// chunk at once, and an urgent announcement waits at most this long for
// its first frame.
const Chunk = 96 * time.Millisecond

// listenerBuffer is how many chunks a listener may fall behind (about 6 s)
// before it is dropped.
const listenerBuffer = 64

// Hub holds the zones' stations.
type Hub struct {
	clock shequ.Clock
	blobs media.Blobs
	log   *slog.Logger

	mu       sync.Mutex
	ctx      context.Context
	stations map[int64]*station
	// frames are the loaded audio by SHA-256, shared by every zone that
	// plays it.
	frames map[string][][]byte
}

// New returns a hub; Run starts its stations.
func New(clock shequ.Clock, blobs media.Blobs, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.Default()
	}
	return &Hub{clock: clock, blobs: blobs, log: log, stations: map[int64]*station{}, frames: map[string][][]byte{}}
}

// Run feeds the stations until ctx ends; stations made before start then.
func (h *Hub) Run(ctx context.Context) {
	h.mu.Lock()
	h.ctx = ctx
	for _, s := range h.stations {
		go s.run(ctx)
	}
	h.mu.Unlock()
	<-ctx.Done()
}

// station returns the zone's station, made and started if need be.
func (h *Hub) station(zone int64) *station {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.stations[zone]
	if s == nil {
		s = &station{hub: h, zone: zone, listeners: map[chan []byte]broadcast.Listener{}}
		h.stations[zone] = s
		if h.ctx != nil {
			go s.run(h.ctx)
		}
	}
	return s
}

// load returns the frames of audio, read from the media store once.
func (h *Hub) load(ctx context.Context, a broadcast.Audio) ([][]byte, error) {
	h.mu.Lock()
	f, ok := h.frames[a.SHA256]
	h.mu.Unlock()
	if ok {
		return f, nil
	}
	b, err := h.blobs.Open(ctx, a.SHA256)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(b)
	b.Close()
	if err != nil {
		return nil, err
	}
	f, err = mp3.Frames(data)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.frames[a.SHA256] = f
	h.mu.Unlock()
	return f, nil
}

// prune forgets loaded audio no station has queued or playing.
func (h *Hub) prune() {
	h.mu.Lock()
	defer h.mu.Unlock()
	used := map[string]bool{}
	for _, s := range h.stations {
		for _, sha := range s.using() {
			used[sha] = true
		}
	}
	for sha := range h.frames {
		if !used[sha] {
			delete(h.frames, sha)
		}
	}
}

// Cue schedules audio on a zone (broadcast.Player).
func (h *Hub) Cue(ctx context.Context, zone int64, c broadcast.Cue) error {
	f, err := h.load(ctx, c.Audio)
	if err != nil {
		return err
	}
	h.station(zone).cue(newItem(c, f))
	return nil
}

// InterruptLive plays audio still being made on the zones next
// (broadcast.Player): its frames are cut from src as they come and go out
// as soon as they are due; should they come slower than they play, the
// zone sends silence until the next one is there.
func (h *Hub) InterruptLive(ctx context.Context, zones []int64, src io.ReadCloser, urgent bool, cue func(int64) broadcast.Cue) error {
	l := &live{}
	go func() {
		r := mp3.NewReader(src)
		for {
			f, err := r.Next()
			if err != nil {
				if err != io.EOF {
					h.log.Error("live audio", "err", err)
				}
				break
			}
			l.mu.Lock()
			l.frames = append(l.frames, f)
			l.mu.Unlock()
		}
		if err := src.Close(); err != nil {
			h.log.Error("live audio", "err", err)
		}
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
	}()
	for _, z := range zones {
		h.station(z).interrupt(&item{Cue: cue(z), live: l}, urgent)
	}
	return nil
}

// Listen returns the zone's stream from now on, in chunks; the channel
// closes when ctx ends or the listener falls behind.
func (h *Hub) Listen(ctx context.Context, zone int64) (<-chan []byte, error) {
	return h.ListenAs(ctx, zone, broadcast.Listener{})
}

// ListenAs is Listen for a listener known by its address (a loudspeaker,
// a phone): the zone's listener list shows it.
func (h *Hub) ListenAs(ctx context.Context, zone int64, who broadcast.Listener) (<-chan []byte, error) {
	s := h.station(zone)
	ch := make(chan []byte, listenerBuffer)
	if who.Since.IsZero() {
		who.Since = h.clock.Now()
	}
	s.mu.Lock()
	s.listeners[ch] = who
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		s.drop(ch)
	}()
	return ch, nil
}

// Listeners returns how many listen to a zone.
func (h *Hub) Listeners(zone int64) int {
	s := h.station(zone)
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.listeners)
}

// ListenerList returns who listens to a zone by address (listeners
// inside shequ, such as the Icecast source, have none and are left out).
func (h *Hub) ListenerList(zone int64) []broadcast.Listener {
	s := h.station(zone)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []broadcast.Listener
	for _, l := range s.listeners {
		if l.Addr != "" {
			out = append(out, l)
		}
	}
	return out
}

// item is cued audio and how far it has played.
type item struct {
	broadcast.Cue
	frames [][]byte
	// live is audio still being made, instead of frames.
	live *live
	pos  int
	// marks are the frames where rundown items begin.
	marks []int
	// began and listeners are when it went on the air, to how many.
	began     time.Time
	listeners int
}

func newItem(c broadcast.Cue, frames [][]byte) *item {
	it := &item{Cue: c, frames: frames}
	for _, m := range c.Audio.Marks {
		it.marks = append(it.marks, int(math.Round(m/mp3.FrameDuration.Seconds())))
	}
	return it
}

// live is audio being made, shared by the zones that play it.
type live struct {
	mu     sync.Mutex
	frames [][]byte
	done   bool
}

// next returns the item's next frame; ok is false when a live item's next
// frame has not come yet, or the item is over.
func (it *item) next() (f []byte, ok bool) {
	if it.live == nil {
		if it.pos >= len(it.frames) {
			return nil, false
		}
		it.pos++
		return it.frames[it.pos-1], true
	}
	it.live.mu.Lock()
	defer it.live.mu.Unlock()
	if it.pos >= len(it.live.frames) {
		return nil, false
	}
	it.pos++
	return it.live.frames[it.pos-1], true
}

// over reports whether the item has played to its end.
func (it *item) over() bool {
	if it.live == nil {
		return it.pos >= len(it.frames)
	}
	it.live.mu.Lock()
	defer it.live.mu.Unlock()
	return it.live.done && it.pos >= len(it.live.frames)
}

// atMark reports whether the item stands between two rundown items.
func (it *item) atMark() bool {
	return slices.Contains(it.marks, it.pos)
}

// station is one zone's feeder.
type station struct {
	hub  *Hub
	zone int64

	mu sync.Mutex
	// queue is the cued audio by start; next is the announcements that
	// play as soon as the zone is free, before the queue.
	queue []*item
	next  []*item
	// playing is what plays; paused what an announcement cut.
	playing *item
	paused  []*item

	listeners map[chan []byte]broadcast.Listener
}

var silence = mp3.Silence()

func (s *station) cue(it *item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = slices.DeleteFunc(s.queue, func(q *item) bool { return q.Key == it.Key })
	if s.playing != nil && s.playing.Key == it.Key {
		return // already on the air: it plays on as it began
	}
	s.queue = append(s.queue, it)
	slices.SortStableFunc(s.queue, func(a, b *item) int { return a.At.Compare(b.At) })
}

func (s *station) interrupt(it *item, urgent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if urgent && s.playing != nil && !s.isAnnouncement(s.playing) {
		s.paused = append(s.paused, s.playing)
		s.playing = nil
		s.start(it)
		return
	}
	if urgent && s.playing == nil {
		s.start(it)
		return
	}
	s.next = append(s.next, it)
}

// isAnnouncement reports whether it came by Interrupt: announcements are
// not cut by other announcements, they follow each other.
func (s *station) isAnnouncement(it *item) bool { return it.Until.IsZero() }

// start puts it on the air; the caller holds mu.
func (s *station) start(it *item) {
	s.playing = it
	if it.pos == 0 {
		it.began, it.listeners = s.hub.clock.Now(), len(s.listeners)
		if it.OnAir != nil {
			go it.OnAir(it.began, it.listeners)
		}
	}
}

// end takes it off the air, played to its end; the caller holds mu.
func (s *station) end(it *item) {
	s.playing = nil
	if it.OnEnd != nil {
		go it.OnEnd(it.began, it.listeners, mp3.Duration(it.pos))
	}
}

// frame returns the next frame to send; the caller holds mu.
func (s *station) frame() []byte {
	if s.playing != nil && s.playing.over() {
		s.end(s.playing)
	}
	if s.playing != nil && len(s.next) > 0 && !s.isAnnouncement(s.playing) && s.playing.atMark() {
		// A non-urgent announcement goes between two items of the slot.
		s.paused = append(s.paused, s.playing)
		s.playing = nil
	}
	if s.playing == nil {
		now := s.hub.clock.Now()
		switch {
		case len(s.next) > 0:
			it := s.next[0]
			s.next = s.next[1:]
			s.start(it)
		case len(s.paused) > 0:
			it := s.paused[len(s.paused)-1]
			s.paused = s.paused[:len(s.paused)-1]
			s.start(it)
		default:
			for len(s.queue) > 0 && !s.queue[0].Until.IsZero() && !now.Before(s.queue[0].Until) {
				if s.queue[0].OnMiss != nil {
					go s.queue[0].OnMiss()
				}
				s.queue = s.queue[1:]
			}
			if len(s.queue) > 0 && !now.Before(s.queue[0].At) {
				it := s.queue[0]
				s.queue = s.queue[1:]
				s.start(it)
			}
		}
	}
	if s.playing == nil {
		return silence
	}
	if f, ok := s.playing.next(); ok {
		return f
	}
	return silence // a live item's next frame is still being made
}

// using lists the audio the station holds.
func (s *station) using() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, group := range [][]*item{s.queue, s.next, s.paused, {s.playing}} {
		for _, it := range group {
			if it != nil {
				out = append(out, it.Audio.SHA256)
			}
		}
	}
	return out
}

func (s *station) drop(ch chan []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.listeners[ch]; ok {
		delete(s.listeners, ch)
		close(ch)
	}
}

// run sends the frames due by the wall clock every Chunk until ctx ends.
func (s *station) run(ctx context.Context) {
	t := time.NewTicker(Chunk)
	defer t.Stop()
	begun := time.Now()
	sent := 0
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			for ch := range s.listeners {
				delete(s.listeners, ch)
				close(ch)
			}
			s.mu.Unlock()
			return
		case <-t.C:
		}
		due := int(time.Since(begun) / mp3.FrameDuration)
		if due-sent > 2*int(time.Second/mp3.FrameDuration) {
			// The machine stalled for seconds: do not flood listeners.
			s.hub.log.Warn("zone stream fell behind", "zone", s.zone, "frames", due-sent)
			sent = due - int(Chunk/mp3.FrameDuration)
		}
		finished := false
		s.mu.Lock()
		chunk := make([]byte, 0, (due-sent)*mp3.FrameBytes)
		for ; sent < due; sent++ {
			was := s.playing
			chunk = append(chunk, s.frame()...)
			finished = finished || (was != nil && was != s.playing)
		}
		for ch := range s.listeners {
			select {
			case ch <- chunk:
			default:
				delete(s.listeners, ch) // too slow: it reconnects
				close(ch)
			}
		}
		s.mu.Unlock()
		if finished {
			s.hub.prune()
		}
	}
}
