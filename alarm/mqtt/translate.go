package mqtt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shequ/shequ/alarm"
)

// SIA two-letter codes given to the reports made here, so that every stored
// event carries one whatever its source.
const (
	CodeBurglary        = "BA" // contact opened, motion detected
	CodeBurglaryRestore = "BR" // contact closed, motion ended
	CodeTamper          = "TA"
	CodeTamperRestore   = "TR"
	// XT/XR are SIA's "transmitter battery trouble/restoral": the battery of
	// a wireless sensor, where YT/YR are the panel's own battery.
	CodeBatteryLow     = "XT"
	CodeBatteryRestore = "XR"
	// EM/EN are SIA's "expansion device missing" and "expansion device
	// communications re-established": the nearest pair with its own restore
	// for a sensor that the coordinator no longer hears.
	CodeOffline = "EM"
	CodeOnline  = "EN"
)

// Battery thresholds used when a sensor reports only its charge (many Aqara
// contact sensors send "battery" but no "battery_low"): low at or below
// BatteryLowPercent, back to normal at or above BatteryOKPercent. The gap
// keeps a charge hovering at the threshold from flapping.
const (
	BatteryLowPercent = 10
	BatteryOKPercent  = 20
)

// State is what shequ last stored about a sensor, one flag per condition.
// The zero value is a sensor in its normal state: closed, no motion, no
// tamper, battery fine, online. Only a change of a flag makes a report.
type State struct {
	Open       bool // contact reported false (zigbee2mqtt: contact true = closed)
	Occupied   bool // occupancy reported true
	Tamper     bool
	BatteryLow bool
	Offline    bool
}

// Apply returns the state after a stored report of this package. The
// storage side can rebuild a sensor's State for Sensors.LastState by
// applying the sensor's MQTT events in the order they were received (or
// only the latest one of each Kind). Reports of other kinds leave it as is.
func (s State) Apply(r alarm.Report) State {
	on := !r.Restore
	switch r.Kind {
	case alarm.KindEntryExit, alarm.KindPerimeter:
		s.Open = on
	case alarm.KindInterior:
		s.Occupied = on
	case alarm.KindTamper:
		s.Tamper = on
	case alarm.KindLowBattery:
		s.BatteryLow = on
	case alarm.KindSensorOffline:
		s.Offline = on
	}
	return s
}

// Message is one decoded zigbee2mqtt message. A nil field was absent.
type Message struct {
	Contact     *bool    // true = closed
	Occupancy   *bool    // true = motion
	Tamper      *bool    // true = tampered
	BatteryLow  *bool    // true = low
	Battery     *float64 // percent
	LinkQuality *int
	// LastSeen is the coordinator's time of the message when zigbee2mqtt's
	// last_seen option is on (ISO 8601 or epoch milliseconds); it becomes
	// the reports' PanelTime. Zero when absent.
	LastSeen time.Time
	// Availability is "online" or "offline" for an availability message,
	// "" for a state message.
	Availability string
}

// statePayload is the part of a zigbee2mqtt state message shequ reads.
// Other fields (voltage, temperature, …) are ignored.
type statePayload struct {
	Contact     *bool    `json:"contact"`
	Occupancy   *bool    `json:"occupancy"`
	Tamper      *bool    `json:"tamper"`
	BatteryLow  *bool    `json:"battery_low"`
	Battery     *float64 `json:"battery"`
	LinkQuality *int     `json:"linkquality"`
	LastSeen    any      `json:"last_seen"`
}

// ErrEmpty is returned for an empty payload (a cleared retained message).
var ErrEmpty = errors.New("empty payload")

// ParseState decodes the JSON object of a state topic.
func ParseState(payload []byte) (Message, error) {
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 {
		return Message{}, ErrEmpty
	}
	var p statePayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return Message{}, fmt.Errorf("state is not a JSON object: %w", err)
	}
	return Message{
		Contact: p.Contact, Occupancy: p.Occupancy, Tamper: p.Tamper,
		BatteryLow: p.BatteryLow, Battery: p.Battery, LinkQuality: p.LinkQuality,
		LastSeen: lastSeen(p.LastSeen),
	}, nil
}

// lastSeen reads zigbee2mqtt's last_seen: a string in ISO 8601 (with a
// zone offset or Z) or a number of milliseconds since 1970. Anything else
// is ignored.
func lastSeen(v any) time.Time {
	switch x := v.(type) {
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return t
		}
	case float64:
		if x > 0 {
			return time.UnixMilli(int64(x))
		}
	}
	return time.Time{}
}

// ParseAvailability decodes an availability payload: {"state":"online"} or
// the legacy plain online / offline.
func ParseAvailability(payload []byte) (Message, error) {
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 {
		return Message{}, ErrEmpty
	}
	state := ""
	if payload[0] == '{' {
		var p struct {
			State string `json:"state"`
		}
		if err := json.Unmarshal(payload, &p); err != nil {
			return Message{}, fmt.Errorf("availability is not valid JSON: %w", err)
		}
		state = p.State
	} else {
		state = string(payload)
	}
	state = strings.ToLower(strings.TrimSpace(state))
	if state != "online" && state != "offline" {
		return Message{}, fmt.Errorf("availability %q is neither online nor offline", state)
	}
	return Message{Availability: state}, nil
}

