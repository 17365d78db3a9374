package mqtt_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	mochi "github.com/mochi-mqtt/server/v2"
	mauth "github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/access"
	"github.com/shequ/shequ/access/controller"
	accessmqtt "github.com/shequ/shequ/access/mqtt"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

func TestMain(m *testing.M) {
	defer sqlstoretest.RemoveTemplates()
	m.Run()
}

var everywhere = auth.Scope{{}}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// startBroker runs an embedded broker of the test's own on a free port.
func startBroker(t testing.TB) string {
	t.Helper()
	srv := mochi.New(&mochi.Options{InlineClient: false})
	must(t, srv.AddHook(new(mauth.AllowHook), nil))
	ln := listeners.NewTCP(listeners.Config{Type: "tcp", ID: "t", Address: "127.0.0.1:0"})
	must(t, srv.AddListener(ln))
	must(t, srv.Serve())
	t.Cleanup(func() { srv.Close() })
	return "tcp://" + ln.Address()
}

// world is one community with a building, a household with one resident,
// an entrance and a gate.
type world struct {
	community      community.Community
	household      community.Household
	person         community.Person
	entrance, gate access.Door
	card, phone    access.Credential
}

func makeWorld(t testing.TB, st *sqlstore.Store, code string) world {
	t.Helper()
	ctx := context.Background()
	var w world
	w.community = community.Community{Code: code, Name: "社区 " + code}
	must(t, st.CreateCommunity(ctx, everywhere, &w.community))
	g := community.Grid{CommunityID: w.community.ID, Code: "G1", Name: "第1网格"}
	must(t, st.CreateGrid(ctx, everywhere, &g))
	b := community.Building{CommunityID: w.community.ID, GridID: g.ID, Name: "1号楼", Floors: 6}
	must(t, st.CreateBuilding(ctx, everywhere, &b))
	h := community.Home{BuildingID: b.ID, Floor: 3, Door: "1-301"}
	must(t, st.CreateHome(ctx, everywhere, &h))
	w.household = community.Household{HomeID: h.ID, Name: "赵户"}
	must(t, st.CreateHousehold(ctx, everywhere, &w.household))
	w.person = community.Person{HouseholdID: w.household.ID, Name: "赵敏"}
	must(t, st.CreatePerson(ctx, everywhere, &w.person))
	w.entrance = access.Door{BuildingID: b.ID, Name: "1号楼1单元", Entrance: "1"}
	w.gate = access.Door{CommunityID: w.community.ID, Name: "南门", Kind: access.DoorGate}
	must(t, st.CreateDoor(ctx, everywhere, &w.entrance))
	must(t, st.CreateDoor(ctx, everywhere, &w.gate))
	w.card = access.Credential{PersonID: w.person.ID, Kind: access.KindCard, Value: "DEADBEEF"}
	must(t, st.CreateCredential(ctx, everywhere, &w.card))
	w.phone = access.Credential{PersonID: w.person.ID, Kind: access.KindPhone}
	must(t, st.CreateCredential(ctx, everywhere, &w.phone))
	return w
}

// doorClient is a simulated controller's connection: it collects what
// shequ publishes to its doors.
type doorClient struct {
	cm  *autopaho.ConnectionManager
	mu  sync.Mutex
	got map[string][][]byte
	sig chan struct{}
}

func connectDoor(t testing.TB, broker, id string, doors ...int64) *doorClient {
	t.Helper()
	u, _ := url.Parse(broker)
	dc := &doorClient{got: map[string][][]byte{}, sig: make(chan struct{}, 1000)}
	ready := make(chan struct{})
	var subs []paho.SubscribeOptions
	for _, d := range doors {
		for _, what := range []string{"decision", "revocations", "command"} {
			subs = append(subs, paho.SubscribeOptions{Topic: accessmqtt.DoorTopic(d, what), QoS: 1})
		}
	}
	cm, err := autopaho.NewConnection(t.Context(), autopaho.ClientConfig{
		ServerUrls: []*url.URL{u}, KeepAlive: 30, CleanStartOnInitialConnection: true,
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			if _, err := cm.Subscribe(context.Background(), &paho.Subscribe{Subscriptions: subs}); err == nil {
				close(ready)
			}
		},
		ClientConfig: paho.ClientConfig{ClientID: id, OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			dc.mu.Lock()
			dc.got[pr.Packet.Topic] = append(dc.got[pr.Packet.Topic], pr.Packet.Payload)
			dc.mu.Unlock()
			dc.sig <- struct{}{}
			return true, nil
		}}},
	})
	must(t, err)
	dc.cm = cm
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("controller did not subscribe")
	}
	t.Cleanup(func() { _ = cm.Disconnect(context.Background()) })
	return dc
}

