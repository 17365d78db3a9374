package web

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/sqlstore"
)

func TestMatterOverHTTP(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	var cats page[matter.Category]
	env.do("resident01", "GET", "/api/v1/matter-categories", nil, &cats)
	if cats.Total < 5 {
		t.Fatalf("categories %+v", cats)
	}
	var m matter.Matter
	if got := env.do("resident01", "POST", "/api/v1/matters", map[string]any{"category": "lift", "description": "3号电梯停在5楼不动", "attributes": map[string]string{"trapped": "no", "floor": "5"}}, &m); got != 201 || m.Tracking == "" || m.Status != "submitted" || m.HomeID == 0 {
		t.Fatalf("submit: %d %+v", got, m)
	}
	if got, code := env.problemCode("resident01", "POST", "/api/v1/matters", map[string]any{"category": "lift", "description": "x"}); got != 422 || code != "invalid" {
		t.Errorf("missing required question: %d %s", got, code)
	}
	path := func(a string) string { return fmt.Sprintf("/api/v1/matters/%d/%s", m.ID, a) }
	// The operator works the queue; the resident cannot.
	if got := env.do("resident01", "POST", path("accept"), nil, nil); got != 403 {
		t.Errorf("resident accepts: %d", got)
	}
	var q page[matter.Matter]
	env.do("operator", "GET", "/api/v1/matters?status=open", nil, &q)
	if q.Total != 1 {
		t.Fatalf("queue %+v", q)
	}
	grid01, _ := env.store.UserByName(t.Context(), "grid01")
	env.do("operator", "POST", path("accept"), nil, nil)
	var assigned matter.Matter
	if got := env.do("operator", "POST", path("assign"), map[string]any{"assignee_user_id": grid01.ID}, &assigned); got != 200 || assigned.Status != "assigned" {
		t.Fatalf("assign: %d %+v", got, assigned)
	}
	if got, code := env.problemCode("operator", "POST", path("rate"), map[string]any{"rating": 5}); got != 403 || code != "forbidden" {
		t.Errorf("operator rates: %d %s", got, code)
	}
	// The resident sees the new status and adds a photo.
	var mine matterDetail
	env.do("resident01", "GET", fmt.Sprintf("/api/v1/matters/%d", m.ID), nil, &mine)
	if mine.Status != "assigned" || len(mine.Timeline) != 3 {
		t.Errorf("resident's view %+v", mine)
	}
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 100)...)
	req, _ := http.NewRequest("POST", env.http.URL+path("photos"), bytes.NewReader(png))
	req.Header.Set("Authorization", "Bearer "+env.token("resident01"))
	resp, err := env.http.Client().Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("photo upload: %v %v", err, resp)
	}
	resp.Body.Close()
	env.do("resident01", "GET", fmt.Sprintf("/api/v1/matters/%d", m.ID), nil, &mine)
	if len(mine.Photos) != 1 {
		t.Fatalf("photos %+v", mine.Photos)
	}
	r2 := env.request("resident01", "GET", fmt.Sprintf("/api/v1/matters/%d/photos/%d", m.ID, mine.Photos[0]), nil)
	body, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if r2.StatusCode != 200 || r2.Header.Get("Content-Type") != "image/png" || !bytes.Equal(body, png) || r2.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("photo download: %d %s", r2.StatusCode, r2.Header)
	}
	if got := env.do("resident01", "POST", path("photos"), map[string]any{"not": "a photo"}, nil); got != 422 {
		t.Errorf("a JSON 'photo': %d", got)
	}
	// The grid worker resolves; the resident rates, which closes it.
	env.do("grid01", "POST", path("start"), nil, nil)
	env.do("grid01", "POST", path("resolve"), map[string]any{"note": "电梯已复位"}, nil)
	var closed matter.Matter
	if got := env.do("resident01", "POST", path("rate"), map[string]any{"rating": 5, "note": "谢谢"}, &closed); got != 200 || closed.Status != "closed" {
		t.Errorf("rate: %d %+v", got, closed)
	}
	// Staff file a matter for a resident who phoned.
	var people page[struct{ ID int64 }]
	env.do("operator", "GET", "/api/v1/people?limit=1&tag=living_alone", nil, &people)
	var phoned matter.Matter
	if got := env.do("operator", "POST", "/api/v1/matters", map[string]any{"category": "assistance", "description": "独居老人来电：家中没有米了", "person_id": people.Items[0].ID, "channel": "phone"}, &phoned); got != 201 || phoned.Channel != "phone" || phoned.FiledBy == 0 {
		t.Errorf("filed for a resident: %d %+v", got, phoned)
	}
	// Search finds the matter for its household and for staff, not for a
	// neighbour.
	type hit struct{ Kind string }
	var found page[hit]
	env.do("resident01", "GET", "/api/v1/search?q=%E7%94%B5%E6%A2%AF&kind=matter", nil, &found) // 电梯
	if found.Total != 1 {
		t.Errorf("resident finds %d of their matters", found.Total)
	}
	env.do("operator", "GET", "/api/v1/search?q=%E7%94%B5%E6%A2%AF&kind=matter", nil, &found)
	if found.Total != 1 {
		t.Errorf("operator finds %d matters", found.Total)
	}
	var ppl page[struct {
		ID          int64 `json:"id"`
		HouseholdID int64 `json:"household_id"`
	}]
	env.do("grid01", "GET", "/api/v1/people?limit=100", nil, &ppl)
	for _, p := range ppl.Items {
		if p.HouseholdID != mine.HouseholdID {
			u := &auth.User{Username: "neighbour", PersonID: p.ID, Grants: []auth.Grant{{Role: auth.RoleResident, CommunityID: env.demo.CommunityID}}}
			if err := env.store.CreateUser(t.Context(), auth.Scope{{}}, u, demoPassword); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	env.do("neighbour", "GET", "/api/v1/search?q=%E7%94%B5%E6%A2%AF&kind=matter", nil, &found)
	if found.Total != 0 {
		t.Errorf("a neighbour in the same grid finds %d matters", found.Total)
	}
	// Another household does not see resident01's matter.
	var others page[matter.Matter]
	env.do("operator", "GET", fmt.Sprintf("/api/v1/matters?tracking=%s", m.Tracking), nil, &others)
	if others.Total != 1 {
		t.Errorf("by tracking number: %+v", others)
	}
}
