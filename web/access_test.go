package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	acs "github.com/shequ/shequ/access"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestAccessAPI: a resident invites a visitor; the pass opens the doors of
// the route to their home through /decide and the webhook, the QR code is
// a PNG, the log shows the visit to staff, a revoked pass stops.
func TestAccessAPI(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			env := newTestEnv(t, dialect)
			var doors struct {
				Items []acs.Door
				Total int
			}
			if st := env.do("resident01", http.MethodGet, "/api/v1/access/doors?limit=500", nil, &doors); st != http.StatusOK || doors.Total == 0 {
				t.Fatalf("doors: %d %d", st, doors.Total)
			}
			var created struct {
				ID       int64    `json:"id"`
				Token    string   `json:"token"`
				QRPNGURL string   `json:"qr_png_url"`
				Pass     acs.Pass `json:"pass"`
			}
			if st := env.do("resident01", http.MethodPost, "/api/v1/access/passes", map[string]any{"visitor_name": "小李"}, &created); st != http.StatusCreated || created.Token == "" {
				t.Fatalf("create pass: %d %+v", st, created)
			}
			route := map[int64]bool{}
			for _, id := range created.Pass.DoorIDs {
				route[id] = true
			}
			var onRoute, offRoute int64
			for _, d := range doors.Items {
				if route[d.ID] && onRoute == 0 {
					onRoute = d.ID
				}
				if !route[d.ID] && offRoute == 0 {
					offRoute = d.ID
				}
			}
			resp := env.request("resident01", http.MethodGet, created.QRPNGURL, nil)
			png, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(png, []byte("\x89PNG")) {
				t.Errorf("QR: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			decide := func(door int64) acs.Decision {
				t.Helper()
				var d acs.Decision
				if st := env.do("director", http.MethodPost, "/api/v1/access/decide", map[string]any{"door_id": door, "credential": map[string]string{"kind": "pass", "token": created.Token}}, &d); st != http.StatusOK {
					t.Fatalf("decide: %d", st)
				}
				return d
			}
			if d := decide(offRoute); d.Granted || d.Reason != acs.ReasonWrongDoor {
				t.Errorf("at another door: %+v", d)
			}
			if d := decide(onRoute); !d.Granted {
				t.Errorf("on the route: %+v", d)
			}
			if st := env.do("resident01", http.MethodPost, "/api/v1/access/decide", map[string]any{"door_id": onRoute, "credential": map[string]string{"kind": "pass", "token": created.Token}}, nil); st != http.StatusForbidden {
				t.Errorf("a resident asked for a decision: %d", st)
			}

			// The webhook: signed calls only.
			secret := []byte("door-secret")
			env.server.accessWebhookSecret = secret
			body, _ := json.Marshal(map[string]any{"type": "request", "id": "w1", "credential": map[string]string{"kind": "pass", "token": created.Token}})
			post := func(sig string) (int, map[string]any) {
				req, _ := http.NewRequest(http.MethodPost, env.http.URL+"/api/v1/access/webhook", bytes.NewReader(body))
				ts := env.clock.Now().Unix()
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(AccessDoorHeader, strconv.FormatInt(onRoute, 10))
				req.Header.Set(AccessTimeHeader, strconv.FormatInt(ts, 10))
				if sig == "" {
					sig = SignAccessWebhook(secret, ts, onRoute, body)
				}
				req.Header.Set(AccessSignatureHeader, sig)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var out map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&out)
				return resp.StatusCode, out
			}
			if st, _ := post("sha256=00"); st != http.StatusForbidden {
				t.Errorf("unsigned webhook: %d", st)
			}
			if st, out := post(""); st != http.StatusOK || out["granted"] != true || out["id"] != "w1" {
				t.Errorf("webhook: %d %v", st, out)
			}
			// Two uses given by default: both gone now.
			if d := decide(onRoute); d.Reason != acs.ReasonUsedUp {
				t.Errorf("third use: %+v", d)
			}

			var log struct {
				Items []acs.LogEntry
			}
			if st := env.do("director", http.MethodGet, fmt.Sprintf("/api/v1/access/log?door=%d&from=%s", onRoute, env.clock.Now().Add(-time.Hour).Format(time.RFC3339)), nil, &log); st != http.StatusOK {
				t.Fatalf("log: %d", st)
			}
			var visits int
			for _, e := range log.Items {
				if e.Granted && e.VisitorName == "小李" {
					visits++
				}
			}
			if visits != 2 {
				t.Errorf("%d visits in the log: %+v", visits, log.Items)
			}

			// Revoked: stops; the public key is public.
			var second struct {
				ID    int64  `json:"id"`
				Token string `json:"token"`
			}
			env.do("resident01", http.MethodPost, "/api/v1/access/passes", map[string]any{"kind": "courier"}, &second)
			if st := env.do("resident01", http.MethodDelete, fmt.Sprintf("/api/v1/access/passes/%d", second.ID), nil, nil); st != http.StatusNoContent {
				t.Errorf("revoke: %d", st)
			}
			var d acs.Decision
			env.do("director", http.MethodPost, "/api/v1/access/decide", map[string]any{"door_id": onRoute, "credential": map[string]string{"kind": "pass", "token": second.Token}}, &d)
			if d.Reason != acs.ReasonRevoked {
				t.Errorf("revoked courier pass: %+v", d)
			}
			var key publicKeyBody
			if st := env.do("", http.MethodGet, fmt.Sprintf("/api/v1/access/public-key?community=%d", env.demo.CommunityID), nil, &key); st != http.StatusOK || key.PublicKey == "" {
				t.Errorf("public key: %d %+v", st, key)
			}
			var phone phoneKey
			if st := env.do("resident01", http.MethodPost, "/api/v1/access/phone-key", nil, &phone); st != http.StatusOK || phone.Token == "" {
				t.Errorf("phone key: %d", st)
			}
		})
	}
}

