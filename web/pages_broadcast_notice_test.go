package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/shequtest"
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

// TestNoticeAirsOnce: with the broadcast running, ticked notices go out
// in the evening slot — the grid's on its grid's zone only — are named on
// the as-run log, and leave the rundown: they are read once.
func TestNoticeAirsOnce(t *testing.T) {
	shequtest.NeedCommand(t, "espeak-ng", "ffmpeg", "ffprobe")
	e := broadcastEnv(t, sqlstore.SQLite)
	ctx := t.Context()
	everyone := auth.Scope{{}}
	var all, grid content.Notice
	if st := e.do("director", http.MethodPost, "/api/v1/notices", map[string]any{"title": "全社区停水", "body": "12月2日9:30停水。", "broadcast": true}, &all); st != http.StatusCreated {
		t.Fatalf("community notice: %d", st)
	}
	if st := e.do("grid01", http.MethodPost, "/api/v1/notices", map[string]any{"title": "一网格清扫", "body": "周六清扫楼道。", "broadcast": true,
		"audience": map[string]any{"scope": "grids", "grid_ids": []int64{e.grid1()}}}, &grid); st != http.StatusCreated {
		t.Fatalf("grid notice: %d", st)
	}
	g01, err := e.store.ZoneByCode(ctx, 0, "g01")
	if err != nil {
		t.Fatal(err)
	}
	g02, err := e.store.ZoneByCode(ctx, 0, "g02")
	if err != nil {
		t.Fatal(err)
	}
	airings, err := e.store.NoticeAirings(ctx, everyone, grid.ID)
	if err != nil || len(airings) != 1 {
		t.Fatalf("grid notice airings %+v %v", airings, err)
	}
	slot := airings[0].SlotID

	e.clock.Advance(time.Date(2026, 11, 28, 10, 30, 0, 0, time.UTC).Sub(e.clock.Now())) // 18:30 in Shanghai
	read := map[int64][]string{}
	for deadline := time.Now().Add(60 * time.Second); len(read[g01.ID]) == 0 || len(read[g02.ID]) == 0; time.Sleep(100 * time.Millisecond) {
		l, err := e.store.ListAsRun(ctx, everyone, broadcast.AsRunFilter{Page: shequ.Page{Limit: 50}})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range l.Items {
			if x.SlotID == slot && x.Status == broadcast.RunPlayed {
				read[x.ZoneID] = x.Notices
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slot did not go out with its notices: %+v", l.Items)
		}
	}
	if !slices.Equal(read[g01.ID], []string{"全社区停水", "一网格清扫"}) || !slices.Equal(read[g02.ID], []string{"全社区停水"}) {
		t.Errorf("notices read: g01 %v, g02 %v", read[g01.ID], read[g02.ID])
	}
	r, err := e.store.Rundown(ctx, everyone, slot)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(r.Items, func(it broadcast.Item) bool { return it.NoticeID != 0 }) {
		t.Errorf("notices still in the rundown after they aired: %+v", r.Items)
	}
	for _, id := range []int64{all.ID, grid.ID} {
		if a, err := e.store.NoticeAirings(ctx, everyone, id); err != nil || len(a) != 1 || a[0].AiredAt == nil {
			t.Errorf("notice %d airings %+v %v: want one, aired", id, a, err)
		}
	}
	if pg := e.pageAs("broadcaster", "/broadcast"); !strings.Contains(pg.body, "读了通知： 《全社区停水》 《一网格清扫》") {
		t.Error("the as-run log on the page does not name the notices read")
	}
}