// Topic kinds returned by ParseTopic.
const (
	TopicIgnored      = iota // not a sensor's state or availability
	TopicState               // <base>/<name>
	TopicAvailability        // <base>/<name>/availability
)

// ParseTopic splits a topic under base ("zigbee2mqtt") into the friendly
// name and what the topic carries. zigbee2mqtt allows slashes in friendly
// names, so everything between the base and a known suffix is the name.
// The bridge's own topics and command topics (/set, /get) are ignored.
func ParseTopic(base, topic string) (name string, kind int) {
	rest, ok := strings.CutPrefix(topic, base+"/")
	if !ok || rest == "" {
		return "", TopicIgnored
	}
	if rest == "bridge" || strings.HasPrefix(rest, "bridge/") {
		return "", TopicIgnored
	}
	if n, ok := strings.CutSuffix(rest, "/availability"); ok {
		if n == "" {
			return "", TopicIgnored
		}
		return n, TopicAvailability
	}
	for _, suffix := range []string{"/set", "/get"} {
		if strings.HasSuffix(rest, suffix) || strings.Contains(rest, suffix+"/") {
			return "", TopicIgnored
		}
	}
	return rest, TopicState
}

// Sensor is a registered sensor as Translate needs it.
type Sensor struct {
	Name string // zigbee2mqtt friendly name, the reports' Account
	Kind string // alarm.SensorDoor, alarm.SensorWindow or alarm.SensorPIR
	Zone string // door, window, hallway, …
}

// Translate compares a message with the sensor's previous state and returns
// the new state and one report per condition that changed, in a fixed
// order: availability, contact, occupancy, tamper, battery. A message that
// repeats the state (a retained copy, a duplicate delivery, a periodic
// report) returns no report. Fields that are absent leave their flag as it
// was. The contact of a door is an entry/exit zone, of anything else the
// perimeter; occupancy is interior movement whatever the kind.
func Translate(s Sensor, prev State, m Message, receivedAt time.Time) (State, []alarm.Report) {
	next := prev
	var out []alarm.Report
	add := func(code string, kind alarm.Kind, restore bool, text string) {
		out = append(out, alarm.Report{
			Source:     alarm.SourceMQTT,
			Account:    s.Name,
			Code:       code,
			Kind:       kind,
			Restore:    restore,
			Zone:       s.Zone,
			Text:       text,
			PanelTime:  m.LastSeen,
			ReceivedAt: receivedAt,
		})
	}

	if m.Availability != "" {
		next.Offline = m.Availability == "offline"
		if next.Offline != prev.Offline {
			if next.Offline {
				add(CodeOffline, alarm.KindSensorOffline, false, "sensor offline")
			} else {
				add(CodeOnline, alarm.KindSensorOffline, true, "sensor online")
			}
		}
		return next, out
	}

	if m.Contact != nil {
		next.Open = !*m.Contact
		if next.Open != prev.Open {
			kind, what := alarm.KindPerimeter, "contact"
			switch s.Kind {
			case alarm.SensorDoor:
				kind, what = alarm.KindEntryExit, "door"
			case alarm.SensorWindow:
				what = "window"
			}
			if next.Open {
				add(CodeBurglary, kind, false, what+" opened")
			} else {
				add(CodeBurglaryRestore, kind, true, what+" closed")
			}
		}
	}
	if m.Occupancy != nil {
		next.Occupied = *m.Occupancy
		if next.Occupied != prev.Occupied {
			if next.Occupied {
				add(CodeBurglary, alarm.KindInterior, false, "motion detected")
			} else {
				add(CodeBurglaryRestore, alarm.KindInterior, true, "motion ended")
			}
		}
	}
	if m.Tamper != nil {
		next.Tamper = *m.Tamper
		if next.Tamper != prev.Tamper {
			if next.Tamper {
				add(CodeTamper, alarm.KindTamper, false, "sensor tampered")
			} else {
				add(CodeTamperRestore, alarm.KindTamper, true, "tamper restored")
			}
		}
	}
	switch {
	case m.BatteryLow != nil:
		next.BatteryLow = *m.BatteryLow
	case m.Battery != nil && *m.Battery <= BatteryLowPercent:
		next.BatteryLow = true
	case m.Battery != nil && *m.Battery >= BatteryOKPercent:
		next.BatteryLow = false
	}
	if next.BatteryLow != prev.BatteryLow {
		charge := ""
		if m.Battery != nil {
			charge = fmt.Sprintf(" (%.0f%%)", *m.Battery)
		}
		if next.BatteryLow {
			add(CodeBatteryLow, alarm.KindLowBattery, false, "battery low"+charge)
		} else {
			add(CodeBatteryRestore, alarm.KindLowBattery, true, "battery restored"+charge)
		}
	}
	return next, out
}
