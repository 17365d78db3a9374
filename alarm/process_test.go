package alarm

import (
	"slices"
	"testing"
	"time"
)

func TestProcess(t *testing.T) {
	now := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	panel := Origin{CommunityID: 1, HomeID: 10, PanelID: 5}
	door := Origin{CommunityID: 1, HomeID: 10, SensorID: 3, SensorKind: SensorDoor, SensorZone: "front door"}
	window := Origin{CommunityID: 1, HomeID: 10, SensorID: 4, SensorKind: SensorWindow, SensorZone: "kitchen window"}
	armed := ArmState{HomeID: 10, State: ArmedAway, Mode: ModeAway}
	disarmed := ArmState{HomeID: 10, State: Disarmed}
	triggered := ArmState{HomeID: 10, State: Triggered, Mode: ModeAway, Since: now.Add(-time.Minute), Zone: "3"}
	open := &Incident{ID: 9, Status: StatusAcknowledged, Kind: KindTamper, Priority: PriorityTamper, LastEventAt: now.Add(-time.Minute), EventCount: 1}
	sos := &Incident{ID: 7, Status: StatusNew, Kind: KindPanic, Priority: PriorityLife, Kinds: []Kind{KindPanic}, Title: "panic [PA]", LastEventAt: now.Add(-time.Minute), EventCount: 1}
	burgling := &Incident{ID: 6, Status: StatusNew, Kind: KindBurglary, Priority: PriorityIntrusion, Kinds: []Kind{KindBurglary}, Title: "burglary [BA]", LastEventAt: now.Add(-time.Minute), EventCount: 1}
	old := &Incident{ID: 8, Status: StatusAcknowledged, Kind: KindTamper, Priority: PriorityTamper, LastEventAt: now.Add(-time.Hour), EventCount: 1}

	tests := []struct {
		name     string
		in       Input
		newInc   bool
		incKind  Kind
		armState State // "" when unchanged
		notices  int
		police   bool   // an SMS to the police officer is owed
		title    string // the incident's title, when it matters
	}{
		{"panel burglary opens an intrusion incident", Input{Report: Report{Kind: KindBurglary, Zone: "3", Code: "BA"}, Origin: panel, Arm: armed}, true, KindBurglary, Triggered, 2, true, ""},
		{"panel burglary restore opens nothing", Input{Report: Report{Kind: KindBurglary, Restore: true, Code: "BR"}, Origin: panel, Arm: armed}, false, "", "", 0, false, ""},
		{"SOS opens a life incident", Input{Report: Report{Kind: KindPanic, Source: SourceApp}, Origin: Origin{CommunityID: 1, HomeID: 10}, Arm: disarmed}, true, KindPanic, "", 2, false, ""},
		{"panel closing arms", Input{Report: Report{Kind: KindClosing, Code: "CL"}, Origin: panel, Arm: disarmed}, false, "", ArmedAway, 0, false, ""},
		{"door while disarmed is nothing", Input{Report: Report{Kind: KindEntryExit}, Origin: door, Arm: disarmed}, false, "", "", 0, false, ""},
		{"door while armed starts the entry delay", Input{Report: Report{Kind: KindEntryExit}, Origin: door, Arm: armed}, false, "", Pending, 0, false, ""},
		{"window while armed is an intrusion", Input{Report: Report{Kind: KindPerimeter}, Origin: window, Arm: armed}, true, KindPerimeter, Triggered, 2, true, ""},
		{"sensor tamper opens a tamper incident even disarmed", Input{Report: Report{Kind: KindTamper}, Origin: window, Arm: disarmed}, true, KindTamper, "", 0, false, ""},
		{"fire joins the open tamper incident and raises it", Input{Report: Report{Kind: KindFire}, Origin: panel, Arm: disarmed, Incident: open}, false, KindFire, "", 2, false, ""},
		{"an old incident is not joined", Input{Report: Report{Kind: KindTamper}, Origin: panel, Arm: disarmed, Incident: old}, true, KindTamper, "", 0, false, ""},
		{"burglary in an open SOS still tells the police", Input{Report: Report{Kind: KindBurglary, Zone: "2", Code: "BA"}, Origin: panel, Arm: armed, Incident: sos}, false, KindPanic, Triggered, 2, true, "panic [PA]"},
		{"SOS in an open burglary takes the headline", Input{Report: Report{Kind: KindPanic, Code: "PA", Source: SourceApp}, Origin: Origin{CommunityID: 1, HomeID: 10}, Arm: armed, Incident: burgling}, false, KindPanic, "", 2, false, "panic [PA]"},
		{"a second burglary tells nobody again", Input{Report: Report{Kind: KindPerimeter, Zone: "3", Code: "BA"}, Origin: panel, Arm: armed, Incident: burgling}, false, KindBurglary, Triggered, 0, false, "burglary [BA]"},
		{"a burglary in a triggered home leaves its arm state", Input{Report: Report{Kind: KindBurglary, Zone: "4", Code: "BA"}, Origin: panel, Arm: triggered, Incident: burgling}, false, KindBurglary, "", 0, false, "burglary [BA]"},
		{"periodic test is just an event", Input{Report: Report{Kind: KindTest, Code: "RP"}, Origin: panel, Arm: disarmed, Incident: open}, false, "", "", 0, false, ""},
	}
	for _, tt := range tests {
		tt.in.Now = now
		out := Process(tt.in)
		if out.New != tt.newInc {
			t.Errorf("%s: new incident %v", tt.name, out.New)
		}
		if tt.incKind != "" && (out.Incident == nil || out.Incident.Kind != tt.incKind) {
			t.Errorf("%s: incident %+v, want kind %s", tt.name, out.Incident, tt.incKind)
		}
		if tt.incKind == "" && out.New {
			t.Errorf("%s: unexpected incident %+v", tt.name, out.Incident)
		}
		switch {
		case tt.armState == "" && out.Arm != nil && *out.Arm != tt.in.Arm:
			t.Errorf("%s: arm state changed to %+v", tt.name, *out.Arm)
		case tt.armState != "" && (out.Arm == nil || out.Arm.State != tt.armState):
			t.Errorf("%s: arm state %+v, want %s", tt.name, out.Arm, tt.armState)
		}
		if len(out.Notify) != tt.notices {
			t.Errorf("%s: notices %+v", tt.name, out.Notify)
		}
		if police := slices.Contains(out.Notify, Notice{Template: "intrusion", To: "police"}); police != tt.police && tt.notices > 0 {
			t.Errorf("%s: police told %v, want %v (%+v)", tt.name, police, tt.police, out.Notify)
		}
		if tt.title != "" && (out.Incident == nil || out.Incident.Title != tt.title) {
			t.Errorf("%s: incident %+v, want title %q", tt.name, out.Incident, tt.title)
		}
	}
}
