package web

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/sqlstore"
)

// residentHome returns resident01's home id.
func (e *testEnv) residentHomeID() int64 {
	e.t.Helper()
	var homes page[community.Home]
	e.do("resident01", "GET", "/api/v1/homes", nil, &homes)
	if len(homes.Items) != 1 {
		e.t.Fatalf("resident01 homes: %+v", homes.Items)
	}
	return homes.Items[0].ID
}

// openStream subscribes as user and returns a channel of "type id" lines.
func (e *testEnv) openStream(user string, lastID string) (<-chan [3]string, context.CancelFunc) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.http.URL+"/api/v1/events/stream", nil)
	req.Header.Set("Authorization", "Bearer "+e.token(user))
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil || resp.StatusCode != 200 {
		e.t.Fatalf("stream: %v %v", err, resp)
	}
	out := make(chan [3]string, 100)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var id, typ string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "event: "):
				typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				out <- [3]string{id, typ, line[6:]}
			}
		}
		close(out)
	}()
	return out, cancel
}

func next(t *testing.T, ch <-chan [3]string, typ string) [3]string {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatalf("stream closed waiting for %s", typ)
			}
			if m[1] == typ {
				return m
			}
		case <-timeout:
			t.Fatalf("no %s event within 5 s", typ)
		}
	}
}

func TestAlarmFlowOverHTTP(t *testing.T) {
	for _, dialect := range []string{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, dialect)
			home := env.residentHomeID()

			var p alarm.Panel
			if got := env.do("director", "POST", "/api/v1/alarm/panels", map[string]any{"home_id": home, "account": "AB12", "key": "00112233445566778899AABBCCDDEEFF", "supervision_seconds": 120}, &p); got != 201 || p.ID == 0 || !p.Encrypted {
				t.Fatalf("create panel: %d %+v", got, p)
			}
			if got := env.do("director", "POST", "/api/v1/alarm/sensors", map[string]any{"home_id": home, "kind": "window_contact", "zone": "kitchen window", "mqtt_name": "r01_kitchen"}, nil); got != 201 {
				t.Fatalf("create sensor: %d", got)
			}

			operator, stop := env.openStream("operator", "")
			defer stop()
			resident, stopR := env.openStream("resident01", "")
			defer stopR()

			// The resident arms (no exit delay); the householder's page sees it.
			var st alarm.ArmState
			if got := env.do("resident01", "POST", fmt.Sprintf("/api/v1/homes/%d/alarm/arm", home), map[string]any{"mode": "away", "exit_delay_seconds": 0}, &st); got != 200 || st.State != alarm.ArmedAway {
				t.Fatalf("arm: %d %+v", got, st)
			}
			next(t, resident, "arm_state")

			// A window opens: the sensor report comes in as MQTT would bring it.
			ing := alarm.NewIngestor(env.store, env.server.log, 64)
			ing.Committed = func([]alarm.Outcome) { env.server.hub.Changed() }
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go ing.Run(ctx)
			start := time.Now()
			if err := ing.Handle(ctx, []alarm.Report{{Source: alarm.SourceMQTT, Account: "r01_kitchen", Kind: alarm.KindPerimeter, Code: "BA", ReceivedAt: env.clock.Now()}}); err != nil {
				t.Fatal(err)
			}
			m := next(t, operator, "incident")
			if !strings.Contains(m[2], `"kind":"perimeter"`) {
				t.Errorf("incident message %s", m[2])
			}
			t.Logf("intrusion to console: %v", time.Since(start))
			next(t, resident, "arm_state") // triggered

			var q page[alarm.Incident]
			env.do("operator", "GET", "/api/v1/incidents?status=open", nil, &q)
			if q.Total != 1 {
				t.Fatalf("queue %+v", q)
			}
			id := q.Items[0].ID
			path := func(a string) string { return fmt.Sprintf("/api/v1/incidents/%d/%s", id, a) }

			// Steps out of order are refused and change nothing.
			if got, code := env.problemCode("operator", "POST", path("arrive"), nil); got != 409 || code != "conflict" {
				t.Errorf("arrive first: %d %s", got, code)
			}
			if got := env.do("resident01", "POST", path("ack"), nil, nil); got != 403 {
				t.Errorf("resident acknowledges: %d", got)
			}
			var inc alarm.Incident
			if env.do("operator", "POST", path("ack"), nil, &inc); inc.Status != alarm.StatusAcknowledged {
				t.Fatalf("ack: %+v", inc)
			}
			grid01, _ := env.store.UserByName(t.Context(), "grid01")
			grid02, _ := env.store.UserByName(t.Context(), "grid02")
			if env.do("operator", "POST", path("dispatch"), map[string]any{"user_id": grid01.ID}, &inc); inc.Status != alarm.StatusDispatched {
				t.Fatalf("dispatch: %+v", inc)
			}
			if got := env.do("grid02", "POST", path("accept"), nil, nil); got != 404 {
				t.Errorf("another grid worker accepts: %d", got)
			}
			if got := env.do("grid01", "POST", path("accept"), nil, &inc); got != 200 || inc.AcceptedAt == nil {
				t.Errorf("accept: %d %+v", got, inc)
			}
			if got := env.do("grid01", "POST", path("arrive"), nil, &inc); got != 200 || inc.Status != alarm.StatusOnSite {
				t.Errorf("arrive: %d %+v", got, inc)
			}
			if got := env.do("operator", "POST", path("resolve"), map[string]any{"resolution": "nonsense"}, nil); got != 422 {
				t.Errorf("resolve with an unknown code: %d", got)
			}
			if env.do("operator", "POST", path("resolve"), map[string]any{"resolution": "false_alarm", "notes": "window left open by the wind"}, &inc); inc.Status != alarm.StatusResolved {
				t.Fatalf("resolve: %+v", inc)
			}
			var detail incidentDetail
			env.do("operator", "GET", fmt.Sprintf("/api/v1/incidents/%d", id), nil, &detail)
			if len(detail.Timeline) != 7 || len(detail.Events) != 1 || detail.Door == "" {
				t.Errorf("detail %+v", detail)
			}
			_ = grid02
			// The resident disarms with their session.
			if got := env.do("resident01", "POST", fmt.Sprintf("/api/v1/homes/%d/alarm/disarm", home), map[string]any{}, &st); got != 200 || st.State != alarm.Disarmed {
				t.Errorf("disarm: %d %+v", got, st)
			}
			// Another home is out of the resident's reach.
			var hs page[community.Home]
			env.do("operator", "GET", "/api/v1/homes?limit=2", nil, &hs)
			other := hs.Items[0].ID
			if other == home {
				other = hs.Items[1].ID
			}
			if got := env.do("resident01", "POST", fmt.Sprintf("/api/v1/homes/%d/alarm/arm", other), map[string]any{"mode": "away"}, nil); got != 404 {
				t.Errorf("resident arms a neighbour's home: %d", got)
			}
			// Events carry what the API promises.
			var evs page[map[string]any]
			env.do("operator", "GET", "/api/v1/alarm/events?account=r01_kitchen", nil, &evs)
			if evs.Total != 1 {
				t.Fatalf("events %+v", evs)
			}
			for _, k := range []string{"account", "seq", "code", "zone", "kind", "received_at"} {
				if _, ok := evs.Items[0][k]; !ok {
					t.Errorf("event lacks %s", k)
				}
			}
		})
	}
}

