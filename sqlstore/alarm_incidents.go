package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/jobs"
)

const incidentColumns = "i.id, i.community_id, i.home_id, i.panel_id, i.kind, i.priority, i.status, i.title, i.opened_at, i.last_event_at, i.event_count, i.ack_at, i.ack_by, i.dispatched_at, i.dispatched_to, i.accepted_at, i.arrived_at, i.resolved_at, i.resolved_by, i.resolution, i.notes, i.kinds"

func scanIncident(r scanner, extra ...any) (alarm.Incident, error) {
	var i alarm.Incident
	var home, panel, ackBy, to, resolvedBy sql.NullInt64
	var kind, kinds string
	dest := []any{&i.ID, &i.CommunityID, &home, &panel, &kind, &i.Priority, &i.Status, &i.Title, scanTime{t: &i.OpenedAt}, scanTime{t: &i.LastEventAt}, &i.EventCount,
		scanTimePtr{&i.AckAt}, &ackBy, scanTimePtr{&i.DispatchedAt}, &to, scanTimePtr{&i.AcceptedAt}, scanTimePtr{&i.ArrivedAt}, scanTimePtr{&i.ResolvedAt}, &resolvedBy, &i.Resolution, &i.Notes, &kinds}
	if err := r.Scan(append(dest, extra...)...); err != nil {
		return i, err
	}
	for k := range strings.SplitSeq(kinds, ",") {
		if k != "" {
			i.Kinds = append(i.Kinds, alarm.Kind(k))
		}
	}
	i.Kind, i.HomeID, i.PanelID, i.AckBy, i.DispatchedTo, i.ResolvedBy = alarm.Kind(kind), home.Int64, panel.Int64, ackBy.Int64, to.Int64, resolvedBy.Int64
	return i, nil
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.UTC()
	return &v
}

func ptrTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

func (s *Store) openIncident(ctx context.Context, q querier, home int64) (*alarm.Incident, error) {
	if home == 0 {
		return nil, nil
	}
	i, err := scanIncident(q.QueryRowContext(ctx, "SELECT "+incidentColumns+" FROM incidents i WHERE i.home_id = $1 AND i.status <> 'resolved' ORDER BY i.id DESC LIMIT 1", home))
	if err == sql.ErrNoRows {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("open incident of home %d: %w", home, err)
	}
	return &i, nil
}

// lockIncident takes, on PostgreSQL, the lock of an incident's home (when
// it has one) and then of the incident, before a transaction reads the
// incident to write it back. Homes before incidents is the lock order of
// lockHomes; holding the home's lock too keeps an alarm of the home from
// joining the incident between the read and the write (it would join one
// being resolved, or have its kind and priority written over), since an
// ingest batch locks the homes, not the incidents, it joins. An
// incident's home never changes, so it is read without a lock.
func (s *Store) lockIncident(ctx context.Context, tx *sql.Tx, id int64) error {
	if s.dialect != Postgres {
		return nil
	}
	var home sql.NullInt64
	err := tx.QueryRowContext(ctx, "SELECT home_id FROM incidents WHERE id = $1", id).Scan(&home)
	if err != nil && err != sql.ErrNoRows {
		return fmt.Errorf("the home of incident %d: %w", id, err)
	}
	if home.Valid {
		if err := s.lockHome(ctx, tx, home.Int64); err != nil {
			return err
		}
	}
	return s.lockRow(ctx, tx, "incidents", id)
}

