package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// keptNode is one shequ node of a test: a store of its own on the shared
// database and a server over it.
type keptNode struct {
	t      *testing.T
	store  *sqlstore.Store
	srv    *Server
	tokens map[string]string
}

// get answers GET path as user in process, with If-None-Match when given.
func (n *keptNode) get(user, path, ifNoneMatch string) (int, []byte, string) {
	n.t.Helper()
	tok, ok := n.tokens[user]
	if !ok {
		tok = benchLogin(n.t, n.srv, user)
		n.tokens[user] = tok
	}
	// A change made past this node reaches it with its notification
	// (PostgreSQL): ask as a client would after that moment.
	if err := n.store.HeardCounters(n.t.Context()); err != nil {
		n.t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	if ifNoneMatch != "" {
		r.Header.Set("If-None-Match", ifNoneMatch)
	}
	rec := httptest.NewRecorder()
	n.srv.ServeHTTP(rec, r)
	return rec.Code, rec.Body.Bytes(), rec.Header().Get("ETag")
}

// list answers GET path as user and decodes the list; it must be 200.
func list2[T any](n *keptNode, user, path string) (shequ.List[T], []byte, string) {
	n.t.Helper()
	code, body, etag := n.get(user, path, "")
	var l shequ.List[T]
	if code != http.StatusOK || json.Unmarshal(body, &l) != nil || etag == "" {
		n.t.Fatalf("GET %s as %s: %d %s (ETag %q)", path, user, code, body, etag)
	}
	return l, body, etag
}

// TestKeptListsFollowChanges: the kept pages of the homes, the incident
// queue and the notice feed are sent again only while nothing they show
// changed — whether the change came through this node, another node on the
// same database, or SQL written past every store — and each scope keeps
// its own.
func TestKeptListsFollowChanges(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clock := shequtest.NewClock(env0)
			dsn := demoStore.DSN(t, dialect)
			node := func() *keptNode {
				st := sqlstoretest.OpenDSN(t, dsn, clock)
				srv := New(Config{Store: st, Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test", LoginBurst: 1000})
				return &keptNode{t: t, store: st, srv: srv, tokens: map[string]string{}}
			}
			a, b := node(), node()
			everything := auth.Scope{{}}

			// The incident queue: what node b does shows on node a.
			const queue = "/api/v1/incidents?status=open"
			before, body0, etag0 := list2[alarm.Incident](a, "operator", queue)
			if again, body, etag := list2[alarm.Incident](a, "operator", queue); !bytes.Equal(body, body0) || etag != etag0 || again.Total != before.Total {
				t.Fatalf("the same queue twice: %s then %s", body0, body)
			}
			if code, body, etag := a.get("operator", queue, etag0); code != http.StatusNotModified || len(body) != 0 || etag != etag0 {
				t.Errorf("If-None-Match with the current ETag: %d %q %q, want 304 and no body", code, body, etag)
			}
			if code, _, _ := a.get("operator", queue, `W/`+etag0+`, "other"`); code != http.StatusNotModified {
				t.Errorf("If-None-Match with a weak tag among others: %d, want 304", code)
			}
			homes, err := b.store.ListHomes(ctx, everything, community.Filter{Page: shequ.Page{Limit: 2, Offset: 30}})
			if err != nil || len(homes.Items) != 2 {
				t.Fatalf("homes: %v", err)
			}
			sos, err := b.store.RaiseSOS(ctx, everything, homes.Items[0].ID, "测试求助", 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			id := sos.Incident.ID
			find := func(l shequ.List[alarm.Incident]) *alarm.Incident {
				for i := range l.Items {
					if l.Items[i].ID == id {
						return &l.Items[i]
					}
				}
				return nil
			}
			after, _, etag1 := list2[alarm.Incident](a, "operator", queue)
			if after.Total != before.Total+1 || find(after) == nil {
				t.Fatalf("after an SOS on node b, node a's queue has %d (was %d), the SOS %v", after.Total, before.Total, find(after) != nil)
			}
			if code, _, _ := a.get("operator", queue, etag0); code != http.StatusOK || etag1 == etag0 {
				t.Errorf("the old ETag after a change: %d, want 200 with a new tag", code)
			}
			if _, err := b.store.StepIncident(ctx, everything, id, alarm.Step{Action: "ack", By: 1}); err != nil {
				t.Fatal(err)
			}
			if l, _, _ := list2[alarm.Incident](a, "operator", queue); find(l) == nil || find(l).Status != alarm.StatusAcknowledged {
				t.Errorf("after an ack on node b, node a shows %+v", find(l))
			}
			behind := func(query string, args ...any) {
				t.Helper()
				if _, err := b.store.DB().ExecContext(ctx, query, args...); err != nil {
					t.Fatal(err)
				}
			}
			behind("UPDATE incidents SET title = $1 WHERE id = $2", "别处改的标题", id)
			if l, _, _ := list2[alarm.Incident](a, "operator", queue); find(l) == nil || find(l).Title != "别处改的标题" {
				t.Errorf("after SQL past the stores, node a shows %+v", find(l))
			}
			behind("UPDATE buildings SET name = $1 WHERE id = $2", "改名楼", homes.Items[0].BuildingID)
			if l, _, _ := list2[alarm.Incident](a, "operator", queue); find(l) == nil || find(l).BuildingName != "改名楼" {
				t.Errorf("after a building's new name, node a's queue shows %+v", find(l))
			}
			if _, err := b.store.StepIncident(ctx, everything, id, alarm.Step{Action: "resolve", By: 1, Resolution: "test"}); err != nil {
				t.Fatal(err)
			}
			if l, _, _ := list2[alarm.Incident](a, "operator", queue); find(l) != nil || l.Total != before.Total {
				t.Errorf("after a resolve on node b, node a's queue has %d, the incident %v", l.Total, find(l) != nil)
			}

			// The homes: each scope its own page, and a change past the
			// stores shows.
			const page = "/api/v1/homes?limit=500"
			all, _, _ := list2[community.Home](a, "operator", page)
			grid, _, _ := list2[community.Home](a, "grid01", page)
			if grid.Total == 0 || grid.Total >= all.Total {
				t.Fatalf("grid01 reaches %d homes of %d", grid.Total, all.Total)
			}
			for _, h := range grid.Items {
				if h.GridID != grid.Items[0].GridID {
					t.Fatalf("grid01's homes span grids %d and %d", grid.Items[0].GridID, h.GridID)
				}
			}
			if again, _, _ := list2[community.Home](a, "operator", page); again.Total != all.Total {
				t.Errorf("the operator's homes after grid01's: %d, want %d", again.Total, all.Total)
			}
			behind("UPDATE homes SET door = $1 WHERE id = $2", "别处门", homes.Items[1].ID)
			doorOf := func(l shequ.List[community.Home], id int64) string {
				for _, h := range l.Items {
					if h.ID == id {
						return h.Door
					}
				}
				return ""
			}
			if l, _, _ := list2[community.Home](a, "operator", page); doorOf(l, homes.Items[1].ID) != "别处门" {
				t.Errorf("after a door changed past the stores, node a shows %q", doorOf(l, homes.Items[1].ID))
			}
			// A resident reaches their home through their household: moving
			// the household moves what they see.
			mine, _, _ := list2[community.Home](a, "resident01", page)
			if mine.Total != 1 {
				t.Fatalf("resident01 reaches %d homes", mine.Total)
			}
			other := homes.Items[1].ID
			if other == mine.Items[0].ID {
				other = homes.Items[0].ID
			}
			behind("UPDATE households SET home_id = $1 WHERE home_id = $2", other, mine.Items[0].ID)
			if moved, _, _ := list2[community.Home](a, "resident01", page); moved.Total != 1 || moved.Items[0].ID != other {
				t.Errorf("after the household moved to home %d, resident01 sees %+v", other, moved.Items)
			}
			behind("UPDATE households SET home_id = $1 WHERE home_id = $2", mine.Items[0].ID, other)

			// The resident's notice feed: a change on node b, SQL past the
			// stores, and a notice whose publication time comes.
			const feed = "/api/v1/notices"
			f0, _, _ := list2[content.Notice](a, "resident01", feed)
			if f0.Total == 0 {
				t.Fatal("resident01's feed is empty")
			}
			behind("UPDATE notices SET title = $1 WHERE id = $2", "别处改的通知", f0.Items[0].ID)
			if f, _, _ := list2[content.Notice](a, "resident01", feed); f.Items[0].Title != "别处改的通知" {
				t.Errorf("after SQL past the stores, the feed's first notice is %q", f.Items[0].Title)
			}
			later := clock.Now().Add(time.Hour)
			n := content.Notice{CommunityID: f0.Items[0].CommunityID, Title: "一小时后发布", Body: "稍后", PublishAt: later}
			if err := b.store.CreateNotice(ctx, everything, &n); err != nil {
				t.Fatal(err)
			}
			has := func(l shequ.List[content.Notice]) bool {
				for _, x := range l.Items {
					if x.ID == n.ID {
						return true
					}
				}
				return false
			}
			if f, _, _ := list2[content.Notice](a, "resident01", feed); has(f) {
				t.Error("a notice scheduled for later is in the feed already")
			}
			clock.Advance(2 * time.Hour)
			if f, _, _ := list2[content.Notice](a, "resident01", feed); !has(f) {
				t.Error("a notice whose publication time came is not in the feed")
			}
		})
	}
}

// TestKeptListsAnswerAsBefore: a kept answer is byte for byte what huma's
// JSON format writes for the list, with its content type; refusals are
// huma's as before.
func TestKeptListsAnswerAsBefore(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	get := func(user, path string) []byte {
		t.Helper()
		resp := env.request(user, http.MethodGet, path, nil)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("ETag") == "" {
			t.Fatalf("GET %s: %d %q %q", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		return body
	}
	sameAsHuma(t, get("operator", "/api/v1/homes?limit=3&offset=5"), shequ.List[community.Home]{})
	homes, err := env.store.ListHomes(t.Context(), auth.Scope{{}}, community.Filter{Page: shequ.Page{Limit: 1}})
	if err != nil || len(homes.Items) != 1 {
		t.Fatalf("homes: %v", err)
	}
	if _, err := env.store.RaiseSOS(t.Context(), auth.Scope{{}}, homes.Items[0].ID, "<求助> & \"引号\"", 0, 0); err != nil {
		t.Fatal(err)
	}
	sameAsHuma(t, get("operator", "/api/v1/incidents"), shequ.List[alarm.Incident]{})
	sameAsHuma(t, get("resident01", "/api/v1/notices"), shequ.List[content.Notice]{})
	for _, tt := range []struct {
		user, path string
		status     int
	}{
		{"", "/api/v1/homes", http.StatusUnauthorized},
		{"", "/api/v1/notices", http.StatusUnauthorized},
		{"operator", "/api/v1/homes?limit=501", http.StatusUnprocessableEntity},
		{"operator", "/api/v1/incidents?status=lost", http.StatusUnprocessableEntity},
		{"operator", "/api/v1/homes?floor=x", http.StatusUnprocessableEntity},
	} {
		resp := env.request(tt.user, http.MethodGet, tt.path, nil)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("GET %s as %q: %d %q, want %d and a problem", tt.path, tt.user, resp.StatusCode, resp.Header.Get("Content-Type"), tt.status)
		}
	}
}

// sameAsHuma fails unless body is what huma's JSON format writes for the
// list it decodes to.
func sameAsHuma[T any](t *testing.T, body []byte, l shequ.List[T]) {
	t.Helper()
	if err := json.Unmarshal(body, &l); err != nil || len(l.Items) == 0 {
		t.Fatalf("decode %s: %v, %d items", body, err, len(l.Items))
	}
	var want bytes.Buffer
	if err := huma.DefaultJSONFormat.Marshal(&want, l); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, want.Bytes()) {
		t.Errorf("kept answer\n%s\nhuma writes\n%s", body, want.Bytes())
	}
}

// TestKeptListsInOpenAPI: the kept lists are documented as before (their
// list's schema) with the ETag, If-None-Match and the 304.
func TestKeptListsInOpenAPI(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string }
			Responses  map[string]struct {
				Headers map[string]any
				Content map[string]struct {
					Schema map[string]any
				}
			}
		}
	}
	if code := env.do("", http.MethodGet, "/api/v1/openapi.json", nil, &doc); code != http.StatusOK {
		t.Fatalf("openapi: %d", code)
	}
	for _, path := range []string{"/api/v1/homes", "/api/v1/incidents", "/api/v1/notices"} {
		op := doc.Paths[path]["get"]
		ok := op.Responses["200"].Content["application/json"].Schema["$ref"] != nil && op.Responses["200"].Headers["ETag"] != nil
		if _, has := op.Responses["304"]; !ok || !has {
			t.Errorf("%s: responses %+v", path, op.Responses)
		}
		header := false
		for _, p := range op.Parameters {
			header = header || p.Name == "If-None-Match" && p.In == "header"
		}
		if !header {
			t.Errorf("%s: no If-None-Match among %+v", path, op.Parameters)
		}
	}
}

