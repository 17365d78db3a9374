package alarm

import (
	"fmt"
	"time"
)

// Origin is what the store knows about where a report came from.
type Origin struct {
	CommunityID int64
	HomeID      int64
	PanelID     int64
	SensorID    int64
	SensorKind  string // door_contact, window_contact, pir; "" for panels and the app
	SensorZone  string
}

// Input is everything Process needs to decide what one report does.
type Input struct {
	Report   Report
	Origin   Origin
	Arm      ArmState  // the home's arm state (Disarmed when none stored)
	Incident *Incident // the home's open incident, nil when none
	Now      time.Time
}

// Output is what Process decided; the store persists it in the same
// transaction as the event.
type Output struct {
	// Arm is the new arm state, nil when it did not change.
	Arm *ArmState
	// Incident is the incident the event belongs to, nil when the event
	// needs nobody. New is true when it has to be created.
	Incident *Incident
	New      bool
	// Notify lists the notifications a new or more urgent incident needs.
	Notify []Notice
}

// Notice is a message to send after commit.
type Notice struct {
	Template string // intrusion, life, escalation …
	To       string // householders, police, operators, supervisor, staff
}

// Process decides what one report does: to the home's arm state, and
// whether it opens, joins or leaves alone an incident.
func Process(in Input) Output {
	r := in.Report
	var out Output
	var raised *Alarm

	switch {
	case r.Kind == KindOpening || r.Kind == KindClosing || r.Kind == KindPartialArm:
		s := in.Arm.Panel(r.Kind, r.Restore, in.Now, "panel")
		out.Arm = &s
	case in.Origin.SensorKind != "" && !r.Restore && (r.Kind == KindPerimeter || r.Kind == KindEntryExit || r.Kind == KindInterior || r.Kind == KindBurglary):
		// A sensor says a door, window or room changed; only the arm
		// state makes that an alarm.
		zoneType, err := ZoneType(in.Origin.SensorKind)
		if err == nil {
			zone := in.Origin.SensorZone
			if zone == "" {
				zone = r.Zone
			}
			s, a := in.Arm.Sensor(zoneType, zone, in.Now)
			if s != in.Arm {
				out.Arm = &s
			}
			raised = a
		}
	case !r.Restore && PriorityOf(r.Kind) < PriorityNone:
		// Panels decide alarms themselves; SOS, tamper and troubles need a
		// person whatever the arm state.
		raised = &Alarm{Kind: r.Kind, Zone: r.Zone, Text: r.Text}
		// An intrusion a panel reports triggers the home; a home already
		// triggered stays as it was, as it does for a sensor (Sensor): its
		// state says since when and by which zone the alarm went off, and
		// each later zone is in the incident's timeline.
		if in.Origin.SensorKind == "" && PriorityOf(r.Kind) == PriorityIntrusion && in.Arm.State != Triggered {
			s := in.Arm
			s.State, s.Deadline, s.Since, s.Zone = Triggered, nil, in.Now, r.Zone
			out.Arm = &s
		}
	}

	if raised == nil {
		// A restore or a status report joins the open incident's timeline
		// but opens nothing.
		if in.Incident != nil && in.Incident.Correlates(in.Now) && r.Kind != KindTest {
			inc := in.Incident.Join(KindUnknown, in.Now)
			out.Incident = &inc
		}
		return out
	}
	// The title is built only for an incident it heads: most frames of a
	// storm join one it does not.
	title := func() string {
		return describe(Report{Kind: raised.Kind, Zone: raised.Zone, Text: raised.Text, Code: r.Code})
	}
	if in.Incident != nil && in.Incident.Correlates(in.Now) {
		// Correlation groups events, it does not swallow them: a kind of
		// alarm the incident has not had yet (a burglary in an open SOS)
		// still owes its own people their SMS, and the incident takes
		// the headline of its most serious kind.
		p := PriorityOf(raised.Kind)
		if !in.Incident.Has(p) {
			out.Notify = noticesFor(p)
		}
		inc := in.Incident.Join(raised.Kind, in.Now)
		if p < in.Incident.Priority {
			inc.Title = title()
		}
		out.Incident = &inc
		return out
	}
	inc := Incident{
		CommunityID: in.Origin.CommunityID, HomeID: in.Origin.HomeID, PanelID: in.Origin.PanelID,
		Kind: raised.Kind, Priority: PriorityOf(raised.Kind), Status: StatusNew, Kinds: []Kind{raised.Kind},
		Title:    title(),
		OpenedAt: in.Now, LastEventAt: in.Now, EventCount: 1,
	}
	out.Incident, out.New, out.Notify = &inc, true, noticesFor(inc.Priority)
	return out
}

// noticesFor says who hears of an alarm of priority p by SMS: for an
// intrusion the householders and the community police officer, for a
// life-threatening one the householders' emergency contacts too.
func noticesFor(p Priority) []Notice {
	switch p {
	case PriorityIntrusion:
		return []Notice{{Template: "intrusion", To: "householders"}, {Template: "intrusion", To: "police"}}
	case PriorityLife:
		return []Notice{{Template: "life", To: "householders"}, {Template: "life", To: "contacts"}}
	}
	return nil
}

func describe(r Report) string {
	s := string(r.Kind)
	if r.Restore {
		s += " restored"
	}
	if r.Zone != "" {
		s += fmt.Sprintf(" (zone %s)", r.Zone)
	}
	if r.Code != "" {
		s += " [" + r.Code + "]"
	}
	if r.Text != "" {
		s += ": " + r.Text
	}
	return s
}