func (s *Store) saveIncident(ctx context.Context, q querier, i *alarm.Incident, isNew bool) error {
	if isNew {
		id, err := insert(ctx, q, `INSERT INTO incidents (community_id, home_id, panel_id, kind, priority, status, title, opened_at, last_event_at, event_count, kinds)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			i.CommunityID, nullID(i.HomeID), nullID(i.PanelID), string(i.Kind), int(i.Priority), i.Status, i.Title, i.OpenedAt.UTC(), i.LastEventAt.UTC(), i.EventCount, joinKinds(i.Kinds))
		if err != nil {
			return fmt.Errorf("open incident: %w", err)
		}
		i.ID = id
		return nil
	}
	_, err := q.ExecContext(ctx, `UPDATE incidents SET kind = $1, priority = $2, status = $3, title = $4, last_event_at = $5, event_count = $6,
		ack_at = $7, ack_by = $8, dispatched_at = $9, dispatched_to = $10, accepted_at = $11, arrived_at = $12, resolved_at = $13, resolved_by = $14,
		resolution = $15, notes = $16, kinds = $17 WHERE id = $18`,
		string(i.Kind), int(i.Priority), i.Status, i.Title, i.LastEventAt.UTC(), i.EventCount,
		ptrTime(i.AckAt), nullID(i.AckBy), ptrTime(i.DispatchedAt), nullID(i.DispatchedTo), ptrTime(i.AcceptedAt), ptrTime(i.ArrivedAt),
		ptrTime(i.ResolvedAt), nullID(i.ResolvedBy), i.Resolution, i.Notes, joinKinds(i.Kinds), i.ID)
	if err != nil {
		return fmt.Errorf("update incident %d: %w", i.ID, err)
	}
	return nil
}

// joinKinds stores an incident's kinds as one column: a handful of short
// words, only ever read whole with the incident.
func joinKinds(ks []alarm.Kind) string {
	var b strings.Builder
	for n, k := range ks {
		if n > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(k))
	}
	return b.String()
}

func (s *Store) logIncident(ctx context.Context, q querier, incident int64, at time.Time, action string, user int64, detail string) error {
	_, err := q.ExecContext(ctx, "INSERT INTO incident_log (incident_id, at, action, user_id, detail) VALUES ($1, $2, $3, $4, $5)",
		incident, at.UTC(), action, nullID(user), detail)
	if err != nil {
		return fmt.Errorf("incident log: %w", err)
	}
	return nil
}

// enqueue adds outbox work once: the idempotency key makes a repeat a no-op.
func (s *Store) enqueue(ctx context.Context, q querier, key string, payload jobs.Payload, runAt time.Time) error {
	if s.enqueueHook != nil {
		switch tx := q.(type) {
		case *sql.Tx:
			return s.enqueueHook(ctx, tx, key, payload, runAt)
		case cachedTx:
			return s.enqueueHook(ctx, tx.Tx, key, payload, runAt)
		}
		return fmt.Errorf("enqueue %s: not in a transaction", key)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO outbox (idempotency_key, kind, payload, run_at, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING`,
		key, payload.Kind(), string(b), runAt.UTC(), s.now())
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", key, err)
	}
	return nil
}

var incidents = table{
	what: "incident", id: "i.id", order: "i.priority, i.opened_at",
	from: "incidents i LEFT JOIN homes h ON h.id = i.home_id LEFT JOIN buildings b ON b.id = h.building_id",
	scope: scopeCols{community: "i.community_id", grid: "b.grid_id",
		household: "i.home_id = (SELECT hh2.home_id FROM households hh2 WHERE hh2.id = %s)"},
	columns: incidentColumns + ", COALESCE(b.name, ''), COALESCE(h.door, ''), COALESCE(h.floor, 0), COALESCE(b.grid_id, 0)",
}

// incidentListColumns are incidents.columns with the timestamps as text, for
// the queue on SQLite (scantime.go).
var incidentListColumns = textTimes(incidents.columns, "i.opened_at", "i.last_event_at", "i.ack_at", "i.dispatched_at", "i.accepted_at", "i.arrived_at", "i.resolved_at")

func scanIncidentRow(r scanner) (alarm.Incident, error) {
	var building, door string
	var floor int
	var grid int64
	i, err := scanIncident(r, &building, &door, &floor, &grid)
	i.BuildingName, i.Door, i.Floor, i.GridID = building, door, floor, grid
	return i, err
}

