package mqtt

import (
	"fmt"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
)

func msg(t *testing.T, payload string) Message {
	t.Helper()
	m, err := ParseState([]byte(payload))
	if err != nil {
		t.Fatalf("ParseState(%s): %v", payload, err)
	}
	return m
}

func avail(t *testing.T, payload string) Message {
	t.Helper()
	m, err := ParseAvailability([]byte(payload))
	if err != nil {
		t.Fatalf("ParseAvailability(%s): %v", payload, err)
	}
	return m
}

// brief renders reports as "CODE kind restore" for comparison.
func brief(rs []alarm.Report) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += "; "
		}
		s += fmt.Sprintf("%s %s %v", r.Code, r.Kind, r.Restore)
	}
	return s
}

func TestTranslate(t *testing.T) {
	door := Sensor{Name: "front_door", Kind: alarm.SensorDoor, Zone: "door"}
	window := Sensor{Name: "bedroom_window", Kind: alarm.SensorWindow, Zone: "window"}
	pir := Sensor{Name: "hall_pir", Kind: alarm.SensorPIR, Zone: "hallway"}
	normal := State{}
	tests := []struct {
		name    string
		sensor  Sensor
		prev    State
		state   string // state payload, or
		avail   string // availability payload
		want    string
		wantNow State
	}{
		{"door opens", door, normal, `{"contact":false,"battery":90,"linkquality":120}`, "", "BA entry_exit false", State{Open: true}},
		{"door closes", door, State{Open: true}, `{"contact":true}`, "", "BR entry_exit true", normal},
		{"door stays closed", door, normal, `{"contact":true,"battery":90}`, "", "", normal},
		{"door open repeated", door, State{Open: true}, `{"contact":false}`, "", "", State{Open: true}},
		{"window opens", window, normal, `{"contact":false}`, "", "BA perimeter false", State{Open: true}},
		{"window closes", window, State{Open: true}, `{"contact":true}`, "", "BR perimeter true", normal},
		{"unknown kind contact is perimeter", Sensor{Name: "x", Kind: "gate"}, normal, `{"contact":false}`, "", "BA perimeter false", State{Open: true}},
		{"motion", pir, normal, `{"occupancy":true,"battery":100}`, "", "BA interior false", State{Occupied: true}},
		{"motion repeated", pir, State{Occupied: true}, `{"occupancy":true}`, "", "", State{Occupied: true}},
		{"motion ends", pir, State{Occupied: true}, `{"occupancy":false}`, "", "BR interior true", normal},
		{"no motion stays quiet", pir, normal, `{"occupancy":false}`, "", "", normal},
		{"tamper", door, normal, `{"contact":true,"tamper":true}`, "", "TA tamper false", State{Tamper: true}},
		{"tamper restore", door, State{Tamper: true}, `{"tamper":false}`, "", "TR tamper true", normal},
		{"battery low flag", door, normal, `{"battery_low":true,"battery":30}`, "", "XT low_battery false", State{BatteryLow: true}},
		{"battery low restore", door, State{BatteryLow: true}, `{"battery_low":false}`, "", "XR low_battery true", normal},
		{"battery percent low", door, normal, `{"battery":8}`, "", "XT low_battery false", State{BatteryLow: true}},
		{"battery percent in the gap stays low", door, State{BatteryLow: true}, `{"battery":15}`, "", "", State{BatteryLow: true}},
		{"battery percent in the gap stays ok", door, normal, `{"battery":15}`, "", "", normal},
		{"battery percent recovered", door, State{BatteryLow: true}, `{"battery":100}`, "", "XR low_battery true", normal},
		{"battery_low flag wins over percent", door, normal, `{"battery_low":false,"battery":5}`, "", "", normal},
		{"absent fields keep state", door, State{Open: true, Tamper: true}, `{"linkquality":40}`, "", "", State{Open: true, Tamper: true}},
		{"several changes at once", door, normal, `{"contact":false,"tamper":true,"battery_low":true}`, "", "BA entry_exit false; TA tamper false; XT low_battery false", State{Open: true, Tamper: true, BatteryLow: true}},
		{"offline", door, normal, "", `{"state":"offline"}`, "EM sensor_offline false", State{Offline: true}},
		{"online", door, State{Offline: true}, "", `{"state":"online"}`, "EN sensor_offline true", normal},
		{"online repeated (retained)", door, normal, "", `{"state":"online"}`, "", normal},
		{"legacy offline", door, normal, "", `offline`, "EM sensor_offline false", State{Offline: true}},
		{"legacy online", pir, State{Offline: true, Occupied: true}, "", "online\n", "EN sensor_offline true", State{Occupied: true}},
	}
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Message
			if tt.avail != "" {
				m = avail(t, tt.avail)
			} else {
				m = msg(t, tt.state)
			}
			next, out := Translate(tt.sensor, tt.prev, m, at)
			if got := brief(out); got != tt.want {
				t.Errorf("reports = %q, want %q", got, tt.want)
			}
			if next != tt.wantNow {
				t.Errorf("state = %+v, want %+v", next, tt.wantNow)
			}
			for _, r := range out {
				if r.Source != alarm.SourceMQTT || r.Account != tt.sensor.Name || r.Zone != tt.sensor.Zone || !r.ReceivedAt.Equal(at) || r.Text == "" || len(r.Code) != 2 {
					t.Errorf("report fields: %+v", r)
				}
				// Every report must round-trip through State.Apply, which the
				// storage side uses to rebuild LastState.
				if got := tt.prev.Apply(r); got == tt.prev {
					t.Errorf("Apply(%s) did not change %+v", brief([]alarm.Report{r}), tt.prev)
				}
			}
			rebuilt := tt.prev
			for _, r := range out {
				rebuilt = rebuilt.Apply(r)
			}
			if rebuilt != next {
				t.Errorf("Apply of the reports gives %+v, Translate says %+v", rebuilt, next)
			}
		})
	}
}