func (dc *doorClient) publish(t testing.TB, topic string, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	_, err := dc.cm.Publish(t.Context(), &paho.Publish{Topic: topic, QoS: 1, Payload: b})
	must(t, err)
}

// await waits for a message on topic that ok accepts.
func (dc *doorClient) await(t testing.TB, topic string, within time.Duration, ok func([]byte) bool) []byte {
	t.Helper()
	deadline := time.After(within)
	for {
		dc.mu.Lock()
		for _, b := range dc.got[topic] {
			if ok(b) {
				dc.mu.Unlock()
				return b
			}
		}
		dc.mu.Unlock()
		select {
		case <-dc.sig:
		case <-deadline:
			t.Fatalf("nothing fitting on %s within %s", topic, within)
			return nil
		}
	}
}

func (dc *doorClient) ask(t testing.TB, door int64, id string, p access.Presented) access.Answer {
	t.Helper()
	dc.publish(t, accessmqtt.DoorTopic(door, "request"), access.Request{ID: id, Credential: p})
	var ans access.Answer
	dc.await(t, accessmqtt.DoorTopic(door, "decision"), 5*time.Second, func(b []byte) bool {
		return json.Unmarshal(b, &ans) == nil && ans.ID == id
	})
	return ans
}

func startAdapter(t testing.TB, st *sqlstore.Store, broker, id string) *accessmqtt.Adapter {
	t.Helper()
	a := accessmqtt.New(accessmqtt.Config{URL: broker, ClientID: id}, st)
	must(t, a.Start(t.Context()))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	must(t, a.AwaitReady(ctx))
	return a
}

