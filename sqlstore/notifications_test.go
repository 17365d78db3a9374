package sqlstore_test

import (
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// TestNotificationLifecycle follows two SMS about an incident through the
// outbox: queued with the job, sent with the gateway's id, delivered or
// failed by receipt or by running out of tries, never back.
func TestNotificationLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "nt")
		mustOK(t, st.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home1.ID, Account: "4321"}))
		outs, err := st.Ingest(ctx, []alarm.Report{{Source: alarm.SourceSIA, Account: "4321", Seq: "0001", Kind: alarm.KindBurglary, Code: "BA", Zone: "1", ReceivedAt: clock.Now()}})
		mustOK(t, err)
		inc := outs[0].Incident.ID

		sms := func(key, role, to string) jobs.New {
			return jobs.New{Key: key, Payload: jobs.SMS{Key: key, To: to, Body: "x", IncidentID: inc, Role: role, Name: "测试", PersonID: 7}}
		}
		next := []jobs.New{sms("t:sms:0", alarm.RoleHouseholder, "19900000001"), sms("t:sms:1", alarm.RolePolice, "19900000009")}
		claimed, err := st.ClaimJobs(ctx, 100, time.Minute)
		mustOK(t, err)
		if len(claimed) == 0 {
			t.Fatal("the intrusion queued no job")
		}
		clock.Advance(time.Second)
		for i, j := range claimed {
			var n []jobs.New
			if i < 2 {
				n = next // the second time queues nothing new
			}
			mustOK(t, st.CompleteJob(ctx, j, n))
		}

		byRole := func() map[string]alarm.Notification {
			t.Helper()
			tl, err := st.IncidentTimeline(ctx, everywhere, inc)
			mustOK(t, err)
			out := map[string]alarm.Notification{}
			for i, e := range tl {
				if i > 0 && e.At.Before(tl[i-1].At) {
					t.Errorf("timeline out of order at %d: %v after %v", i, e.At, tl[i-1].At)
				}
				if e.Action == alarm.ActionNotified {
					out[e.Notification.RecipientRole] = *e.Notification
				}
			}
			if len(out) != 2 {
				t.Fatalf("notified entries %+v, want householder and police once each", out)
			}
			return out
		}
		got := byRole()
		if n := got[alarm.RoleHouseholder]; n.Status != alarm.NotificationQueued || n.Phone != "199****0001" || n.Name != "测试" || n.PersonID != 7 || n.Channel != alarm.ChannelSMS || n.SentAt != nil {
			t.Errorf("queued householder %+v", n)
		}

		// Both go to the gateway: the householder's is taken, the police
		// officer's is refused for now, then for good.
		clock.Advance(time.Second)
		claimed, err = st.ClaimJobs(ctx, 100, time.Minute)
		mustOK(t, err)
		held := map[string]jobs.Job{}
		for _, j := range claimed {
			held[j.Key] = j
		}
		if held["t:sms:0"].ID == 0 || held["t:sms:1"].ID == 0 {
			t.Fatalf("claimed %+v", claimed)
		}
		mustOK(t, st.NotificationSent(ctx, "t:sms:0", "GW1", clock.Now()))
		mustOK(t, st.CompleteJob(ctx, held["t:sms:0"], nil))
		mustOK(t, st.RetryJob(ctx, held["t:sms:1"], "throttled", clock.Now(), false))
		got = byRole()
		if n := got[alarm.RoleHouseholder]; n.Status != alarm.NotificationSent || n.GatewayID != "GW1" || n.Attempts != 1 || n.SentAt == nil {
			t.Errorf("sent householder %+v", n)
		}
		if n := got[alarm.RolePolice]; n.Status != alarm.NotificationQueued || n.Attempts != 1 || n.LastError != "throttled" {
			t.Errorf("police after one refusal %+v", n)
		}
		clock.Advance(time.Minute)
		claimed, err = st.ClaimJobs(ctx, 100, time.Minute)
		mustOK(t, err)
		for _, j := range claimed {
			if j.Key == "t:sms:1" {
				mustOK(t, st.RetryJob(ctx, j, "invalid number", clock.Now(), true))
			}
		}
		if n := byRole()[alarm.RolePolice]; n.Status != alarm.NotificationFailed || n.Attempts != 2 || n.FailedAt == nil || n.LastError != "invalid number" {
			t.Errorf("police failed for good %+v", n)
		}

		// Receipts, by the gateway's id or by our key.
		for _, tc := range []struct {
			name string
			r    alarm.Receipt
			role string
			want string
			code string
		}{
			{"delivered by gateway id", alarm.Receipt{GatewayID: "GW1", Status: alarm.NotificationDelivered}, alarm.RoleHouseholder, alarm.NotificationDelivered, ""},
			{"delivered again", alarm.Receipt{Key: "t:sms:0", Status: alarm.NotificationDelivered}, alarm.RoleHouseholder, alarm.NotificationDelivered, ""},
			{"a delivery does not undo a failure", alarm.Receipt{Key: "t:sms:1", Status: alarm.NotificationDelivered}, alarm.RolePolice, alarm.NotificationFailed, ""},
			{"a lost part fails a delivered message", alarm.Receipt{GatewayID: "GW1", Status: alarm.NotificationFailed, Error: "UNDELIV"}, alarm.RoleHouseholder, alarm.NotificationFailed, ""},
			{"unknown id", alarm.Receipt{GatewayID: "GW9", Status: alarm.NotificationDelivered}, alarm.RoleHouseholder, alarm.NotificationFailed, shequ.ENOTFOUND},
			{"no name", alarm.Receipt{Status: alarm.NotificationDelivered}, alarm.RoleHouseholder, alarm.NotificationFailed, shequ.EINVALID},
			{"unknown status", alarm.Receipt{Key: "t:sms:0", Status: "ENROUTE"}, alarm.RoleHouseholder, alarm.NotificationFailed, shequ.EINVALID},
		} {
			tc.r.At = clock.Now()
			err := st.NotificationReceipt(ctx, tc.r)
			if shequ.ErrorCode(err) != tc.code && !(tc.code == "" && err == nil) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.code)
			}
			if n := byRole()[tc.role]; n.Status != tc.want {
				t.Errorf("%s: %s is %s, want %s", tc.name, tc.role, n.Status, tc.want)
			}
		}
		if n := byRole()[alarm.RoleHouseholder]; n.DeliveredAt == nil || n.FailedAt == nil || n.LastError != "UNDELIV" {
			t.Errorf("householder after receipts %+v", n)
		}

		// An administrator puts the police officer's job back: the
		// message is owed again.
		_, err = st.RetryJobNow(ctx, everywhere, held["t:sms:1"].ID)
		mustOK(t, err)
		if n := byRole()[alarm.RolePolice]; n.Status != alarm.NotificationQueued || n.FailedAt != nil || n.LastError != "invalid number" {
			t.Errorf("police after the job was put back %+v", n)
		}
	})
}
