package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/shequ/shequ/jobs"
)

func TestRegistryDecodesEachKind(t *testing.T) {
	r := &jobs.Registry{}
	var got []string
	jobs.Handle(r, func(_ context.Context, key string, p jobs.SMS) ([]jobs.New, error) {
		got = append(got, key+"→"+p.To)
		return []jobs.New{{Key: key + ":next", Payload: jobs.Escalate{IncidentID: 7}}}, nil
	})
	jobs.Handle(r, func(_ context.Context, key string, p jobs.Escalate) ([]jobs.New, error) {
		if p.IncidentID == 0 {
			return nil, errors.New("transient")
		}
		got = append(got, key)
		return nil, nil
	})
	kinds := r.Kinds()
	slices.Sort(kinds)
	if !slices.Equal(kinds, []string{"escalate", "sms"}) {
		t.Errorf("kinds %v", kinds)
	}
	tests := []struct {
		name      string
		job       jobs.Job
		next      int
		err       bool
		permanent bool
	}{
		{"sms", jobs.Job{Key: "k1", Kind: "sms", Payload: []byte(`{"key":"k1","to":"199","body":"b"}`)}, 1, false, false},
		{"escalate", jobs.Job{Key: "k2", Kind: "escalate", Payload: []byte(`{"incident_id":3}`)}, 0, false, false},
		{"handler error stays transient", jobs.Job{Key: "k3", Kind: "escalate", Payload: []byte(`{}`)}, 0, true, false},
		{"payload that does not decode", jobs.Job{Key: "k4", Kind: "sms", Payload: []byte(`{"to":5}`)}, 0, true, true},
		{"unknown kind", jobs.Job{Key: "k5", Kind: "fax", Payload: []byte(`{}`)}, 0, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, err := r.Do(t.Context(), tt.job)
			if (err != nil) != tt.err || jobs.IsPermanent(err) != tt.permanent {
				t.Fatalf("err %v, want error %v permanent %v", err, tt.err, tt.permanent)
			}
			if len(next) != tt.next {
				t.Errorf("%d follow-up jobs, want %d", len(next), tt.next)
			}
		})
	}
	if !slices.Equal(got, []string{"k1→199", "k2"}) {
		t.Errorf("handled %v", got)
	}
}

func TestRegisteringAKindTwicePanics(t *testing.T) {
	r := &jobs.Registry{}
	h := func(context.Context, string, jobs.SMS) ([]jobs.New, error) { return nil, nil }
	jobs.Handle(r, h)
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	jobs.Handle(r, h)
}

// The payload JSON is what waits in the outbox across an upgrade: the
// field names of the kinds queued before they had types stay the same.
func TestPayloadJSON(t *testing.T) {
	tests := []struct {
		p    jobs.Payload
		kind string
		json string
	}{
		{jobs.Notice{IncidentID: 1, Template: "t", To: "police"}, "notice", `{"incident_id":1,"template":"t","to":"police"}`},
		{jobs.Escalate{IncidentID: 1}, "escalate", `{"incident_id":1}`},
		{jobs.Dispatch{IncidentID: 1, UserID: 2}, "dispatch", `{"incident_id":1,"user_id":2}`},
		{jobs.DispatchTimeout{IncidentID: 1, UserID: 2}, "dispatch_timeout", `{"incident_id":1,"user_id":2}`},
		{jobs.NoticePublished{NoticeID: 1, CommunityID: 2}, "notice_published", `{"notice_id":1,"community_id":2}`},
		{jobs.MatterUpdate{MatterID: 1, PersonID: 2, Status: "s", Action: "a"}, "matter_update", `{"matter_id":1,"person_id":2,"status":"s","action":"a"}`},
		{jobs.SMS{Key: "k", To: "1", Body: "b"}, "sms", `{"key":"k","to":"1","body":"b"}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.p)
		if err != nil || string(b) != tt.json || tt.p.Kind() != tt.kind {
			t.Errorf("%T: kind %q json %s (%v), want %q %s", tt.p, tt.p.Kind(), b, err, tt.kind, tt.json)
		}
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempts int
		want     time.Duration
	}{{0, time.Second}, {1, 2 * time.Second}, {3, 8 * time.Second}, {9, 512 * time.Second}, {10, 512 * time.Second}, {50, 512 * time.Second}}
	for _, tt := range tests {
		if got := jobs.Backoff(tt.attempts); got != tt.want {
			t.Errorf("Backoff(%d) = %v, want %v", tt.attempts, got, tt.want)
		}
	}
}
