package mqtt

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// storeSensors is Sensors over a store, as the server has it: the
// registry from alarm_sensors, the last state from the stored events.
type storeSensors struct {
	st *sqlstore.Store
}

func (s *storeSensors) Sensor(ctx context.Context, name string) (string, string, bool, error) {
	o, known, err := s.st.Sensor(ctx, name)
	return o.SensorKind, o.SensorZone, known, err
}

func (s *storeSensors) LastState(ctx context.Context, name string) (State, bool, error) {
	rs, err := s.st.LastSensorReports(ctx, name)
	if err != nil || len(rs) == 0 {
		return State{}, false, err
	}
	var st State
	for _, r := range rs {
		st = st.Apply(r)
	}
	return st, true, nil
}

// sensorStore makes a database with the demo's homes and n door contacts
// d0 … d(n-1) on them, and returns its DSN.
func sensorStore(t testing.TB, dialect string, n int) string {
	t.Helper()
	dsn := sqlstoretest.DSN(t, dialect)
	st := sqlstoretest.OpenDSN(t, dsn, nil)
	ctx := context.Background()
	if _, err := demo.Load(ctx, st, "test-password-1"); err != nil {
		t.Fatal(err)
	}
	floor := 1
	homes, err := st.ListHomes(ctx, auth.Scope{{}}, community.Filter{Floor: &floor, Page: shequ.Page{Limit: n}})
	if err != nil || len(homes.Items) == 0 {
		t.Fatalf("homes: %v", err)
	}
	for i := range n {
		x := alarm.Sensor{HomeID: homes.Items[i%len(homes.Items)].ID, Kind: alarm.SensorDoor, Zone: "door", MQTTName: fmt.Sprintf("d%d", i)}
		if err := st.CreateSensor(ctx, auth.Scope{{}}, &x); err != nil {
			t.Fatal(err)
		}
	}
	return dsn
}

// node is one shequ process's MQTT ingestion over its own store
// connection and group commit.
type node struct {
	st     *sqlstore.Store
	cancel context.CancelFunc
	done   chan struct{}
}

// startNode runs Run with the subscriber's lease (jobs.Leader, as the
// server does) for holder on the database at dsn.
func startNode(t *testing.T, dsn, holder string, cfg Config) *node {
	t.Helper()
	st := sqlstoretest.OpenDSN(t, dsn, nil)
	ing := alarm.NewIngestor(st, testLogger(t), 256)
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{st: st, cancel: cancel, done: make(chan struct{})}
	// The group commit stops after the ingestion, as in the server.
	ictx, stopIngest := context.WithCancel(context.Background())
	ingDone := make(chan struct{})
	go func() { ing.Run(ictx); close(ingDone) }()
	lease := &jobs.Leader{Store: st, Name: "mqtt-subscriber", Holder: holder, TTL: 1500 * time.Millisecond, Log: cfg.Logger.With("node", holder)}
	cfg.Elect = lease.Run
	cfg.Logger = cfg.Logger.With("node", holder)
	go func() {
		if err := Run(ctx, cfg, &storeSensors{st: st}, ing); err != nil {
			t.Errorf("node %s: %v", holder, err)
		}
		stopIngest()
		<-ingDone
		close(n.done)
	}()
	t.Cleanup(n.stop)
	return n
}

func (n *node) stop() {
	n.cancel()
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		panic("a node's MQTT ingestion did not stop in 30 s")
	}
}

