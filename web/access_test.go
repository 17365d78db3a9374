package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	acs "github.com/shequ/shequ/access"
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
					sig = SignAccessWebhook(secret, ts, body)
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
