package alarm

import (
	"fmt"
	"time"

	"github.com/shequ/shequ"
)

// State is where a home's alarm stands, as Home Assistant models it.
type State string

const (
	Disarmed  State = "disarmed"
	Arming    State = "arming" // exit delay running
	ArmedAway State = "armed_away"
	ArmedHome State = "armed_home"
	Pending   State = "pending" // entry delay running
	Triggered State = "triggered"
)

// Mode is how a home is armed: everyone out, or people at home (interior
// sensors ignored).
type Mode string

const (
	ModeAway Mode = "away"
	ModeHome Mode = "home"
)

// Zone types: what a sensor watches decides what it does when armed.
const (
	ZoneDoor     = "door"     // entry/exit: starts the entry delay
	ZoneWindow   = "window"   // perimeter: alarms at once
	ZoneInterior = "interior" // movement inside: alarms at once when away
)

// Default delays: long enough to lock a door behind you or reach the keypad
// with shopping in your hands.
const (
	DefaultExitDelay  = 60 * time.Second
	DefaultEntryDelay = 30 * time.Second
)

// ArmState is the alarm state of one home.
type ArmState struct {
	HomeID      int64     `json:"home_id"`
	CommunityID int64     `json:"community_id"`
	State       State     `json:"state"`
	Mode        Mode      `json:"mode,omitempty"`
	Since       time.Time `json:"since"`
	// Deadline ends the exit delay (arming) or the entry delay (pending).
	Deadline   *time.Time `json:"deadline,omitempty"`
	EntryDelay int        `json:"entry_delay_seconds"`
	// Zone is the zone that started the entry delay or triggered.
	Zone      string `json:"zone,omitempty"`
	ChangedBy string `json:"changed_by,omitempty"`
}

// Alarm is what a state change asks for: an incident of this kind.
type Alarm struct {
	Kind Kind
	Zone string
	Text string
}

// Arm starts arming in mode; a zero exit delay arms at once.
func (s ArmState) Arm(mode Mode, exitDelay time.Duration, now time.Time, by string) (ArmState, error) {
	if mode != ModeAway && mode != ModeHome {
		return s, shequ.Invalid(map[string]string{"mode": "must be away or home"})
	}
	if exitDelay < 0 || exitDelay > 10*time.Minute {
		return s, shequ.Invalid(map[string]string{"exit_delay_seconds": "must be between 0 and 600"})
	}
	switch s.State {
	case Disarmed, "":
	case Triggered, Pending:
		return s, shequ.Errorf(shequ.ECONFLICT, "the alarm is %s: disarm it first", s.State)
	default:
		return s, shequ.Errorf(shequ.ECONFLICT, "the alarm is already %s", s.State)
	}
	s.Mode, s.Since, s.ChangedBy, s.Zone = mode, now, by, ""
	if exitDelay == 0 {
		s.State, s.Deadline = armedState(mode), nil
		return s, nil
	}
	d := now.Add(exitDelay)
	s.State, s.Deadline = Arming, &d
	return s, nil
}

func armedState(m Mode) State {
	if m == ModeHome {
		return ArmedHome
	}
	return ArmedAway
}

// Disarm turns the alarm off from any state. An incident already raised
// stays open for the operator to close.
func (s ArmState) Disarm(now time.Time, by string) ArmState {
	s.State, s.Mode, s.Deadline, s.Zone, s.Since, s.ChangedBy = Disarmed, "", nil, "", now, by
	return s
}

// Tick ends a delay whose deadline has passed. A missed entry delay means
// nobody who knows the PIN came in: that is an intrusion.
func (s ArmState) Tick(now time.Time) (ArmState, *Alarm) {
	if s.Deadline == nil || now.Before(*s.Deadline) {
		return s, nil
	}
	switch s.State {
	case Arming:
		s.State, s.Deadline, s.Since = armedState(s.Mode), nil, now
	case Pending:
		s.State, s.Deadline, s.Since = Triggered, nil, now
		return s, &Alarm{Kind: KindEntryExit, Zone: s.Zone, Text: "entry delay expired without disarm"}
	}
	return s, nil
}

// Sensor applies a sensor opening (or movement) in a zone of the given type.
func (s ArmState) Sensor(zoneType, zone string, now time.Time) (ArmState, *Alarm) {
	trigger := func(k Kind) (ArmState, *Alarm) {
		s.State, s.Deadline, s.Since, s.Zone = Triggered, nil, now, zone
		return s, &Alarm{Kind: k, Zone: zone}
	}
	switch s.State {
	case ArmedAway, ArmedHome:
		switch zoneType {
		case ZoneDoor:
			d := now.Add(s.entryDelay())
			s.State, s.Deadline, s.Since, s.Zone = Pending, &d, now, zone
			return s, nil
		case ZoneWindow:
			return trigger(KindPerimeter)
		case ZoneInterior:
			if s.State == ArmedHome {
				return s, nil // people are at home
			}
			return trigger(KindInterior)
		}
	case Pending:
		// Someone opening a window or moving about without disarming
		// does not get the rest of the entry delay.
		switch zoneType {
		case ZoneWindow:
			return trigger(KindPerimeter)
		case ZoneInterior:
			if s.Mode == ModeAway {
				return trigger(KindInterior)
			}
		}
	}
	// Disarmed, arming (people leaving), triggered: nothing changes.
	return s, nil
}

// Panel applies an arm/disarm report a panel sent about itself.
func (s ArmState) Panel(k Kind, restore bool, now time.Time, by string) ArmState {
	switch {
	case k == KindOpening && !restore, k == KindClosing && restore:
		return s.Disarm(now, by)
	case k == KindClosing, k == KindOpening && restore:
		s.State, s.Mode, s.Deadline, s.Since, s.ChangedBy = ArmedAway, ModeAway, nil, now, by
	case k == KindPartialArm && !restore:
		s.State, s.Mode, s.Deadline, s.Since, s.ChangedBy = ArmedHome, ModeHome, nil, now, by
	}
	return s
}

func (s ArmState) entryDelay() time.Duration {
	if s.EntryDelay > 0 {
		return time.Duration(s.EntryDelay) * time.Second
	}
	return DefaultEntryDelay
}

// ZoneType returns the zone type of a sensor kind.
func ZoneType(sensorKind string) (string, error) {
	switch sensorKind {
	case SensorDoor:
		return ZoneDoor, nil
	case SensorWindow:
		return ZoneWindow, nil
	case SensorPIR:
		return ZoneInterior, nil
	}
	return "", fmt.Errorf("unknown sensor kind %q", sensorKind)
}

// Sensor kinds.
const (
	SensorDoor   = "door_contact"
	SensorWindow = "window_contact"
	SensorPIR    = "pir"
)
