package mqtt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/access"
	accessmqtt "github.com/shequ/shequ/access/mqtt"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// BenchmarkDoorDecisions sends b.N requests at a steady 500 a second over
// MQTT and reports the latency from request to decision: "shequ" answers
// with the store's decision (SQLite, each decision logged), "echo" is a
// client that answers at once without deciding — the broker's own round
// trip, the floor shequ is measured against. Run as
//
//	go test -run '^$' -bench BenchmarkDoorDecisions -benchtime 10000x ./access/mqtt/
func BenchmarkDoorDecisions(b *testing.B) {
	const rate = 500
	for _, mode := range []string{"echo", "shequ-sqlite"} {
		b.Run(mode, func(b *testing.B) {
			broker := startBroker(b)
			st := sqlstoretest.Open(b, sqlstore.SQLite, shequ.SystemClock{})
			w := makeWorld(b, st, "bench")
			creds := benchCredentials(b, st, w, 50)
			if mode == "echo" {
				startEcho(b, broker)
			} else {
				startAdapter(b, st, broker, "shequ-bench")
			}
			lat := drive(b, broker, []int64{w.entrance.ID, w.gate.ID}, creds, rate, b.N)
			b.StopTimer()
			// A decision not made within 300 ms is not sent at all (the
			// controller decides offline then): counted, not failed.
			b.ReportMetric(float64(b.N-len(lat)), "unanswered")
			if len(lat) == 0 {
				b.Fatal("no request answered")
			}
			slices.Sort(lat)
			q := func(p float64) float64 {
				if len(lat) == 0 {
					return 0
				}
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / 1e6
			}
			b.ReportMetric(q(0.50), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(float64(lat[len(lat)-1])/1e6, "max-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// benchCredentials gives n residents of the world's household a card, and
// returns cards, a pass and unknown cards to present.
func benchCredentials(b *testing.B, st *sqlstore.Store, w world, n int) []access.Presented {
	ctx := context.Background()
	var out []access.Presented
	for i := range n {
		p := community.Person{HouseholdID: w.household.ID, Name: fmt.Sprintf("住户%d", i)}
		must(b, st.CreatePerson(ctx, everywhere, &p))
		uid := fmt.Sprintf("BE%06X", i)
		must(b, st.CreateCredential(ctx, everywhere, &access.Credential{PersonID: p.ID, Kind: access.KindCard, Value: uid}))
		out = append(out, access.Presented{Kind: access.KindCard, Value: uid})
	}
	pass := access.Pass{HouseholdID: w.household.ID, Uses: 50, VisitorName: "压测"}
	token, err := st.CreatePass(ctx, everywhere, &pass)
	must(b, err)
	for range n / 5 {
		out = append(out, access.Presented{Kind: access.KindPass, Token: token}, access.Presented{Kind: access.KindCard, Value: "00BAD0"})
	}
	return out
}

// startEcho answers every request at once, without deciding.
func startEcho(b *testing.B, broker string) {
	u, _ := url.Parse(broker)
	ready := make(chan struct{})
	var cm *autopaho.ConnectionManager
	var err error
	cm, err = autopaho.NewConnection(b.Context(), autopaho.ClientConfig{
		ServerUrls: []*url.URL{u}, KeepAlive: 30, CleanStartOnInitialConnection: true,
		OnConnectionUp: func(c *autopaho.ConnectionManager, _ *paho.Connack) {
			if _, err := c.Subscribe(context.Background(), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: accessmqtt.Topic + "/+/request", QoS: 1}}}); err == nil {
				close(ready)
			}
		},
		ClientConfig: paho.ClientConfig{ClientID: "bench-echo", OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			door, _, _ := accessmqtt.ParseTopic(pr.Packet.Topic)
			var req access.Request
			_ = json.Unmarshal(pr.Packet.Payload, &req)
			body, _ := json.Marshal(access.Answer{ID: req.ID, Decision: access.Decision{Reason: "echo"}})
			go cm.Publish(context.Background(), &paho.Publish{Topic: accessmqtt.DoorTopic(door, "decision"), QoS: 1, Payload: body})
			return true, nil
		}}},
	})
	must(b, err)
	<-ready
	b.Cleanup(func() { _ = cm.Disconnect(context.Background()) })
}

// drive publishes n requests at rate a second, spread over doors, and
// returns each answered request's latency.
func drive(b *testing.B, broker string, doors []int64, creds []access.Presented, rate, n int) []time.Duration {
	u, _ := url.Parse(broker)
	var mu sync.Mutex
	sent := map[string]time.Time{}
	lat := make([]time.Duration, 0, n)
	done := make(chan struct{})
	ready := make(chan struct{})
	var subs []paho.SubscribeOptions
	for _, d := range doors {
		subs = append(subs, paho.SubscribeOptions{Topic: accessmqtt.DoorTopic(d, "decision"), QoS: 1})
	}
	cm, err := autopaho.NewConnection(b.Context(), autopaho.ClientConfig{
		ServerUrls: []*url.URL{u}, KeepAlive: 30, CleanStartOnInitialConnection: true,
		OnConnectionUp: func(c *autopaho.ConnectionManager, _ *paho.Connack) {
			if _, err := c.Subscribe(context.Background(), &paho.Subscribe{Subscriptions: subs}); err == nil {
				close(ready)
			}
		},
		ClientConfig: paho.ClientConfig{ClientID: "bench-doors", OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			var a access.Answer
			_ = json.Unmarshal(pr.Packet.Payload, &a)
			now := time.Now()
			mu.Lock()
			if t, ok := sent[a.ID]; ok {
				lat = append(lat, now.Sub(t))
				delete(sent, a.ID)
				if len(lat) == n {
					close(done)
				}
			}
			mu.Unlock()
			return true, nil
		}}},
	})
	must(b, err)
	defer cm.Disconnect(context.Background())
	<-ready
	b.ResetTimer()
	start := time.Now()
	every := time.Second / time.Duration(rate)
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		id := fmt.Sprint(i)
		body, _ := json.Marshal(access.Request{ID: id, Credential: creds[i%len(creds)]})
		mu.Lock()
		sent[id] = time.Now()
		mu.Unlock()
		// Publishing QoS 0 from the driver keeps its own acknowledgement
		// out of the measured path; the answers come back at QoS 1.
		go cm.Publish(b.Context(), &paho.Publish{Topic: accessmqtt.DoorTopic(doors[i%len(doors)], "request"), QoS: 0, Payload: body})
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]time.Duration(nil), lat...)
}
