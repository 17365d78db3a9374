package sqlstore

import "time"

// fixedClock reads one moment.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// AsOf returns a copy of the store whose clock reads t, for writing a
// history whose records must be dated when they happened: the demo's
// mediation is opened weeks before its first session, not the day it was
// loaded. The copy shares the connections.
func (s *Store) AsOf(t time.Time) *Store {
	c := *s
	c.clock = fixedClock(t.UTC())
	return &c
}
