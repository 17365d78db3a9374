package broadcast

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/device"
)

type fakeHealthStore struct {
	addrs  map[int64]string
	open   map[int64]SpeakerTrouble
	raised []SpeakerTrouble
	clears []int64
}

func (f *fakeHealthStore) SpeakerAddresses(context.Context, []int64) (map[int64]string, error) {
	return f.addrs, nil
}

func (f *fakeHealthStore) OpenSpeakerTroubles(context.Context) (map[int64]SpeakerTrouble, error) {
	out := map[int64]SpeakerTrouble{}
	for k, v := range f.open {
		out[k] = v
	}
	return out, nil
}

func (f *fakeHealthStore) RaiseSpeakerTrouble(_ context.Context, t *SpeakerTrouble) error {
	if _, ok := f.open[t.SpeakerID]; ok {
		return nil
	}
	f.open[t.SpeakerID] = *t
	f.raised = append(f.raised, *t)
	return nil
}

func (f *fakeHealthStore) ClearSpeakerTrouble(_ context.Context, id int64, _ time.Time) error {
	if _, ok := f.open[id]; ok {
		delete(f.open, id)
		f.clears = append(f.clears, id)
	}
	return nil
}

// TestSpeakerHealth: a speaker off its zone's stream for the whole 07:00
// slot gets one trouble when the slot ends (the one that listened does
// not); missing the next day's slot too raises no second one; listening
// again clears it. Speakers are matched by their configured address, IP
// or URL.
func TestSpeakerHealth(t *testing.T) {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	p := Programme{CommunityID: 1, Location: shanghai,
		Zones: []Zone{{ID: 10, SpeakerIDs: []int64{1, 2}}},
		Slots: []Slot{{ID: 5, ZoneIDs: []int64{10}, Days: []int{1, 2, 3, 4, 5, 6, 7}, Start: "07:00", Minutes: 20}}}
	st := &fakeHealthStore{addrs: map[int64]string{1: "10.0.0.1", 2: "http://10.0.0.2:8000/zone-g1"}, open: map[int64]SpeakerTrouble{}}
	var listening []Listener
	h := NewHealth(st, func(z Zone) []Listener {
		if z.ID != 10 {
			t.Fatalf("asked about zone %d", z.ID)
		}
		return listening
	})
	reports := &fakeReporter{}
	h.ReportTo(reports)
	at := func(day, hour, minute int) time.Time { return time.Date(2026, 12, day, hour, minute, 0, 0, shanghai) }
	check := func(now time.Time) {
		t.Helper()
		if err := h.Check(t.Context(), []Programme{p}, now); err != nil {
			t.Fatal(err)
		}
	}
	// Between slots nobody listens: no trouble.
	check(at(1, 6, 30))
	listening = []Listener{{Addr: "10.0.0.1"}}
	check(at(1, 7, 5))
	listening = nil
	check(at(1, 7, 15))
	if len(st.raised) != 0 {
		t.Fatalf("trouble during the slot: %+v", st.raised)
	}
	check(at(1, 7, 21))
	check(at(1, 7, 22))
	if len(st.raised) != 1 || st.raised[0].SpeakerID != 2 || st.raised[0].SlotID != 5 || st.raised[0].ZoneID != 10 || !st.raised[0].RaisedAt.Equal(at(1, 7, 20)) {
		t.Fatalf("raised %+v, want one for speaker 2 at 07:20", st.raised)
	}
	// The next day both miss the slot: speaker 1 gets one, 2 keeps its own.
	check(at(2, 7, 10))
	check(at(2, 7, 30))
	if len(st.raised) != 2 || st.raised[1].SpeakerID != 1 {
		t.Fatalf("raised %+v", st.raised)
	}
	// Speaker 2 comes back (its URL's host listening): cleared at once.
	listening = []Listener{{Addr: "10.0.0.2", UserAgent: "speaker"}}
	check(at(2, 9, 0))
	if len(st.clears) != 1 || st.clears[0] != 2 || len(st.open) != 1 {
		t.Fatalf("clears %v, open %v", st.clears, st.open)
	}
	// The registry heard each change once: 1 online, 2 offline, 1
	// offline, 2 online.
	if got, want := strings.Join(reports.said, " "), "1:online 2:offline 1:offline 2:online"; got != want {
		t.Errorf("device reports %q, want %q", got, want)
	}
}

type fakeReporter struct{ said []string }

func (f *fakeReporter) ReportDeviceStatus(_ context.Context, id int64, r device.Result) error {
	f.said = append(f.said, fmt.Sprintf("%d:%s", id, r.Status))
	return nil
}

func TestHostOf(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1": "10.0.0.1", "10.0.0.1:8000": "10.0.0.1", "http://10.0.0.2:8000/zone-g1": "10.0.0.2",
		"[fd00::1]:80": "fd00::1", "fd00::1": "fd00::1", " speaker-3.local ": "speaker-3.local",
	} {
		if got := hostOf(in); got != want {
			t.Errorf("hostOf(%q) = %q, want %q", in, got, want)
		}
	}
}
