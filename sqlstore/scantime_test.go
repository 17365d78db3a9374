package sqlstore

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestParseStoredTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-12-06 17:58:29.123456789+00:00", time.Date(2026, 12, 6, 17, 58, 29, 123456789, time.UTC)},
		{"2026-12-06 17:58:29+00:00", time.Date(2026, 12, 6, 17, 58, 29, 0, time.UTC)},
		{"2026-12-06 17:58:29.5+08:00", time.Date(2026, 12, 6, 9, 58, 29, 500_000_000, time.UTC)},
		{"2026-12-06T17:58:29.000001-05:30", time.Date(2026, 12, 6, 23, 28, 29, 1000, time.UTC)},
		{"2026-12-06 17:58:29", time.Date(2026, 12, 6, 17, 58, 29, 0, time.UTC)},
		{"2026-12-06 17:58:29Z", time.Date(2026, 12, 6, 17, 58, 29, 0, time.UTC)},
		{"2026-12-06 17:58", time.Date(2026, 12, 6, 17, 58, 0, 0, time.UTC)},
		{"2026-12-06", time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)},
		{"2026-12-06 17:58:29.25 +0800 CST", time.Date(2026, 12, 6, 9, 58, 29, 250_000_000, time.UTC)},
	}
	for _, tt := range tests {
		got, err := parseStoredTime(tt.in)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("parseStoredTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2026-02-31 10:00:00", "2026-12-06 25:00:00", "2026-12-06 17:58:29.+00:00"} {
		if got, err := parseStoredTime(bad); err == nil {
			t.Errorf("parseStoredTime(%q) = %v, want an error", bad, got)
		}
	}
}

// TestParseStoredTimeAgreesWithTimeParse: the fast path reads what the
// driver writes exactly as time.Parse with the driver's layout does.
func TestParseStoredTimeAgreesWithTimeParse(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	zones := []*time.Location{time.UTC, time.FixedZone("", 8*3600), time.FixedZone("", -(3*3600 + 30*60)), time.FixedZone("", 5*3600+45*60)}
	for range 20000 {
		at := time.Unix(r.Int64N(4_000_000_000)-1_000_000_000, 0).Add(time.Duration(r.IntN(1_000_000_000)))
		if r.IntN(4) == 0 {
			at = at.Truncate(time.Second)
		}
		s := at.In(zones[r.IntN(len(zones))]).Format(sqliteTimeLayouts[0])
		want, err := time.Parse(sqliteTimeLayouts[0], s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := parseTimeFast(s)
		if !ok || !got.Equal(want) {
			t.Fatalf("parseTimeFast(%q) = %v, %v; time.Parse says %v", s, got, ok, want)
		}
	}
}

func TestScanTime(t *testing.T) {
	var at time.Time
	var valid bool
	if err := (scanTime{t: &at, valid: &valid}).Scan(nil); err != nil || valid || !at.IsZero() {
		t.Errorf("NULL: %v %v %v", at, valid, err)
	}
	if err := (scanTime{t: &at}).Scan(nil); err == nil {
		t.Error("NULL into a required time: no error")
	}
	want := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, src := range []any{want.In(time.FixedZone("", 3600)), "2026-01-02 03:04:05.000000006+00:00", []byte("2026-01-02 04:04:05.000000006+01:00")} {
		if err := (scanTime{t: &at}).Scan(src); err != nil || !at.Equal(want) || at.Location() != time.UTC {
			t.Errorf("Scan(%v) = %v, %v", src, at, err)
		}
	}
	var p *time.Time
	if err := (scanTimePtr{&p}).Scan("2026-01-02 03:04:05.000000006Z"); err != nil || p == nil || !p.Equal(want) {
		t.Errorf("scanTimePtr: %v %v", p, err)
	}
	if err := (scanTimePtr{&p}).Scan(nil); err != nil || p != nil {
		t.Errorf("scanTimePtr(NULL): %v %v", p, err)
	}
}
