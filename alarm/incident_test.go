package alarm

import (
	"testing"
	"time"

	"github.com/shequ/shequ"
)

func TestIncidentLifecycle(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		steps []Step
		final string
		code  string // error of the last step
	}{
		{"whole path", []Step{{Action: "ack", By: 1}, {Action: "dispatch", By: 1, To: 7}, {Action: "accept", By: 7}, {Action: "arrive", By: 7}, {Action: "resolve", By: 1, Resolution: "fire_prevented"}}, StatusResolved, ""},
		{"false alarm straight away", []Step{{Action: "resolve", By: 1, Resolution: "false_alarm"}}, StatusResolved, ""},
		{"dispatch acknowledges", []Step{{Action: "dispatch", By: 1, To: 7}}, StatusDispatched, ""},
		{"ack twice", []Step{{Action: "ack", By: 1}, {Action: "ack", By: 2}}, StatusAcknowledged, shequ.ECONFLICT},
		{"arrive before dispatch", []Step{{Action: "ack", By: 1}, {Action: "arrive", By: 7}}, StatusAcknowledged, shequ.ECONFLICT},
		{"accept by someone else", []Step{{Action: "dispatch", By: 1, To: 7}, {Action: "accept", By: 8}}, StatusDispatched, shequ.ECONFLICT},
		{"resolve needs a code", []Step{{Action: "resolve", By: 1, Resolution: "meh"}}, StatusNew, shequ.EINVALID},
		{"nothing after resolve", []Step{{Action: "resolve", By: 1, Resolution: "test"}, {Action: "ack", By: 1}}, StatusResolved, shequ.ECONFLICT},
		{"dispatch needs a person", []Step{{Action: "dispatch", By: 1}}, StatusNew, shequ.EINVALID},
		{"report on site", []Step{{Action: "dispatch", By: 1, To: 7}, {Action: "arrive", By: 7}, {Action: "report", By: 7, Notes: "smoke from a kettle; stove off, resident woken"}}, StatusOnSite, ""},
		{"report before arriving", []Step{{Action: "dispatch", By: 1, To: 7}, {Action: "report", By: 7, Notes: "on my way"}}, StatusDispatched, shequ.ECONFLICT},
		{"report by someone not sent", []Step{{Action: "dispatch", By: 1, To: 7}, {Action: "arrive", By: 7}, {Action: "report", By: 1, Notes: "heard on the phone"}}, StatusOnSite, shequ.ECONFLICT},
		{"report says something", []Step{{Action: "dispatch", By: 1, To: 7}, {Action: "arrive", By: 7}, {Action: "report", By: 7, Notes: "  "}}, StatusOnSite, shequ.EINVALID},
	}
	for _, tt := range tests {
		inc := Incident{ID: 1, Status: StatusNew, Priority: PriorityIntrusion, OpenedAt: t0}
		var err error
		for i, s := range tt.steps {
			s.At = t0.Add(time.Duration(i+1) * time.Minute)
			var next Incident
			next, err = inc.Apply(s)
			if err == nil {
				inc = next
			} else if next.Status != inc.Status {
				t.Errorf("%s: a refused step changed the incident", tt.name)
			}
		}
		if inc.Status != tt.final || shequ.ErrorCode(err) != tt.code {
			t.Errorf("%s: status %s err %v, want %s %q", tt.name, inc.Status, err, tt.final, tt.code)
		}
	}
}

func TestJoinRaisesPriority(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	inc := Incident{Status: StatusNew, Kind: KindTamper, Priority: PriorityTamper, LastEventAt: t0, EventCount: 1}
	inc = inc.Join(KindFire, t0.Add(time.Minute))
	if inc.Kind != KindFire || inc.Priority != PriorityLife || inc.EventCount != 2 {
		t.Errorf("%+v", inc)
	}
	inc = inc.Join(KindLowBattery, t0.Add(2*time.Minute))
	if inc.Kind != KindFire {
		t.Error("a lesser event lowered the incident")
	}
	if !inc.Correlates(t0.Add(2*time.Minute+CorrelationWindow)) || inc.Correlates(t0.Add(2*time.Minute+CorrelationWindow+time.Second)) {
		t.Error("correlation window")
	}
}
