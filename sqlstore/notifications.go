package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/pii"
)

// queueNotification puts an SMS job about an incident on the incident's
// timeline as queued, in the transaction that queues the job. A job queued
// twice (the same key) is recorded once.
func (s *Store) queueNotification(ctx context.Context, q querier, key string, sms jobs.SMS, at time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO notifications (incident_id, job_key, role, person_id, user_id, name, masked_phone, channel, status, queued_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (job_key) DO NOTHING`,
		sms.IncidentID, key, sms.Role, nullID(sms.PersonID), nullID(sms.UserID), sms.Name, pii.Mask(sms.To),
		alarm.ChannelSMS, alarm.NotificationQueued, at.UTC())
	if err != nil {
		return fmt.Errorf("notification %s: %w", key, err)
	}
	return nil
}

// notificationAttempt copies a finished attempt of job key onto its
// notification, if it has one: how many tries so far and, when the try
// failed, why; failed for good when permanent. A message delivered
// meanwhile stays delivered.
func (s *Store) notificationAttempt(ctx context.Context, q querier, key string, attempts int, cause string, permanent bool, at time.Time) error {
	var err error
	switch {
	case cause == "":
		_, err = q.ExecContext(ctx, "UPDATE notifications SET attempts = $1 WHERE job_key = $2", attempts, key)
	case permanent:
		_, err = q.ExecContext(ctx, `UPDATE notifications SET attempts = $1, last_error = $2, status = $3, failed_at = $4
			WHERE job_key = $5 AND status <> $6`,
			attempts, truncateText(cause, 500), alarm.NotificationFailed, at.UTC(), key, alarm.NotificationDelivered)
	default:
		_, err = q.ExecContext(ctx, "UPDATE notifications SET attempts = $1, last_error = $2 WHERE job_key = $3",
			attempts, truncateText(cause, 500), key)
	}
	if err != nil {
		return fmt.Errorf("notification %s: %w", key, err)
	}
	return nil
}

// requeueNotification shows a failed message owed again when an
// administrator puts its job back; the last error stays for the record.
func (s *Store) requeueNotification(ctx context.Context, q querier, key string) error {
	_, err := q.ExecContext(ctx, "UPDATE notifications SET status = $1, failed_at = NULL WHERE job_key = $2 AND status = $3",
		alarm.NotificationQueued, key, alarm.NotificationFailed)
	if err != nil {
		return fmt.Errorf("notification %s: %w", key, err)
	}
	return nil
}

// NotificationSent records that the gateway took the message of job key,
// under its id gatewayID when it gave one. A receipt may have come first
// and said more: the status only moves on from queued.
func (s *Store) NotificationSent(ctx context.Context, key, gatewayID string, at time.Time) error {
	_, err := s.write.ExecContext(ctx, `UPDATE notifications SET sent_at = COALESCE(sent_at, $1),
		gateway_id = CASE WHEN gateway_id = '' THEN $2 ELSE gateway_id END,
		status = CASE WHEN status = $3 THEN $4 ELSE status END WHERE job_key = $5`,
		at.UTC(), gatewayID, alarm.NotificationQueued, alarm.NotificationSent, key)
	if err != nil {
		return fmt.Errorf("notification %s sent: %w", key, err)
	}
	return nil
}

// NotificationReceipt applies a gateway's delivery receipt to the
// notification it names, by our key or else by the gateway's id. A
// failure wins over a delivery (a long SMS whose last part was lost did
// not arrive whole); a delivery does not undo a failure. It returns
// ENOTFOUND when no notification has that key or id: a message not about
// an incident, or one the gateway made up.
func (s *Store) NotificationReceipt(ctx context.Context, r alarm.Receipt) error {
	where, arg := "job_key = $1", r.Key
	if r.Key == "" {
		where, arg = "gateway_id = $1", r.GatewayID
	}
	if arg == "" {
		return shequ.Invalid(map[string]string{"key": "give the message's key or the gateway's id"})
	}
	at := r.At.UTC()
	return s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		var status string
		err := tx.QueryRowContext(ctx, "SELECT id, status FROM notifications WHERE "+where, arg).Scan(&id, &status)
		if err == sql.ErrNoRows {
			return shequ.Errorf(shequ.ENOTFOUND, "no notification for message %q", arg)
		} else if err != nil {
			return fmt.Errorf("receipt for %q: %w", arg, err)
		}
		switch r.Status {
		case alarm.NotificationDelivered:
			if status == alarm.NotificationFailed || status == alarm.NotificationDelivered {
				return nil
			}
			_, err = tx.ExecContext(ctx, "UPDATE notifications SET status = $1, delivered_at = $2, sent_at = COALESCE(sent_at, $2) WHERE id = $3",
				alarm.NotificationDelivered, at, id)
		case alarm.NotificationFailed:
			if status == alarm.NotificationFailed {
				return nil
			}
			_, err = tx.ExecContext(ctx, "UPDATE notifications SET status = $1, failed_at = $2, last_error = $3 WHERE id = $4",
				alarm.NotificationFailed, at, truncateText(r.Error, 500), id)
		default:
			return shequ.Invalid(map[string]string{"status": fmt.Sprintf("%q: want delivered or failed", r.Status)})
		}
		if err != nil {
			return fmt.Errorf("receipt for %q: %w", arg, err)
		}
		return nil
	})
}

// incidentNotifications returns the messages owed about an incident as
// timeline entries, oldest first.
func (s *Store) incidentNotifications(ctx context.Context, q querier, incident int64) ([]alarm.TimelineEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, role, person_id, user_id, name, masked_phone, channel, status, attempts,
		queued_at, sent_at, delivered_at, failed_at, gateway_id, last_error
		FROM notifications WHERE incident_id = $1 ORDER BY queued_at, id`, incident)
	if err != nil {
		return nil, fmt.Errorf("notifications of incident %d: %w", incident, err)
	}
	defer rows.Close()
	var out []alarm.TimelineEntry
	for rows.Next() {
		var n alarm.Notification
		var person, user sql.NullInt64
		var sent, delivered, failed sql.NullTime
		if err := rows.Scan(&n.ID, &n.RecipientRole, &person, &user, &n.Name, &n.Phone, &n.Channel, &n.Status, &n.Attempts,
			&n.QueuedAt, &sent, &delivered, &failed, &n.GatewayID, &n.LastError); err != nil {
			return nil, err
		}
		n.PersonID, n.UserID = person.Int64, user.Int64
		n.QueuedAt = n.QueuedAt.UTC()
		n.SentAt, n.DeliveredAt, n.FailedAt = timePtr(sent), timePtr(delivered), timePtr(failed)
		out = append(out, alarm.TimelineEntry{At: n.QueuedAt, Action: alarm.ActionNotified, UserID: n.UserID,
			Detail: fmt.Sprintf("%s %s %s: %s", n.RecipientRole, n.Name, n.Phone, n.Status), Notification: &n})
	}
	return out, rows.Err()
}

// mergeTimeline puts notifications among the incident's log entries by
// time; at the same instant the log entry (the alarm that caused the
// message) comes first. It merges an incident's events and its log (the
// steps people took) the same way.
func mergeTimeline(log, notes []alarm.TimelineEntry) []alarm.TimelineEntry {
	out := make([]alarm.TimelineEntry, 0, len(log)+len(notes))
	i, j := 0, 0
	for i < len(log) || j < len(notes) {
		if j == len(notes) || (i < len(log) && !notes[j].At.Before(log[i].At)) {
			out = append(out, log[i])
			i++
		} else {
			out = append(out, notes[j])
			j++
		}
	}
	return out
}
