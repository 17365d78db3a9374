package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
)

// JobStore is the outbox the worker drains.
type JobStore interface {
	ClaimJobs(ctx context.Context, limit int, lease time.Duration) ([]alarm.Job, error)
	CompleteJob(ctx context.Context, id int64, next []alarm.NewJob) error
	RetryJob(ctx context.Context, id int64, cause string, at time.Time, permanent bool) error
	NoticeTargets(ctx context.Context, incidentID int64, to string) (alarm.IncidentContext, error)
	MarkEscalated(ctx context.Context, incidentID int64) (bool, error)
	RedispatchIfUnaccepted(ctx context.Context, incidentID, user int64) (int64, error)
	NoticeRecipients(ctx context.Context, noticeID int64) (string, []alarm.Recipient, error)
	MatterRecipient(ctx context.Context, matterID, personID int64) (string, string, []alarm.Recipient, error)
}

// Worker turns outbox jobs into messages. A notice expands into one "sms"
// job per recipient in the transaction that completes it, so each SMS is
// queued exactly once; an "sms" job is sent, then marked done. A crash
// between the two resends it with the same key, which the gateway uses to
// send it once.
type Worker struct {
	Store  JobStore
	Sender Sender
	Clock  shequ.Clock
	Log    *slog.Logger
	// Lease is how long a claimed job is the worker's before another may
	// take it; longer than any send.
	Lease time.Duration
	// MaxAttempts before a job is given up (and logged as an error).
	MaxAttempts int
	// Wake, when set, makes the worker look at once instead of at the
	// next poll.
	Wake func() <-chan struct{}
}

// Run works until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	for {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.Error("outbox", "err", err)
		}
		if n > 0 {
			continue
		}
		var wake <-chan struct{}
		if w.Wake != nil {
			wake = w.Wake()
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// RunOnce claims and does one batch of due jobs; it returns how many.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	if w.Lease == 0 {
		w.Lease = time.Minute
	}
	if w.MaxAttempts == 0 {
		w.MaxAttempts = 12
	}
	jobs, err := w.Store.ClaimJobs(ctx, 20, w.Lease)
	if err != nil {
		return 0, err
	}
	for _, j := range jobs {
		next, err := w.do(ctx, j)
		if err == nil {
			err = w.Store.CompleteJob(ctx, j.ID, next)
			if err != nil {
				w.Log.Error("complete job", "job", j.Key, "err", err)
			}
			continue
		}
		var perm Permanent
		permanent := errors.As(err, &perm) || j.Attempts >= w.MaxAttempts
		// Back off 2, 4, 8 … seconds, at most ten minutes.
		delay := min(time.Duration(1<<min(j.Attempts, 9))*time.Second, 10*time.Minute)
		level := slog.LevelWarn
		if permanent {
			level = slog.LevelError
		}
		w.Log.Log(ctx, level, "job failed", "job", j.Key, "attempt", j.Attempts, "permanent", permanent, "err", err)
		if rerr := w.Store.RetryJob(ctx, j.ID, err.Error(), w.Clock.Now().Add(delay), permanent); rerr != nil {
			return len(jobs), rerr
		}
	}
	return len(jobs), nil
}