// storedSequences returns the stored MQTT events of every sensor as
// "BA BR BA …" and their number.
func storedSequences(t testing.TB, st *sqlstore.Store) (map[string]string, int) {
	t.Helper()
	rows, err := st.DB().QueryContext(context.Background(), "SELECT account, restore FROM alarm_events WHERE source = 'mqtt' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var rs []alarm.Report
	for rows.Next() {
		var r alarm.Report
		if err := rows.Scan(&r.Account, &r.Restore); err != nil {
			t.Fatal(err)
		}
		r.Code = CodeBurglary
		if r.Restore {
			r.Code = CodeBurglaryRestore
		}
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return sequences(rs), len(rs)
}

// publishChanges publishes changes state changes (open, closed, …)
// round the sensors d0 … d(sensors-1), continuing from the count each
// sensor already had.
func publishChanges(t testing.TB, pub *publisher, sensors int, from, changes int) {
	t.Helper()
	for i := from; i < from+changes; i++ {
		s := i % sensors
		nth := i / sensors // this sensor's change number: even opens, odd closes
		if err := pub.publish(fmt.Sprintf("zigbee2mqtt/d%d", s), contact(nth%2 == 1), false); err != nil {
			t.Fatal(err)
		}
	}
}

// checkStored waits until want changes are stored and checks that each
// sensor's events alternate from an opening, with none lost or doubled.
func checkStored(t *testing.T, st *sqlstore.Store, sensors, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, n := storedSequences(t, st); n >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // anything stored twice would show now
	got, n := storedSequences(t, st)
	if n != want {
		t.Errorf("%d events stored, want %d", n, want)
	}
	for s := range sensors {
		name := fmt.Sprintf("d%d", s)
		per := want / sensors
		if s < want%sensors {
			per++
		}
		if got[name] != alternating(per) {
			t.Errorf("%s: stored %q, want %q", name, got[name], alternating(per))
		}
	}
}

// TestTwoNodesStoreEachChangeOnce runs the ingestion of two nodes on one
// database and one (private) Mosquitto, as the server does: one node at a
// time subscribes, under the deployment's client id, holding the
// subscriber's lease. Each state change is stored once; when the
// subscribing node stops while sensors keep publishing, the other takes
// over and nothing is lost or doubled; and it goes back again.
func TestTwoNodesStoreEachChangeOnce(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			m := startMosquitto(t)
			const sensors = 4
			dsn := sensorStore(t, dialect, sensors)
			cfg := testConfig(t, m.url(), "shequ-cluster-test")
			// The deployment's session exists before the sensors publish,
			// as it does once a node has subscribed once.
			startClient(t, cfg, doors(sensors, nil), newRecorder()).Close()

			a := startNode(t, dsn, "node-a", cfg)
			b := startNode(t, dsn, "node-b", cfg)
			pub := newPublisher(t, m.url(), "bridge-cluster")
			publishChanges(t, pub, sensors, 0, 40)
			checkStored(t, a.st, sensors, 40)

			holder := func() string {
				ls, err := a.st.Leases(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range ls {
					if l.Name == "mqtt-subscriber" {
						return l.Holder
					}
				}
				return ""
			}
			first := holder()
			if first != "node-a" && first != "node-b" {
				t.Fatalf("subscriber's lease held by %q", first)
			}
			leader, other := a, b
			if first == "node-b" {
				leader, other = b, a
			}
			// The subscriber stops while the sensors publish.
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); publishChanges(t, pub, sensors, 40, 80) }()
			time.Sleep(50 * time.Millisecond)
			leader.stop()
			wg.Wait()
			checkStored(t, other.st, sensors, 120)
			// All may have been stored before it stopped; the other
			// node takes the lease within its TTL all the same.
			waitFor(t, 5*time.Second, "the other node to take the subscriber's lease", func() bool {
				h := holder()
				return h != first && h != ""
			})

			// It comes back while the other one subscribes: still once.
			back := startNode(t, dsn, first, cfg)
			publishChanges(t, pub, sensors, 120, 40)
			other.stop()
			publishChanges(t, pub, sensors, 160, 40)
			checkStored(t, back.st, sensors, 200)
			if t.Failed() {
				got, _ := storedSequences(t, back.st)
				t.Logf("stored: %s", strings.ReplaceAll(fmt.Sprint(got), "map", ""))
			}
		})
	}
}
