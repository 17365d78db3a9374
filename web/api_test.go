package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

type page[T any] struct {
	Items []T `json:"items"`
	Total int `json:"total"`
}

// secondCommunity adds community B with one home, one resident and an
// admin, and returns their ids.
func (e *testEnv) secondCommunity() (communityID, homeID, personID int64) {
	e.t.Helper()
	ctx := e.t.Context()
	all := auth.Scope{{}}
	c := community.Community{Code: "other", Name: "另一个社区"}
	g := community.Grid{Code: "G1", Name: "网格"}
	must := func(err error) {
		if err != nil {
			e.t.Fatal(err)
		}
	}
	must(e.store.CreateCommunity(ctx, all, &c))
	g.CommunityID = c.ID
	must(e.store.CreateGrid(ctx, all, &g))
	b := community.Building{CommunityID: c.ID, GridID: g.ID, Name: "B栋"}
	must(e.store.CreateBuilding(ctx, all, &b))
	h := community.Home{BuildingID: b.ID, Floor: 1, Door: "1-101"}
	must(e.store.CreateHome(ctx, all, &h))
	hh := community.Household{HomeID: h.ID}
	must(e.store.CreateHousehold(ctx, all, &hh))
	p := community.Person{HouseholdID: hh.ID, Name: "外社区居民", Phone: "19911112222"}
	must(e.store.CreatePerson(ctx, all, &p))
	must(e.store.CreateUser(ctx, all, &auth.User{Username: "director-b", Grants: []auth.Grant{{Role: auth.RoleAdmin, CommunityID: c.ID}}}, demoPassword))
	return c.ID, h.ID, p.ID
}

func TestCrossCommunityIsolation(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, dialect)
			otherC, otherHome, otherPerson := env.secondCommunity()
			for _, user := range []string{"director", "operator", "grid01", "police", "resident01"} {
				var cs page[community.Community]
				env.do(user, "GET", "/api/v1/communities", nil, &cs)
				if cs.Total != 1 || cs.Items[0].ID != env.demo.CommunityID {
					t.Errorf("%s sees communities %+v", user, cs.Items)
				}
				for _, path := range []string{
					fmt.Sprintf("/api/v1/communities/%d", otherC),
					fmt.Sprintf("/api/v1/homes/%d", otherHome),
					fmt.Sprintf("/api/v1/people/%d", otherPerson),
				} {
					if got := env.do(user, "GET", path, nil, nil); got != http.StatusNotFound {
						t.Errorf("%s GET %s: %d, want 404", user, path, got)
					}
				}
				var hs page[community.Home]
				env.do(user, "GET", fmt.Sprintf("/api/v1/homes?community=%d", otherC), nil, &hs)
				if hs.Total != 0 {
					t.Errorf("%s lists %d homes of the other community", user, hs.Total)
				}
			}
			// An admin of B cannot write into A, nor see A's audit log.
			if got := env.do("director-b", "POST", "/api/v1/grids", map[string]any{"community_id": env.demo.CommunityID, "code": "X", "name": "x"}, nil); got != http.StatusForbidden {
				t.Errorf("B's admin created a grid in A: %d", got)
			}
			var log page[audit.Entry]
			env.do("director-b", "GET", "/api/v1/audit?limit=500", nil, &log)
			for _, e := range log.Items {
				if e.CommunityID != otherC {
					t.Errorf("B's admin sees audit entry of community %d: %+v", e.CommunityID, e)
					break
				}
			}
		})
	}
}

func TestResidentSeesOnlyOwnHousehold(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	var me struct {
		HouseholdID int64 `json:"household_id"`
	}
	env.do("resident01", "GET", "/api/v1/auth/me", nil, &me)
	if me.HouseholdID == 0 {
		t.Fatal("resident01 has no household")
	}
	var people page[community.Person]
	env.do("resident01", "GET", "/api/v1/people?limit=500", nil, &people)
	if people.Total == 0 {
		t.Fatal("resident sees nobody, not even themselves")
	}
	for _, p := range people.Items {
		if p.HouseholdID != me.HouseholdID {
			t.Errorf("resident sees person %d of household %d", p.ID, p.HouseholdID)
		}
	}
	var homes page[community.Home]
	env.do("resident01", "GET", "/api/v1/homes?limit=500", nil, &homes)
	if homes.Total != 1 || homes.Items[0].Floor != 1 {
		t.Errorf("resident sees homes %+v, want their one ground-floor home", homes.Items)
	}
	var all page[community.Person]
	env.do("operator", "GET", "/api/v1/people?limit=1", nil, &all)
	if all.Total <= people.Total {
		t.Fatalf("operator sees %d people", all.Total)
	}
	for id := int64(1); id <= 60; id++ {
		var p community.Person
		status := env.do("resident01", "GET", fmt.Sprintf("/api/v1/people/%d", id), nil, &p)
		if status == http.StatusOK && p.HouseholdID != me.HouseholdID {
			t.Errorf("resident read person %d of another household", id)
		}
	}
	if got := env.do("resident01", "GET", "/api/v1/devices", nil, nil); got != http.StatusForbidden {
		t.Errorf("resident lists devices: %d", got)
	}
}

