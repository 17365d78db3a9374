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
