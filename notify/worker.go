package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/jobs"
)

// JobStore is the outbox the worker drains and what its handlers read.
type JobStore interface {
	jobs.Queue
	NoticeTargets(ctx context.Context, incidentID int64, to string) (alarm.IncidentContext, error)
	MarkEscalated(ctx context.Context, incidentID int64) (bool, error)
	RedispatchIfUnaccepted(ctx context.Context, incidentID, user int64) (int64, error)
	NoticeRecipients(ctx context.Context, noticeID int64) (string, []alarm.Recipient, error)
	MatterRecipient(ctx context.Context, matterID, personID int64) (string, string, []alarm.Recipient, error)
	// NotificationSent records on an incident's timeline that the gateway
	// took the message of job key, under its id gatewayID ("" when it
	// gives none).
	NotificationSent(ctx context.Context, key, gatewayID string, at time.Time) error
}

// Tracked is a Sender that knows the ids its gateway gave the messages it
// took, by which delivery receipts name them: one per part of a long SMS,
// none for a key it does not know.
type Tracked interface {
	MessageIDs(key string) []string
}

// Worker turns outbox jobs into messages. A notice expands into one SMS
// job per recipient in the transaction that completes it, so each SMS is
// queued exactly once; an SMS job is sent, then marked done. A crash
// between the two resends it with the same key, which the gateway uses to
// send it once.
type Worker struct {
	Store  JobStore
	Sender Sender
	Clock  shequ.Clock
	Log    *slog.Logger
	// Lease is how long a claimed job is the worker's before another may
	// take it; a send gets half of it (jobs.Runner.Lease).
	Lease time.Duration
	// MaxAttempts before a job is given up (and logged as an error).
	MaxAttempts int
	// Wake, when set, makes the worker look at once instead of at the
	// next poll.
	Wake func() <-chan struct{}
	// More registers the handlers of other capabilities' jobs, which
	// share the one outbox (cameras and evidence, for one).
	More []func(*jobs.Registry)

	runner *jobs.Runner
}

// Run works until ctx ends.
func (w *Worker) Run(ctx context.Context) { w.init().Run(ctx) }

// RunOnce claims and does one batch of due jobs; it returns how many.
func (w *Worker) RunOnce(ctx context.Context) (int, error) { return w.init().RunOnce(ctx) }

func (w *Worker) init() *jobs.Runner {
	if w.runner == nil {
		w.runner = &jobs.Runner{Queue: w.Store, Handlers: w.Handlers(), Clock: w.Clock, Log: w.Log,
			Lease: w.Lease, MaxAttempts: w.MaxAttempts, Wake: w.Wake}
	}
	return w.runner
}

// Handlers returns the worker's handler of each kind of job.
func (w *Worker) Handlers() *jobs.Registry {
	r := &jobs.Registry{}
	jobs.Handle(r, func(ctx context.Context, key string, p jobs.Notice) ([]jobs.New, error) {
		return w.expand(ctx, key, p)
	})
	jobs.Handle(r, w.escalate)
	jobs.Handle(r, func(ctx context.Context, key string, p jobs.Dispatch) ([]jobs.New, error) {
		return w.expand(ctx, key, jobs.Notice{IncidentID: p.IncidentID, Template: "dispatch", To: fmt.Sprintf("user:%d", p.UserID)})
	})
	jobs.Handle(r, w.dispatchTimeout)
	jobs.Handle(r, w.noticePublished)
	jobs.Handle(r, w.matterUpdate)
	jobs.Handle(r, w.sms)
	for _, more := range w.More {
		more(r)
	}
	return r
}

func (w *Worker) escalate(ctx context.Context, key string, p jobs.Escalate) ([]jobs.New, error) {
	escalated, err := w.Store.MarkEscalated(ctx, p.IncidentID)
	if err != nil || !escalated {
		return nil, err
	}
	return w.expand(ctx, key, jobs.Notice{IncidentID: p.IncidentID, Template: "escalation", To: "supervisors"})
}

