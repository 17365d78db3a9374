package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/jobs"
)

// ClaimJobs leases up to limit due jobs to the caller for lease. A job
// whose lease ran out (its worker died) is due again: work is done at
// least once, and its idempotency key keeps the effect single. Each claim
// of a job gets the next claim number, under which alone its outcome is
// recorded (jobs.ErrClaimLost).
func (s *Store) ClaimJobs(ctx context.Context, limit int, lease time.Duration) ([]jobs.Job, error) {
	now := s.now()
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []jobs.Job
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE outbox SET status = 'running', locked_until = $1, attempts = attempts + 1, claim = claim + 1
			WHERE id IN (SELECT id FROM outbox WHERE status IN ('pending', 'running') AND run_at <= $2 AND (locked_until IS NULL OR locked_until < $2)
			ORDER BY run_at, id LIMIT $3`+lock+`)
			RETURNING id, idempotency_key, kind, payload, attempts, claim`, now.Add(lease), now, limit)
		if err != nil {
			return fmt.Errorf("claim jobs: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var j jobs.Job
			var payload string
			if err := rows.Scan(&j.ID, &j.Key, &j.Kind, &payload, &j.Attempts, &j.Claim); err != nil {
				return err
			}
			j.Payload = []byte(payload)
			out = append(out, j)
		}
		return rows.Err()
	})
	return out, err
}

// ReleaseJobs gives claimed jobs back unstarted (a node stopping): they
// are due at once for any node, and the claim does not count as an
// attempt. A job no longer under the claim it was taken with is left
// alone, and jobs.ErrClaimLost returned once the others are given back.
func (s *Store) ReleaseJobs(ctx context.Context, js []jobs.Job) error {
	lost := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		lost = 0
		for _, j := range js {
			res, err := tx.ExecContext(ctx, "UPDATE outbox SET status = 'pending', locked_until = NULL, attempts = attempts - 1 WHERE "+claimHeld("$1", "$2"), j.ID, j.Claim)
			if err != nil {
				return fmt.Errorf("release job %d: %w", j.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("release job %d: %w", j.ID, err)
			} else if n == 0 {
				lost++
			}
		}
		return nil
	})
	if err == nil && lost > 0 {
		err = fmt.Errorf("release %d of %d jobs: %w", lost, len(js), jobs.ErrClaimLost)
	}
	return err
}

// claimHeld is the condition that a job, by its id and its claim number,
// is still running under that claim. It does not look at locked_until: a
// claim that ran out with nobody claiming the job since still holds, and
// its outcome is the one to record.
func claimHeld(id, claim string) string {
	return "id = " + id + " AND status = 'running' AND claim = " + claim
}

// CompleteJob marks a job done and queues the work it led to, in one
// transaction: a notice turns into its messages exactly once. It changes
// nothing and returns jobs.ErrClaimLost when the job is no longer under
// j's claim.
func (s *Store) CompleteJob(ctx context.Context, j jobs.Job, next []jobs.New) error {
	id := j.ID
	return s.tx(ctx, func(tx *sql.Tx) error {
		var key, kind string
		var attempts int
		err := tx.QueryRowContext(ctx, "UPDATE outbox SET status = 'done', done_at = $1, locked_until = NULL, last_error = '' WHERE "+claimHeld("$2", "$3")+" RETURNING idempotency_key, kind, attempts",
			s.now(), id, j.Claim).Scan(&key, &kind, &attempts)
		if err == sql.ErrNoRows {
			return fmt.Errorf("complete job %d (claim %d): %w", id, j.Claim, jobs.ErrClaimLost)
		} else if err != nil {
			return fmt.Errorf("complete job %d: %w", id, err)
		}
		if kind == (jobs.SMS{}).Kind() {
			if err := s.notificationAttempt(ctx, tx, key, attempts, "", false, s.now()); err != nil {
				return err
			}
		}
		for _, n := range next {
			runAt := n.RunAt
			if runAt.IsZero() {
				runAt = s.now()
			}
			if err := s.enqueue(ctx, tx, n.Key, n.Payload, runAt); err != nil {
				return err
			}
			// A message about an incident goes on its timeline as it is
			// queued, so the operator sees it owed before it is sent.
			if sms, ok := n.Payload.(jobs.SMS); ok && sms.IncidentID != 0 {
				if err := s.queueNotification(ctx, tx, n.Key, sms, s.now()); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Enqueue queues jobs in a transaction of their own, for work that no
// change of the store's causes (a chore, a benchmark).
func (s *Store) Enqueue(ctx context.Context, js ...jobs.New) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, j := range js {
			runAt := j.RunAt
			if runAt.IsZero() {
				runAt = s.now()
			}
			if err := s.enqueue(ctx, tx, j.Key, j.Payload, runAt); err != nil {
				return err
			}
		}
		return nil
	})
}

// RetryJob puts a failed job back for later, or fails it for good. It
// changes nothing and returns jobs.ErrClaimLost when the job is no longer
// under j's claim: a node whose claim ran out must not put back a job
// another node has done, or is doing, since.
func (s *Store) RetryJob(ctx context.Context, j jobs.Job, cause string, at time.Time, permanent bool) error {
	id := j.ID
	status := "pending"
	if permanent {
		status = "failed"
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var key, kind string
		var attempts int
		err := tx.QueryRowContext(ctx, "UPDATE outbox SET status = $1, run_at = $2, locked_until = NULL, last_error = $3 WHERE "+claimHeld("$4", "$5")+" RETURNING idempotency_key, kind, attempts",
			status, at.UTC(), truncateText(cause, 500), id, j.Claim).Scan(&key, &kind, &attempts)
		if err == sql.ErrNoRows {
			return fmt.Errorf("retry job %d (claim %d): %w", id, j.Claim, jobs.ErrClaimLost)
		} else if err != nil {
			return fmt.Errorf("retry job %d: %w", id, err)
		}
		if kind != (jobs.SMS{}).Kind() {
			return nil
		}
		if cause == "" {
			cause = "failed"
		}
		return s.notificationAttempt(ctx, tx, key, attempts, cause, permanent, s.now())
	})
}

func truncateText(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// JobStatus reports counts of outbox jobs by kind and status, for tests
// and the health strip.
func (s *Store) JobStatus(ctx context.Context) (map[string]int, error) {
	rows, err := s.reader().QueryContext(ctx, "SELECT kind, status, COUNT(*) FROM outbox GROUP BY kind, status")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var kind, status string
		var n int
		if err := rows.Scan(&kind, &status, &n); err != nil {
			return nil, err
		}
		out[kind+"."+status] = n
	}
	return out, rows.Err()
}

// NoticeTargets returns the incident's text variables and the people a
// notice of group "to" goes to: householders (the residents of the home
// with a phone), contacts (their emergency contacts), police (the
// community's police officers), supervisors (its admins and operators),
// or user:<id> (one staff member).
func (s *Store) NoticeTargets(ctx context.Context, incidentID int64, to string) (alarm.IncidentContext, error) {
	var out alarm.IncidentContext
	q := s.reader()
	inc, err := oneOf(ctx, q, incidents, everything, incidentID, scanIncidentRow)
	if err != nil {
		return out, err
	}
	loc, err := s.location(ctx, q, inc.CommunityID)
	if err != nil {
		return out, err
	}
	out.Incident = inc
	out.Vars = map[string]string{
		"building": inc.BuildingName, "door": inc.Door, "floor": strconv.Itoa(inc.Floor), "kind": string(inc.Kind),
		"time": inc.OpenedAt.In(loc).Format("01-02 15:04"), "minutes": strconv.Itoa(int(s.now().Sub(inc.OpenedAt).Minutes())),
	}
	// What the SMS says is true when it is sent: the incident's state
	// now, and who is on the way. The zone is that of the incident's
	// first intrusion, by its name when it has one.
	out.Vars["status"] = inc.Status
	if inc.DispatchedTo != 0 {
		var name string
		if err := q.QueryRowContext(ctx, "SELECT display_name FROM users WHERE id = $1", inc.DispatchedTo).Scan(&name); err != nil && err != sql.ErrNoRows {
			return out, fmt.Errorf("staff sent to incident %d: %w", incidentID, err)
		}
		out.Vars["helper"] = name
	}
	var zone, zoneName, intrusion string
	err = q.QueryRowContext(ctx, `SELECT e.kind, e.zone, COALESCE((SELECT z.name FROM alarm_zones z WHERE z.panel_id = e.panel_id AND z.zone = e.zone),
			(SELECT x.name FROM alarm_sensors x WHERE x.id = e.sensor_id), '')
		FROM alarm_events e WHERE `+eventsOfIncident("$1")+` AND NOT e.restore AND e.kind IN ('burglary', 'perimeter', 'interior', 'entry_exit') ORDER BY e.id LIMIT 1`, incidentID).
		Scan(&intrusion, &zone, &zoneName)
	if err != nil && err != sql.ErrNoRows {
		return out, fmt.Errorf("intrusion of incident %d: %w", incidentID, err)
	}
	out.Vars["intrusion"], out.Vars["zone"], out.Vars["zone_name"] = intrusion, zone, zoneName
	// Each query gives the recipient's id: a person's for residents, a
	// user's for staff, 0 for an emergency contact, who is neither.
	var query string
	var args []any
	byUser := false
	switch {
	case to == "householders":
		query, args = "SELECT p.id, p.name, p.phone_enc, 'zh-Hans' FROM people p JOIN households hh ON hh.id = p.household_id WHERE hh.home_id = $1 ORDER BY p.id", []any{inc.HomeID}
	case to == "contacts":
		query, args = "SELECT 0, c.name, c.phone_enc, 'zh-Hans' FROM emergency_contacts c JOIN people p ON p.id = c.person_id JOIN households hh ON hh.id = p.household_id WHERE hh.home_id = $1 ORDER BY c.id", []any{inc.HomeID}
	case to == "police":
		query, args, byUser = "SELECT u.id, u.display_name, u.phone_enc, u.lang FROM users u WHERE u.id IN (SELECT user_id FROM grants WHERE role = 'police' AND community_id = $1) ORDER BY u.id", []any{inc.CommunityID}, true
	case to == "supervisors":
		query, args, byUser = "SELECT u.id, u.display_name, u.phone_enc, u.lang FROM users u WHERE u.id IN (SELECT user_id FROM grants WHERE role = 'admin' AND community_id = $1) ORDER BY u.id", []any{inc.CommunityID}, true
	case strings.HasPrefix(to, "user:"):
		id, _ := strconv.ParseInt(strings.TrimPrefix(to, "user:"), 10, 64)
		query, args, byUser = "SELECT u.id, u.display_name, u.phone_enc, u.lang FROM users u WHERE u.id = $1", []any{id}, true
	default:
		return out, fmt.Errorf("unknown recipient group %q", to)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return out, fmt.Errorf("recipients: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name, sealed, lang string
		if err := rows.Scan(&id, &name, &sealed, &lang); err != nil {
			return out, err
		}
		phone, err := s.cipher.Open(sealed)
		if err != nil {
			return out, err
		}
		if phone == "" {
			continue
		}
		r := alarm.Recipient{Name: name, Phone: phone, Lang: lang}
		if byUser {
			r.UserID = id
		} else {
			r.PersonID = id
		}
		out.Recipients = append(out.Recipients, r)
	}
	return out, rows.Err()
}

// everything reaches the whole deployment: background work acts for it.
var everything = auth.Scope{{}}

// MarkEscalated records on the incident that it escalated and tells the
// consoles, unless it was acknowledged meanwhile. It reports whether the
// incident escalated.
func (s *Store) MarkEscalated(ctx context.Context, incidentID int64) (bool, error) {
	escalated := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var status string
		var community int64
		var home sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT status, community_id, home_id FROM incidents WHERE id = $1", incidentID).Scan(&status, &community, &home); err != nil {
			return err
		}
		if status != alarm.StatusNew {
			return nil
		}
		escalated = true
		if err := s.logIncident(ctx, tx, incidentID, s.now(), "escalated", 0, ""); err != nil {
			return err
		}
		if err := s.publishLive(ctx, tx, community, home.Int64, "escalation", map[string]int64{"incident_id": incidentID}); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{CommunityID: community, Action: "incident.escalate", Entity: "incident", EntityID: incidentID})
	})
	return escalated, err
}

// NoticeRecipients returns, for an important notice that is live now, its
// title and one person with a phone in each household of its audience. It
// returns no recipients when the notice was withdrawn, expired, or is no
// longer important: the job then has nothing to do.
func (s *Store) NoticeRecipients(ctx context.Context, noticeID int64) (string, []alarm.Recipient, error) {
	q := s.reader()
	var title, audience string
	var community int64
	var important bool
	var publish time.Time
	var expires sql.NullTime
	err := q.QueryRowContext(ctx, "SELECT title, community_id, audience, important, publish_at, expires_at FROM notices WHERE id = $1", noticeID).
		Scan(&title, &community, &audience, &important, &publish, &expires)
	if err == sql.ErrNoRows {
		return "", nil, nil
	} else if err != nil {
		return "", nil, fmt.Errorf("notice %d: %w", noticeID, err)
	}
	now := s.now()
	if !important || now.Before(publish) || (expires.Valid && !now.Before(expires.Time)) {
		return title, nil, nil
	}
	var a args
	conds := []string{"hh.community_id = " + a.add(community)}
	if audience != "community" {
		nid := a.add(noticeID)
		conds = append(conds, "EXISTS (SELECT 1 FROM notice_targets t WHERE t.notice_id = "+nid+" AND (t.grid_id = b.grid_id OR t.building_id = b.id))")
	}
	// The first resident with a phone speaks for the household.
	rows, err := q.QueryContext(ctx, `SELECT p.household_id, p.name, p.phone_enc FROM people p
		JOIN households hh ON hh.id = p.household_id JOIN homes h ON h.id = hh.home_id JOIN buildings b ON b.id = h.building_id
		WHERE p.phone_enc <> '' AND `+strings.Join(conds, " AND ")+` ORDER BY p.household_id, p.id`, a...)
	if err != nil {
		return "", nil, fmt.Errorf("notice audience: %w", err)
	}
	defer rows.Close()
	var out []alarm.Recipient
	seen := map[int64]bool{}
	for rows.Next() {
		var hh int64
		var name, sealed string
		if err := rows.Scan(&hh, &name, &sealed); err != nil {
			return "", nil, err
		}
		if seen[hh] {
			continue
		}
		seen[hh] = true
		phone, err := s.cipher.Open(sealed)
		if err != nil {
			return "", nil, err
		}
		out = append(out, alarm.Recipient{Name: name, Phone: phone, Lang: "zh-Hans", Key: strconv.FormatInt(hh, 10)})
	}
	return title, out, rows.Err()
}

// MatterRecipient returns the resident of a matter with their phone, the
// matter's tracking number and its category's name, for telling them
// about a step; no recipient when the person has no phone.
func (s *Store) MatterRecipient(ctx context.Context, matterID, personID int64) (string, string, []alarm.Recipient, error) {
	var tracking, category, name, sealed string
	err := s.reader().QueryRowContext(ctx, `SELECT m.tracking, mc.name, p.name, p.phone_enc FROM matters m JOIN matter_categories mc ON mc.id = m.category_id
		JOIN people p ON p.id = $2 WHERE m.id = $1`, matterID, personID).Scan(&tracking, &category, &name, &sealed)
	if err == sql.ErrNoRows {
		return "", "", nil, nil
	} else if err != nil {
		return "", "", nil, fmt.Errorf("matter %d recipient: %w", matterID, err)
	}
	phone, err := s.cipher.Open(sealed)
	if err != nil || phone == "" {
		return tracking, category, nil, err
	}
	return tracking, category, []alarm.Recipient{{Name: name, Phone: phone, Lang: "zh-Hans"}}, nil
}
