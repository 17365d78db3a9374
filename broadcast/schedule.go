package broadcast

import (
	"slices"
	"time"
)

// Occurrence is one airing of a slot: its start and end as instants.
type Occurrence struct {
	SlotID  int64
	ZoneIDs []int64
	Start   time.Time
	End     time.Time
}

// isoWeekday is 1 for Monday … 7 for Sunday.
func isoWeekday(t time.Time) int {
	if d := int(t.Weekday()); d != 0 {
		return d
	}
	return 7
}

// On returns the slot's airing on the calendar day of day in loc, if it
// airs then: its weekday is one of Days, the date lies within From and
// Until, and no exception skips it (an exception may move its start).
func (s Slot) On(day time.Time, loc *time.Location) (Occurrence, bool) {
	day = day.In(loc)
	date := day.Format(time.DateOnly)
	if (s.From != "" && date < s.From) || (s.Until != "" && date > s.Until) {
		return Occurrence{}, false
	}
	if !slices.Contains(s.Days, isoWeekday(day)) {
		return Occurrence{}, false
	}
	start := s.Start
	for _, e := range s.Exceptions {
		if e.Date == date {
			if e.Skip {
				return Occurrence{}, false
			}
			start = e.Start
		}
	}
	m, ok := ParseClock(start)
	if !ok {
		return Occurrence{}, false
	}
	at := time.Date(day.Year(), day.Month(), day.Day(), m/60, m%60, 0, 0, loc)
	return Occurrence{SlotID: s.ID, ZoneIDs: s.ZoneIDs, Start: at.UTC(), End: at.Add(time.Duration(s.Minutes) * time.Minute).UTC()}, true
}

// Between returns the airings of slots that start in [from, to), in order
// of start then slot id.
func Between(slots []Slot, loc *time.Location, from, to time.Time) []Occurrence {
	var out []Occurrence
	first := from.In(loc)
	day := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, loc)
	for ; day.Before(to); day = day.AddDate(0, 0, 1) {
		for _, s := range slots {
			o, ok := s.On(day, loc)
			if ok && !o.Start.Before(from) && o.Start.Before(to) {
				out = append(out, o)
			}
		}
	}
	slices.SortFunc(out, func(a, b Occurrence) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return int(a.SlotID - b.SlotID)
	})
	return out
}

// Next returns the first airing, starting after after and within a week,
// of the slots that play on zone.
func Next(slots []Slot, loc *time.Location, after time.Time, zoneID int64) (Occurrence, bool) {
	for _, o := range Between(slots, loc, after, after.AddDate(0, 0, 8)) {
		if o.Start.After(after) && slices.Contains(o.ZoneIDs, zoneID) {
			return o, true
		}
	}
	return Occurrence{}, false
}

// ZonesFor returns the zones whose every loudspeaker stands in one of
// grids (a grid's notice is read on its grid's zone, not on the zone of
// all), or, with community, every zone. gridOf gives each speaker's grid.
func ZonesFor(zones []Zone, gridOf map[int64]int64, community bool, grids []int64) []int64 {
	var out []int64
	for _, z := range zones {
		in := community || (len(z.SpeakerIDs) > 0 && !slices.ContainsFunc(z.SpeakerIDs, func(sp int64) bool { return !slices.Contains(grids, gridOf[sp]) }))
		if in {
			out = append(out, z.ID)
		}
	}
	return out
}

// ZoneGroup is zones of an airing that play the same items.
type ZoneGroup struct {
	ZoneIDs []int64
	Items   []Item
}

// GroupZones splits an airing's zones by the items each plays (items kept
// to some zones make them differ), in the order of zones.
func GroupZones(zones []int64, items []Item) []ZoneGroup {
	var out []ZoneGroup
	for _, z := range zones {
		its := ItemsFor(items, z)
		i := slices.IndexFunc(out, func(g ZoneGroup) bool { return sameItems(g.Items, its) })
		if i < 0 {
			out = append(out, ZoneGroup{Items: its})
			i = len(out) - 1
		}
		out[i].ZoneIDs = append(out[i].ZoneIDs, z)
	}
	return out
}

func sameItems(a, b []Item) bool {
	return slices.EqualFunc(a, b, func(x, y Item) bool {
		return x.Kind == y.Kind && x.Text == y.Text && x.Voice == y.Voice && x.MediaID == y.MediaID && x.TrackID == y.TrackID &&
			x.DedicationID == y.DedicationID && x.NoticeID == y.NoticeID && x.From == y.From && slices.Equal(x.ZoneIDs, y.ZoneIDs)
	})
}
