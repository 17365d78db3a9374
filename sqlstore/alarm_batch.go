package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/jobs"
)

// alarmWrites is what process decides for the reports of one ingest batch
// (or of one report outside a batch), kept in memory and written at the
// end in a few multi-row statements: in an alarm storm every report of a
// home joins its incident, and writing each report's arm state, incident,
// live events, log line and notices one statement at a time cost more
// than the events themselves. Each home's arm state and open incident are
// read once per batch (or taken from the home cache, on SQLite) and then
// followed in memory, so a report sees what the reports before it in the
// batch did, as it would in the database.
//
// Only new incidents are inserted at once: their id goes into the event,
// the live payload and the notices' keys.
type alarmWrites struct {
	homes map[int64]*homeState
	// incidents are the incidents joined in the batch, at their latest
	// state: each is updated once, at the end.
	incidents map[int64]joinedIncident
	live      []pendingLive
	jobs      []pendingJob
	// cache, when set (an ingest batch on SQLite), has the homes as the
	// last batch left them (see homeCache).
	cache *homeCache
	// locked are the homes whose lock the transaction holds (lockHomes).
	locked map[int64]bool
}

// homeState is what the batch knows of one home.
type homeState struct {
	arm      alarm.ArmState
	armDirty bool            // arm differs from the stored row
	open     *alarm.Incident // the home's open incident, nil when none
	grid     sql.NullInt64
}

// joinedIncident is an incident joined in the batch. headline is set when
// a join changed more than its count and last event (its kind, priority,
// title or kinds): only then does SQLite write those columns, whose
// incidents_open index entry moves with them even when their values do
// not (PostgreSQL compares the values itself).
type joinedIncident struct {
	inc      *alarm.Incident
	headline bool
}

// headlineChanged tells whether joining turned before into after in more
// than its count and last event.
func headlineChanged(before, after *alarm.Incident) bool {
	return before.Kind != after.Kind || before.Priority != after.Priority || before.Title != after.Title || !slices.Equal(before.Kinds, after.Kinds)
}

type pendingLive struct {
	community, home int64
	grid            sql.NullInt64
	typ             string
	payload         string
	at              time.Time
}

type pendingJob struct {
	key     string
	kind    string
	payload string
	runAt   time.Time
	created time.Time
}

func newAlarmWrites() *alarmWrites {
	return &alarmWrites{homes: map[int64]*homeState{}, incidents: map[int64]joinedIncident{}, locked: map[int64]bool{}}
}

// home returns what the batch knows of a home, reading it (and on
// PostgreSQL locking it, see lockHomes) on first use. Home 0 (a report of
// no home) is never kept: it has no arm state row and no open incident to
// follow.
func (s *Store) home(ctx context.Context, q querier, w *alarmWrites, home, community int64) (*homeState, error) {
	if home == 0 {
		return &homeState{arm: alarm.ArmState{CommunityID: community, State: alarm.Disarmed, EntryDelay: int(alarm.DefaultEntryDelay / time.Second)}}, nil
	}
	if h, ok := w.homes[home]; ok {
		return h, nil
	}
	if err := s.loadHomes(ctx, q, w, map[int64]int64{home: community}); err != nil {
		return nil, err
	}
	return w.homes[home], nil
}

var (
	// homesOfSQL reads each home's grid and stored arm state (NULLs when
	// it has none) in one statement.
	homesOfSQL = newChunked(`SELECT h.id, b.grid_id, a.community_id, a.state, a.mode, a.since, a.deadline, a.entry_delay, a.zone, a.changed_by
		FROM homes h JOIN buildings b ON b.id = h.building_id LEFT JOIN arm_states a ON a.home_id = h.id WHERE h.id IN (`, "?", ", ", ")")
	openIncidentsOfSQL = newChunked("SELECT "+incidentColumns+" FROM incidents i WHERE i.home_id IN (", "?", ", ", ") AND i.status <> 'resolved'")
	lockHomesSQL       = newChunked("SELECT id FROM homes WHERE id IN (", "?", ", ", ") ORDER BY id FOR NO KEY UPDATE")
)