// ListIncidents returns incidents by priority, then age: the operator's queue.
func (s *Store) ListIncidents(ctx context.Context, scope auth.Scope, f alarm.IncidentFilter) (shequ.List[alarm.Incident], error) {
	var a args
	var conds []string
	switch f.Status {
	case "":
	case "open":
		conds = append(conds, "i.status <> 'resolved'")
	default:
		conds = append(conds, "i.status = "+a.add(f.Status))
	}
	if f.HomeID != 0 {
		conds = append(conds, "i.home_id = "+a.add(f.HomeID))
	}
	if f.DispatchedTo != 0 {
		conds = append(conds, "i.dispatched_to = "+a.add(f.DispatchedTo))
	}
	if !f.Since.IsZero() {
		conds = append(conds, "i.opened_at >= "+a.add(f.Since.UTC()))
	}
	if !f.Until.IsZero() {
		conds = append(conds, "i.opened_at < "+a.add(f.Until.UTC()))
	}
	w := strings.Join(append([]string{scopeWhere(scope, incidents.scope, &a)}, conds...), " AND ")
	// The joins only name the home and its building (one row each at most),
	// so they count nothing unless the scope is a grid's (b.grid_id).
	countFrom := "incidents i"
	for _, g := range scope {
		if g.GridID != 0 {
			countFrom = incidents.from
		}
	}
	cols := incidents.columns
	if s.dialect == SQLite {
		cols = incidentListColumns
	}
	return pageThenCount(ctx, s.reader(), incidents.what, "SELECT "+cols+" FROM "+incidents.from+" WHERE "+w+" ORDER BY "+incidents.order,
		"SELECT COUNT(*) FROM "+countFrom+" WHERE "+w, a, f.Page, scanIncidentRow)
}

// Incident returns one incident.
func (s *Store) Incident(ctx context.Context, scope auth.Scope, id int64) (alarm.Incident, error) {
	return oneOf(ctx, s.reader(), incidents, scope, id, scanIncidentRow)
}