func TestGridWorkerSeesOwnGrid(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	grid := env.grid1()
	var homes page[community.Home]
	env.do("grid01", "GET", "/api/v1/homes?limit=500", nil, &homes)
	if homes.Total == 0 {
		t.Fatal("grid worker sees no homes")
	}
	for _, h := range homes.Items {
		if h.GridID != grid {
			t.Fatalf("grid01 sees home %d of grid %d", h.ID, h.GridID)
		}
	}
	var all page[community.Home]
	env.do("operator", "GET", "/api/v1/homes?limit=1", nil, &all)
	if homes.Total >= all.Total {
		t.Errorf("grid worker sees %d of %d homes", homes.Total, all.Total)
	}
}

func TestMaskingAndAuditOfPersonalData(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	var list page[community.Person]
	env.do("operator", "GET", "/api/v1/people?limit=5", nil, &list)
	for _, p := range list.Items {
		if !p.Masked || !strings.Contains(p.Phone, "****") || !strings.Contains(p.IDNumber, "**********") {
			t.Errorf("list shows %q %q unmasked", p.Phone, p.IDNumber)
		}
	}
	id := list.Items[0].ID
	auditCount := func(action string, entity int64) int {
		var l page[audit.Entry]
		env.do("director", "GET", fmt.Sprintf("/api/v1/audit?action=%s&entity_id=%d", action, entity), nil, &l)
		return l.Total
	}
	before := auditCount("person.read_pii", id)

	var whole community.Person
	env.do("operator", "GET", fmt.Sprintf("/api/v1/people/%d", id), nil, &whole)
	if whole.Masked || strings.Contains(whole.Phone, "*") || len(whole.IDNumber) != 18 {
		t.Errorf("operator's detail view is masked: %+v", whole)
	}
	if got := auditCount("person.read_pii", id); got != before+1 {
		t.Errorf("whole read audited %d times, want %d", got, before+1)
	}
	// A building head may read residents but not their whole numbers.
	env.addRoleUsers()
	var head community.Person
	if env.do("head01", "GET", "/api/v1/people?limit=1", nil, &list) != http.StatusOK || len(list.Items) == 0 {
		t.Fatal("building head lists nobody")
	}
	env.do("head01", "GET", fmt.Sprintf("/api/v1/people/%d", list.Items[0].ID), nil, &head)
	if !head.Masked || !strings.Contains(head.Phone, "*") {
		t.Errorf("building head sees whole numbers: %+v", head)
	}
	if got := env.do("head01", "GET", "/api/v1/people?reveal=true", nil, nil); got != http.StatusForbidden {
		t.Errorf("building head reveal: %d, want 403", got)
	}
	var revealed page[community.Person]
	env.do("operator", "GET", "/api/v1/people?reveal=true&limit=3", nil, &revealed)
	for _, p := range revealed.Items {
		if p.Masked || strings.Contains(p.Phone, "*") {
			t.Errorf("reveal=true still masked: %+v", p)
		}
		if auditCount("person.read_pii", p.ID) == 0 {
			t.Errorf("revealed person %d not audited", p.ID)
		}
	}
}

func TestWritesAreAuditedWithBeforeAndAfter(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	var hs page[community.Home]
	env.do("director", "GET", "/api/v1/homes?limit=1", nil, &hs)
	h := hs.Items[0]
	var updated community.Home
	status := env.do("director", "PUT", fmt.Sprintf("/api/v1/homes/%d", h.ID), map[string]any{"floor": h.Floor, "door": h.Door + "A", "entrance": h.Entrance}, &updated)
	if status != http.StatusOK || updated.Door != h.Door+"A" {
		t.Fatalf("update: %d %+v", status, updated)
	}
	var l page[audit.Entry]
	env.do("director", "GET", fmt.Sprintf("/api/v1/audit?action=home.update&entity_id=%d", h.ID), nil, &l)
	if l.Total != 1 {
		t.Fatalf("update audited %d times", l.Total)
	}
	e := l.Items[0]
	var before, after community.Home
	json.Unmarshal(e.Before, &before)
	json.Unmarshal(e.After, &after)
	if e.Username != "director" || e.IP == "" || before.Door != h.Door || after.Door != h.Door+"A" {
		t.Errorf("audit entry %+v", e)
	}
}