// lockHomes takes the row locks of homes (ids in ascending order) on
// PostgreSQL, for the rest of the transaction. Every transaction that
// reads a home's arm state or open incident to decide what to write takes
// its home's lock first, and everything that writes a home's incidents
// holds it: without it two alarms of one home at once (the app's SOS and
// the panel's panic button, a sensor and a panel, the entry-delay timer
// and a frame, one panel's frames on two nodes) each read "no open
// incident" and each opened one, with its own notices and escalation. The
// homes row is the one every home has (an arm_states row is written only
// when the home first arms). FOR NO KEY UPDATE rather than FOR UPDATE:
// it orders the alarm transactions of a home without holding up the rows
// that only refer to the home (an event's or a presence report's foreign
// key takes KEY SHARE).
//
// The one lock order, to keep these transactions from deadlocking: the
// panels an ingest batch marks seen (alarm_panels, in the batch's order),
// then homes by id, then incidents (lockIncident). A transaction that locks
// several homes locks them in one statement, in id order, before reading
// any of them (loadHomes).
//
// SQLite runs one write transaction at a time: nothing to lock.
func (s *Store) lockHomes(ctx context.Context, q querier, ids []int64) error {
	if s.dialect != Postgres || len(ids) == 0 {
		return nil
	}
	// The lock is a statement of its own, ahead of the reads: a row locked
	// and read in one statement would come with the other tables as they
	// were before the wait (READ COMMITTED takes each statement's snapshot
	// as it starts).
	err := queryIn(ctx, q, lockHomesSQL[s.dialect], ids, func(*sql.Rows) error { return nil })
	if err != nil {
		return fmt.Errorf("lock homes: %w", err)
	}
	return nil
}

// lockBatchHomes locks, with lockHomes, those of homes (ids to their
// communities) that w has not locked yet.
func (s *Store) lockBatchHomes(ctx context.Context, q querier, w *alarmWrites, homes map[int64]int64) error {
	if s.dialect != Postgres {
		return nil
	}
	var ids []int64
	for home := range homes {
		if home != 0 && !w.locked[home] {
			ids = append(ids, home)
		}
	}
	slices.Sort(ids)
	if err := s.lockHomes(ctx, q, ids); err != nil {
		return err
	}
	for _, home := range ids {
		w.locked[home] = true
	}
	return nil
}

// lockHome is lockHomes for one home.
func (s *Store) lockHome(ctx context.Context, q querier, home int64) error {
	return s.lockHomes(ctx, q, []int64{home})
}