// TestKeptPagesOfFiltersThatPrintAlike: grid 1 on floor 2 and grid 12 on
// every floor are two filters whose parts fmt.Sprint wrote as one text;
// each must get its own page.
func TestKeptPagesOfFiltersThatPrintAlike(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	var first, second page[community.Home]
	env.do("director", http.MethodGet, "/api/v1/homes?grid=1&floor=2", nil, &first)
	env.do("director", http.MethodGet, "/api/v1/homes?grid=12", nil, &second)
	if len(first.Items) == 0 {
		t.Fatal("grid 1 has no homes on floor 2: the test shows nothing")
	}
	for _, h := range second.Items {
		if h.GridID != 12 {
			t.Fatalf("grid 12's list holds home %d of grid %d: it was the kept page of grid 1, floor 2", h.ID, h.GridID)
		}
	}
	if pageKey("homes", []any{int64(1), "2"}) == pageKey("homes", []any{int64(12), ""}) {
		t.Error("two filters make one key")
	}
}

// TestKeptNoticeLists: the readers' notice feeds of the pages (the news,
// the home page's feed) are kept per scope and filter while the notices'
// stamp holds: read again, the very list is given; one grid's feed is
// never given to another grid; a change past the store and a notice whose
// publication time comes show at the next read.
func TestKeptNoticeLists(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clock := shequtest.NewClock(env0)
			st := sqlstoretest.OpenDSN(t, demoStore.DSN(t, dialect), clock)
			srv := New(Config{Store: st, Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test"})
			grids, err := st.ListGrids(ctx, auth.Scope{{}}, community.Filter{})
			if err != nil || len(grids.Items) < 2 {
				t.Fatalf("grids: %v, %d", err, len(grids.Items))
			}
			g1, g2 := grids.Items[0], grids.Items[1]
			reader := func(g community.Grid) auth.Scope { return auth.Scope{{CommunityID: g.CommunityID, GridID: g.ID}} }
			n := content.Notice{CommunityID: g1.CommunityID, Title: "一网格的通知", Body: "只给一网格", Audience: content.Grids(g1.ID), PublishAt: clock.Now().Add(-time.Minute)}
			if err := st.CreateNotice(ctx, auth.Scope{{}}, &n); err != nil {
				t.Fatal(err)
			}
			f := content.NoticeFilter{Page: shequ.Page{Limit: 100}}
			feed := func(g community.Grid) shequ.List[content.Notice] {
				t.Helper()
				if err := st.HeardCounters(ctx); err != nil {
					t.Fatal(err)
				}
				l, err := srv.noticeList(ctx, reader(g), f)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			title := func(l shequ.List[content.Notice], id int64) string {
				for _, x := range l.Items {
					if x.ID == id {
						return x.Title
					}
				}
				return ""
			}
			first := feed(g1)
			if title(first, n.ID) != n.Title {
				t.Fatalf("grid %d's feed lacks its notice", g1.ID)
			}
			if again := feed(g1); len(again.Items) == 0 || &again.Items[0] != &first.Items[0] {
				t.Error("grid 1's feed read again was not the kept one")
			}
			if other := feed(g2); title(other, n.ID) != "" {
				t.Errorf("grid %d's feed shows grid %d's notice", g2.ID, g1.ID)
			}
			if again := feed(g1); title(again, n.ID) != n.Title {
				t.Error("grid 1's feed after grid 2's lacks its notice")
			}
			if n, _ := srv.kept.notices.Len(); n != 2 {
				t.Errorf("%d feeds kept, want 2", n)
			}

			if _, err := st.DB().ExecContext(ctx, "UPDATE notices SET title = $1 WHERE id = $2", "别处改的", n.ID); err != nil {
				t.Fatal(err)
			}
			if got := title(feed(g1), n.ID); got != "别处改的" {
				t.Errorf("after SQL past the store, grid 1's feed shows %q", got)
			}

			later := content.Notice{CommunityID: g1.CommunityID, Title: "稍后", Body: "稍后", Audience: content.Community(), PublishAt: clock.Now().Add(time.Hour)}
			if err := st.CreateNotice(ctx, auth.Scope{{}}, &later); err != nil {
				t.Fatal(err)
			}
			if title(feed(g2), later.ID) != "" {
				t.Error("a notice shows before its time")
			}
			clock.Advance(2 * time.Hour)
			if title(feed(g2), later.ID) == "" {
				t.Error("a notice does not show once its time came")
			}
		})
	}
}
