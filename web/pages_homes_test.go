package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/sqlstore"
)

// TestHomePage: from the list of homes to one home's page, with its alarm
// state, its sensor, the intrusion and a matter; the live part answers on
// its own; a resident reaches their own home only; names are masked.
func TestHomePage(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	home := e.residentHomeID()
	inc := e.intrusion()
	if got := e.do("resident01", "POST", "/api/v1/matters", map[string]any{"category": "lift", "description": "3号电梯停在5楼不动", "attributes": map[string]string{"trapped": "no", "floor": "5"}}, nil); got != http.StatusCreated {
		t.Fatalf("a matter: %d", got)
	}
	path := fmt.Sprintf("/homes/%d", home)
	list := e.pageAs("director", "/homes")
	if !strings.Contains(list.body, `href="/homes/`) {
		t.Errorf("the list of homes does not lead to a home")
	}
	page := e.pageAs("director", path)
	if page.status != http.StatusOK {
		t.Fatalf("the home's page: status %d", page.status)
	}
	for _, want := range []string{`data-state="triggered"`, "正在报警！", "厨房窗", fmt.Sprintf(`href="/console?id=%d"`, inc.ID), "3号电梯停在5楼不动", `id="home-people"`, "/static/home.js"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the home's page lacks %q", want)
		}
	}
	people, err := e.store.ListPeople(t.Context(), everyoneScope, peopleOfHomeFilter(home))
	if err != nil || len(people.Items) == 0 {
		t.Fatalf("nobody lives in resident01's home: %v", err)
	}
	for _, p := range people.Items {
		if p.Phone != "" && strings.Contains(page.body, p.Phone) {
			t.Errorf("the home's page shows %s's whole number", p.Name)
		}
	}
	frag := e.pageRequest(http.MethodGet, path+"/state", nil, http.Header{"Hx-Request": {"true"}}, e.cookies["director"])
	if frag.status != http.StatusOK || !strings.Contains(frag.body, `id="home-arm"`) || strings.Contains(frag.body, "<html") {
		t.Errorf("the live part: status %d %.200s", frag.status, frag.body)
	}
	if r := e.pageAs("resident01", path); r.status != http.StatusOK {
		t.Errorf("a resident's own home: status %d", r.status)
	}
	other := home + 1
	if r := e.pageAs("resident01", fmt.Sprintf("/homes/%d", other)); r.status != http.StatusNotFound {
		t.Errorf("a resident on another home: status %d", r.status)
	}
	if r := e.pageAs("director", "/homes/999999"); r.status != http.StatusNotFound {
		t.Errorf("no such home: status %d", r.status)
	}
}

func peopleOfHomeFilter(home int64) community.Filter {
	return community.Filter{HomeID: home, Page: shequ.Page{Limit: shequ.MaxLimit}}
}
