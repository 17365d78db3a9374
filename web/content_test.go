package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/sqlstore"
)

type noticeList struct {
	Items []content.Notice `json:"items"`
	Total int              `json:"total"`
}

func titlesOf(ns []content.Notice) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Title)
	}
	return out
}

func hasTitle(ns []content.Notice, title string) bool {
	for _, n := range ns {
		if n.Title == title {
			return true
		}
	}
	return false
}

// gridByCode returns the id of the demo grid with code.
func (e *testEnv) gridByCode(code string) int64 {
	e.t.Helper()
	l, err := e.store.ListGrids(e.t.Context(), auth.Scope{{}}, community.Filter{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, g := range l.Items {
		if g.Code == code {
			return g.ID
		}
	}
	e.t.Fatalf("no grid %s", code)
	return 0
}

func TestContentFeedAndSearch(t *testing.T) {
	for _, dialect := range []string{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, dialect)
			var feed noticeList
			if got := env.do("resident01", "GET", "/api/v1/notices", nil, &feed); got != http.StatusOK {
				t.Fatalf("feed: %d", got)
			}
			titles := titlesOf(feed.Items)
			if len(titles) == 0 || titles[0] != "“智慧东路”居民服务平台上线" {
				t.Errorf("the pinned notice is not first: %v", titles)
			}
			for _, want := range []string{"【重要】第1网格11月30日停水通知", "A栋电梯年检", "警情通报：电动车被盗"} {
				if !hasTitle(feed.Items, want) {
					t.Errorf("feed of a grid 1 resident lacks %q: %v", want, titles)
				}
			}
			for _, never := range []string{"第5网格消防通道清理", "元旦文艺汇演报名"} {
				if hasTitle(feed.Items, never) {
					t.Errorf("feed of a grid 1 resident has %q", never)
				}
			}
			for _, it := range feed.Items {
				if it.Summary == "" || it.BodyHTML != "" {
					t.Errorf("list item %q: summary %q, body_html %q", it.Title, it.Summary, it.BodyHTML)
				}
			}

			type results struct {
				Items []content.SearchResult `json:"items"`
				Total int                    `json:"total"`
			}
			search := func(user, q string) []string {
				var r results
				if got := env.do(user, "GET", "/api/v1/search?q="+q, nil, &r); got != http.StatusOK {
					t.Fatalf("search %q: %d", q, got)
				}
				var out []string
				for _, x := range r.Items {
					out = append(out, x.Kind+":"+x.Title)
				}
				return out
			}
			found := func(got []string, want string) bool {
				for _, g := range got {
					if g == want {
						return true
					}
				}
				return false
			}
			if got := search("resident01", "医疗保险"); !found(got, "policy:城乡居民医疗保险参保登记（10月–12月）") {
				t.Errorf("医疗保险: %v", got)
			}
			// The title weighs most: the low-income guide comes before the
			// insurance guide that mentions 低保 among its fees.
			if got := search("resident01", "低保"); len(got) == 0 || got[0] != "guide:申请低保（最低生活保障）" {
				t.Errorf("低保: %v", got)
			}
			if got := search("resident01", "清洁日"); len(got) != 1 || got[0] != "notice:社区清洁日" {
				t.Errorf("清洁日: %v", got)
			}
			if got := search("resident01", "消防通道"); len(got) != 0 {
				t.Errorf("a grid 1 resident finds a grid 5 notice: %v", got)
			}
			if got := search("director", "消防通道"); len(got) != 1 {
				t.Errorf("the director does not find the grid 5 notice: %v", got)
			}
			if got := search("resident01", "防暑"); len(got) != 0 {
				t.Errorf("a lapsed policy is found: %v", got)
			}
			if got := search("resident01", ""); len(got) != 0 {
				t.Errorf("an empty query finds %v", got)
			}
			if got, _ := env.problemCode("hr-partner", "GET", "/api/v1/search?q=低保", nil); got != http.StatusForbidden {
				t.Errorf("a partner searches: %d", got)
			}
		})
	}
}

