package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/sqlstore"
)

// TestBroadcastEditForms: the broadcaster edits and deletes zones and
// slots from the page; bad input or an unconfirmed delete shows the page
// again saying why and changes nothing.
func TestBroadcastEditForms(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	zoneByCode := func(code string) broadcast.Zone {
		t.Helper()
		var l struct {
			Items []broadcast.Zone `json:"items"`
		}
		e.do("broadcaster", http.MethodGet, "/api/v1/broadcast/zones", nil, &l)
		i := slices.IndexFunc(l.Items, func(z broadcast.Zone) bool { return z.Code == code })
		if i < 0 {
			return broadcast.Zone{}
		}
		return l.Items[i]
	}
	slotNamed := func(name string) broadcast.Slot {
		t.Helper()
		var l struct {
			Items []broadcast.Slot `json:"items"`
		}
		e.do("broadcaster", http.MethodGet, "/api/v1/broadcast/slots", nil, &l)
		i := slices.IndexFunc(l.Items, func(x broadcast.Slot) bool { return x.Name == name })
		if i < 0 {
			return broadcast.Slot{}
		}
		return l.Items[i]
	}
	g01, evening := zoneByCode("g01"), slotNamed("晚间广播")
	zid, sid := strconv.FormatInt(g01.ID, 10), strconv.FormatInt(evening.ID, 10)

	pg := e.pageAs("broadcaster", "/broadcast")
	for _, want := range []string{`id="manage"`, "修改广播分区和节目时段", `action="/broadcast/zones/` + zid + `/edit"`, `action="/broadcast/slots/` + sid + `/edit"`,
		`action="/broadcast/slots/` + sid + `/delete"`, `name="exceptions"`, "星期日"} {
		if pg.status != http.StatusOK || !strings.Contains(pg.body, want) {
			t.Errorf("broadcast page (%d) lacks %q", pg.status, want)
		}
	}
	jar := newJar(e)
	speakers := func(ids []int64) []string {
		var out []string
		for _, id := range ids {
			out = append(out, strconv.FormatInt(id, 10))
		}
		return out
	}

	t.Run("zone", func(t *testing.T) {
		if r := jar.post("operator", "/broadcast/zones/"+zid+"/edit", url.Values{"name": {"x"}}, false); r.status != http.StatusForbidden {
			t.Errorf("operator edits a zone: %d", r.status)
		}
		r := jar.post("broadcaster", "/broadcast/zones/"+zid+"/edit", url.Values{"name": {""}, "speaker": speakers(g01.SpeakerIDs)}, false)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "没有保存") || !strings.Contains(r.body, `id="zone-`+zid+`">`+"\n      <details open") {
			t.Errorf("nameless zone: %d, want the form open saying why", r.status)
		}
		if z := zoneByCode("g01"); z.Name != g01.Name {
			t.Errorf("a refused edit changed the zone: %+v", z)
		}
		r = jar.post("broadcaster", "/broadcast/zones/"+zid+"/edit", url.Values{"name": {"第一网格喇叭"}, "speaker": speakers(g01.SpeakerIDs)}, false)
		if z := zoneByCode("g01"); r.status != http.StatusSeeOther || z.Name != "第一网格喇叭" || !slices.Equal(z.SpeakerIDs, g01.SpeakerIDs) {
			t.Errorf("edit zone: %d %+v", r.status, z)
		}
		if r := jar.post("broadcaster", "/broadcast/zones/"+zid+"/delete", nil, false); r.status != http.StatusUnprocessableEntity || zoneByCode("g01").ID == 0 {
			t.Errorf("unconfirmed delete: %d", r.status)
		}
		if r := jar.post("broadcaster", "/broadcast/zones/"+zid+"/delete", url.Values{"confirm": {"yes"}}, false); r.status != http.StatusConflict ||
			!strings.Contains(r.body, "没有删除") || zoneByCode("g01").ID == 0 {
			t.Errorf("deleting a zone slots play on: %d", r.status)
		}
		var spare broadcast.Zone
		if st := e.do("broadcaster", http.MethodPost, "/api/v1/broadcast/zones", map[string]any{"code": "spare", "name": "备用", "speaker_ids": []int64{}}, &spare); st != http.StatusCreated {
			t.Fatalf("spare zone: %d", st)
		}
		if r := jar.post("broadcaster", "/broadcast/zones/"+strconv.FormatInt(spare.ID, 10)+"/delete", url.Values{"confirm": {"yes"}}, false); r.status != http.StatusSeeOther || zoneByCode("spare").ID != 0 {
			t.Errorf("delete zone: %d", r.status)
		}
	})

	t.Run("slot", func(t *testing.T) {
		good := url.Values{"name": {"晚间广播"}, "day": {"1", "2", "3", "4", "5"}, "start": {"19:00"}, "minutes": {"30"}, "from": {"2026-12-01"}, "until": {"2027-01-31"},
			"exceptions": {"2026-12-25 不播\n2026-12-31 20:00\n"}}
		bad := url.Values{}
		for k, v := range good {
			bad[k] = v
		}
		bad["minutes"] = []string{"0"}
		if r := jar.post("broadcaster", "/broadcast/slots/"+sid+"/edit", bad, false); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "时长（分钟）") {
			t.Errorf("a slot of no minutes: %d", r.status)
		}
		if x := slotNamed("晚间广播"); x.Start != evening.Start || x.Minutes != evening.Minutes {
			t.Errorf("a refused edit changed the slot: %+v", x)
		}
		// Onto the morning slot's time on a zone they share: refused,
		// saying so in the reader's words (not "zone in use").
		clash := url.Values{}
		for k, v := range good {
			clash[k] = v
		}
		clash["start"] = []string{"07:00"}
		if r := jar.post("broadcaster", "/broadcast/slots/"+sid+"/edit", clash, false); r.status != http.StatusConflict ||
			!strings.Contains(r.body, "同时播出") || strings.Contains(r.body, "没有删除") {
			t.Errorf("a slot moved over another: %d", r.status)
		}
		if x := slotNamed("晚间广播"); x.Start != evening.Start {
			t.Errorf("a refused edit changed the slot: %+v", x)
		}
		r := jar.post("broadcaster", "/broadcast/slots/"+sid+"/edit", good, false)
		x := slotNamed("晚间广播")
		want := []broadcast.Exception{{Date: "2026-12-25", Skip: true}, {Date: "2026-12-31", Start: "20:00"}}
		if r.status != http.StatusSeeOther || !slices.Equal(x.Days, []int{1, 2, 3, 4, 5}) || x.Start != "19:00" || x.Minutes != 30 || x.From != "2026-12-01" || x.Until != "2027-01-31" ||
			!slices.Equal(x.Exceptions, want) || !slices.Equal(x.ZoneIDs, evening.ZoneIDs) {
			t.Errorf("edit slot: %d %+v", r.status, x)
		}
		if pg := e.pageAs("broadcaster", "/broadcast"); !strings.Contains(pg.body, "2026-12-25 skip\n2026-12-31 20:00") {
			t.Error("the form does not show the exceptions as stored")
		}
		if r := jar.post("broadcaster", "/broadcast/slots/"+sid+"/delete", nil, false); r.status != http.StatusUnprocessableEntity || slotNamed("晚间广播").ID == 0 {
			t.Errorf("unconfirmed delete: %d", r.status)
		}
		if r := jar.post("broadcaster", "/broadcast/slots/"+sid+"/delete", url.Values{"confirm": {"yes"}}, false); r.status != http.StatusSeeOther || slotNamed("晚间广播").ID != 0 {
			t.Errorf("delete slot: %d", r.status)
		}
	})
}
