package broadcast

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/device"
)

// Speaker health as the broadcast sees it: a loudspeaker is online while
// it listens to its zone's stream. One that was not connected at any
// moment of a whole airing of a slot on its zone gets a trouble, one per
// speaker however many slots it misses; the trouble clears as soon as the
// speaker listens again. Loudspeakers are told apart by the address the
// device registry has for them (an IP address, host:port or URL), matched
// against the listener's address.

// Listener is one connection to a zone's stream.
type Listener struct {
	Addr      string    `json:"addr"` // the client's IP address
	UserAgent string    `json:"user_agent,omitempty"`
	Since     time.Time `json:"since"`
}

// SpeakerTrouble says a loudspeaker was off its zone's stream for a whole
// slot.
type SpeakerTrouble struct {
	ID          int64      `json:"id"`
	CommunityID int64      `json:"community_id"`
	SpeakerID   int64      `json:"speaker_id"`
	ZoneID      int64      `json:"zone_id"`
	SlotID      int64      `json:"slot_id"`
	RaisedAt    time.Time  `json:"raised_at"`
	ClearedAt   *time.Time `json:"cleared_at,omitempty"`
}

// HealthStore is what the speaker health check reads and writes.
type HealthStore interface {
	// SpeakerAddresses returns the configured address of each speaker.
	SpeakerAddresses(ctx context.Context, ids []int64) (map[int64]string, error)
	// OpenSpeakerTroubles returns the troubles not cleared, by speaker.
	OpenSpeakerTroubles(ctx context.Context) (map[int64]SpeakerTrouble, error)
	// RaiseSpeakerTrouble records a trouble unless the speaker has one
	// open.
	RaiseSpeakerTrouble(ctx context.Context, t *SpeakerTrouble) error
	ClearSpeakerTrouble(ctx context.Context, speakerID int64, at time.Time) error
}

// hostOf is the host of a configured address or of a listener's.
func hostOf(addr string) string {
	addr = strings.TrimSpace(addr)
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		addr = u.Host
	}
	if h, _, err := net.SplitHostPort(addr); err == nil {
		addr = h
	}
	return strings.Trim(addr, "[]")
}

// Health checks, each tick, which speakers listen to their zones.
type Health struct {
	store     HealthStore
	listeners func(Zone) []Listener

	mu sync.Mutex
	// seen holds, by airing, the speakers seen listening during it, and
	// the airing itself.
	seen map[string]*watch

	// devices, when set, hears a speaker's status when it changes, so
	// that the device registry, its health wall and the console's
	// trouble incidents know the speakers as they know other devices.
	// It has its own lock: Check holds mu while it raises troubles.
	repMu    sync.Mutex
	devices  device.Reporter
	reported map[int64]string
}

// ReportTo makes h tell r a speaker's status when it changes: online once
// it is heard listening, offline when it missed a whole slot.
func (h *Health) ReportTo(r device.Reporter) {
	h.repMu.Lock()
	defer h.repMu.Unlock()
	h.devices, h.reported = r, map[int64]string{}
}

// report tells the device registry sp's status, if it changed.
func (h *Health) report(ctx context.Context, sp int64, status, reason string, at time.Time) error {
	h.repMu.Lock()
	r, last := h.devices, h.reported[sp]
	h.repMu.Unlock()
	if r == nil || last == status {
		return nil
	}
	res := device.Result{Status: status, Reason: reason, At: at}
	if status == community.DeviceOnline {
		res.Detail = "listening to its zone's stream"
	}
	if err := r.ReportDeviceStatus(ctx, sp, res); err != nil && shequ.ErrorCode(err) != shequ.ENOTFOUND {
		return fmt.Errorf("speaker %d status: %w", sp, err)
	}
	h.repMu.Lock()
	h.reported[sp] = status
	h.repMu.Unlock()
	return nil
}

type watch struct {
	community int64
	o         Occurrence
	zone      int64
	speakers  []int64
	seen      map[int64]bool
}

// NewHealth returns a check of speakers against listeners, which gives a
// zone's listeners (of this node's stream, and of its Icecast mount).
func NewHealth(store HealthStore, listeners func(Zone) []Listener) *Health {
	return &Health{store: store, listeners: listeners, seen: map[string]*watch{}}
}

// Check looks at who listens now: a speaker listening clears its trouble
// and counts as seen for the airings on now; an airing that has ended
// raises a trouble for each of its zone's speakers never seen during it.
func (h *Health) Check(ctx context.Context, programmes []Programme, now time.Time) error {
	var ids []int64
	for _, p := range programmes {
		for _, z := range p.Zones {
			ids = append(ids, z.SpeakerIDs...)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	addrs, err := h.store.SpeakerAddresses(ctx, ids)
	if err != nil {
		return err
	}
	open, err := h.store.OpenSpeakerTroubles(ctx)
	if err != nil {
		return err
	}
	// A speaker is online when it listens to any of its zones' streams:
	// it plays one of them, and a slot on several zones is on each.
	on := map[int64]bool{}
	for _, p := range programmes {
		for _, z := range p.Zones {
			hosts := map[string]bool{}
			for _, l := range h.listeners(z) {
				hosts[hostOf(l.Addr)] = true
			}
			for _, sp := range z.SpeakerIDs {
				if addrs[sp] != "" && hosts[hostOf(addrs[sp])] {
					on[sp] = true
				}
			}
		}
	}
	for sp := range on {
		if err := h.report(ctx, sp, community.DeviceOnline, "", now); err != nil {
			return err
		}
		if _, ok := open[sp]; ok {
			if err := h.store.ClearSpeakerTrouble(ctx, sp, now); err != nil {
				return err
			}
			delete(open, sp)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range programmes {
		zones := map[int64]Zone{}
		for _, z := range p.Zones {
			zones[z.ID] = z
		}
		for _, o := range Between(p.Slots, p.Location, now.Add(-maxSlot), now.Add(time.Second)) {
			if now.Before(o.Start) || !now.Before(o.End) {
				continue
			}
			for _, zid := range o.ZoneIDs {
				key := airingKey(o) + "/" + strconv.FormatInt(zid, 10)
				w := h.seen[key]
				if w == nil {
					w = &watch{community: p.CommunityID, o: o, zone: zid, speakers: zones[zid].SpeakerIDs, seen: map[int64]bool{}}
					h.seen[key] = w
				}
				for _, sp := range w.speakers {
					if on[sp] {
						w.seen[sp] = true
					}
				}
			}
		}
	}
	for key, w := range h.seen {
		if now.Before(w.o.End) {
			continue
		}
		delete(h.seen, key)
		for _, sp := range w.speakers {
			if w.seen[sp] {
				continue
			}
			if _, ok := open[sp]; ok {
				continue // one trouble per speaker
			}
			t := SpeakerTrouble{CommunityID: w.community, SpeakerID: sp, ZoneID: w.zone, SlotID: w.o.SlotID, RaisedAt: w.o.End}
			if err := h.store.RaiseSpeakerTrouble(ctx, &t); err != nil {
				return err
			}
			open[sp] = t
			if err := h.report(ctx, sp, community.DeviceOffline, "not listening to its zone's stream during a whole slot", w.o.End); err != nil {
				return err
			}
		}
	}
	return nil
}
