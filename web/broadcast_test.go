package web

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestBroadcastProgrammeOverHTTP: the demo's zones and three daily slots,
// a new zone and slot, and a rundown, as the broadcaster; residents see
// none of it.
func TestBroadcastProgrammeOverHTTP(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			env := newTestEnv(t, d)
			var zones shequ.List[broadcast.Zone]
			if st := env.do("broadcaster", http.MethodGet, "/api/v1/broadcast/zones?limit=100", nil, &zones); st != http.StatusOK {
				t.Fatalf("list zones: %d", st)
			}
			if zones.Total != 15 {
				t.Fatalf("demo zones: %d, want 14 grids and all", zones.Total)
			}
			var all broadcast.Zone
			for _, z := range zones.Items {
				if z.Code == "all" {
					all = z
				} else if len(z.SpeakerIDs) != 1 {
					t.Errorf("zone %s has %d speakers", z.Code, len(z.SpeakerIDs))
				}
			}
			if len(all.SpeakerIDs) != 14 {
				t.Fatalf("zone all has %d speakers, want 14", len(all.SpeakerIDs))
			}
			var slots shequ.List[broadcast.Slot]
			env.do("broadcaster", http.MethodGet, "/api/v1/broadcast/slots", nil, &slots)
			var starts []string
			for _, s := range slots.Items {
				starts = append(starts, s.Start)
				if s.Minutes != 20 || len(s.Days) != 7 || len(s.ZoneIDs) != 15 {
					t.Errorf("demo slot %+v", s)
				}
			}
			if len(starts) != 3 || starts[0] != "07:00" || starts[1] != "12:00" || starts[2] != "18:30" {
				t.Fatalf("demo slots start at %v", starts)
			}

			var z broadcast.Zone
			if st := env.do("broadcaster", http.MethodPost, "/api/v1/broadcast/zones", map[string]any{"code": "east", "name": "东片", "speaker_ids": all.SpeakerIDs[:3]}, &z); st != http.StatusCreated {
				t.Fatalf("create zone: %d", st)
			}
			if st, code := env.problemCode("broadcaster", http.MethodPost, "/api/v1/broadcast/zones", map[string]any{"code": "x", "name": "x", "speaker_ids": []int64{1}}); st != http.StatusUnprocessableEntity || code != "invalid" {
				t.Errorf("a camera as a speaker: %d %s", st, code)
			}
			var slot broadcast.Slot
			body := map[string]any{"zone_ids": []int64{z.ID}, "days": []int{6, 7}, "start": "09:00", "minutes": 10, "from": "2026-12-01",
				"exceptions": []map[string]any{{"date": "2026-12-26", "skip": true}}}
			if st := env.do("broadcaster", http.MethodPost, "/api/v1/broadcast/slots", body, &slot); st != http.StatusCreated {
				t.Fatalf("create slot: %d", st)
			}
			if st, _ := env.problemCode("broadcaster", http.MethodPost, "/api/v1/broadcast/slots", map[string]any{"zone_ids": []int64{z.ID}, "days": []int{9}, "start": "25:00", "minutes": 10}); st != http.StatusUnprocessableEntity {
				t.Errorf("bad slot: %d", st)
			}
			items := map[string]any{"items": []map[string]any{{"kind": "chime"}, {"kind": "speech", "text": "周六上午九点义诊", "voice": "yue"}}}
			var r broadcast.Rundown
			if st := env.do("broadcaster", http.MethodPut, "/api/v1/broadcast/slots/"+strconv.FormatInt(slot.ID, 10)+"/rundown", items, &r); st != http.StatusOK {
				t.Fatalf("set rundown: %d", st)
			}
			env.do("operator", http.MethodGet, "/api/v1/broadcast/slots/"+strconv.FormatInt(slot.ID, 10)+"/rundown", nil, &r)
			if len(r.Items) != 2 || r.Items[1].Voice != "yue" {
				t.Fatalf("rundown read back: %+v", r)
			}
			if st, _ := env.problemCode("operator", http.MethodPut, "/api/v1/broadcast/slots/"+strconv.FormatInt(slot.ID, 10)+"/rundown", items); st != http.StatusForbidden {
				t.Errorf("operator writes a rundown: %d", st)
			}
			if st, _ := env.problemCode("resident01", http.MethodGet, "/api/v1/broadcast/slots", nil); st != http.StatusForbidden {
				t.Errorf("resident lists slots: %d", st)
			}
			var runs shequ.List[broadcast.AsRun]
			if st := env.do("broadcaster", http.MethodGet, "/api/v1/broadcast/asrun?zone="+strconv.FormatInt(z.ID, 10), nil, &runs); st != http.StatusOK || runs.Total != 0 {
				t.Errorf("as-run of a new zone: %d %+v", st, runs)
			}
		})
	}
}
