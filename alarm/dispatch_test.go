package alarm

import (
	"testing"
	"time"
)

func TestCandidates(t *testing.T) {
	now := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	home := [2]float64{29.7200, 106.6300}
	staff := []StaffPosition{
		{UserID: 2, Name: "far", Lat: 29.7300, Lng: 106.6300, OnDuty: true, ReportedAt: now},
		{UserID: 3, Name: "near", Lat: 29.7201, Lng: 106.6301, OnDuty: true, ReportedAt: now},
		{UserID: 4, Name: "off duty", Lat: 29.7200, Lng: 106.6300, OnDuty: false, ReportedAt: now},
		{UserID: 5, Name: "stale", Lat: 29.7200, Lng: 106.6300, OnDuty: true, ReportedAt: now.Add(-3 * time.Hour)},
		{UserID: 9, Name: "grid worker", Lat: 29.8, Lng: 106.7, OnDuty: true, ReportedAt: now},
	}
	got := Candidates(home[0], home[1], 9, "grid worker", staff, nil, now)
	want := []int64{9, 3, 2}
	if len(got) != len(want) {
		t.Fatalf("candidates %+v", got)
	}
	for i, c := range got {
		if c.UserID != want[i] {
			t.Errorf("candidate %d is %d, want %d", i, c.UserID, want[i])
		}
	}
	if got[0].Reason != "grid_worker" || got[1].Meters < 5 || got[1].Meters > 30 {
		t.Errorf("reasons and distances %+v", got)
	}
	// Once the grid worker let it pass, the nearest comes first.
	got = Candidates(home[0], home[1], 9, "grid worker", staff, []int64{9}, now)
	if got[0].UserID != 3 {
		t.Errorf("after the grid worker: %+v", got)
	}
	if d := Distance(29.72, 106.63, 29.73, 106.63); d < 1100 || d > 1120 {
		t.Errorf("0.01° of latitude is %f m", d)
	}
}

func TestHandlingStats(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC) // 23:00 in Chongqing
	at := func(s int) *time.Time { v := t0.Add(time.Duration(s) * time.Second); return &v }
	incidents := []Incident{
		{OpenedAt: t0, AckAt: at(10), AckBy: 1, DispatchedAt: at(40), ArrivedAt: at(400)},
		{OpenedAt: t0, AckAt: at(30), AckBy: 1, DispatchedAt: at(60)},
		{OpenedAt: t0.Add(10 * time.Hour), AckAt: at(36000 + 20), AckBy: 2},
		{OpenedAt: t0.Add(10 * time.Hour)},
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	ops, days := HandlingStats(incidents, loc)
	if len(ops) != 2 || ops[0].Key != "1" || ops[0].Incidents != 2 || ops[0].AckP50 != 10 || ops[0].AckP90 != 30 || ops[0].ArriveP50 != 400 {
		t.Errorf("by operator %+v", ops)
	}
	if len(days) != 2 || days[0].Key != "2026-11-28" || days[0].Incidents != 2 || days[1].Key != "2026-11-29" || days[1].AckP50 != 20 {
		t.Errorf("by day %+v", days)
	}
}