func (w *Worker) dispatchTimeout(ctx context.Context, _ string, p jobs.DispatchTimeout) ([]jobs.New, error) {
	next, err := w.Store.RedispatchIfUnaccepted(ctx, p.IncidentID, p.UserID)
	if err == nil && next != 0 {
		w.Log.Info("dispatch not accepted in time: offered to the next", "incident", p.IncidentID, "was", p.UserID, "now", next)
	}
	return nil, err
}

func (w *Worker) noticePublished(ctx context.Context, key string, p jobs.NoticePublished) ([]jobs.New, error) {
	title, rs, err := w.Store.NoticeRecipients(ctx, p.NoticeID)
	if err != nil {
		return nil, err
	}
	var next []jobs.New
	for _, r := range rs {
		body, err := Render("notice_important", r.Lang, map[string]string{"title": title})
		if err != nil {
			return nil, jobs.Permanent{Err: err}
		}
		next = append(next, smsJob(fmt.Sprintf("%s:sms:%s", key, r.Key), r.Phone, body))
	}
	return next, nil
}

func (w *Worker) matterUpdate(ctx context.Context, key string, p jobs.MatterUpdate) ([]jobs.New, error) {
	if p.Action == "comment" || p.Action == "rate" {
		return nil, nil // the resident's own steps, or a note on the timeline: no message
	}
	tracking, category, rs, err := w.Store.MatterRecipient(ctx, p.MatterID, p.PersonID)
	if err != nil {
		return nil, err
	}
	var next []jobs.New
	for i, r := range rs {
		body, err := Render("matter_status", r.Lang, map[string]string{"tracking": tracking, "category": category, "status": StatusWord(p.Status, r.Lang)})
		if err != nil {
			return nil, jobs.Permanent{Err: err}
		}
		next = append(next, smsJob(fmt.Sprintf("%s:sms:%d", key, i), r.Phone, body))
	}
	return next, nil
}

func (w *Worker) sms(ctx context.Context, key string, p jobs.SMS) ([]jobs.New, error) {
	err := w.Sender.Send(ctx, Message{Key: p.Key, To: p.To, Body: p.Body})
	// The gateway's Permanent is the sender's word; the runner knows the
	// jobs one.
	if perm := (Permanent{}); errors.As(err, &perm) {
		return nil, jobs.Permanent{Err: err}
	}
	if err != nil || p.IncidentID == 0 {
		return nil, err
	}
	var gatewayID string
	if t, ok := w.Sender.(Tracked); ok {
		// A receipt for any part names the message; the first part's id
		// is the one kept for receipts that come without our key.
		if ids := t.MessageIDs(p.Key); len(ids) > 0 {
			gatewayID = ids[0]
		}
	}
	if err := w.Store.NotificationSent(ctx, key, gatewayID, w.Clock.Now()); err != nil {
		// The message is out: failing the job would only send it again.
		// The timeline shows it queued until its receipt comes.
		w.Log.Error("record SMS sent", "job", key, "err", err)
	}
	return nil, nil
}

// expand renders a notice for each recipient as its own SMS job; the keys
// derive from the notice's, so expanding twice queues nothing new.
func (w *Worker) expand(ctx context.Context, key string, p jobs.Notice) ([]jobs.New, error) {
	ic, err := w.Store.NoticeTargets(ctx, p.IncidentID, p.To)
	if err != nil {
		return nil, err
	}
	role := alarm.RecipientRole(p.To)
	var next []jobs.New
	for i, r := range ic.Recipients {
		body, err := Render(p.Template, r.Lang, AlarmVars(p.Template, r.Lang, ic.Vars))
		if err != nil {
			return nil, jobs.Permanent{Err: err}
		}
		j := smsJob(fmt.Sprintf("%s:sms:%d", key, i), r.Phone, body)
		sms := j.Payload.(jobs.SMS)
		sms.IncidentID, sms.Role, sms.Name, sms.PersonID, sms.UserID = p.IncidentID, role, r.Name, r.PersonID, r.UserID
		j.Payload = sms
		next = append(next, j)
	}
	if len(next) == 0 {
		w.Log.Warn("nobody to tell", "job", key, "group", p.To)
	}
	return next, nil
}

func smsJob(key, to, body string) jobs.New {
	return jobs.New{Key: key, Payload: jobs.SMS{Key: key, To: to, Body: body}}
}