func TestSOSAndStreamResume(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	stream, stop := env.openStream("operator", "")
	var inc alarm.Incident
	if got := env.do("resident01", "POST", "/api/v1/sos", map[string]any{"note": "胸口疼", "lat": 29.72, "lng": 106.63}, &inc); got != 201 || inc.Priority != alarm.PriorityLife {
		t.Fatalf("sos: %d %+v", got, inc)
	}
	first := next(t, stream, "incident")
	stop()
	// While the console is away, the operator acknowledges from elsewhere.
	env.do("operator", "POST", fmt.Sprintf("/api/v1/incidents/%d/ack", inc.ID), nil, nil)
	resumed, stop2 := env.openStream("operator", first[0])
	defer stop2()
	m := next(t, resumed, "incident")
	if m[0] <= first[0] || !strings.Contains(m[2], `"status":"acknowledged"`) {
		t.Errorf("resume after %s gave %v", first[0], m)
	}
	// A user of another community does not see it.
	env.secondCommunity()
	var q page[alarm.Incident]
	env.do("director-b", "GET", "/api/v1/incidents?status=open", nil, &q)
	if q.Total != 0 {
		t.Errorf("another community's admin sees %d incidents", q.Total)
	}
	if got := env.do("operator", "POST", "/api/v1/sos", nil, nil); got != 403 {
		t.Errorf("operator presses SOS: %d", got)
	}
}

func TestAutoArming(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	home := env.residentHomeID()
	base := fmt.Sprintf("/api/v1/homes/%d/alarm", home)
	if got := env.do("resident01", "PUT", base+"/rules", map[string]any{"arm_on_leave": true, "arm_at": "23:30", "mode": "home"}, nil); got != 200 {
		t.Fatalf("set rules: %d", got)
	}
	if got := env.do("resident01", "PUT", base+"/rules", map[string]any{"arm_at": "9pm"}, nil); got != 422 {
		t.Errorf("bad time: %d", got)
	}
	var ans presenceAnswer
	env.do("resident01", "POST", base+"/presence", map[string]any{"present": true}, &ans)
	if ans.AutoArmed || ans.State.State != alarm.Disarmed {
		t.Errorf("arriving armed the home: %+v", ans)
	}
	env.do("resident01", "POST", base+"/presence", map[string]any{"present": false}, &ans)
	if !ans.AutoArmed || ans.State.State != alarm.Arming || ans.State.ChangedBy != "auto:leave" {
		t.Fatalf("the last resident left: %+v", ans)
	}
	env.do("resident01", "POST", base+"/disarm", nil, nil)
	// 23:30 in Chongqing is 15:30 UTC; the test clock starts at 09:00 UTC.
	if out, _ := env.store.RunArmSchedules(t.Context()); len(out) != 0 {
		t.Errorf("armed before the time: %+v", out)
	}
	env.clock.Advance(6*time.Hour + 31*time.Minute)
	out, err := env.store.RunArmSchedules(t.Context())
	if err != nil || len(out) != 1 || out[0].Arm.State != alarm.ArmedHome {
		t.Fatalf("schedule: %+v %v", out, err)
	}
	if again, _ := env.store.RunArmSchedules(t.Context()); len(again) != 0 {
		t.Error("the schedule armed twice in a day")
	}
}