// TestLoginThrottleOverHTTP: wrong passwords slow the address down, and a
// real username and an unknown one are answered alike throughout.
func TestLoginThrottleOverHTTP(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	for _, name := range []string{"operator", "no-such-user"} {
		for i := 0; i < auth.FreeFailures; i++ {
			status, code := env.problemCode("", "POST", "/api/v1/auth/login", map[string]string{"username": name, "password": "wrong-password"})
			if status != http.StatusUnauthorized || code != "unauthorized" {
				t.Fatalf("%s, attempt %d: %d %s", name, i, status, code)
			}
		}
		status, code := env.problemCode("", "POST", "/api/v1/auth/login", map[string]string{"username": name, "password": demoPassword})
		if status != http.StatusTooManyRequests || code != "too_many_requests" {
			t.Errorf("%s, slowed down: %d %s", name, status, code)
		}
	}
	env.clock.Advance(auth.FirstDelay)
	if got := env.do("", "POST", "/api/v1/auth/login", map[string]string{"username": "operator", "password": demoPassword}, nil); got != http.StatusOK {
		t.Errorf("after the delay: %d", got)
	}
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	clock := shequtest.NewClock(env0)
	st := sqlstoretest.Open(t, sqlstore.SQLite, clock)
	srv := New(Config{Store: st, Clock: clock, LoginBurst: 3})
	env := &testEnv{t: t, store: st, server: srv, clock: clock, tokens: map[string]string{}}
	env.http = newHTTPServer(t, srv)
	for i := 0; i < 3; i++ {
		env.problemCode("", "POST", "/api/v1/auth/login", map[string]string{"username": fmt.Sprintf("u%d", i), "password": "x"})
	}
	if status, code := env.problemCode("", "POST", "/api/v1/auth/login", map[string]string{"username": "u9", "password": "x"}); status != http.StatusTooManyRequests || code != "too_many_requests" {
		t.Errorf("fourth try from one address: %d %s", status, code)
	}
}

