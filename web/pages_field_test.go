package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/sqlstore"
)

// A grid worker sent to an intrusion finds it first on their home page and
// on /my/dispatches with the home and who lives there, accepts, arrives
// and reports with a photo; the operator sees the report and the photo on
// the console; a staff member not sent sees none of it.
func TestFieldStaffDispatchPages(t *testing.T) {
	for _, dialect := range []string{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, dialect)
			jar := newJar(e)
			inc := e.intrusion()
			grid01, err := e.store.UserByName(t.Context(), "grid01")
			if err != nil {
				t.Fatal(err)
			}
			// A grid worker of another grid than the home's.
			grids, err := e.store.ListGrids(t.Context(), auth.Scope{{}}, community.Filter{Page: shequ.Page{Limit: 2}})
			if err != nil || len(grids.Items) < 2 {
				t.Fatalf("grids: %v", err)
			}
			otherGrid := grids.Items[0].ID
			if otherGrid == e.incidentNow(inc.ID).GridID {
				otherGrid = grids.Items[1].ID
			}
			other := &auth.User{Username: "grid-other", DisplayName: "另一网格的网格员", Grants: []auth.Grant{{Role: auth.RoleGridWorker, CommunityID: inc.CommunityID, GridID: otherGrid}}}
			if err := e.store.CreateUser(t.Context(), auth.Scope{{}}, other, demoPassword); err != nil {
				t.Fatal(err)
			}

			page := e.page("/my/dispatches", jar.of("grid01")...)
			if page.status != http.StatusOK || !strings.Contains(page.body, "目前没有派给您的任务") {
				t.Fatalf("before the dispatch: %d %s", page.status, page.body)
			}
			shownBefore := attr(t, page.body, `hx-get="/my/dispatches/news?shown=`)

			path := fmt.Sprintf("/api/v1/incidents/%d/", inc.ID)
			if got := e.do("operator", "POST", path+"dispatch", map[string]any{"user_id": grid01.ID}, nil); got != http.StatusOK {
				t.Fatalf("dispatch: %d", got)
			}
			news := e.page("/my/dispatches/news?shown="+shownBefore, jar.of("grid01")...)
			if !strings.Contains(news.body, `href="/my/dispatches"`) {
				t.Errorf("the poll does not say a dispatch came: %q", news.body)
			}
			home := e.page("/", jar.of("grid01")...)
			if !strings.Contains(home.body, `href="/my/dispatches"`) || !strings.Contains(home.body, "我的待办派单") {
				t.Errorf("the home page does not lead to the dispatch")
			}

			page = e.page("/my/dispatches", jar.of("grid01")...)
			for _, want := range []string{fmt.Sprintf(`id="incident-%d"`, inc.ID), inc.BuildingName, fmt.Sprintf(`action="/my/dispatches/%d/accept"`, inc.ID), `class="person`, "tel:"} {
				if !strings.Contains(page.body, want) {
					t.Errorf("dispatch page lacks %q", want)
				}
			}
			if news := e.page("/my/dispatches/news?shown="+attr(t, page.body, `hx-get="/my/dispatches/news?shown=`), jar.of("grid01")...); strings.TrimSpace(news.body) != "" {
				t.Errorf("the poll says something changed when nothing did: %q", news.body)
			}
			if strings.Contains(e.page("/my/dispatches", jar.of("grid-other")...).body, fmt.Sprintf(`id="incident-%d"`, inc.ID)) {
				t.Error("a staff member not sent sees the dispatch")
			}

			// A report before arriving is refused, and what was typed stays.
			r := e.postMultipart(fmt.Sprintf("/my/dispatches/%d/report", inc.ID), url.Values{"csrf_token": {jar.csrf("grid01")}, "notes": {"路上"}}, tinyPNG, nil, jar.of("grid01")...)
			if r.status != http.StatusConflict || !strings.Contains(r.body, ">路上</textarea>") {
				t.Fatalf("report before arriving: %d", r.status)
			}
			for _, step := range []string{"accept", "arrive"} {
				if r := jar.post("grid01", fmt.Sprintf("/my/dispatches/%d/%s", inc.ID, step), nil, false); r.status != http.StatusSeeOther {
					t.Fatalf("%s: %d %s", step, r.status, r.body)
				}
			}
			if got := e.incidentNow(inc.ID); got.Status != alarm.StatusOnSite || got.AcceptedAt == nil {
				t.Fatalf("after accept and arrive: %+v", got)
			}
			// Arriving twice is a conflict that changes nothing.
			if r := jar.post("grid01", fmt.Sprintf("/my/dispatches/%d/arrive", inc.ID), nil, false); r.status != http.StatusConflict {
				t.Errorf("arriving twice: %d", r.status)
			}
			// Someone not sent cannot act on it.
			if r := jar.post("grid-other", fmt.Sprintf("/my/dispatches/%d/accept", inc.ID), nil, false); r.status != http.StatusNotFound {
				t.Errorf("accept by someone not sent: %d", r.status)
			}
			// An empty report is refused.
			if r := e.postMultipart(fmt.Sprintf("/my/dispatches/%d/report", inc.ID), url.Values{"csrf_token": {jar.csrf("grid01")}, "notes": {"  "}}, nil, nil, jar.of("grid01")...); r.status != http.StatusUnprocessableEntity {
				t.Errorf("empty report: %d", r.status)
			}
			report := "窗户被风吹开，屋内无人，已关好窗户"
			r = e.postMultipart(fmt.Sprintf("/my/dispatches/%d/report", inc.ID), url.Values{"csrf_token": {jar.csrf("grid01")}, "notes": {report}}, tinyPNG, nil, jar.of("grid01")...)
			if r.status != http.StatusSeeOther {
				t.Fatalf("report: %d %s", r.status, r.body)
			}
			page = e.page(r.header.Get("Location"), jar.of("grid01")...)
			if !strings.Contains(page.body, "报告已发送给监控中心") || !strings.Contains(page.body, report) {
				t.Errorf("after the report the page does not show it")
			}
			photo := attr(t, page.body, `<img src="`)
			if got := e.page(photo, jar.of("grid01")...); got.status != http.StatusOK || got.header.Get("Content-Type") != "image/png" {
				t.Errorf("photo for the one sent: %d %s", got.status, got.header.Get("Content-Type"))
			}
			if got := e.page(photo, jar.of("grid-other")...); got.status != http.StatusNotFound {
				t.Errorf("photo for someone not sent: %d", got.status)
			}

			console := e.page(fmt.Sprintf("/console?id=%d", inc.ID), jar.of("operator")...)
			if !strings.Contains(console.body, report) || !strings.Contains(console.body, photo) {
				t.Errorf("the console does not show the report and its photo")
			}
			var mine struct{ Items []alarm.Incident }
			if got := e.do("grid01", "GET", "/api/v1/staff/me/dispatches", nil, &mine); got != http.StatusOK || len(mine.Items) != 1 || mine.Items[0].ID != inc.ID {
				t.Errorf("API dispatches: %d %+v", got, mine.Items)
			}

			// Resolved, the dispatch is gone from the page and its photo
			// from the one who was sent.
			if got := e.do("operator", "POST", path+"resolve", map[string]any{"resolution": "false_alarm"}, nil); got != http.StatusOK {
				t.Fatalf("resolve: %d", got)
			}
			if strings.Contains(e.page("/my/dispatches", jar.of("grid01")...).body, fmt.Sprintf(`id="incident-%d"`, inc.ID)) {
				t.Error("a resolved dispatch is still on the page")
			}
		})
	}
}

// attr returns what follows prefix in body up to the next quote.
func attr(t *testing.T, body, prefix string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, prefix)
	if !ok {
		t.Fatalf("no %q in the page", prefix)
	}
	v, _, _ := strings.Cut(rest, `"`)
	return strings.ReplaceAll(v, "&amp;", "&")
}
