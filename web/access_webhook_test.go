package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	acs "github.com/shequ/shequ/access"
	"github.com/shequ/shequ/sqlstore"
)

// TestAccessWebhookSignsTheDoorAndRefusesReplays: the webhook's signature
// covers the door, so a call signed for one door is refused for another,
// and the same signed call is acted on once (found in review: a "forced"
// event signed for door A was accepted again for door B, and twice for
// A). A call signed afresh is accepted; one older than the window is not.
func TestAccessWebhookSignsTheDoorAndRefusesReplays(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	var doors struct {
		Items []acs.Door
	}
	if st := env.do("director", http.MethodGet, "/api/v1/access/doors?limit=500", nil, &doors); st != http.StatusOK || len(doors.Items) < 2 {
		t.Fatalf("doors: %d %d", st, len(doors.Items))
	}
	doorA, doorB := doors.Items[0], doors.Items[1]
	secret := []byte("door-secret")
	env.server.accessWebhookSecret = secret
	// A controller at door A signs a "forced" event for its own door.
	body, _ := json.Marshal(map[string]any{"type": "forced", "id": "e1"})
	send := func(door, ts int64, sig string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, env.http.URL+"/api/v1/access/webhook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(AccessDoorHeader, strconv.FormatInt(door, 10))
		req.Header.Set(AccessTimeHeader, strconv.FormatInt(ts, 10))
		req.Header.Set(AccessSignatureHeader, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	forced := func(door int64) int {
		t.Helper()
		var log struct{ Items []acs.LogEntry }
		if st := env.do("director", http.MethodGet, fmt.Sprintf("/api/v1/access/log?door=%d", door), nil, &log); st != http.StatusOK {
			t.Fatalf("log: %d", st)
		}
		n := 0
		for _, e := range log.Items {
			if e.Event == "forced" {
				n++
			}
		}
		return n
	}
	ts := env.clock.Now().Unix()
	sig := SignAccessWebhook(secret, ts, doorA.ID, body)
	if st := send(doorA.ID, ts, sig); st != http.StatusOK {
		t.Fatalf("the call for door A: %d", st)
	}
	if st := send(doorB.ID, ts, sig); st != http.StatusForbidden {
		t.Errorf("door A's call sent for door B: %d, want 403", st)
	}
	if st := send(doorA.ID, ts, sig); st != http.StatusConflict {
		t.Errorf("door A's call sent again: %d, want 409", st)
	}
	if a, b := forced(doorA.ID), forced(doorB.ID); a != 1 || b != 0 {
		t.Errorf("forced events: %d at door A, %d at door B; want 1 and 0", a, b)
	}

	// Signed afresh a second later, the same event is another call.
	env.clock.Advance(time.Second)
	ts2 := env.clock.Now().Unix()
	if st := send(doorA.ID, ts2, SignAccessWebhook(secret, ts2, doorA.ID, body)); st != http.StatusOK {
		t.Errorf("signed afresh: %d", st)
	}
	// Past the window the first call is refused for its time.
	env.clock.Advance(AccessWebhookSkew)
	if st := send(doorA.ID, ts, sig); st != http.StatusForbidden {
		t.Errorf("the first call after the window: %d, want 403", st)
	}
	if a := forced(doorA.ID); a != 2 {
		t.Errorf("%d forced events at door A, want 2", a)
	}
}

func TestWebhookReplays(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	mac := func(i byte) [sha256.Size]byte { return [sha256.Size]byte{i} }
	r := newWebhookReplays(3)
	steps := []struct {
		name    string
		mac     byte
		expires int64
		at      time.Time
		want    bool
	}{
		{"first", 1, now.Unix() + 300, now, true},
		{"again", 1, now.Unix() + 300, now, false},
		{"another", 2, now.Unix() + 10, now, true},
		{"a third", 3, now.Unix() + 200, now, true},
		// Full: the one closest to leaving the window (2) goes.
		{"a fourth", 4, now.Unix() + 250, now, true},
		{"the first, still remembered", 1, now.Unix() + 300, now, false},
		{"the third, still remembered", 3, now.Unix() + 200, now, false},
		{"the one forgotten", 2, now.Unix() + 10, now, true},
		// That made room by forgetting 3. 2 and 4 have left the window
		// later: 1 and the new 5 are left.
		{"later", 5, now.Unix() + 600, now.Add(260 * time.Second), true},
		{"the first, later", 1, now.Unix() + 300, now.Add(260 * time.Second), false},
		{"3, forgotten to make room", 3, now.Unix() + 200, now.Add(260 * time.Second), true},
	}
	for _, s := range steps {
		if got := r.take(mac(s.mac), s.expires, s.at); got != s.want {
			t.Errorf("%s: take %v, want %v", s.name, got, s.want)
		}
		if len(r.seen) > 3 || len(r.queue) > 3 {
			t.Errorf("%s: %d remembered, %d queued; at most 3", s.name, len(r.seen), len(r.queue))
		}
	}
	r.forget(mac(1))
	if !r.take(mac(1), now.Unix()+300, now.Add(260*time.Second)) {
		t.Error("a forgotten call was refused")
	}
	// A call that fails and is sent again, over and over, is remembered
	// once: copies of it in the queue would push other calls out, or it
	// out of the memory while it is still in its window.
	r = newWebhookReplays(3)
	at := now.Add(10 * time.Second)
	if !r.take(mac(7), now.Unix()+200, at) || !r.take(mac(8), now.Unix()+100, at) {
		t.Fatal("new calls refused")
	}
	for range 4 {
		r.forget(mac(7))
		if !r.take(mac(7), now.Unix()+200, at) {
			t.Fatal("a forgotten call was refused")
		}
	}
	if r.take(mac(7), now.Unix()+200, at) || r.take(mac(8), now.Unix()+100, at) {
		t.Errorf("a call forgotten and taken 4 times let a replay in (%d queued, %d remembered)", len(r.queue), len(r.seen))
	}
}
