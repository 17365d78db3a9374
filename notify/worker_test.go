package notify_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/notify"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// recorder is a sender that can fail the first n sends.
type recorder struct {
	mu       sync.Mutex
	failNext int
	sent     map[string]notify.Message
	count    map[string]int
}

func (r *recorder) Send(_ context.Context, m notify.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failNext > 0 {
		r.failNext--
		return errors.New("gateway timeout")
	}
	r.sent[m.Key] = m
	r.count[m.Key]++
	return nil
}

func TestNotificationsGoOutOnce(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
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
			h := community.Home{BuildingID: b.ID, Floor: 1, Door: "1-101"}
			must(st.CreateHome(ctx, all, &h))
			hh := community.Household{HomeID: h.ID}
			must(st.CreateHousehold(ctx, all, &hh))
			for _, phone := range []string{"19900000001", "19900000002"} {
				must(st.CreatePerson(ctx, all, &community.Person{HouseholdID: hh.ID, Name: "x", Phone: phone}))
			}
			must(st.CreateUser(ctx, all, &auth.User{Username: "police1", Phone: "19900000009", Grants: []auth.Grant{{Role: auth.RolePolice, CommunityID: c.ID}}}, ""))
			must(st.CreateUser(ctx, all, &auth.User{Username: "boss", Phone: "19900000008", Grants: []auth.Grant{{Role: auth.RoleAdmin, CommunityID: c.ID}}}, ""))
			must(st.CreatePanel(ctx, all, &alarm.Panel{HomeID: h.ID, Account: "AA01"}))
			_, err := st.Ingest(ctx, []alarm.Report{{Source: alarm.SourceSIA, Account: "AA01", Seq: "0001", Kind: alarm.KindBurglary, Code: "BA", Zone: "1"}})
			must(err)

			rec := &recorder{failNext: 1, sent: map[string]notify.Message{}, count: map[string]int{}}
			w := &notify.Worker{Store: st, Sender: rec, Clock: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			drain := func() {
				for i := 0; i < 20; i++ {
					clock.Advance(3 * time.Second) // past any backoff
					if n, err := w.RunOnce(ctx); err != nil {
						t.Fatal(err)
					} else if n == 0 && i > 3 {
						return
					}
				}
			}
			drain()
			clock.Advance(alarm.DefaultEscalateAfter) // nobody acknowledged
			drain()
			phones := map[string]bool{}
			for _, m := range rec.sent {
				phones[m.To] = true
			}
			// Two householders and the police officer; the failed send was
			// retried; the escalation (no ack within a minute) reached the
			// admin.
			for _, p := range []string{"19900000001", "19900000002", "19900000009", "19900000008"} {
				if !phones[p] {
					t.Errorf("no SMS to %s: %+v", p, rec.sent)
				}
			}
			for k, n := range rec.count {
				if n != 1 {
					t.Errorf("message %s sent %d times", k, n)
				}
			}
			if len(rec.sent) != 4 {
				t.Errorf("%d messages, want 4", len(rec.sent))
			}
			status, err := st.JobStatus(ctx)
			must(err)
			if status["sms.done"] != 4 || status["notice.done"] != 2 || status["escalate.done"] != 1 {
				t.Errorf("outbox %v", status)
			}
			// A worker that died holding a job: the lease runs out and the
			// job is done by the next one, once.
			_, err = st.Ingest(ctx, []alarm.Report{{Source: alarm.SourceSIA, Account: "AA01", Seq: "0002", Kind: alarm.KindFire, Code: "FA"}})
			must(err)
			if _, err := st.ClaimJobs(ctx, 20, time.Minute); err != nil { // the dead worker
				t.Fatal(err)
			}
			clock.Advance(2 * time.Minute)
			before := len(rec.sent)
			drain()
			if len(rec.sent) == before {
				t.Error("jobs of a dead worker were never done")
			}
			for k, n := range rec.count {
				if n != 1 {
					t.Errorf("message %s sent %d times", k, n)
				}
			}
		})
	}
}

func TestImportantNoticeReachesItsAudience(t *testing.T) {
	ctx := t.Context()
	clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	st := sqlstoretest.Open(t, "sqlite", clock)
	if _, err := demo.Load(ctx, st, "demo-password-for-tests"); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{sent: map[string]notify.Message{}, count: map[string]int{}}
	w := &notify.Worker{Store: st, Sender: rec, Clock: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for i := 0; i < 200; i++ {
		n, err := w.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	notices := 0
	for k, m := range rec.sent {
		if strings.HasPrefix(k, "notice_published:") {
			notices++
			if !strings.Contains(m.Body, "社区通知") {
				t.Errorf("message %q", m.Body)
			}
		}
	}
	status, err := st.JobStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if notices == 0 || status["notice_published.failed"] != 0 || status["notice_published.done"] == 0 {
		t.Errorf("%d notice SMS; outbox %v", notices, status)
	}
	for k, n := range rec.count {
		if n != 1 {
			t.Errorf("%s sent %d times", k, n)
		}
	}
}

func TestMatterStepsReachTheResident(t *testing.T) {
	ctx := t.Context()
	clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	st := sqlstoretest.Open(t, "sqlite", clock)
	res, err := demo.Load(ctx, st, "demo-password-for-tests")
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.UserByName(ctx, "resident01")
	if err != nil {
		t.Fatal(err)
	}
	m := matter.Matter{PersonID: u.PersonID, Category: "repair", Description: "楼道灯坏了"}
	if err := st.SubmitMatter(ctx, auth.Scope{{}}, &m); err != nil {
		t.Fatal(err)
	}
	if _, err := st.StepMatter(ctx, auth.Scope{{CommunityID: res.CommunityID}}, m.ID, matter.Step{Action: "accept", By: 1}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{sent: map[string]notify.Message{}, count: map[string]int{}}
	w := &notify.Worker{Store: st, Sender: rec, Clock: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for i := 0; i < 200; i++ {
		if n, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		} else if n == 0 {
			break
		}
	}
	var bodies []string
	for k, msg := range rec.sent {
		if strings.HasPrefix(k, "matter:") {
			bodies = append(bodies, msg.Body)
		}
	}
	if len(bodies) != 2 {
		t.Fatalf("messages %q", bodies)
	}
	for _, b := range bodies {
		if !strings.Contains(b, m.Tracking) {
			t.Errorf("message without the tracking number: %q", b)
		}
	}
	status, _ := st.JobStatus(ctx)
	if status["matter_update.failed"] != 0 {
		t.Errorf("outbox %v", status)
	}
}

// oneBuilding makes the community the notification tests run in: one grid
// with one building, B栋.
func oneBuilding(t *testing.T, st *sqlstore.Store) (community.Community, community.Building) {
	t.Helper()
	ctx, all := t.Context(), auth.Scope{{}}
	c := community.Community{Code: "n", Name: "n"}
	g := community.Grid{Code: "G1", Name: "g"}
	b := community.Building{Name: "B栋"}
	err := st.CreateCommunity(ctx, all, &c)
	if err == nil {
		g.CommunityID = c.ID
		err = st.CreateGrid(ctx, all, &g)
	}
	if err == nil {
		b.CommunityID, b.GridID = c.ID, g.ID
		err = st.CreateBuilding(ctx, all, &b)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c, b
}
