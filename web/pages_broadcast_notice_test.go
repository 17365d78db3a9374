package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/sqlstore"
)

// TestNoticeOnLoudspeakers: a notice ticked "also read on the
// loudspeakers", through the API or the notice form, is in the next
// slot's rundown (a grid's on its grid's zone only); an unticked one is
// not.
func TestNoticeOnLoudspeakers(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	var zones struct {
		Items []broadcast.Zone `json:"items"`
	}
	var slots struct {
		Items []broadcast.Slot `json:"items"`
	}
	if st := e.do("broadcaster", http.MethodGet, "/api/v1/broadcast/zones", nil, &zones); st != http.StatusOK {
		t.Fatalf("zones: %d", st)
	}
	if st := e.do("broadcaster", http.MethodGet, "/api/v1/broadcast/slots", nil, &slots); st != http.StatusOK {
		t.Fatalf("slots: %d", st)
	}
	zoneOf := map[string]int64{}
	for _, z := range zones.Items {
		zoneOf[z.Code] = z.ID
	}
	// onAir returns the rundown items reading notice id, over all slots.
	onAir := func(id int64) []broadcast.Item {
		t.Helper()
		var out []broadcast.Item
		for _, x := range slots.Items {
			var r broadcast.Rundown
			if st := e.do("broadcaster", http.MethodGet, "/api/v1/broadcast/slots/"+strconv.FormatInt(x.ID, 10)+"/rundown", nil, &r); st != http.StatusOK {
				t.Fatalf("rundown: %d", st)
			}
			for _, it := range r.Items {
				if it.NoticeID == id {
					out = append(out, it)
				}
			}
		}
		return out
	}

	var ticked, plain content.Notice
	if st := e.do("director", http.MethodPost, "/api/v1/notices", map[string]any{"title": "停水通知", "body": "明天9:30停水。", "broadcast": true}, &ticked); st != http.StatusCreated || !ticked.Broadcast {
		t.Fatalf("ticked notice: %d %+v", st, ticked)
	}
	if st := e.do("director", http.MethodPost, "/api/v1/notices", map[string]any{"title": "网上通知", "body": "不必广播。"}, &plain); st != http.StatusCreated || plain.Broadcast {
		t.Fatalf("plain notice: %d %+v", st, plain)
	}
	if its := onAir(ticked.ID); len(its) != 1 || its[0].Text != "停水通知。明天9:30停水。" || len(its[0].ZoneIDs) != 0 {
		t.Errorf("ticked notice on the air: %+v: want once, on every zone", its)
	}
	if its := onAir(plain.ID); len(its) != 0 {
		t.Errorf("unticked notice on the air: %+v", its)
	}

	// The grid worker's form: the tick is there, and their grid's notice
	// is read on their grid's zone only.
	form := e.pageAs("grid01", "/notices/new")
	if form.status != http.StatusOK || !strings.Contains(form.body, `name="broadcast"`) || !strings.Contains(form.body, "同时在大喇叭播出") {
		t.Fatalf("notice form (%d) lacks the loudspeaker tick", form.status)
	}
	jar := newJar(e)
	grid := strconv.FormatInt(e.grid1(), 10)
	r := jar.post("grid01", "/notices", url.Values{"title": {"楼道清理"}, "body": {"本周六上午清理楼道杂物。"}, "category": {"notice"},
		"audience": {"grids"}, "grid": {grid}, "when": {"now"}, "broadcast": {"1"}}, false)
	if r.status != http.StatusSeeOther {
		t.Fatalf("form post: %d %s", r.status, r.body)
	}
	var mine noticeList
	if st := e.do("grid01", http.MethodGet, "/api/v1/notices?status=all&limit=100", nil, &mine); st != http.StatusOK {
		t.Fatalf("list: %d", st)
	}
	i := slices.IndexFunc(mine.Items, func(n content.Notice) bool { return n.Title == "楼道清理" })
	if i < 0 || !mine.Items[i].Broadcast {
		t.Fatalf("the form's notice: %v", titlesOf(mine.Items))
	}
	if its := onAir(mine.Items[i].ID); len(its) != 1 || !slices.Equal(its[0].ZoneIDs, []int64{zoneOf["g01"]}) {
		t.Errorf("grid notice on the air: %+v: want once, on zone g01 (%d) only", its, zoneOf["g01"])
	}
}
