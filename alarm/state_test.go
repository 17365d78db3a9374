package alarm

import (
	"testing"
	"time"

	"github.com/shequ/shequ"
)

func TestArmStateMachine(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type step struct {
		at     int
		do     string // arm-away, arm-home, arm-away-now, disarm, tick, door, window, pir, panel-CL, panel-OP, panel-CG
		want   State
		alarm  Kind
		errors string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"arm away, exit delay, armed", []step{{0, "arm-away", Arming, "", ""}, {59, "tick", Arming, "", ""}, {60, "tick", ArmedAway, "", ""}}},
		{"leaving through the door during exit delay is fine", []step{{0, "arm-away", Arming, "", ""}, {10, "door", Arming, "", ""}, {12, "pir", Arming, "", ""}, {60, "tick", ArmedAway, "", ""}}},
		{"coming home and disarming in time", []step{{0, "arm-away-now", ArmedAway, "", ""}, {100, "door", Pending, "", ""}, {120, "disarm", Disarmed, "", ""}, {200, "tick", Disarmed, "", ""}}},
		{"entry delay expires: intrusion", []step{{0, "arm-away-now", ArmedAway, "", ""}, {100, "door", Pending, "", ""}, {129, "tick", Pending, "", ""}, {130, "tick", Triggered, KindEntryExit, ""}}},
		{"window while armed alarms at once", []step{{0, "arm-away-now", ArmedAway, "", ""}, {5, "window", Triggered, KindPerimeter, ""}}},
		{"movement inside while away alarms at once", []step{{0, "arm-away-now", ArmedAway, "", ""}, {5, "pir", Triggered, KindInterior, ""}}},
		{"movement inside while armed at home is ignored", []step{{0, "arm-home-now", ArmedHome, "", ""}, {5, "pir", ArmedHome, "", ""}, {6, "window", Triggered, KindPerimeter, ""}}},
		{"window during entry delay cuts it short", []step{{0, "arm-away-now", ArmedAway, "", ""}, {10, "door", Pending, "", ""}, {12, "window", Triggered, KindPerimeter, ""}}},
		{"disarmed: sensors do nothing", []step{{0, "door", Disarmed, "", ""}, {1, "window", Disarmed, "", ""}, {2, "pir", Disarmed, "", ""}}},
		{"cannot arm twice", []step{{0, "arm-away-now", ArmedAway, "", ""}, {1, "arm-away", ArmedAway, "", shequ.ECONFLICT}}},
		{"cannot arm while triggered", []step{{0, "arm-away-now", ArmedAway, "", ""}, {1, "window", Triggered, KindPerimeter, ""}, {2, "arm-away", Triggered, "", shequ.ECONFLICT}, {3, "disarm", Disarmed, "", ""}}},
		{"panel reports", []step{{0, "panel-CL", ArmedAway, "", ""}, {1, "panel-OP", Disarmed, "", ""}, {2, "panel-CG", ArmedHome, "", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ArmState{State: Disarmed}
			for i, st := range tt.steps {
				var a *Alarm
				var err error
				now := at(st.at)
				switch st.do {
				case "arm-away":
					s, err = s.Arm(ModeAway, DefaultExitDelay, now, "t")
				case "arm-away-now":
					s, err = s.Arm(ModeAway, 0, now, "t")
				case "arm-home-now":
					s, err = s.Arm(ModeHome, 0, now, "t")
				case "disarm":
					s = s.Disarm(now, "t")
				case "tick":
					s, a = s.Tick(now)
				case "door":
					s, a = s.Sensor(ZoneDoor, "front door", now)
				case "window":
					s, a = s.Sensor(ZoneWindow, "bedroom window", now)
				case "pir":
					s, a = s.Sensor(ZoneInterior, "hallway", now)
				case "panel-CL":
					s = s.Panel(KindClosing, false, now, "panel")
				case "panel-OP":
					s = s.Panel(KindOpening, false, now, "panel")
				case "panel-CG":
					s = s.Panel(KindPartialArm, false, now, "panel")
				}
				if got := shequ.ErrorCode(err); got != st.errors {
					t.Fatalf("step %d %s: error %v, want %q", i, st.do, err, st.errors)
				}
				if s.State != st.want {
					t.Fatalf("step %d %s: state %s, want %s", i, st.do, s.State, st.want)
				}
				var kind Kind
				if a != nil {
					kind = a.Kind
				}
				if kind != st.alarm {
					t.Fatalf("step %d %s: alarm %q, want %q", i, st.do, kind, st.alarm)
				}
			}
		})
	}
}

func TestPriorities(t *testing.T) {
	if !(PriorityOf(KindPanic) < PriorityOf(KindBurglary) && PriorityOf(KindBurglary) < PriorityOf(KindTamper) && PriorityOf(KindTamper) < PriorityOf(KindLowBattery)) {
		t.Error("life before intrusion before tamper before trouble")
	}
	if PriorityOf(KindOpening) != PriorityNone || PriorityOf(KindTest) != PriorityNone {
		t.Error("status reports must not open incidents")
	}
}

func TestAutoArm(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	r := ArmRules{ArmAt: "23:00", Mode: ModeHome}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	before := time.Date(2026, 11, 28, 22, 59, 0, 0, loc)
	due, _ := r.ScheduleDue(before, loc)
	if due {
		t.Error("due before its time")
	}
	due, day := r.ScheduleDue(before.Add(2*time.Minute), loc)
	if !due || day != "2026-11-28" {
		t.Errorf("not due after its time: %v %s", due, day)
	}
	r.LastArmDay = day
	if due, _ := r.ScheduleDue(before.Add(30*time.Minute), loc); due {
		t.Error("armed twice in one day")
	}
	if due, _ := r.ScheduleDue(before.Add(24*time.Hour+2*time.Minute), loc); !due {
		t.Error("not due the next day")
	}
	if err := (&ArmRules{ArmAt: "25:00"}).Validate(); err == nil {
		t.Error("25:00 accepted")
	}
	s, ok := AutoArm(ArmState{State: Disarmed}, ModeHome, before, "schedule")
	if !ok || s.State != ArmedHome {
		t.Errorf("scheduled arming: %+v", s)
	}
	s, ok = AutoArm(ArmState{State: Disarmed}, ModeAway, before, "leave")
	if !ok || s.State != Arming {
		t.Errorf("arming on leaving: %+v", s)
	}
	if _, ok := AutoArm(ArmState{State: Triggered}, ModeAway, before, "leave"); ok {
		t.Error("auto-arming touched a triggered alarm")
	}
}