func TestTranslateText(t *testing.T) {
	door := Sensor{Name: "d", Kind: alarm.SensorDoor, Zone: "door"}
	_, out := Translate(door, State{}, Message{Contact: new(false)}, time.Time{})
	if len(out) != 1 || out[0].Text != "door opened" {
		t.Fatalf("got %+v", out)
	}
	pct := 7.0
	_, out = Translate(door, State{}, Message{Battery: &pct}, time.Time{})
	if len(out) != 1 || out[0].Text != "battery low (7%)" {
		t.Fatalf("got %+v", out)
	}
}

func TestLastSeen(t *testing.T) {
	want := time.Date(2026, 5, 1, 10, 13, 34, 0, time.UTC)
	for _, payload := range []string{
		`{"contact":false,"last_seen":"2026-05-01T18:13:34+08:00"}`,
		`{"contact":false,"last_seen":"2026-05-01T10:13:34.000Z"}`,
		fmt.Sprintf(`{"contact":false,"last_seen":%d}`, want.UnixMilli()),
	} {
		m := msg(t, payload)
		_, out := Translate(Sensor{Name: "d"}, State{}, m, time.Now())
		if len(out) != 1 || !out[0].PanelTime.Equal(want) {
			t.Errorf("%s: PanelTime %v, want %v", payload, out[0].PanelTime, want)
		}
	}
	if m := msg(t, `{"contact":false,"last_seen":"yesterday"}`); !m.LastSeen.IsZero() {
		t.Errorf("bad last_seen parsed as %v", m.LastSeen)
	}
}

func TestParse(t *testing.T) {
	for _, bad := range []string{`not json`, `[1,2]`, `{"contact":"yes"}`} {
		if _, err := ParseState([]byte(bad)); err == nil {
			t.Errorf("ParseState(%s) accepted", bad)
		}
	}
	if _, err := ParseState([]byte("  ")); err != ErrEmpty {
		t.Errorf("empty state: %v", err)
	}
	for _, bad := range []string{`{"state":"maybe"}`, `away`, `{"state":`} {
		if _, err := ParseAvailability([]byte(bad)); err == nil {
			t.Errorf("ParseAvailability(%s) accepted", bad)
		}
	}
	if m, err := ParseAvailability([]byte(`{"state":"ONLINE"}`)); err != nil || m.Availability != "online" {
		t.Errorf("upper case availability: %+v %v", m, err)
	}
}

func TestParseTopic(t *testing.T) {
	tests := []struct {
		topic string
		name  string
		kind  int
	}{
		{"zigbee2mqtt/front_door", "front_door", TopicState},
		{"zigbee2mqtt/front_door/availability", "front_door", TopicAvailability},
		{"zigbee2mqtt/building 3/unit 2/door", "building 3/unit 2/door", TopicState},
		{"zigbee2mqtt/building 3/door/availability", "building 3/door", TopicAvailability},
		{"zigbee2mqtt/bridge/state", "", TopicIgnored},
		{"zigbee2mqtt/bridge", "", TopicIgnored},
		{"zigbee2mqtt/bridge/devices", "", TopicIgnored},
		{"zigbee2mqtt/front_door/set", "", TopicIgnored},
		{"zigbee2mqtt/front_door/get", "", TopicIgnored},
		{"zigbee2mqtt/front_door/set/state", "", TopicIgnored},
		{"zigbee2mqtt/availability", "availability", TopicState}, // a device named so
		{"zigbee2mqtt/", "", TopicIgnored},
		{"zigbee2mqtt", "", TopicIgnored},
		{"other/front_door", "", TopicIgnored},
		{"zigbee2mqttx/front_door", "", TopicIgnored},
	}
	for _, tt := range tests {
		name, kind := ParseTopic("zigbee2mqtt", tt.topic)
		if name != tt.name || kind != tt.kind {
			t.Errorf("ParseTopic(%q) = %q, %d; want %q, %d", tt.topic, name, kind, tt.name, tt.kind)
		}
	}
}

func BenchmarkTranslate(b *testing.B) {
	door := Sensor{Name: "front_door", Kind: alarm.SensorDoor, Zone: "door"}
	payloads := [][]byte{
		[]byte(`{"battery":97,"contact":false,"linkquality":134,"tamper":false,"voltage":3005}`),
		[]byte(`{"battery":97,"contact":true,"linkquality":131,"tamper":false,"voltage":3005}`),
	}
	var st State
	at := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m, err := ParseState(payloads[i%2])
		if err != nil {
			b.Fatal(err)
		}
		var out []alarm.Report
		st, out = Translate(door, st, m, at)
		if len(out) != 1 {
			b.Fatalf("%d reports", len(out))
		}
	}
}
