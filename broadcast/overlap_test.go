package broadcast

import "testing"

func TestSlotOverlaps(t *testing.T) {
	base := Slot{CommunityID: 1, ZoneIDs: []int64{1, 2}, Days: []int{1, 3}, Start: "07:00", Minutes: 30}
	tests := []struct {
		name string
		o    Slot
		want bool
	}{
		{"same time, shared zone and day", Slot{ZoneIDs: []int64{2}, Days: []int{3}, Start: "07:10", Minutes: 30}, true},
		{"ends as the other starts", Slot{ZoneIDs: []int64{1}, Days: []int{1}, Start: "06:30", Minutes: 30}, false},
		{"starts as the other ends", Slot{ZoneIDs: []int64{1}, Days: []int{1}, Start: "07:30", Minutes: 30}, false},
		{"inside it", Slot{ZoneIDs: []int64{1}, Days: []int{1}, Start: "07:05", Minutes: 5}, true},
		{"other zone", Slot{ZoneIDs: []int64{3}, Days: []int{1}, Start: "07:00", Minutes: 30}, false},
		{"other day", Slot{ZoneIDs: []int64{1}, Days: []int{2, 4}, Start: "07:00", Minutes: 30}, false},
		{"ending on a date, against an open slot", Slot{ZoneIDs: []int64{1}, Days: []int{1}, Start: "07:00", Minutes: 30, Until: "2026-01-31"}, true},
		// 2026-12-07 is a Monday; 2026-12-08 to 12-09 holds no Monday but a Wednesday.
		{"short run on a shared weekday", Slot{ZoneIDs: []int64{1}, Days: []int{1, 3}, Start: "07:00", Minutes: 30, From: "2026-12-08", Until: "2026-12-09"}, true},
		{"short run without a shared weekday", Slot{ZoneIDs: []int64{1}, Days: []int{1}, Start: "07:00", Minutes: 30, From: "2026-12-08", Until: "2026-12-13"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := base.Overlaps(tt.o); got != tt.want {
				t.Errorf("Overlaps = %v, want %v", got, tt.want)
			}
			if got := tt.o.Overlaps(base); got != tt.want {
				t.Errorf("reversed Overlaps = %v, want %v", got, tt.want)
			}
		})
	}

	// Date ranges that do not meet never clash.
	a := Slot{ZoneIDs: []int64{1}, Days: []int{1}, Start: "07:00", Minutes: 30, From: "2026-01-01", Until: "2026-01-31"}
	b := Slot{ZoneIDs: []int64{1}, Days: []int{1}, Start: "07:00", Minutes: 30, From: "2026-02-01"}
	if a.Overlaps(b) || b.Overlaps(a) {
		t.Error("January and from February on overlap")
	}
}
