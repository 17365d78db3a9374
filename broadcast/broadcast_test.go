package broadcast

import (
	"testing"
	"time"

	"github.com/shequ/shequ"
)

func TestSlotValidate(t *testing.T) {
	ok := func() Slot {
		return Slot{CommunityID: 1, ZoneIDs: []int64{1}, Days: []int{1, 2, 3, 4, 5, 6, 7}, Start: "07:00", Minutes: 20}
	}
	tests := []struct {
		name  string
		mod   func(*Slot)
		field string // "" when valid
	}{
		{"daily", func(*Slot) {}, ""},
		{"no zones", func(s *Slot) { s.ZoneIDs = nil }, "zone_ids"},
		{"day 0", func(s *Slot) { s.Days = []int{0} }, "days"},
		{"day 8", func(s *Slot) { s.Days = []int{8} }, "days"},
		{"bad start", func(s *Slot) { s.Start = "7:00" }, "start"},
		{"hour 24", func(s *Slot) { s.Start = "24:00" }, "start"},
		{"no minutes", func(s *Slot) { s.Minutes = 0 }, "minutes"},
		{"past midnight", func(s *Slot) { s.Start = "23:50"; s.Minutes = 20 }, "minutes"},
		{"bad from", func(s *Slot) { s.From = "2026-13-01" }, "from"},
		{"until before from", func(s *Slot) { s.From = "2026-12-02"; s.Until = "2026-12-01" }, "until"},
		{"exception skip", func(s *Slot) { s.Exceptions = []Exception{{Date: "2026-12-25", Skip: true}} }, ""},
		{"exception moves", func(s *Slot) { s.Exceptions = []Exception{{Date: "2026-12-25", Start: "08:00"}} }, ""},
		{"exception both", func(s *Slot) { s.Exceptions = []Exception{{Date: "2026-12-25", Skip: true, Start: "08:00"}} }, "exceptions"},
		{"exception twice", func(s *Slot) {
			s.Exceptions = []Exception{{Date: "2026-12-25", Skip: true}, {Date: "2026-12-25", Start: "08:00"}}
		}, "exceptions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok()
			tt.mod(&s)
			checkField(t, s.Validate(), tt.field)
		})
	}
}

func checkField(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("want valid, got %v", err)
		}
		return
	}
	e, isErr := err.(*shequ.Error)
	if !isErr || e.Code != shequ.EINVALID {
		t.Fatalf("want EINVALID on %s, got %v", field, err)
	}
	if _, ok := e.Fields[field]; !ok {
		t.Fatalf("want a problem with %s, got %v", field, e.Fields)
	}
}

func TestRundownValidate(t *testing.T) {
	tests := []struct {
		name  string
		item  Item
		field string
	}{
		{"speech", Item{Kind: ItemSpeech, Text: "温馨提示"}, ""},
		{"speech empty", Item{Kind: ItemSpeech}, "items[0].text"},
		{"speech yue", Item{Kind: ItemSpeech, Text: "你好", Voice: "yue"}, ""},
		{"speech klingon", Item{Kind: ItemSpeech, Text: "你好", Voice: "tlh"}, "items[0].voice"},
		{"clip by media", Item{Kind: ItemClip, MediaID: 3}, ""},
		{"clip neither", Item{Kind: ItemClip}, "items[0]"},
		{"music", Item{Kind: ItemMusic, TrackID: 1}, ""},
		{"music without track", Item{Kind: ItemMusic}, "items[0].track_id"},
		{"dedication", Item{Kind: ItemDedication, TrackID: 1, Text: "送给妻子"}, ""},
		{"dedication without words", Item{Kind: ItemDedication, TrackID: 1}, "items[0].text"},
		{"chime", Item{Kind: ItemChime}, ""},
		{"chime with text", Item{Kind: ItemChime, Text: "x"}, "items[0]"},
		{"unknown", Item{Kind: "jingle"}, "items[0].kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Rundown{Items: []Item{tt.item}}
			checkField(t, r.Validate(), tt.field)
		})
	}
}

func TestSlotOccurrences(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	weekdays := Slot{ID: 1, ZoneIDs: []int64{7}, Days: []int{1, 2, 3, 4, 5}, Start: "07:00", Minutes: 20,
		From: "2026-11-30", Until: "2026-12-11",
		Exceptions: []Exception{{Date: "2026-12-02", Start: "09:30"}, {Date: "2026-12-03", Skip: true}}}
	evening := Slot{ID: 2, ZoneIDs: []int64{7}, Days: []int{6, 7}, Start: "18:30", Minutes: 20}
	// Monday 30 November to Monday 7 December 2026, Shanghai time.
	from := time.Date(2026, 11, 30, 0, 0, 0, 0, loc)
	got := Between([]Slot{weekdays, evening}, loc, from, from.AddDate(0, 0, 7))
	want := []string{
		"2026-11-30 07:00 Mon 1",
		"2026-12-01 07:00 Tue 1",
		"2026-12-02 09:30 Wed 1", // moved
		// 3 December skipped
		"2026-12-04 07:00 Fri 1",
		"2026-12-05 18:30 Sat 2",
		"2026-12-06 18:30 Sun 2",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d occurrences %v, want %d", len(got), got, len(want))
	}
	for i, o := range got {
		s := o.Start.In(loc).Format("2006-01-02 15:04 Mon") + " " + string(rune('0'+o.SlotID))
		if s != want[i] {
			t.Errorf("occurrence %d: %s, want %s", i, s, want[i])
		}
		if o.End.Sub(o.Start) != 20*time.Minute {
			t.Errorf("occurrence %d lasts %s", i, o.End.Sub(o.Start))
		}
	}
	// 07:00 in Shanghai is 23:00 UTC the day before.
	if got[0].Start != time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC) {
		t.Errorf("first start %s", got[0].Start)
	}
	// Outside From/Until nothing airs.
	if o := Between([]Slot{weekdays}, loc, time.Date(2026, 12, 14, 0, 0, 0, 0, loc), time.Date(2026, 12, 19, 0, 0, 0, 0, loc)); len(o) != 0 {
		t.Errorf("after until: %v", o)
	}
}
