package sqlstore

import (
	"math/rand/v2"
	"testing"
	"time"
)

// parseStoredTime reads what the SQLite driver writes as time.Parse
// does, and refuses what is not that layout.
func TestParseStoredTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		at := time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)*int64(rng.IntN(2))).In(time.FixedZone("", 60*(rng.IntN(26*60)-13*60)))
		s := at.Format("2006-01-02 15:04:05.999999999-07:00")
		got, ok := parseStoredTime(s)
		if !ok || !got.Equal(at) || got.Location() != time.UTC {
			t.Fatalf("%s: got %v, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "2026-11-28", "2026-11-28 09:00:00", "2026-11-28 09:00:00.+00:00", "2026-04-31 09:00:00+00:00", "2026-11-28 24:00:00+00:00",
		"2026-11-28 09:00:00+0000", "2026-11-28 09:00:00 +0000 UTC", "2026-1x-28 09:00:00+00:00"} {
		if got, ok := parseStoredTime(s); ok {
			t.Errorf("%q read as %v", s, got)
		}
	}
	if got, ok := parseStoredTime("2026-11-28T09:00:00Z"); !ok || !got.Equal(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("Z: %v %v", got, ok)
	}
}
