package broadcast

import (
	"slices"
	"testing"
	"time"

	"github.com/shequ/shequ"
)

// The rules that put a notice on the air: which zones its audience hears,
// which airing is next, and how zones that play different items are
// rendered apart.
func TestNoticeRules(t *testing.T) {
	// Speakers 1 and 2 stand in grids 10 and 20; zone 3 has both.
	gridOf := map[int64]int64{1: 10, 2: 20}
	zones := []Zone{{ID: 1, SpeakerIDs: []int64{1}}, {ID: 2, SpeakerIDs: []int64{2}}, {ID: 3, SpeakerIDs: []int64{1, 2}}, {ID: 4}}
	for _, tc := range []struct {
		name      string
		community bool
		grids     []int64
		want      []int64
	}{
		{"whole community", true, nil, []int64{1, 2, 3, 4}},
		{"one grid", false, []int64{10}, []int64{1}},
		{"both grids", false, []int64{10, 20}, []int64{1, 2, 3}},
		{"a grid without speakers", false, []int64{30}, nil},
	} {
		if got := ZonesFor(zones, gridOf, tc.community, tc.grids); !slices.Equal(got, tc.want) {
			t.Errorf("%s: zones %v, want %v", tc.name, got, tc.want)
		}
	}

	loc, _ := time.LoadLocation("Asia/Shanghai")
	slots := []Slot{
		{ID: 1, ZoneIDs: []int64{1, 2, 3}, Days: []int{1, 2, 3, 4, 5, 6, 7}, Start: "07:00", Minutes: 20},
		{ID: 2, ZoneIDs: []int64{2}, Days: []int{6}, Start: "18:30", Minutes: 20}, // Saturdays
	}
	sat5pm := time.Date(2026, 11, 28, 17, 0, 0, 0, loc)
	if o, ok := Next(slots, loc, sat5pm, 2); !ok || o.SlotID != 2 || !o.Start.Equal(time.Date(2026, 11, 28, 18, 30, 0, 0, loc)) {
		t.Errorf("zone 2 next: %+v %v", o, ok)
	}
	if o, ok := Next(slots, loc, sat5pm, 1); !ok || o.SlotID != 1 || !o.Start.Equal(time.Date(2026, 11, 29, 7, 0, 0, 0, loc)) {
		t.Errorf("zone 1 next: %+v %v", o, ok)
	}
	if _, ok := Next(slots, loc, sat5pm, 4); ok {
		t.Error("a zone no slot plays on has a next airing")
	}

	items := []Item{{Kind: ItemChime}, {Kind: ItemSpeech, Text: "全体", NoticeID: 7}, {Kind: ItemSpeech, Text: "一网格", NoticeID: 8, ZoneIDs: []int64{1}}}
	groups := GroupZones([]int64{1, 2, 3}, items)
	if len(groups) != 2 || !slices.Equal(groups[0].ZoneIDs, []int64{1}) || len(groups[0].Items) != 3 || !slices.Equal(groups[1].ZoneIDs, []int64{2, 3}) || len(groups[1].Items) != 2 {
		t.Errorf("groups %+v", groups)
	}
	if g := GroupZones([]int64{1, 2}, items[:2]); len(g) != 1 || !slices.Equal(g[0].ZoneIDs, []int64{1, 2}) {
		t.Errorf("zones playing the same items are split: %+v", g)
	}

	bad := Rundown{Items: []Item{{Kind: ItemChime, NoticeID: 7}, {Kind: ItemSpeech, Text: "x", ZoneIDs: []int64{0}}}}
	err := bad.Validate()
	if shequ.ErrorCode(err) != shequ.EINVALID {
		t.Fatalf("bad rundown: %v", err)
	}
	if p := err.(*shequ.Error).Fields; p["items[0].notice_id"] == "" || p["items[1].zone_ids"] == "" {
		t.Errorf("problems %v", p)
	}
}
