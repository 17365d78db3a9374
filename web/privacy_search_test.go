package web

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/privacy"
	"github.com/shequ/shequ/sqlstore"
)

// TestErasedMatterLeavesTheSearch: once the administrator approves a
// resident's erasure, the staff who could find the resident's matter by
// the words in it (name, phone number) no longer find it, nor read them in
// a search result (found in review: the search index kept them).
func TestErasedMatterLeavesTheSearch(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	u, err := e.store.UserByName(t.Context(), "resident01")
	if err != nil || u.PersonID == 0 {
		t.Fatalf("resident01 has no person: %v", err)
	}
	var m matter.Matter
	desc := "我叫王秀英电话13912345678住在楼上漏水"
	if st := e.do("resident01", http.MethodPost, "/api/v1/matters", map[string]any{"category": "lift", "description": desc, "attributes": map[string]string{"trapped": "no", "floor": "5"}}, &m); st != http.StatusCreated {
		t.Fatalf("submit: %d", st)
	}
	staff := []string{"director", "operator", "grid01"}
	finds := func(who, q string) (bool, string) {
		t.Helper()
		var res struct{ Items []content.SearchResult }
		if st := e.do(who, http.MethodGet, "/api/v1/search?kind=matter&q="+url.QueryEscape(q), nil, &res); st != http.StatusOK {
			t.Fatalf("%s searches: %d", who, st)
		}
		for _, r := range res.Items {
			if r.ID == m.ID {
				return true, r.Snippet
			}
		}
		return false, ""
	}
	for _, who := range staff {
		if ok, _ := finds(who, "王秀英"); !ok {
			t.Fatalf("before the erasure %s does not find matter %d: the test proves nothing", who, m.ID)
		}
	}
	var req privacy.Request
	if st := e.do("resident01", http.MethodPost, fmt.Sprintf("/api/v1/people/%d/erasure-requests", u.PersonID), map[string]string{"reason": "请删除"}, &req); st != http.StatusCreated {
		t.Fatalf("erasure request: %d", st)
	}
	if st := e.do("director", http.MethodPost, fmt.Sprintf("/api/v1/privacy/erasure-requests/%d/decide", req.ID), map[string]any{"approve": true}, nil); st != http.StatusOK {
		t.Fatalf("decide: %d", st)
	}
	for _, who := range staff {
		for _, q := range []string{"王秀英", "13912345678", "漏水"} {
			if ok, snippet := finds(who, q); ok {
				t.Errorf("%s finds the erased matter %d by %q and reads %q", who, m.ID, q, snippet)
			}
		}
	}
}
