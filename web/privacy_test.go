package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/shequ/shequ/privacy"
	"github.com/shequ/shequ/sqlstore"
)

// TestPrivacyPagesAndAPI: a resident sees and downloads their data and asks
// for erasure; others cannot see it; an office worker sees it on their
// behalf; the administrator approves the request and the resident sees
// the outcome.
func TestPrivacyPagesAndAPI(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	ctx := context.Background()
	u, err := e.store.UserByName(ctx, "resident01")
	if err != nil || u.PersonID == 0 {
		t.Fatalf("resident01 has no person: %v", err)
	}
	person := u.PersonID

	r := e.pageAs("resident01", "/my/data")
	if r.status != http.StatusOK {
		t.Fatalf("my data: %d %s", r.status, r.body)
	}
	for _, want := range []string{"我的个人信息", "/my/data/export/xlsx", "t-people", "t-audit_log"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("my data page lacks %q", want)
		}
	}
	for _, f := range []string{"json", "xlsx"} {
		d := e.pageAs("resident01", "/my/data/export/"+f)
		if d.status != http.StatusOK || !strings.Contains(d.header.Get("Content-Disposition"), "attachment") || len(d.body) < 200 {
			t.Errorf("export %s: %d %q, %d bytes", f, d.status, d.header.Get("Content-Disposition"), len(d.body))
		}
	}
	var export privacy.Export
	if code := e.do("resident01", "GET", fmt.Sprintf("/api/v1/people/%d/personal-data", person), nil, &export); code != 200 || export.Count("people") != 1 {
		t.Errorf("API export: %d, %d people rows", code, export.Count("people"))
	}
	// Nobody else's data: another person is not found for a resident; an
	// operator has no right to it.
	if code := e.do("resident01", "GET", fmt.Sprintf("/api/v1/people/%d/personal-data", person+1), nil, nil); code != http.StatusNotFound {
		t.Errorf("resident reads another person's data: %d", code)
	}
	if code := e.do("operator", "GET", fmt.Sprintf("/api/v1/people/%d/personal-data", person), nil, nil); code != http.StatusNotFound && code != http.StatusForbidden {
		t.Errorf("operator reads a resident's data: %d", code)
	}
	if r := e.pageAs("operator", fmt.Sprintf("/people/%d/data", person)); r.status != http.StatusForbidden {
		t.Errorf("operator's page: %d", r.status)
	}
	if r := e.pageAs("director", fmt.Sprintf("/people/%d/data", person)); r.status != http.StatusOK || !strings.Contains(r.body, "审计") {
		t.Errorf("office worker on behalf: %d", r.status)
	}

	var req privacy.Request
	if code := e.do("resident01", "POST", fmt.Sprintf("/api/v1/people/%d/erasure-requests", person), map[string]string{"reason": "搬家了"}, &req); code != http.StatusCreated || req.Status != privacy.StatusPending {
		t.Fatalf("erasure request: %d %+v", code, req)
	}
	if r := e.pageAs("director", "/privacy/requests"); r.status != http.StatusOK || !strings.Contains(r.body, "搬家了") {
		t.Errorf("review page: %d", r.status)
	}
	if code := e.do("resident01", "POST", fmt.Sprintf("/api/v1/privacy/erasure-requests/%d/decide", req.ID), map[string]any{"approve": true}, nil); code != http.StatusForbidden {
		t.Errorf("a resident decided their own request: %d", code)
	}
	var done privacy.Request
	if code := e.do("director", "POST", fmt.Sprintf("/api/v1/privacy/erasure-requests/%d/decide", req.ID), map[string]any{"approve": true}, &done); code != http.StatusOK || done.Status != privacy.StatusApproved {
		t.Fatalf("decide: %d %+v", code, done)
	}
	var reqs []privacy.Request
	e.do("director", "GET", fmt.Sprintf("/api/v1/people/%d/privacy-requests", person), nil, &reqs)
	found := false
	for _, q := range reqs {
		if q.ID == req.ID && len(q.Outcome) > 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("the outcome is not on record: %+v", reqs)
	}
}