// TestMoveOutOverMQTT: decisions over MQTT are the store's; a household's
// move-out stops its card and its pass and reaches the controller's
// revocation list within 5 s; what the controller decided offline,
// uploaded later, is in the log.
func TestMoveOutOverMQTT(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			ctx := t.Context()
			st := sqlstoretest.Open(t, dialect, shequ.SystemClock{})
			w := makeWorld(t, st, "mq"+dialect[:2])
			broker := startBroker(t)
			a := startAdapter(t, st, broker, "shequ-test-"+dialect)
			pctx, stop := context.WithCancel(ctx)
			defer stop()
			pusher := &access.Pusher{Source: st, Adapters: []access.Adapter{a}, Every: 200 * time.Millisecond, Log: slogDiscard()}
			go pusher.Run(pctx)

			dc := connectDoor(t, broker, "door-ctl-"+dialect, w.entrance.ID, w.gate.ID)
			card := access.Presented{Kind: access.KindCard, Value: "deadbeef"}
			if ans := dc.ask(t, w.entrance.ID, "r1", card); !ans.Granted {
				t.Fatalf("card over MQTT: %+v", ans)
			}
			hhScope := auth.Scope{{CommunityID: w.community.ID, HouseholdID: w.household.ID}}
			pass := access.Pass{HouseholdID: w.household.ID, VisitorName: "访客"}
			token, err := st.CreatePass(ctx, hhScope, &pass)
			must(t, err)
			passAt := access.Presented{Kind: access.KindPass, Token: token}
			// The MQTT answer is the API's answer (the same Decide).
			if ans := dc.ask(t, w.gate.ID, "r2", passAt); !ans.Granted {
				t.Fatalf("pass over MQTT: %+v", ans)
			}

			start := time.Now()
			n, err := st.MoveOutHousehold(ctx, everywhere, w.household.ID)
			must(t, err)
			if n != 3 {
				t.Errorf("move-out revoked %d", n)
			}
			fp := access.CardFingerprint("DEADBEEF")
			raw := dc.await(t, accessmqtt.DoorTopic(w.entrance.ID, "revocations"), 5*time.Second, func(b []byte) bool {
				var r access.Revocations
				return json.Unmarshal(b, &r) == nil && slices.Contains(r.Cards, fp) && slices.Contains(r.Serials, pass.Serial) && slices.Contains(r.Serials, w.phone.Serial)
			})
			t.Logf("controller told in %s", time.Since(start).Round(time.Millisecond))
			if ans := dc.ask(t, w.entrance.ID, "r3", card); ans.Granted || ans.Reason != access.ReasonRevoked {
				t.Errorf("card after move-out: %+v", ans)
			}
			if ans := dc.ask(t, w.gate.ID, "r4", passAt); ans.Granted {
				t.Errorf("pass after move-out: %+v", ans)
			}

			// The controller goes offline with the pushed list: it refuses
			// the revoked pass itself, and its decisions come up later.
			var rev access.Revocations
			must(t, json.Unmarshal(raw, &rev))
			pub, err := st.AccessPublicKey(ctx, w.community.ID)
			must(t, err)
			gate := controller.New(w.gate, pub)
			gate.SetRevocations(rev)
			if d := gate.Decide(passAt, time.Now()); d.Reason != access.ReasonRevoked {
				t.Errorf("offline, revoked pass: %+v", d)
			}
			other := access.Pass{HouseholdID: makeNeighbour(t, st, w), VisitorName: "离线访客"}
			otherToken, err := st.CreatePass(ctx, everywhere, &other)
			must(t, err)
			if d := gate.Decide(access.Presented{Kind: access.KindPass, Token: otherToken}, time.Now()); !d.Granted {
				t.Errorf("offline, valid pass: %+v", d)
			}
			dc.publish(t, accessmqtt.DoorTopic(w.gate.ID, "offline_decisions"), access.Upload{Decisions: gate.TakeDecisions()})
			deadline := time.Now().Add(5 * time.Second)
			for {
				l, err := st.ListAccessLog(ctx, everywhere, access.LogFilter{DoorID: w.gate.ID, Page: shequ.Page{Limit: 50}})
				must(t, err)
				var seen int
				for _, e := range l.Items {
					if e.Offline && ((e.Granted && e.VisitorName == "离线访客") || (!e.Granted && e.Reason == access.ReasonRevoked)) {
						seen++
					}
				}
				if seen == 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("offline decisions not in the log: %+v", l.Items)
				}
				time.Sleep(50 * time.Millisecond)
			}

			// A forced door reported over MQTT opens an incident.
			dc.publish(t, accessmqtt.DoorTopic(w.entrance.ID, "forced"), access.Event{})
			for {
				d, err := st.Door(ctx, everywhere, w.entrance.ID)
				must(t, err)
				if d.State == access.StateForced {
					break
				}
				if time.Now().After(deadline.Add(5 * time.Second)) {
					t.Fatalf("forced door not recorded: %+v", d)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

func makeNeighbour(t testing.TB, st *sqlstore.Store, w world) int64 {
	t.Helper()
	hh := community.Household{HomeID: w.household.HomeID, Name: "新住户"}
	must(t, st.CreateHousehold(context.Background(), everywhere, &hh))
	return hh.ID
}

func TestParseTopic(t *testing.T) {
	for topic, want := range map[string]string{"shequ/door/12/request": "12 request", "shequ/door/x/request": "", "other/door/1/request": "", "shequ/door/5": ""} {
		id, what, ok := accessmqtt.ParseTopic(topic)
		got := ""
		if ok {
			got = strings.TrimSpace(strings.Join([]string{itoa(id), what}, " "))
		}
		if got != want {
			t.Errorf("ParseTopic(%q) = %q, want %q", topic, got, want)
		}
	}
}