// IncidentTimeline returns what happened to an incident, oldest first:
// its events (the first "opened", the others "event"), the steps people
// took (incident_log), and the messages owed to people about it.
//
// The events are read from alarm_events, not from the log: in an alarm
// storm every frame joins its home's incident, and a log line repeating
// each event cost a row and an index page a frame (migration 00024 removed
// the lines written before).
func (s *Store) IncidentTimeline(ctx context.Context, scope auth.Scope, id int64) ([]alarm.TimelineEntry, error) {
	if err := mustReach(ctx, s.reader(), incidents, scope, id); err != nil {
		return nil, err
	}
	events, err := s.incidentEvents(ctx, s.reader(), id)
	if err != nil {
		return nil, err
	}
	rows, err := s.reader().QueryContext(ctx, "SELECT at, action, user_id, detail FROM incident_log WHERE incident_id = $1 ORDER BY id", id)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	defer rows.Close()
	var steps []alarm.TimelineEntry
	for rows.Next() {
		var e alarm.TimelineEntry
		var user sql.NullInt64
		if err := rows.Scan(&e.At, &e.Action, &user, &e.Detail); err != nil {
			return nil, err
		}
		e.At, e.UserID = e.At.UTC(), user.Int64
		steps = append(steps, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	notes, err := s.incidentNotifications(ctx, s.reader(), id)
	if err != nil {
		return nil, err
	}
	return mergeTimeline(mergeTimeline(events, steps), notes), nil
}

// incidentEvents are an incident's events as timeline entries, in the
// order they were stored: the first opened the incident.
func (s *Store) incidentEvents(ctx context.Context, q querier, id int64) ([]alarm.TimelineEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT e.received_at, e.source, e.code, e.kind, e.restore, e.zone, e.text, COALESCE(sn.zone, '')
		FROM alarm_events e LEFT JOIN alarm_sensors sn ON sn.id = e.sensor_id WHERE `+eventsOfIncident("$1")+` ORDER BY e.id`, id)
	if err != nil {
		return nil, fmt.Errorf("events of incident %d: %w", id, err)
	}
	defer rows.Close()
	var out []alarm.TimelineEntry
	for rows.Next() {
		var r alarm.Report
		var source, kind, sensorZone string
		if err := rows.Scan(&r.ReceivedAt, &source, &r.Code, &kind, &r.Restore, &r.Zone, &r.Text, &sensorZone); err != nil {
			return nil, err
		}
		r.Source, r.Kind = alarm.Source(source), alarm.Kind(kind)
		action := "event"
		if len(out) == 0 {
			action = "opened"
		}
		out = append(out, alarm.TimelineEntry{At: r.ReceivedAt.UTC(), Action: action, Detail: alarm.NoteOf(r, sensorZone).String()})
	}
	return out, rows.Err()
}

// StepIncident applies an operator's or staff member's step to an incident.
func (s *Store) StepIncident(ctx context.Context, scope auth.Scope, id int64, step alarm.Step) (alarm.Incident, error) {
	var out alarm.Incident
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.stepIncident(ctx, tx, scope, id, step)
		return err
	})
	return out, err
}

// stepIncident is StepIncident inside tx.
func (s *Store) stepIncident(ctx context.Context, tx *sql.Tx, scope auth.Scope, id int64, step alarm.Step) (alarm.Incident, error) {
	// The step writes every column back (saveIncident): what it read must
	// stay as it was until it commits.
	if err := s.lockIncident(ctx, tx, id); err != nil {
		return alarm.Incident{}, err
	}
	inc, err := oneOf(ctx, tx, incidents, scope, id, scanIncidentRow)
	if err != nil {
		return alarm.Incident{}, err
	}
	if step.Action == "dispatch" {
		if n, err := count(ctx, tx, "SELECT COUNT(*) FROM grants WHERE user_id = $1 AND community_id = $2 AND role <> 'resident'", step.To, inc.CommunityID); err != nil {
			return alarm.Incident{}, err
		} else if n == 0 {
			return alarm.Incident{}, shequ.Invalid(map[string]string{"user_id": fmt.Sprintf("user %d is not staff of this community", step.To)})
		}
	}
	step.At = s.now()
	next, err := inc.Apply(step)
	if err != nil {
		return alarm.Incident{}, err
	}
	if err := s.saveIncident(ctx, tx, &next, false); err != nil {
		return alarm.Incident{}, err
	}
	detail := step.Notes
	switch step.Action {
	case "dispatch":
		detail = fmt.Sprintf("user %d", step.To)
	case "resolve":
		detail = step.Resolution + " " + step.Notes
	}
	if err := s.logIncident(ctx, tx, id, step.At, step.Action, step.By, detail); err != nil {
		return alarm.Incident{}, err
	}
	if step.Action == "dispatch" {
		if err := s.offer(ctx, tx, id, step.To, step.At); err != nil {
			return alarm.Incident{}, err
		}
	}
	if err := s.publishLive(ctx, tx, next.CommunityID, next.HomeID, "incident", next); err != nil {
		return alarm.Incident{}, err
	}
	return next, s.record(ctx, tx, audit.Entry{CommunityID: inc.CommunityID, Action: "incident." + step.Action, Entity: "incident", EntityID: id,
		Before: snapshot(inc), After: snapshot(next)})
}

var events = table{
	what: "event", id: "e.id", order: "e.id DESC",
	from: "alarm_events e LEFT JOIN homes h ON h.id = e.home_id LEFT JOIN buildings b ON b.id = h.building_id",
	scope: scopeCols{community: "e.community_id", grid: "b.grid_id",
		household: "e.home_id = (SELECT hh2.home_id FROM households hh2 WHERE hh2.id = %s)"},
	columns: "e.id, e.community_id, e.home_id, e.panel_id, e.sensor_id, e.incident_id, e.source, e.account, e.seq, e.code, e.kind, e.restore, e.area, e.zone, e.text, e.panel_time, e.received_at",
}

func scanEvent(r scanner) (alarm.Event, error) {
	var e alarm.Event
	var home, panel, sensor, inc sql.NullInt64
	var panelTime sql.NullTime
	var source, kind string
	err := r.Scan(&e.ID, &e.CommunityID, &home, &panel, &sensor, &inc, &source, &e.Account, &e.Seq, &e.Code, &kind, &e.Restore, &e.Area, &e.Zone, &e.Text, &panelTime, &e.ReceivedAt)
	e.HomeID, e.PanelID, e.SensorID, e.IncidentID = home.Int64, panel.Int64, sensor.Int64, inc.Int64
	e.Source, e.Kind, e.PanelTime, e.ReceivedAt = alarm.Source(source), alarm.Kind(kind), timePtr(panelTime), e.ReceivedAt.UTC()
	return e, err
}

// ListEvents returns stored events, newest first.
func (s *Store) ListEvents(ctx context.Context, scope auth.Scope, f alarm.EventFilter) (shequ.List[alarm.Event], error) {
	var a args
	var conds []string
	if f.Account != "" {
		// By the home of the panel or sensor, which the index leads with.
		p := a.add(f.Account)
		conds = append(conds, "e.home_id IN (SELECT home_id FROM alarm_panels WHERE account = "+p+
			" UNION ALL SELECT home_id FROM alarm_sensors WHERE mqtt_name = "+p+") AND e.account = "+p)
	}
	if f.HomeID != 0 {
		conds = append(conds, "e.home_id = "+a.add(f.HomeID))
	}
	if f.IncidentID != 0 {
		conds = append(conds, eventsOfIncident(a.add(f.IncidentID)))
	}
	return listOf(ctx, s.reader(), events, scope, conds, a, f.Page, scanEvent)
}

// offer notes that a staff member was sent, queues their SMS, and sets the
// timer that offers the incident to the next candidate if they do not
// accept in time.
func (s *Store) offer(ctx context.Context, tx *sql.Tx, incident, user int64, at time.Time) error {
	if err := s.logIncident(ctx, tx, incident, at, "offered", user, ""); err != nil {
		return err
	}
	key := fmt.Sprintf("dispatch:%d:%d:%d", incident, user, at.UnixNano())
	if err := s.enqueue(ctx, tx, key, jobs.Dispatch{IncidentID: incident, UserID: user}, at); err != nil {
		return err
	}
	return s.enqueue(ctx, tx, key+":timeout", jobs.DispatchTimeout{IncidentID: incident, UserID: user}, at.Add(s.acceptTimeout))
}

// DispatchCandidates ranks who could be sent to an incident: the grid
// worker of the home's grid, then on-duty staff by distance; people already
// offered it are left out.
func (s *Store) DispatchCandidates(ctx context.Context, scope auth.Scope, incidentID int64) ([]alarm.Candidate, error) {
	return s.candidates(ctx, s.reader(), scope, incidentID)
}

func (s *Store) candidates(ctx context.Context, q querier, scope auth.Scope, incidentID int64) ([]alarm.Candidate, error) {
	inc, err := oneOf(ctx, q, incidents, scope, incidentID, scanIncidentRow)
	if err != nil {
		return nil, err
	}
	var lat, lng float64
	var worker sql.NullInt64
	var workerName sql.NullString
	if inc.HomeID != 0 {
		// The grid's worker counts only while they hold a role in the
		// incident's community: a grid must not name someone of another.
		err := q.QueryRowContext(ctx, `SELECT b.lat, b.lng, u.id, u.display_name FROM homes h JOIN buildings b ON b.id = h.building_id
			JOIN grids g ON g.id = b.grid_id
			LEFT JOIN users u ON u.id = g.worker_user_id AND u.id IN (SELECT user_id FROM grants WHERE community_id = $2 AND role <> 'resident')
			WHERE h.id = $1`, inc.HomeID, inc.CommunityID).Scan(&lat, &lng, &worker, &workerName)
		if err != nil && err != sql.ErrNoRows {
			return nil, fmt.Errorf("home of incident %d: %w", incidentID, err)
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT sp.user_id, u.display_name, sp.lat, sp.lng, sp.on_duty, sp.reported_at FROM staff_positions sp JOIN users u ON u.id = sp.user_id
		WHERE sp.user_id IN (SELECT user_id FROM grants WHERE community_id = $1 AND role <> 'resident')`, inc.CommunityID)
	if err != nil {
		return nil, fmt.Errorf("staff positions: %w", err)
	}
	var staff []alarm.StaffPosition
	for rows.Next() {
		var p alarm.StaffPosition
		if err := rows.Scan(&p.UserID, &p.Name, &p.Lat, &p.Lng, &p.OnDuty, &p.ReportedAt); err != nil {
			rows.Close()
			return nil, err
		}
		staff = append(staff, p)
	}
	rows.Close()
	var offered []int64
	ors, err := q.QueryContext(ctx, "SELECT user_id FROM incident_log WHERE incident_id = $1 AND action = 'offered'", incidentID)
	if err != nil {
		return nil, err
	}
	for ors.Next() {
		var u int64
		if err := ors.Scan(&u); err != nil {
			ors.Close()
			return nil, err
		}
		offered = append(offered, u)
	}
	ors.Close()
	return alarm.Candidates(lat, lng, worker.Int64, workerName.String, staff, offered, s.now()), nil
}

// RedispatchIfUnaccepted offers the incident to the next candidate when
// the staff member sent has not accepted. It returns who was sent next, 0
// when the incident moved on meanwhile or nobody is left (the consoles are
// told).
func (s *Store) RedispatchIfUnaccepted(ctx context.Context, incidentID, user int64) (int64, error) {
	var next int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Locked before it is read: a staff member who accepts meanwhile
		// is not sent away again.
		if err := s.lockIncident(ctx, tx, incidentID); err != nil {
			return err
		}
		inc, err := oneOf(ctx, tx, incidents, everything, incidentID, scanIncidentRow)
		if err != nil {
			return err
		}
		if inc.Status != alarm.StatusDispatched || inc.DispatchedTo != user || inc.AcceptedAt != nil {
			return nil
		}
		now := s.now()
		if err := s.logIncident(ctx, tx, incidentID, now, "not_accepted", user, ""); err != nil {
			return err
		}
		cands, err := s.candidates(ctx, tx, everything, incidentID)
		if err != nil {
			return err
		}
		if len(cands) == 0 {
			if err := s.logIncident(ctx, tx, incidentID, now, "no_candidates", 0, ""); err != nil {
				return err
			}
			return s.publishLive(ctx, tx, inc.CommunityID, inc.HomeID, "escalation", map[string]any{"incident_id": incidentID, "reason": "nobody accepted"})
		}
		nextInc, err := inc.Apply(alarm.Step{Action: "dispatch", To: cands[0].UserID, At: now})
		if err != nil {
			return err
		}
		if err := s.saveIncident(ctx, tx, &nextInc, false); err != nil {
			return err
		}
		if err := s.logIncident(ctx, tx, incidentID, now, "dispatch", 0, fmt.Sprintf("user %d (%s)", cands[0].UserID, cands[0].Reason)); err != nil {
			return err
		}
		if err := s.offer(ctx, tx, incidentID, cands[0].UserID, now); err != nil {
			return err
		}
		next = cands[0].UserID
		return s.publishLive(ctx, tx, nextInc.CommunityID, nextInc.HomeID, "incident", nextInc)
	})
	return next, err
}

