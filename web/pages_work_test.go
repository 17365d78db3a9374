package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/sqlstore"
)

// TestCasesPaged: /cases lists a phone's worth of services a page, and
// the next page the rest.
func TestCasesPaged(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	all, err := e.store.ListCases(t.Context(), assoc.Everything, assoc.CaseFilter{CommunityID: e.demo.CommunityID})
	if err != nil {
		t.Fatal(err)
	}
	if all.Total <= casesPageSize {
		t.Fatalf("the demo has %d services, not enough to page", all.Total)
	}
	first := e.pageAs("director", "/cases")
	if first.status != http.StatusOK {
		t.Fatalf("/cases: status %d", first.status)
	}
	if n := strings.Count(first.body, `<tr data-id=`); n != casesPageSize {
		t.Errorf("the first page lists %d services, want %d", n, casesPageSize)
	}
	if !strings.Contains(first.body, `href="/cases?page=2"`) {
		t.Errorf("no way to the second page")
	}
	last := (all.Total + casesPageSize - 1) / casesPageSize
	end := e.pageAs("director", "/cases?page=99")
	if n := strings.Count(end.body, `<tr data-id=`); n != all.Total-(last-1)*casesPageSize {
		t.Errorf("past the end: %d rows, want the last page's %d", n, all.Total-(last-1)*casesPageSize)
	}
}
