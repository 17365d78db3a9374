package alarm

import (
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
	open := &Incident{ID: 9, Status: StatusAcknowledged, Kind: KindTamper, Priority: PriorityTamper, LastEventAt: now.Add(-time.Minute), EventCount: 1}
	old := &Incident{ID: 8, Status: StatusAcknowledged, Kind: KindTamper, Priority: PriorityTamper, LastEventAt: now.Add(-time.Hour), EventCount: 1}

	tests := []struct {
		name     string
		in       Input
		newInc   bool
		incKind  Kind
		armState State // "" when unchanged
		notices  int
	}{
		{"panel burglary opens an intrusion incident", Input{Report: Report{Kind: KindBurglary, Zone: "3", Code: "BA"}, Origin: panel, Arm: armed}, true, KindBurglary, Triggered, 2},
		{"panel burglary restore opens nothing", Input{Report: Report{Kind: KindBurglary, Restore: true, Code: "BR"}, Origin: panel, Arm: armed}, false, "", "", 0},
		{"SOS opens a life incident", Input{Report: Report{Kind: KindPanic, Source: SourceApp}, Origin: Origin{CommunityID: 1, HomeID: 10}, Arm: disarmed}, true, KindPanic, "", 2},
		{"panel closing arms", Input{Report: Report{Kind: KindClosing, Code: "CL"}, Origin: panel, Arm: disarmed}, false, "", ArmedAway, 0},
		{"door while disarmed is nothing", Input{Report: Report{Kind: KindEntryExit}, Origin: door, Arm: disarmed}, false, "", "", 0},
		{"door while armed starts the entry delay", Input{Report: Report{Kind: KindEntryExit}, Origin: door, Arm: armed}, false, "", Pending, 0},
		{"window while armed is an intrusion", Input{Report: Report{Kind: KindPerimeter}, Origin: window, Arm: armed}, true, KindPerimeter, Triggered, 2},
		{"sensor tamper opens a tamper incident even disarmed", Input{Report: Report{Kind: KindTamper}, Origin: window, Arm: disarmed}, true, KindTamper, "", 0},
		{"fire joins the open tamper incident and raises it", Input{Report: Report{Kind: KindFire}, Origin: panel, Arm: disarmed, Incident: open}, false, KindFire, "", 2},
		{"an old incident is not joined", Input{Report: Report{Kind: KindTamper}, Origin: panel, Arm: disarmed, Incident: old}, true, KindTamper, "", 0},
		{"periodic test is just an event", Input{Report: Report{Kind: KindTest, Code: "RP"}, Origin: panel, Arm: disarmed, Incident: open}, false, "", "", 0},
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
		case tt.armState == "" && out.Arm != nil && out.Arm.State != tt.in.Arm.State:
			t.Errorf("%s: arm state changed to %s", tt.name, out.Arm.State)
		case tt.armState != "" && (out.Arm == nil || out.Arm.State != tt.armState):
			t.Errorf("%s: arm state %+v, want %s", tt.name, out.Arm, tt.armState)
		}
		if len(out.Notify) != tt.notices {
			t.Errorf("%s: notices %+v", tt.name, out.Notify)
		}
	}
}