// TestAccessPages: a resident invites a visitor with the form (three
// taps), sees the pass with its QR code and the link to share, reports a
// card lost; staff see the doors, the log and the household's keys, and
// move the household out.
func TestAccessPages(t *testing.T) {
	env := newTestEnv(t, sqlstoretest.Dialects()[0])
	keys := env.pageAs("resident01", "/my/keys")
	if keys.status != http.StatusOK || !strings.Contains(keys.body, `id="phone-qr"`) || !strings.Contains(keys.body, "data:image/png;base64,") {
		t.Fatalf("my keys: %d %s", keys.status, keys.body)
	}
	cookie := env.cookies["resident01"]
	visitors := env.pageAs("resident01", "/my/visitors")
	csrf := csrfOf(t, visitors.body)
	r := env.pageRequest(http.MethodPost, "/my/visitors", url.Values{"csrf_token": {csrf}, "kind": {"visitor"}, "length": {"2h"}, "visitor_name": {"张阿姨"}}, http.Header{"Origin": {env.http.URL}}, cookie)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/my/visitors/") {
		t.Fatalf("invite: %d %s", r.status, r.header.Get("Location"))
	}
	pass := env.pageAs("resident01", r.header.Get("Location"))
	if pass.status != http.StatusOK || !strings.Contains(pass.body, "张阿姨") || !strings.Contains(pass.body, `id="pass-qr"`) || !strings.Contains(pass.body, "/pass?t=") {
		t.Fatalf("pass page: %d %s", pass.status, pass.body)
	}
	link := regexp.MustCompile(`href="(/pass\?t=[^"]+)"`).FindStringSubmatch(pass.body)
	if link == nil {
		t.Fatal("no share link")
	}
	if shared := env.page(html.UnescapeString(link[1])); shared.status != http.StatusOK || !strings.Contains(shared.body, `id="shared-qr"`) {
		t.Errorf("shared link without an account: %d", shared.status)
	}
	if bad := env.page("/pass?t=nonsense!"); bad.status != http.StatusNotFound {
		t.Errorf("bad shared link: %d", bad.status)
	}

	for _, path := range []string{"/access", "/access/log"} {
		if p := env.pageAs("director", path); p.status != http.StatusOK {
			t.Errorf("%s as director: %d", path, p.status)
		}
	}
	if p := env.pageAs("resident01", fmt.Sprintf("/access/households/%d", 1)); p.status != http.StatusForbidden {
		t.Errorf("a household's keys as a resident: %d", p.status)
	}
	var me struct {
		HouseholdID int64 `json:"household_id"`
	}
	env.do("resident01", http.MethodGet, "/api/v1/auth/me", nil, &me)
	hh := env.pageAs("director", fmt.Sprintf("/access/households/%d", me.HouseholdID))
	if hh.status != http.StatusOK || !strings.Contains(hh.body, "…B2C3") {
		t.Fatalf("household keys: %d %s", hh.status, hh.body)
	}
	// The welfare watch, switched on by staff with the family's consent,
	// shows on the resident's keys page, and she switches it off herself.
	var meUser struct {
		User struct {
			PersonID int64 `json:"person_id"`
		} `json:"user"`
	}
	env.do("resident01", http.MethodGet, "/api/v1/auth/me", nil, &meUser)
	person := meUser.User.PersonID
	// resident01 lives with family in the demo: say she lives alone now.
	pp, err := env.store.Person(t.Context(), auth.Scope{{}}, person)
	if err != nil {
		t.Fatal(err)
	}
	if st := env.do("director", http.MethodPut, fmt.Sprintf("/api/v1/people/%d/welfare-watch", person), map[string]any{"enabled": true, "consent_by": "family"}, nil); st != http.StatusUnprocessableEntity {
		t.Errorf("welfare watch for someone not living alone: %d", st)
	}
	pp.Tags = append(pp.Tags, "living_alone")
	if err := env.store.UpdatePerson(t.Context(), auth.Scope{{}}, &pp); err != nil {
		t.Fatal(err)
	}
	if st := env.do("director", http.MethodPut, fmt.Sprintf("/api/v1/people/%d/welfare-watch", person), map[string]any{"enabled": true, "days": 3, "consent_by": "family"}, nil); st != http.StatusOK {
		t.Fatalf("welfare watch on: %d", st)
	}
	keys2 := env.pageAs("resident01", "/my/keys")
	if !strings.Contains(keys2.body, `id="welfare-off"`) {
		t.Fatal("the resident does not see her welfare watch")
	}
	r = env.pageRequest(http.MethodPost, "/my/welfare/off", url.Values{"csrf_token": {csrf}}, http.Header{"Origin": {env.http.URL}}, cookie)
	if r.status != http.StatusSeeOther {
		t.Fatalf("welfare off: %d", r.status)
	}
	var w acs.WelfareWatch
	env.do("director", http.MethodGet, fmt.Sprintf("/api/v1/people/%d/welfare-watch", person), nil, &w)
	if w.Enabled || w.ConsentBy != "family" {
		t.Errorf("after the resident switched it off: %+v", w)
	}

	// The resident reports their card lost from the phone.
	card := regexp.MustCompile(`action="/my/keys/(\d+)/lost"`).FindAllStringSubmatch(keys.body, -1)
	if len(card) < 2 {
		t.Fatalf("lost-card forms: %v", card)
	}
	r = env.pageRequest(http.MethodPost, "/my/keys/"+card[1][1]+"/lost", url.Values{"csrf_token": {csrf}}, http.Header{"Origin": {env.http.URL}}, cookie)
	if r.status != http.StatusSeeOther {
		t.Fatalf("report lost: %d", r.status)
	}
	var d acs.Decision
	var doors struct{ Items []acs.Door }
	env.do("director", http.MethodGet, "/api/v1/access/doors?limit=500", nil, &doors)
	env.do("director", http.MethodPost, "/api/v1/access/decide", map[string]any{"door_id": doors.Items[0].ID, "credential": map[string]string{"kind": "card", "value": "04A1B2C3"}}, &d)
	if d.Reason != acs.ReasonRevoked {
		t.Errorf("lost card at the door: %+v", d)
	}
	// A forced door is on the operator's console, its incident titled by
	// the door.
	if _, err := env.store.RecordDoorEvent(t.Context(), doors.Items[0].ID, acs.EventForced, env.clock.Now(), "test"); err != nil {
		t.Fatal(err)
	}
	if c := env.pageAs("operator", "/console"); c.status != http.StatusOK || !strings.Contains(c.body, "门被强行打开") {
		t.Errorf("console: %d, forced door not shown", c.status)
	}

	// Staff move the household out.
	dcsrf := csrfOf(t, hh.body)
	r = env.pageRequest(http.MethodPost, fmt.Sprintf("/access/households/%d/move-out", me.HouseholdID), url.Values{"csrf_token": {dcsrf}}, http.Header{"Origin": {env.http.URL}}, env.cookies["director"])
	if r.status != http.StatusSeeOther {
		t.Fatalf("move out: %d", r.status)
	}
	var left struct{ Total int }
	env.do("director", http.MethodGet, fmt.Sprintf("/api/v1/access/credentials?household=%d", me.HouseholdID), nil, &left)
	if left.Total != 0 {
		t.Errorf("%d credentials still active after move-out", left.Total)
	}
}