// loadHomes locks (lockHomes) and reads the arm state, open incident and
// grid of the homes not known to w yet: three statements for the batch
// rather than four per report. communities gives each home's community,
// for a home without a stored arm state.
func (s *Store) loadHomes(ctx context.Context, q querier, w *alarmWrites, communities map[int64]int64) error {
	var todo []int64
	for home := range communities {
		if _, ok := w.homes[home]; ok || home == 0 {
			continue
		}
		if w.cache != nil {
			if h, ok := w.cache.get(home); ok {
				w.homes[home] = h
				continue
			}
		}
		todo = append(todo, home)
	}
	if len(todo) == 0 {
		return nil
	}
	slices.Sort(todo)
	if err := s.lockBatchHomes(ctx, q, w, communities); err != nil {
		return err
	}
	loaded := make(map[int64]*homeState, len(todo))
	for _, home := range todo {
		loaded[home] = &homeState{arm: alarm.ArmState{HomeID: home, CommunityID: communities[home], State: alarm.Disarmed, EntryDelay: int(alarm.DefaultEntryDelay / time.Second)}}
	}
	err := queryIn(ctx, q, homesOfSQL[s.dialect], todo, func(rows *sql.Rows) error {
		var home int64
		var grid, community, entryDelay sql.NullInt64
		var state, mode, zone, changedBy sql.NullString
		var since, deadline sql.NullTime
		if err := rows.Scan(&home, &grid, &community, &state, &mode, &since, &deadline, &entryDelay, &zone, &changedBy); err != nil {
			return err
		}
		h := loaded[home]
		h.grid = grid
		if !state.Valid {
			return nil // no arm state stored: disarmed, as armState says
		}
		h.arm = alarm.ArmState{HomeID: home, CommunityID: community.Int64, State: alarm.State(state.String), Mode: alarm.Mode(mode.String),
			Since: since.Time.UTC(), EntryDelay: int(entryDelay.Int64), Zone: zone.String, ChangedBy: changedBy.String}
		if deadline.Valid {
			t := deadline.Time.UTC()
			h.arm.Deadline = &t
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("homes: %w", err)
	}
	err = queryIn(ctx, q, openIncidentsOfSQL[s.dialect], todo, func(rows *sql.Rows) error {
		i, err := scanIncident(rows)
		if err != nil {
			return err
		}
		// The newest open incident of a home is its open incident, as in
		// openIncident.
		if h := loaded[i.HomeID]; h != nil && (h.open == nil || i.ID > h.open.ID) {
			h.open = &i
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("open incidents: %w", err)
	}
	for home, h := range loaded {
		w.homes[home] = h
	}
	return nil
}

// queryIn runs a chunked "… IN (?, …)" statement over ids and hands each
// row to scan. A chunk too big for the ids left is filled up with the last
// id (IN ignores repeats), so a batch's ids take one statement, not one
// per power of two in their count.
func queryIn[T int64 | string](ctx context.Context, q querier, stmts map[int]string, ids []T, scan func(*sql.Rows) error) error {
	a := make([]any, 0, eventChunks[0])
	for rest := ids; len(rest) > 0; {
		n := min(len(rest), eventChunks[0])
		size := n
		for _, c := range eventChunks {
			if c >= n {
				size = c
			}
		}
		a = a[:0]
		for _, id := range rest[:n] {
			a = append(a, id)
		}
		for len(a) < size {
			a = append(a, rest[n-1])
		}
		rows, err := q.QueryContext(ctx, stmts[size], a...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

// execChunks runs a chunked statement over n rows, as few statements as
// eventChunks allow; row appends the values of row i.
func execChunks(ctx context.Context, q querier, stmts map[int]string, n int, row func(a []any, i int) []any) error {
	var a []any
	for done := 0; done < n; {
		k := chunk(n - done)
		a = a[:0]
		for i := done; i < done+k; i++ {
			a = row(a, i)
		}
		if _, err := q.ExecContext(ctx, stmts[k], a...); err != nil {
			return mapError(err)
		}
		done += k
	}
	return nil
}

// publish queues a live event for the end of the batch. An incident, the
// event of every stored alarm, is written by its own appender (the same
// bytes as encoding/json, without reflection).
func (s *Store) publish(w *alarmWrites, community, home int64, grid sql.NullInt64, typ string, payload any) error {
	var b []byte
	if i, ok := payload.(*alarm.Incident); ok {
		b = i.AppendJSON(make([]byte, 0, 512))
	} else {
		var err error
		if b, err = json.Marshal(payload); err != nil {
			return err
		}
	}
	w.live = append(w.live, pendingLive{community: community, home: home, grid: grid, typ: typ, payload: string(b), at: s.now()})
	return nil
}

// queueJob queues outbox work for the end of the batch. A hook (River, in
// its benchmark) takes the job at once, in the transaction, as enqueue does.
func (s *Store) queueJob(ctx context.Context, q querier, w *alarmWrites, key string, payload jobs.Payload, runAt time.Time) error {
	if s.enqueueHook != nil {
		return s.enqueue(ctx, q, key, payload, runAt)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	w.jobs = append(w.jobs, pendingJob{key: key, kind: payload.Kind(), payload: string(b), runAt: runAt.UTC(), created: s.now()})
	return nil
}

var (
	saveArmStatesSQL = newChunked("INSERT INTO arm_states (home_id, community_id, state, mode, since, deadline, entry_delay, zone, changed_by) VALUES ",
		"(?, ?, ?, ?, ?, ?, ?, ?, ?)", ", ", ` ON CONFLICT (home_id) DO UPDATE SET state = excluded.state, mode = excluded.mode, since = excluded.since,
		deadline = excluded.deadline, entry_delay = excluded.entry_delay, zone = excluded.zone, changed_by = excluded.changed_by`)
	// updateIncidentsSQL sets what joining an incident changes, nothing
	// else: an operator's step on the incident is not written over.
	// PostgreSQL needs the values' types, which SQLite's CAST would turn
	// into other values (a time into a number).
	updateIncidentsSQL = chunked{
		SQLite: newChunked(updateIncidentsHead, "(?, ?, ?, ?, ?, ?, ?)", ", ", updateIncidentsTail)[SQLite],
		Postgres: newChunked(updateIncidentsHead, "(?::bigint, ?::text, ?::integer, ?::text, ?::timestamptz, ?::integer, ?::text)", ", ",
			updateIncidentsTail)[Postgres],
	}
	// updateCountsSQL is updateIncidentsSQL for joins that changed only
	// the count and the last event's time.
	updateCountsSQL = chunked{
		SQLite:   newChunked(updateCountsHead, "(?, ?, ?)", ", ", updateCountsTail)[SQLite],
		Postgres: newChunked(updateCountsHead, "(?::bigint, ?::timestamptz, ?::integer)", ", ", updateCountsTail)[Postgres],
	}
	insertLiveSQL = newChunked("INSERT INTO live_events (community_id, home_id, grid_id, type, payload, at) VALUES ", "(?, ?, ?, ?, ?, ?)", ", ", "")
	insertJobsSQL = newChunked("INSERT INTO outbox (idempotency_key, kind, payload, run_at, created_at) VALUES ", "(?, ?, ?, ?, ?)", ", ",
		" ON CONFLICT (idempotency_key) DO NOTHING")
)

const (
	updateIncidentsHead = "WITH v (id, kind, priority, title, last_event_at, event_count, kinds) AS (VALUES "
	updateIncidentsTail = `) UPDATE incidents SET kind = v.kind, priority = v.priority, title = v.title, last_event_at = v.last_event_at,
		event_count = v.event_count, kinds = v.kinds FROM v WHERE incidents.id = v.id`
	updateCountsHead = "WITH v (id, last_event_at, event_count) AS (VALUES "
	updateCountsTail = ") UPDATE incidents SET last_event_at = v.last_event_at, event_count = v.event_count FROM v WHERE incidents.id = v.id"
)

// flush writes what the batch decided. Arm states and incidents go in
// the order of their ids, so that two nodes writing the same rows lock
// them in one order; live events and jobs in the order they
// were decided.
func (s *Store) flush(ctx context.Context, q querier, w *alarmWrites) error {
	var arms []alarm.ArmState
	for _, h := range w.homes {
		if h.armDirty {
			arms = append(arms, h.arm)
			h.armDirty = false
		}
	}
	slices.SortFunc(arms, func(a, b alarm.ArmState) int { return cmp.Compare(a.HomeID, b.HomeID) })
	err := execChunks(ctx, q, saveArmStatesSQL[s.dialect], len(arms), func(a []any, i int) []any {
		x := arms[i]
		var deadline any
		if x.Deadline != nil {
			deadline = x.Deadline.UTC()
		}
		return append(a, x.HomeID, x.CommunityID, string(x.State), string(x.Mode), x.Since.UTC(), deadline, x.EntryDelay, x.Zone, x.ChangedBy)
	})
	if err != nil {
		return fmt.Errorf("save arm states: %w", err)
	}
	// On PostgreSQL every joined incident goes in one statement, so that
	// two nodes lock them in one order.
	var incs, counts []*alarm.Incident
	for _, j := range w.incidents {
		if j.headline || s.dialect != SQLite {
			incs = append(incs, j.inc)
		} else {
			counts = append(counts, j.inc)
		}
	}
	clear(w.incidents)
	byID := func(a, b *alarm.Incident) int { return cmp.Compare(a.ID, b.ID) }
	slices.SortFunc(incs, byID)
	slices.SortFunc(counts, byID)
	err = execChunks(ctx, q, updateIncidentsSQL[s.dialect], len(incs), func(a []any, k int) []any {
		i := incs[k]
		return append(a, i.ID, string(i.Kind), int(i.Priority), i.Title, i.LastEventAt.UTC(), i.EventCount, joinKinds(i.Kinds))
	})
	if err != nil {
		return fmt.Errorf("update incidents: %w", err)
	}
	err = execChunks(ctx, q, updateCountsSQL[s.dialect], len(counts), func(a []any, k int) []any {
		i := counts[k]
		return append(a, i.ID, i.LastEventAt.UTC(), i.EventCount)
	})
	if err != nil {
		return fmt.Errorf("update incidents: %w", err)
	}
	err = execChunks(ctx, q, insertLiveSQL[s.dialect], len(w.live), func(a []any, i int) []any {
		l := w.live[i]
		return append(a, l.community, nullID(l.home), l.grid, l.typ, l.payload, l.at)
	})
	if err != nil {
		return fmt.Errorf("live events: %w", err)
	}
	if len(w.live) > 0 {
		if err := s.notifyLive(ctx, q); err != nil {
			return err
		}
	}
	w.live = w.live[:0]
	err = execChunks(ctx, q, insertJobsSQL[s.dialect], len(w.jobs), func(a []any, i int) []any {
		j := w.jobs[i]
		return append(a, j.key, j.kind, j.payload, j.runAt, j.created)
	})
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	w.jobs = w.jobs[:0]
	return nil
}