func TestCookieSessionsNeedCSRFForWrites(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	resp := env.request("", "POST", "/api/v1/auth/login", map[string]string{"username": "director", "password": demoPassword, "kind": "web"})
	var out struct {
		CSRFToken string `json:"csrf_token"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v", cookie)
	}
	send := func(method, path, csrf string, body string) int {
		req, _ := http.NewRequest(method, env.http.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(cookie)
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := env.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	grid := fmt.Sprintf(`{"community_id":%d,"code":"G99","name":"新网格"}`, env.demo.CommunityID)
	if got := send("GET", "/api/v1/grids", "", ""); got != http.StatusOK {
		t.Errorf("cookie read: %d", got)
	}
	if got := send("POST", "/api/v1/grids", "", grid); got != http.StatusForbidden {
		t.Errorf("cookie write without CSRF token: %d", got)
	}
	if got := send("POST", "/api/v1/grids", "wrong", grid); got != http.StatusForbidden {
		t.Errorf("cookie write with a wrong CSRF token: %d", got)
	}
	if got := send("POST", "/api/v1/grids", out.CSRFToken, grid); got != http.StatusCreated {
		t.Errorf("cookie write with the CSRF token: %d", got)
	}
	if got := send("POST", "/api/v1/auth/logout", out.CSRFToken, ""); got != http.StatusNoContent {
		t.Errorf("logout: %d", got)
	}
	if got := send("GET", "/api/v1/grids", "", ""); got != http.StatusUnauthorized {
		t.Errorf("cookie after logout: %d", got)
	}
}

func TestErrorsAreProblems(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	tests := []struct {
		name, user, method, path string
		body                     any
		status                   int
		code                     string
	}{
		{"bad login", "", "POST", "/api/v1/auth/login", map[string]string{"username": "operator", "password": "nope"}, 401, "unauthorized"},
		{"not signed in", "", "GET", "/api/v1/homes", nil, 401, "unauthorized"},
		{"wrong role", "resident01", "GET", "/api/v1/audit", nil, 403, "forbidden"},
		{"unknown id", "director", "GET", "/api/v1/homes/424242", nil, 404, "not_found"},
		{"bad floor filter", "director", "GET", "/api/v1/homes?floor=ground", nil, 422, "invalid"},
		{"missing fields", "director", "POST", "/api/v1/homes", map[string]any{}, 422, "invalid"},
		{"domain validation", "director", "POST", "/api/v1/people", map[string]any{"community_id": env.demo.CommunityID, "name": "x", "id_number": "123"}, 422, "invalid"},
		{"duplicate building", "director", "POST", "/api/v1/buildings", map[string]any{"community_id": env.demo.CommunityID, "grid_id": env.grid1(), "name": "B栋"}, 409, "conflict"},
		{"malformed JSON", "director", "POST", "/api/v1/grids", "{", 422, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code := env.problemCode(tt.user, tt.method, tt.path, tt.body)
			if status != tt.status || code != tt.code {
				t.Errorf("got %d %q, want %d %q", status, code, tt.status, tt.code)
			}
		})
	}
}

func TestServiceEndpoints(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	env.do("operator", "GET", "/api/v1/homes", nil, nil)
	for _, tt := range []struct{ path, contains string }{
		{"/healthz", "ok"},
		{"/readyz", "ok"},
		{"/metrics", `shequ_http_requests_total{method="GET",route="GET /api/v1/homes",status="200"} 1`},
		{"/metrics", "shequ_http_request_duration_seconds_bucket"},
		{"/metrics", "shequ_store_up 1"},
		{"/metrics", "go_goroutines"},
		{"/api/v1/openapi.json", `"openapi":"3.1.0"`},
		{"/api/v1/openapi.json", `"/api/v1/homes"`},
	} {
		resp := env.request("", "GET", tt.path, nil)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), tt.contains) {
			t.Errorf("GET %s: %d, body lacks %q", tt.path, resp.StatusCode, tt.contains)
		}
	}
}

func TestDemoLoadsOnce(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, dialect)
			res, err := demo.Load(t.Context(), env.store, "")
			if err != nil || res.Loaded {
				t.Fatalf("second load: %+v %v", res, err)
			}
			var cs page[community.Community]
			var devices page[community.Device]
			var cams page[community.Device]
			var grids page[community.Grid]
			env.do("director", "GET", "/api/v1/communities", nil, &cs)
			env.do("director", "GET", "/api/v1/devices?limit=1", nil, &devices)
			env.do("director", "GET", "/api/v1/devices?kind=camera&limit=1", nil, &cams)
			env.do("director", "GET", "/api/v1/grids", nil, &grids)
			if cs.Total != 1 || cams.Total != 112 || grids.Total != 14 || devices.Total != env.demo.Devices {
				t.Errorf("after a second load: %d communities, %d cameras, %d grids, %d devices (want %d)", cs.Total, cams.Total, grids.Total, devices.Total, env.demo.Devices)
			}
			for kind, want := range map[string]int{"speaker": 14, "wifi_ap": 12} {
				var l page[community.Device]
				env.do("director", "GET", "/api/v1/devices?limit=1&kind="+kind, nil, &l)
				if l.Total != want {
					t.Errorf("%s: %d, want %d", kind, l.Total, want)
				}
			}
			var as page[community.Association]
			env.do("director", "GET", "/api/v1/associations", nil, &as)
			if as.Total != 8 {
				t.Errorf("%d associations, want 8", as.Total)
			}
			var b page[community.Building]
			env.do("director", "GET", "/api/v1/buildings?limit=500", nil, &b)
			foundB := false
			for _, x := range b.Items {
				foundB = foundB || x.Name == "B栋"
			}
			if !foundB {
				t.Error("no B栋 in the demo")
			}
			// resident01 lives on the ground floor of a home with a panel.
			var homes page[community.Home]
			env.do("resident01", "GET", "/api/v1/homes", nil, &homes)
			var panels page[community.Device]
			env.do("director", "GET", fmt.Sprintf("/api/v1/devices?kind=alarm_panel&home=%d", homes.Items[0].ID), nil, &panels)
			if homes.Items[0].Floor != 1 || panels.Total != 1 {
				t.Errorf("resident01's home %+v has %d panels", homes.Items[0], panels.Total)
			}
			for _, u := range demo.Accounts {
				env.token(u)
			}
		})
	}
}
