package matter

import (
	"testing"
	"time"

	"github.com/shequ/shequ"
)

func TestWorkflow(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	staff := func(a string) Step { return Step{Action: a, By: 1, At: t0} }
	res := func(a string) Step { return Step{Action: a, By: 9, Resident: true, At: t0} }
	tests := []struct {
		name  string
		steps []Step
		want  string
		code  string // error of the last step
	}{
		{"whole path", []Step{staff("accept"), {Action: "assign", By: 1, AssigneeUserID: 5}, staff("start"), {Action: "resolve", By: 5}, {Action: "rate", Resident: true, By: 9, Rating: 5}}, Closed, ""},
		{"returned for information, resubmitted", []Step{{Action: "return", By: 1, Note: "which building?"}, {Action: "resubmit", Resident: true, By: 9}}, Submitted, ""},
		{"reject needs a reason", []Step{staff("reject")}, Submitted, shequ.EINVALID},
		{"reject with a reason", []Step{{Action: "reject", By: 1, Note: "not the committee's matter: call the property company"}}, Rejected, ""},
		{"nothing after reject", []Step{{Action: "reject", By: 1, Note: "x"}, staff("accept")}, Rejected, shequ.ECONFLICT},
		{"cannot start before assignment", []Step{staff("accept"), staff("start")}, Accepted, shequ.ECONFLICT},
		{"resident cannot accept", []Step{res("accept")}, Submitted, shequ.EFORBIDDEN},
		{"staff cannot rate", []Step{staff("accept"), staff("resolve"), {Action: "rate", By: 1, Rating: 4}}, Resolved, shequ.EFORBIDDEN},
		{"rating out of range", []Step{staff("accept"), staff("resolve"), {Action: "rate", Resident: true, By: 9, Rating: 6}}, Resolved, shequ.EINVALID},
		{"assign needs one assignee", []Step{{Action: "assign", By: 1}}, Submitted, shequ.EINVALID},
		{"transfer to an association", []Step{{Action: "assign", By: 1, AssigneeUserID: 5}, {Action: "assign", By: 1, AssigneeAssociationID: 2}}, Assigned, ""},
		{"resident adds information", []Step{{Action: "comment", Resident: true, By: 9, Note: "the lift stops at floor 3"}}, Submitted, ""},
		{"unknown action", []Step{staff("explode")}, Submitted, shequ.EINVALID},
	}
	for _, tt := range tests {
		m := Matter{Status: Submitted}
		var err error
		for _, s := range tt.steps {
			var next Matter
			next, _, err = m.Apply(s)
			if err == nil {
				m = next
			}
		}
		if m.Status != tt.want || shequ.ErrorCode(err) != tt.code {
			t.Errorf("%s: status %s err %v; want %s %q", tt.name, m.Status, err, tt.want, tt.code)
		}
	}
}

func TestOverdueAndAttributes(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	m := Matter{Status: Assigned, DueAt: t0}
	if m.IsOverdue(t0) || !m.IsOverdue(t0.Add(time.Second)) {
		t.Error("overdue")
	}
	m.Status = Resolved
	if m.IsOverdue(t0.Add(time.Hour)) {
		t.Error("a resolved matter is not overdue")
	}
	c := Category{Code: "lift", Name: "电梯", SLAHours: 48, Attributes: []Attribute{
		{Code: "floor", Description: "Which floor", Datatype: "number", Required: true},
		{Code: "kind", Description: "What", Datatype: "singlevaluelist", Values: []string{"stuck", "noise"}},
	}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		a  map[string]string
		ok bool
	}{
		{map[string]string{"floor": "3"}, true},
		{map[string]string{"floor": "3", "kind": "noise"}, true},
		{map[string]string{}, false},
		{map[string]string{"floor": "3", "kind": "fire"}, false},
		{map[string]string{"floor": "3", "colour": "red"}, false},
	} {
		if err := c.CheckAttributes(tc.a); (err == nil) != tc.ok {
			t.Errorf("%v: %v", tc.a, err)
		}
	}
	if TrackingNumber(t0, 42) != "SQ-20261128-0042" {
		t.Error(TrackingNumber(t0, 42))
	}
}
