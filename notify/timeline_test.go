package notify_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/notify"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestIncidentTimelineShowsNotifications follows intrusions end to end:
// notices expand into SMS, the SMS go through the SMPP simulator, its
// delivery receipts come back, and the incident's timeline shows each
// message with whom it went to and how far it got.
func TestIncidentTimelineShowsNotifications(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			ctx := t.Context()
			clock := shequtest.NewClock(time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC))
			st := sqlstoretest.Open(t, dialect, clock)
			all := auth.Scope{{}}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			c, b := oneBuilding(t, st)
			newHome := func(door, account, person, phone string) (household int64) {
				h := community.Home{BuildingID: b.ID, Floor: 1, Door: door}
				must(st.CreateHome(ctx, all, &h))
				hh := community.Household{HomeID: h.ID}
				must(st.CreateHousehold(ctx, all, &hh))
				must(st.CreatePerson(ctx, all, &community.Person{HouseholdID: hh.ID, Name: person, Phone: phone}))
				must(st.CreatePanel(ctx, all, &alarm.Panel{HomeID: h.ID, Account: account}))
				return hh.ID
			}
			hh1 := newHome("1-101", "AA01", "测试甲", "19900000001")
			// A second householder whose phone is off: the network says so.
			must(st.CreatePerson(ctx, all, &community.Person{HouseholdID: hh1, Name: "测试丙", Phone: "19900000003"}))
			newHome("1-102", "AA02", "测试乙", "19900000002")
			police := auth.User{Username: "police1", DisplayName: "民警测试", Phone: "19900000009", Grants: []auth.Grant{{Role: auth.RolePolice, CommunityID: c.ID}}}
			must(st.CreateUser(ctx, all, &police, ""))

			srv := startSMSC(t)
			srv.ReceiptFor("19900000003", "UNDELIV")
			sender := newSMPP(t, srv.URL("10690000"))
			sender.OnReceipt = func(r notify.Receipt) {
				ar, ok := r.Settles(clock.Now())
				if !ok {
					return
				}
				if err := st.NotificationReceipt(ctx, ar); err != nil && ctx.Err() == nil {
					t.Errorf("receipt %+v: %v", r, err)
				}
			}
			w := &notify.Worker{Store: st, Sender: sender, Clock: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxAttempts: 3}
			drain := func() {
				t.Helper()
				for i := 0; i < 20; i++ {
					clock.Advance(10 * time.Second) // past any backoff
					if n, err := w.RunOnce(ctx); err != nil {
						t.Fatal(err)
					} else if n == 0 && i > 3 {
						return
					}
				}
			}
			// notified returns the incident's notified entries by masked
			// number, once every one of them has settled (delivered or
			// failed).
			notified := func(incident int64) map[string]alarm.TimelineEntry {
				t.Helper()
				deadline := time.Now().Add(5 * time.Second)
				for {
					tl, err := st.IncidentTimeline(ctx, all, incident)
					must(err)
					out := map[string]alarm.TimelineEntry{}
					settled := true
					for _, e := range tl {
						if e.Action != alarm.ActionNotified {
							continue
						}
						if e.Notification == nil {
							t.Fatalf("notified entry without a notification: %+v", e)
						}
						out[e.Notification.Phone] = e
						if s := e.Notification.Status; s != alarm.NotificationDelivered && s != alarm.NotificationFailed {
							settled = false
						}
					}
					if (settled && len(out) > 0) || time.Now().After(deadline) {
						return out
					}
					time.Sleep(20 * time.Millisecond)
				}
			}

			// An intrusion: the householder and the police officer are
			// told, and the SMSC's receipts say both got it.
			outs, err := st.Ingest(ctx, []alarm.Report{{Source: alarm.SourceSIA, Account: "AA01", Seq: "0001", Kind: alarm.KindBurglary, Code: "BA", Zone: "1"}})
			must(err)
			first := outs[0].Incident.ID
			drain()
			got := notified(first)
			if len(got) != 3 {
				t.Errorf("notified entries %+v, want two householders and the police officer", got)
			}
			for _, tc := range []struct{ role, name, phone, status string }{
				{alarm.RoleHouseholder, "测试甲", "199****0001", alarm.NotificationDelivered},
				{alarm.RoleHouseholder, "测试丙", "199****0003", alarm.NotificationFailed},
				{alarm.RolePolice, "民警测试", "199****0009", alarm.NotificationDelivered},
			} {
				e, ok := got[tc.phone]
				if !ok {
					t.Fatalf("no notified entry for %s: %+v", tc.phone, got)
				}
				n := e.Notification
				if n.RecipientRole != tc.role || n.Status != tc.status || n.Name != tc.name || n.Channel != alarm.ChannelSMS || n.Attempts != 1 || n.SentAt == nil || n.GatewayID == "" {
					t.Errorf("%s: %+v", tc.phone, *n)
				}
				if tc.status == alarm.NotificationDelivered && n.DeliveredAt == nil {
					t.Errorf("%s: delivered without a time: %+v", tc.phone, *n)
				}
				if tc.status == alarm.NotificationFailed && (n.FailedAt == nil || n.LastError != "UNDELIV") {
					t.Errorf("%s: failed without a time or the network's word: %+v", tc.phone, *n)
				}
				if e.At.Before(outs[0].Incident.OpenedAt) {
					t.Errorf("%s queued at %v, before the incident opened at %v", tc.phone, e.At, outs[0].Incident.OpenedAt)
				}
			}
			if got["199****0009"].Notification.UserID != police.ID {
				t.Errorf("police entry names user %d, want %d", got["199****0009"].Notification.UserID, police.ID)
			}

			// Another intrusion while the SMSC throttles everything: each
			// message is tried three times, then shown failed with why.
			srv.FailNext(100, data.ESME_RTHROTTLED)
			outs, err = st.Ingest(ctx, []alarm.Report{{Source: alarm.SourceSIA, Account: "AA02", Seq: "0001", Kind: alarm.KindBurglary, Code: "BA", Zone: "1"}})
			must(err)
			second := outs[0].Incident.ID
			if second == first {
				t.Fatal("the second home's intrusion joined the first incident")
			}
			drain()
			got = notified(second)
			e, ok := got["199****0002"]
			if !ok {
				t.Fatalf("no entry for the second home's householder: %+v", got)
			}
			if n := e.Notification; n.RecipientRole != alarm.RoleHouseholder || n.Status != alarm.NotificationFailed || n.Attempts != 3 || n.FailedAt == nil || n.LastError == "" || n.SentAt != nil {
				t.Errorf("throttled householder: %+v", *n)
			}

			// A receipt for a message nobody recorded is not found.
			err = st.NotificationReceipt(ctx, alarm.Receipt{GatewayID: "NOSUCH", Status: alarm.NotificationDelivered, At: clock.Now()})
			if shequ.ErrorCode(err) != shequ.ENOTFOUND {
				t.Errorf("unknown receipt: %v", err)
			}
		})
	}
}
