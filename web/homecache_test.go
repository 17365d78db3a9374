package web

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/lostfound"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestResidentHomeKept checks the kept home page (homecache.go) on both
// databases with two nodes on one database: node A keeps pages; every
// change is made by node B's store, behind A's back (store calls and plain
// SQL); a third server on B renders every page afresh. After each change
// A's next answer must be the fresh page, byte for byte, and while nothing
// changes A must answer from what it kept.
func TestResidentHomeKept(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			clock := shequtest.NewClock(env0)
			dsn := demoStore.DSN(t, dialect)
			stA, stB := sqlstoretest.OpenDSN(t, dsn, clock), sqlstoretest.OpenDSN(t, dsn, clock)
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			nodeA := New(Config{Store: stA, Clock: clock, Logger: quiet, Version: "test", LoginBurst: 1000})
			fresh := New(Config{Store: stB, Clock: clock, Logger: quiet, Version: "test", LoginBurst: 1000})
			if nodeA.homes == nil {
				t.Fatal("the store does not version the home page")
			}
			fresh.homes = nil

			token := loginToken(t, nodeA, "resident01")
			actor, err := stB.Actor(ctx, token)
			if err != nil || actor.HouseholdID == 0 {
				t.Fatalf("resident01: %v, household %d", err, actor.HouseholdID)
			}
			hh, err := stB.Household(ctx, auth.Scope{{}}, actor.HouseholdID)
			if err != nil {
				t.Fatal(err)
			}
			get := func(srv *Server, lang string) string {
				t.Helper()
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				r.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
				if lang != "" {
					r.AddCookie(&http.Cookie{Name: langCookie, Value: lang})
				}
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, r)
				if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-store" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
					t.Fatalf("GET /: %d %v", rec.Code, rec.Header())
				}
				return rec.Body.String()
			}
			// same asks node A twice: the first answer must be the fresh
			// page, the second the kept one.
			same := func(step, lang string) string {
				t.Helper()
				// A change made past a store reaches it with its
				// notification (PostgreSQL) or the file's next poll
				// (SQLite): ask after that moment, as a client would.
				for _, st := range []*sqlstore.Store{stA, stB} {
					if err := st.HeardCounters(ctx); err != nil {
						t.Fatal(err)
					}
				}
				want := get(fresh, lang)
				hits := nodeA.homes.hits.Load()
				if got := get(nodeA, lang); got != want {
					t.Fatalf("%s: node A's page differs from a fresh one:\n%s", step, firstDiff(got, want))
				}
				if got := get(nodeA, lang); got != want || nodeA.homes.hits.Load() != hits+1 {
					t.Fatalf("%s: the page was not kept (hits %d → %d)", step, hits, nodeA.homes.hits.Load())
				}
				return want
			}
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := stB.DB().ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			latestMatter := func() int64 {
				t.Helper()
				var id int64
				if err := stB.DB().QueryRowContext(ctx, "SELECT id FROM matters WHERE household_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1", actor.HouseholdID).Scan(&id); err != nil {
					t.Fatalf("resident01's latest matter: %v", err)
				}
				return id
			}

			page := same("first visit", "")
			if !strings.Contains(page, `id="home-sos"`) {
				t.Fatalf("the page has no SOS: %.400s", page)
			}
			en := same("in English", "en")
			if en == page {
				t.Fatal("the English page is the Chinese one")
			}

			// A matter filed for resident01 at the office, on node B.
			u, err := stB.UserByName(ctx, "resident01")
			if err != nil {
				t.Fatal(err)
			}
			filed := matter.Matter{Category: "sanitation", Description: "楼道灯不亮", PersonID: u.PersonID, Channel: "office"}
			if err := stB.SubmitMatter(ctx, auth.Scope{{}}, &filed); err != nil {
				t.Fatal(err)
			}
			page = same("a matter filed on another node", "")
			if !strings.Contains(page, "楼道灯不亮") {
				t.Fatal("the filed matter is not shown")
			}

			hostile := `<script>alert("x")</script> & 'q' ` + "\u202e"
			m := latestMatter()
			exec("UPDATE matters SET description = $1, status = 'submitted' WHERE id = $2", hostile, m)
			page = same("a matter's text changed in SQL", "")
			if !strings.Contains(page, html.EscapeString(hostile)[:40]) || strings.Contains(page, "<script>alert") {
				t.Fatal("the changed matter is not shown, escaped")
			}

			if _, err := stB.RaiseSOS(ctx, auth.Scope{{}}, hh.HomeID, "测试", 0, 0); err != nil {
				t.Fatal(err)
			}
			page = same("an SOS raised on another node", "")
			if !strings.Contains(page, "r-alarm-urgent") {
				t.Fatal("the open SOS is not shown")
			}
			exec("UPDATE incidents SET status = 'resolved' WHERE home_id = $1", hh.HomeID)
			exec("UPDATE arm_states SET state = 'disarmed' WHERE home_id = $1", hh.HomeID)
			page = same("the incident resolved in SQL", "")
			if strings.Contains(page, "r-alarm-urgent") {
				t.Fatal("the resolved SOS is still shown")
			}

			exec("UPDATE communities SET phone = '023-99998888'")
			page = same("the office's phone changed", "")
			if !strings.Contains(page, "023-99998888") {
				t.Fatal("the new phone number is not shown")
			}

			// A post on the board, on node B, that expires in half a
			// minute: shown, then gone with no write (the page is kept
			// for a minute at most otherwise).
			post := lostfound.Post{CommunityID: u.Grants[0].CommunityID, AuthorID: u.ID, Kind: "lost", Title: "一把蓝色雨伞（测试）", Place: "3号楼门口",
				ExpiresAt: clock.Now().Add(30 * time.Second)}
			if err := stB.CreatePost(ctx, auth.Scope{{}}, &post); err != nil {
				t.Fatal(err)
			}
			page = same("a post written", "")
			if !strings.Contains(page, "一把蓝色雨伞（测试）") {
				t.Fatal("the new post is not shown")
			}
			clock.Advance(31 * time.Second)
			page = same("the post expired", "")
			if strings.Contains(page, "一把蓝色雨伞（测试）") {
				t.Fatal("the expired post is still shown")
			}

			exec("UPDATE matter_categories SET name = '测试类别' WHERE id = (SELECT category_id FROM matters WHERE id = $1)", m)
			page = same("a category renamed", "")
			if !strings.Contains(page, "测试类别") {
				t.Fatal("the renamed category is not shown")
			}

			// Time alone: a matter shown comes due, with no write.
			exec("UPDATE matters SET due_at = $1 WHERE id = $2", clock.Now().Add(30*time.Second).UTC(), m)
			page = same("a matter due in half a minute", "")
			if strings.Contains(page, "card-overdue") {
				t.Fatal("overdue before its time")
			}
			clock.Advance(31 * time.Second)
			page = same("the matter overdue", "")
			if !strings.Contains(page, "card-overdue") {
				t.Fatal("the matter that came due is not shown overdue")
			}

			// Another matter of the household moved first.
			exec("UPDATE matters SET created_at = $1 WHERE id = $2", clock.Now().UTC(), m)
			same("a matter moved first", "")

			// A notice published on another node.
			var nid int64
			if err := stB.DB().QueryRowContext(ctx, "SELECT MIN(id) FROM notices").Scan(&nid); err != nil || nid == 0 {
				t.Fatalf("a notice: %v", err)
			}
			exec("UPDATE notices SET title = '停水通知（测试）' WHERE id = $1", nid)
			same("a notice changed", "")

			// The session's account renamed: the cache key changes with it.
			exec("UPDATE users SET display_name = '新名字' WHERE id = $1", actor.User.ID)
			clock.Advance(3 * time.Second) // past the session cache
			page = same("the account renamed", "")
			if !strings.Contains(page, "新名字") {
				t.Fatal("the new name is not shown")
			}
			if en2 := same("in English again", "en"); en2 == en {
				t.Fatal("the English page did not change")
			}
		})
	}
}

// firstDiff shows where two pages part.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-200)
	return "got:  …" + a[lo:min(len(a), i+200)] + "\nwant: …" + b[lo:min(len(b), i+200)]
}

// loginToken signs user in through srv and returns the session's token.
func loginToken(t testing.TB, srv http.Handler, user string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", bytes.NewReader([]byte(`{"username":"`+user+`","password":"`+demoPassword+`"}`)))
	req.Header.Set("Content-Type", "application/json")
	srv.ServeHTTP(rec, req)
	var login struct{ Token string }
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &login) != nil || login.Token == "" {
		t.Fatalf("login %s: %d %s", user, rec.Code, rec.Body.Bytes())
	}
	return login.Token
}