func TestNoticeLifecycleOverHTTP(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	grid1, grid5 := env.grid1(), env.gridByCode("G05")

	// A grid worker writes to their own grid only.
	body := map[string]any{"title": "明早8点疫苗接种", "body": "请携带身份证。", "audience": map[string]any{"scope": "grids", "grid_ids": []int64{grid5}}}
	if got, code := env.problemCode("grid01", "POST", "/api/v1/notices", body); got != http.StatusForbidden {
		t.Errorf("grid worker writes to grid 5: %d %s", got, code)
	}
	if got, _ := env.problemCode("resident01", "POST", "/api/v1/notices", body); got != http.StatusForbidden {
		t.Errorf("a resident writes a notice: %d", got)
	}
	body["audience"] = map[string]any{"scope": "grids", "grid_ids": []int64{grid1}}
	body["important"] = true
	var n content.Notice
	if got := env.do("grid01", "POST", "/api/v1/notices", body, &n); got != http.StatusCreated || n.ID == 0 || n.AuthorName == "" {
		t.Fatalf("grid worker writes to grid 1: %d %+v", got, n)
	}

	// The resident confirms; the grid worker's list of doors to knock on
	// no longer has theirs.
	unconfirmed := func() []content.UnconfirmedHousehold {
		var l struct {
			Items []content.UnconfirmedHousehold `json:"items"`
			Total int                            `json:"total"`
		}
		if got := env.do("grid01", "GET", fmt.Sprintf("/api/v1/notices/%d/unconfirmed?limit=500", n.ID), nil, &l); got != http.StatusOK {
			t.Fatalf("unconfirmed: %d", got)
		}
		if l.Total != len(l.Items) {
			t.Errorf("total %d, %d items", l.Total, len(l.Items))
		}
		return l.Items
	}
	has101 := func(hs []content.UnconfirmedHousehold) bool {
		for _, h := range hs {
			if h.BuildingName == "A栋" && h.Door == "1-101" {
				if len(h.Residents) == 0 || !strings.Contains(h.Residents[0].Phone, "*") {
					t.Errorf("household %+v: residents' phones must be masked", h)
				}
				return true
			}
		}
		return false
	}
	before := unconfirmed()
	if !has101(before) {
		t.Fatalf("resident01's home is not among the unconfirmed: %d households", len(before))
	}
	for _, h := range before {
		if h.GridID != grid1 {
			t.Errorf("household of grid %d listed for a grid 1 notice", h.GridID)
		}
	}
	var c confirmation
	if got := env.do("resident01", "POST", fmt.Sprintf("/api/v1/notices/%d/confirm", n.ID), nil, &c); got != http.StatusOK || c.ConfirmedAt.IsZero() {
		t.Fatalf("confirm: %d %+v", got, c)
	}
	after := unconfirmed()
	if has101(after) || len(after) != len(before)-1 {
		t.Errorf("after confirming: %d households, resident01's still there: %v", len(after), has101(after))
	}
	if got, _ := env.problemCode("grid01", "POST", fmt.Sprintf("/api/v1/notices/%d/confirm", n.ID), nil); got != http.StatusForbidden {
		t.Errorf("staff confirm: %d", got)
	}
	if got, _ := env.problemCode("resident01", "GET", fmt.Sprintf("/api/v1/notices/%d/unconfirmed", n.ID), nil); got != http.StatusForbidden {
		t.Errorf("a resident sees who has not confirmed: %d", got)
	}
	var read content.Notice
	if got := env.do("resident01", "GET", fmt.Sprintf("/api/v1/notices/%d", n.ID), nil, &read); got != http.StatusOK || read.ConfirmedAt == nil {
		t.Errorf("resident's notice: %d confirmed_at %v", got, read.ConfirmedAt)
	}

	// Markdown comes back rendered and cleaned.
	var x content.Notice
	md := map[string]any{"title": "安全提示", "body": "**注意**<script>alert(1)</script> [点我](javascript:alert(2)) <img src=x onerror=alert(3)>"}
	if got := env.do("director", "POST", "/api/v1/notices", md, &x); got != http.StatusCreated {
		t.Fatalf("director writes: %d", got)
	}
	env.do("resident01", "GET", fmt.Sprintf("/api/v1/notices/%d", x.ID), nil, &read)
	if strings.Contains(read.BodyHTML, "<script") || strings.Contains(read.BodyHTML, "javascript:") || strings.Contains(read.BodyHTML, "onerror") ||
		!strings.Contains(read.BodyHTML, "<strong>注意</strong>") {
		t.Errorf("body_html %s", read.BodyHTML)
	}

	// Scheduled publishing follows the clock.
	at := env.clock.Now().Add(time.Hour)
	if got := env.do("director", "POST", "/api/v1/notices", map[string]any{"title": "明天的通知", "body": "x", "publish_at": at}, &x); got != http.StatusCreated || x.Status != content.StatusScheduled {
		t.Fatalf("scheduled: %d %q", got, x.Status)
	}
	path := fmt.Sprintf("/api/v1/notices/%d", x.ID)
	if got, _ := env.problemCode("resident01", "GET", path, nil); got != http.StatusNotFound {
		t.Errorf("a scheduled notice before its time: %d", got)
	}
	var staff noticeList
	env.do("director", "GET", "/api/v1/notices?status=scheduled", nil, &staff)
	if !hasTitle(staff.Items, "明天的通知") {
		t.Errorf("the director's scheduled list: %v", titlesOf(staff.Items))
	}
	env.clock.Advance(time.Hour)
	if got := env.do("resident01", "GET", path, nil, &read); got != http.StatusOK || read.Status != content.StatusLive {
		t.Errorf("once published: %d %q", got, read.Status)
	}

	// Grid workers may not edit what goes to everyone; the director may.
	if got, _ := env.problemCode("grid01", "PUT", path, map[string]any{"title": "改", "body": "改"}); got != http.StatusForbidden {
		t.Errorf("grid worker edits a community notice: %d", got)
	}
	if got := env.do("director", "DELETE", path, nil, nil); got != http.StatusNoContent {
		t.Errorf("delete: %d", got)
	}
}

