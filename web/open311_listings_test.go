package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/open311"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// readCounter counts the Open311 listings read from the store.
type readCounter struct {
	Store
	reads atomic.Int32
}

func (c *readCounter) EachOpen311Request(ctx context.Context, f open311.Filter, fn func(*open311.FeedRow) error) error {
	c.reads.Add(1)
	return c.Store.EachOpen311Request(ctx, f, fn)
}

// listingAnswer is a GET requests answer with the headers that matter here.
type listingAnswer struct {
	status int
	etag   string
	cache  string
	body   []byte
}

// TestOpen311ListingsFollowChanges: the kept listings show every change
// on the next request, whether made through this server or by another
// node on the same database (behind this server's back); a listing
// whose window passed a request's time stops showing it; the kept bytes
// are those the listing written afresh has, for every filter and both
// formats; communities never see each other's; an unchanged listing is
// not read again, and a client holding it gets 304.
func TestOpen311ListingsFollowChanges(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clock := shequtest.NewClock(env0)
			dsn := demoStore.DSN(t, dialect)
			st := sqlstoretest.OpenDSN(t, dsn, clock)
			node2 := sqlstoretest.OpenDSN(t, dsn, clock) // another node of the deployment
			v, _ := demoResults.Load(dialect)
			res := v.(demo.Result)
			counted := &readCounter{Store: st}
			srv := New(Config{Store: counted, Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test", LoginBurst: 1000})
			hs := httptest.NewServer(srv)
			t.Cleanup(hs.Close)
			env := &testEnv{t: t, store: st, server: srv, http: hs, clock: clock, demo: res, tokens: map[string]string{}}
			_, key := env.open311Key("listings")
			admin := auth.Scope{{CommunityID: res.CommunityID}}

			get := func(format string, q url.Values, header ...string) listingAnswer {
				t.Helper()
				req, _ := http.NewRequest(http.MethodGet, hs.URL+"/open311/v2/requests."+format+"?"+q.Encode(), nil)
				for i := 0; i+1 < len(header); i += 2 {
					req.Header.Set(header[i], header[i+1])
				}
				resp, err := hs.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return listingAnswer{resp.StatusCode, resp.Header.Get("ETag"), resp.Header.Get("Cache-Control"), b}
			}
			type shown struct{ ID, Status, StatusNotes, ServiceName, Address, Agency string }
			list := func(q url.Values) []shown {
				t.Helper()
				a := get("json", q)
				if a.status != http.StatusOK {
					t.Fatalf("GET requests.json?%s: %d %s", q.Encode(), a.status, a.body)
				}
				var out []shown
				for _, r := range a.items(t) {
					out = append(out, shown{r["service_request_id"], r["status"], r["status_notes"], r["service_name"], r["address"], r["agency_responsible"]})
				}
				return out
			}
			find := func(l []shown, id string) (shown, bool) {
				i := slices.IndexFunc(l, func(s shown) bool { return s.ID == id })
				if i < 0 {
					return shown{}, false
				}
				return l[i], true
			}
			reads := func() int32 { return counted.reads.Load() }

			// Kept: the second request reads nothing, the client holding it
			// gets 304.
			first := get("json", nil)
			n := reads()
			again := get("json", nil)
			if first.status != 200 || again.status != 200 || string(again.body) != string(first.body) || reads() != n {
				t.Fatalf("unchanged listing: %d/%d, equal %t, %d reads", first.status, again.status, string(again.body) == string(first.body), reads()-n)
			}
			if first.etag == "" || again.etag != first.etag || first.cache != "no-cache" {
				t.Errorf("ETag %q then %q, Cache-Control %q", first.etag, again.etag, first.cache)
			}
			if a := get("json", nil, "If-None-Match", first.etag); a.status != http.StatusNotModified || len(a.body) != 0 || a.etag != first.etag {
				t.Errorf("If-None-Match with its tag: %d %q %q", a.status, a.etag, a.body)
			}
			if a := get("json", nil, "If-None-Match", `"other", W/`+first.etag); a.status != http.StatusNotModified {
				t.Errorf("If-None-Match listing its tag weakly: %d", a.status)
			}
			if a := get("json", nil, "If-None-Match", `"other"`); a.status != http.StatusOK || string(a.body) != string(first.body) {
				t.Errorf("If-None-Match with another tag: %d", a.status)
			}

			// Filed here, over Open311, at a building.
			var building community.Building
			if err := st.DB().QueryRowContext(ctx, "SELECT id, name FROM buildings WHERE community_id = $1 ORDER BY id LIMIT 1", res.CommunityID).Scan(&building.ID, &building.Name); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Second)
			filed := env.o311(http.MethodPost, "/open311/v2/requests.json", url.Values{"api_key": {key}, "service_code": {"repair"},
				"address_id": {itoa(building.ID)}, "description": {"门禁坏了"}})
			if filed.status != 200 {
				t.Fatalf("file: %d %s", filed.status, filed.body)
			}
			here := filed.items(t, "json", "", "")[0]["service_request_id"]
			l := list(nil)
			if len(l) == 0 || l[0].ID != here || !strings.Contains(l[0].Address, building.Name) {
				t.Fatalf("filed here %s: not shown first: %+v", here, l[:min(2, len(l))])
			}

			// Written by the other node: submitted, stepped, the building
			// renamed, the category renamed, the community renamed.
			clock.Advance(time.Second)
			m := matter.Matter{CommunityID: res.CommunityID, Category: "repair", Description: "另一台节点登记的", Channel: "office"}
			if err := node2.SubmitMatter(ctx, admin, &m); err != nil {
				t.Fatal(err)
			}
			if l := list(nil); len(l) == 0 || l[0].ID != m.Tracking || l[0].Status != "open" {
				t.Fatalf("submitted by the other node: %+v", l[:min(2, len(l))])
			}
			if _, err := node2.StepMatter(ctx, admin, m.ID, matter.Step{Action: "reject", By: 1, Note: "重复登记"}); err != nil {
				t.Fatal(err)
			}
			if s, _ := find(list(nil), m.Tracking); s.Status != "closed" || s.StatusNotes != "重复登记" {
				t.Errorf("stepped by the other node: %+v", s)
			}
			if s, _ := find(list(url.Values{"status": {"open"}}), m.Tracking); s.ID != "" {
				t.Errorf("rejected, still open: %+v", s)
			}
			// A matter at a home is shown at its building, by its name now.
			var person, household int64
			if err := node2.DB().QueryRowContext(ctx, "SELECT id, household_id FROM people WHERE community_id = $1 AND household_id IS NOT NULL ORDER BY id LIMIT 1",
				res.CommunityID).Scan(&person, &household); err != nil {
				t.Fatal(err)
			}
			home := matter.Matter{PersonID: person, Category: "repair", Description: "楼道灯坏了"}
			if err := node2.SubmitMatter(ctx, auth.Scope{{CommunityID: res.CommunityID, HouseholdID: household}}, &home); err != nil {
				t.Fatal(err)
			}
			atHome := home.Tracking
			renamed := community.Building{}
			if err := node2.DB().QueryRowContext(ctx, `SELECT b.id, b.grid_id, b.address, b.lat, b.lng, b.floors FROM homes h JOIN buildings b ON b.id = h.building_id WHERE h.id = $1`, home.HomeID).
				Scan(&renamed.ID, &renamed.GridID, &renamed.Address, &renamed.Lat, &renamed.Lng, &renamed.Floors); err != nil {
				t.Fatal(err)
			}
			if _, ok := find(list(nil), atHome); !ok {
				t.Fatalf("the demo's matter at a home %s is not in the listing", atHome)
			}
			renamed.Name = "新名字楼"
			if err := node2.UpdateBuilding(ctx, admin, &renamed); err != nil {
				t.Fatal(err)
			}
			if s, _ := find(list(nil), atHome); !strings.Contains(s.Address, "新名字楼") {
				t.Errorf("building renamed by the other node: %+v", s)
			}
			if _, err := node2.DB().ExecContext(ctx, "UPDATE matter_categories SET name = '报修（新）' WHERE community_id = $1 AND code = 'repair'", res.CommunityID); err != nil {
				t.Fatal(err)
			}
			if s, _ := find(list(nil), here); s.ServiceName != "报修（新）" {
				t.Errorf("category renamed by the other node: %+v", s)
			}
			if _, err := node2.DB().ExecContext(ctx, "UPDATE communities SET name = '新社区名' WHERE id = $1", res.CommunityID); err != nil {
				t.Fatal(err)
			}
			if s, _ := find(list(nil), here); s.Agency != "新社区名" {
				t.Errorf("community renamed by the other node: %+v", s)
			}

			// Byte for byte what the listing written afresh is, for each
			// filter and format, kept (the second request reads nothing).
			since := clock.Now().Add(-time.Hour).Format(time.RFC3339)
			for _, q := range []url.Values{
				nil,
				{"status": {"open"}},
				{"status": {"closed"}},
				{"service_code": {"repair"}},
				{"service_code": {"lift,sanitation"}},
				{"start_date": {since}},
				{"start_date": {since}, "end_date": {clock.Now().Format(time.RFC3339)}, "status": {"closed"}},
				{"service_request_id": {here + "," + m.Tracking}},
				{"jurisdiction_id": {demo.Code}},
			} {
				for _, f := range open311Formats {
					get(f, q)
					n := reads()
					kept := get(f, q)
					if reads() != n || kept.status != 200 {
						t.Errorf("%s?%s: read again (%d) or %d", f, q.Encode(), reads()-n, kept.status)
					}
					rec := httptest.NewRecorder()
					req := httptest.NewRequest(http.MethodGet, "/open311/v2/requests."+f+"?"+q.Encode(), nil)
					if err := srv.open311Requests(rec, req, open311.Format(f), nil); err != nil || rec.Code != 200 {
						t.Fatalf("%s?%s afresh: %d %v", f, q.Encode(), rec.Code, err)
					}
					if !slices.Equal(kept.body, rec.Body.Bytes()) {
						t.Errorf("%s?%s: kept %d bytes differ from the %d written afresh", f, q.Encode(), len(kept.body), rec.Body.Len())
					}
				}
			}

			// The window moves with the clock, nothing written: the request
			// filed here is shown until it is 90 days old, then not.
			filedAt := env0.Add(time.Second)
			clock.Advance(filedAt.Add(open311.MaxDays*24*time.Hour - 2*time.Minute).Sub(clock.Now()))
			if _, ok := find(list(nil), here); !ok {
				t.Errorf("89 days 23:58 later: not shown")
			}
			clock.Advance(3 * time.Minute)
			if s, ok := find(list(nil), here); ok {
				t.Errorf("90 days 00:01 later: still shown %+v", s)
			}
			// Within one step of the window nothing is read again.
			list(nil)
			n = reads()
			clock.Advance(time.Nanosecond)
			list(nil)
			if reads() != n {
				t.Errorf("the same window was read again")
			}

			// Another community: neither sees the other's, kept or not.
			other := community.Community{Code: "other-o311", Name: "别的社区"}
			if err := node2.CreateCommunity(ctx, auth.Scope{{}}, &other); err != nil {
				t.Fatal(err)
			}
			if err := node2.CreateCategory(ctx, auth.Scope{{}}, &matter.Category{CommunityID: other.ID, Code: "repair", Name: "维修", SLAHours: 72}); err != nil {
				t.Fatal(err)
			}
			theirs := matter.Matter{CommunityID: other.ID, Category: "repair", Description: "别的社区的事", Channel: "office"}
			if err := node2.SubmitMatter(ctx, auth.Scope{{CommunityID: other.ID}}, &theirs); err != nil {
				t.Fatal(err)
			}
			ours := matter.Matter{CommunityID: res.CommunityID, Category: "repair", Description: "这个社区的事", Channel: "office"}
			if err := node2.SubmitMatter(ctx, admin, &ours); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				mine, their := list(url.Values{"jurisdiction_id": {demo.Code}}), list(url.Values{"jurisdiction_id": {other.Code}})
				if _, ok := find(mine, theirs.Tracking); ok || len(mine) != 1 || mine[0].ID != ours.Tracking {
					t.Errorf("the demo community's listing: %+v, shows the other's: %t", mine, ok)
				}
				if len(their) != 1 || their[0].ID != theirs.Tracking || their[0].Agency != "别的社区" {
					t.Errorf("the other community's listing: %+v", their)
				}
			}
			if a := get("json", nil); a.status != http.StatusBadRequest {
				t.Errorf("two communities, no jurisdiction_id: %d", a.status)
			}
		})
	}
}

// items reads a JSON list answer into one map per request, values as text.
func (a listingAnswer) items(t *testing.T) []map[string]string {
	t.Helper()
	var list []map[string]any
	if err := json.Unmarshal(a.body, &list); err != nil {
		t.Fatalf("JSON list: %v: %s", err, a.body)
	}
	out := make([]map[string]string, 0, len(list))
	for _, it := range list {
		m := map[string]string{}
		for k, v := range it {
			m[k] = text(v)
		}
		out = append(out, m)
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