// SayMistake records on a home's open call for help that the resident
// says they pressed it by mistake. It closes nothing: the operator sees it
// on the incident and decides, since a person in trouble may be made to
// say it.
func (s *Store) SayMistake(ctx context.Context, scope auth.Scope, home, user int64) (alarm.Incident, error) {
	var out alarm.Incident
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := mustReach(ctx, tx, homes, scope, home); err != nil {
			return err
		}
		if err := s.lockHome(ctx, tx, home); err != nil {
			return err
		}
		inc, err := s.openIncident(ctx, tx, home)
		if err != nil {
			return err
		}
		if inc == nil || !inc.Has(alarm.PriorityLife) {
			return shequ.Errorf(shequ.ECONFLICT, "home %d has no open call for help", home)
		}
		out = *inc
		if err := s.logIncident(ctx, tx, inc.ID, s.now(), "mistake", user, ""); err != nil {
			return err
		}
		if err := s.publishLive(ctx, tx, inc.CommunityID, inc.HomeID, "incident", inc); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{CommunityID: inc.CommunityID, Action: "incident.mistake", Entity: "incident", EntityID: inc.ID})
	})
	return out, err
}

// LastResolved returns a home's latest resolved incident, nil when none.
func (s *Store) LastResolved(ctx context.Context, scope auth.Scope, home int64) (*alarm.Incident, error) {
	if err := mustReach(ctx, s.reader(), homes, scope, home); err != nil {
		return nil, err
	}
	i, err := scanIncidentRow(s.reader().QueryRowContext(ctx, "SELECT "+incidents.columns+" FROM "+incidents.from+
		" WHERE i.home_id = $1 AND i.status = 'resolved' ORDER BY i.resolved_at DESC, i.id DESC LIMIT 1", home))
	if err == sql.ErrNoRows {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("last resolved incident of home %d: %w", home, err)
	}
	return &i, nil
}