func TestAttachmentsOverHTTP(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	var n content.Notice
	if got := env.do("director", "POST", "/api/v1/notices", map[string]any{"title": "有图", "body": "见附件", "audience": map[string]any{"scope": "grids", "grid_ids": []int64{env.grid1()}}}, &n); got != http.StatusCreated {
		t.Fatalf("notice: %d", got)
	}
	upload := func(user, name, ct string, data []byte) (int, content.Attachment) {
		req, _ := http.NewRequest("POST", env.http.URL+fmt.Sprintf("/api/v1/notices/%d/attachments?name=%s", n.ID, name), bytes.NewReader(data))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+env.token(user))
		resp, err := env.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var x content.Attachment
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusCreated {
			if err := json.Unmarshal(b, &x); err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
		}
		return resp.StatusCode, x
	}
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	if got, _ := upload("director", "x.png", "image/png", []byte("<html><script>alert(1)</script></html>")); got != http.StatusUnprocessableEntity {
		t.Errorf("a page labelled PNG: %d", got)
	}
	if got, _ := upload("director", "x.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`)); got != http.StatusUnprocessableEntity {
		t.Errorf("SVG: %d", got)
	}
	if got, _ := upload("resident01", "x.png", "image/png", png); got != http.StatusForbidden {
		t.Errorf("a resident uploads: %d", got)
	}
	got, x := upload("director", "map.png", "image/png", png)
	if got != http.StatusCreated || x.URL == "" || x.N != 1 {
		t.Fatalf("upload: %d %+v", got, x)
	}
	resp := env.request("resident01", "GET", x.URL, nil)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(b, png) {
		t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(b))
	}
	for h, want := range map[string]string{"Content-Type": "image/png", "X-Content-Type-Options": "nosniff", "Content-Disposition": `inline; filename=map.png`} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if got, _ := env.problemCode("resident01", "GET", fmt.Sprintf("/api/v1/notices/%d/attachments/9", n.ID), nil); got != http.StatusNotFound {
		t.Errorf("a missing attachment: %d", got)
	}
}

func TestGuidesAndPoliciesOverHTTP(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	var guides struct {
		Items []content.Guide `json:"items"`
		Total int             `json:"total"`
	}
	if got := env.do("resident01", "GET", "/api/v1/guides", nil, &guides); got != http.StatusOK || guides.Total < 4 {
		t.Fatalf("guides: %d, %d", got, guides.Total)
	}
	for _, g := range guides.Items {
		if len(g.Steps) == 0 || len(g.Documents) == 0 || g.Office == "" {
			t.Errorf("guide %q is missing its steps, documents or office", g.Name)
		}
	}
	var policies struct {
		Items []content.Policy `json:"items"`
		Total int              `json:"total"`
	}
	env.do("resident01", "GET", "/api/v1/policies", nil, &policies)
	var titles []string
	for _, p := range policies.Items {
		titles = append(titles, p.Title)
		if p.Status != content.StatusLive {
			t.Errorf("policy %q is %s", p.Title, p.Status)
		}
	}
	if !strings.Contains(strings.Join(titles, "|"), "城乡居民医疗保险参保登记") || strings.Contains(strings.Join(titles, "|"), "防暑") {
		t.Errorf("resident's policies: %v", titles)
	}
	env.do("resident01", "GET", "/api/v1/policies?status=all", nil, &policies)
	if policies.Total != len(titles) {
		t.Errorf("a resident asking for all policies gets %d, live are %d", policies.Total, len(titles))
	}
	env.do("director", "GET", "/api/v1/policies?status=expired", nil, &policies)
	if policies.Total != 1 {
		t.Errorf("the director's lapsed policies: %d", policies.Total)
	}
	// Guides and policies are written for the whole community.
	g := map[string]any{"name": "申请廉租房", "category": "housing", "steps": []string{"申请", "审核"}}
	if got, _ := env.problemCode("grid01", "POST", "/api/v1/guides", g); got != http.StatusForbidden {
		t.Errorf("grid worker writes a guide: %d", got)
	}
	var created content.Guide
	if got := env.do("broadcaster", "POST", "/api/v1/guides", g, &created); got != http.StatusCreated || created.ID == 0 {
		t.Errorf("broadcast manager writes a guide: %d", got)
	}
	until := env.clock.Now().Add(-time.Hour)
	if got, code := env.problemCode("director", "POST", "/api/v1/policies", map[string]any{"title": "x", "valid_until": until}); got != http.StatusUnprocessableEntity {
		t.Errorf("a policy ending before it starts: %d %s", got, code)
	}
}