func (w *Worker) do(ctx context.Context, j alarm.Job) ([]alarm.NewJob, error) {
	switch j.Kind {
	case "notice":
		var p alarm.NoticeJob
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return nil, Permanent{err}
		}
		return w.expand(ctx, j.Key, p)
	case "escalate":
		var p alarm.NoticeJob
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return nil, Permanent{err}
		}
		escalated, err := w.Store.MarkEscalated(ctx, p.IncidentID)
		if err != nil || !escalated {
			return nil, err
		}
		return w.expand(ctx, j.Key, alarm.NoticeJob{IncidentID: p.IncidentID, Template: "escalation", To: "supervisors"})
	case "dispatch":
		var p struct {
			IncidentID int64 `json:"incident_id"`
			UserID     int64 `json:"user_id"`
		}
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return nil, Permanent{err}
		}
		return w.expand(ctx, j.Key, alarm.NoticeJob{IncidentID: p.IncidentID, Template: "dispatch", To: fmt.Sprintf("user:%d", p.UserID)})
	case "dispatch_timeout":
		var p struct {
			IncidentID int64 `json:"incident_id"`
			UserID     int64 `json:"user_id"`
		}
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return nil, Permanent{err}
		}
		next, err := w.Store.RedispatchIfUnaccepted(ctx, p.IncidentID, p.UserID)
		if err == nil && next != 0 {
			w.Log.Info("dispatch not accepted in time: offered to the next", "incident", p.IncidentID, "was", p.UserID, "now", next)
		}
		return nil, err
	case "notice_published":
		var p struct {
			NoticeID int64 `json:"notice_id"`
		}
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return nil, Permanent{err}
		}
		title, rs, err := w.Store.NoticeRecipients(ctx, p.NoticeID)
		if err != nil {
			return nil, err
		}
		var next []alarm.NewJob
		for _, r := range rs {
			body, err := Render("notice_important", r.Lang, map[string]string{"title": title})
			if err != nil {
				return nil, Permanent{err}
			}
			k := fmt.Sprintf("%s:sms:%s", j.Key, r.Key)
			next = append(next, alarm.NewJob{Key: k, Kind: "sms", Payload: Message{Key: k, To: r.Phone, Body: body}})
		}
		return next, nil
	case "matter_update":
		var p struct {
			MatterID int64  `json:"matter_id"`
			PersonID int64  `json:"person_id"`
			Status   string `json:"status"`
			Action   string `json:"action"`
		}
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return nil, Permanent{err}
		}
		if p.Action == "comment" || p.Action == "rate" {
			return nil, nil // the resident's own steps, or a note on the timeline: no message
		}
		tracking, category, rs, err := w.Store.MatterRecipient(ctx, p.MatterID, p.PersonID)
		if err != nil {
			return nil, err
		}
		var next []alarm.NewJob
		for i, r := range rs {
			body, err := Render("matter_status", r.Lang, map[string]string{"tracking": tracking, "category": category, "status": StatusWord(p.Status, r.Lang)})
			if err != nil {
				return nil, Permanent{err}
			}
			k := fmt.Sprintf("%s:sms:%d", j.Key, i)
			next = append(next, alarm.NewJob{Key: k, Kind: "sms", Payload: Message{Key: k, To: r.Phone, Body: body}})
		}
		return next, nil
	case "sms":
		var m Message
		if err := json.Unmarshal(j.Payload, &m); err != nil {
			return nil, Permanent{err}
		}
		return nil, w.Sender.Send(ctx, m)
	}
	return nil, Permanent{fmt.Errorf("unknown job kind %q", j.Kind)}
}

// expand renders a notice for each recipient as its own sms job; the keys
// derive from the notice's, so expanding twice queues nothing new.
func (w *Worker) expand(ctx context.Context, key string, p alarm.NoticeJob) ([]alarm.NewJob, error) {
	ic, err := w.Store.NoticeTargets(ctx, p.IncidentID, p.To)
	if err != nil {
		return nil, err
	}
	var next []alarm.NewJob
	for i, r := range ic.Recipients {
		body, err := Render(p.Template, r.Lang, AlarmVars(p.Template, r.Lang, ic.Vars))
		if err != nil {
			return nil, Permanent{err}
		}
		k := fmt.Sprintf("%s:sms:%d", key, i)
		next = append(next, alarm.NewJob{Key: k, Kind: "sms", Payload: Message{Key: k, To: r.Phone, Body: body}})
	}
	if len(next) == 0 {
		w.Log.Warn("nobody to tell", "job", key, "group", p.To)
	}
	return next, nil
}
