package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/jobs"
)

// RetransmissionWindow is how far back a frame with the same account,
// sequence number and content counts as a panel repeating itself rather
// than a new event that happens to reuse a wrapped sequence number.
const RetransmissionWindow = time.Hour

// Ingest stores a batch of reports in one transaction and returns what each
// did, in order. It is the group commit behind the receivers: many frames,
// one fsync. A report is durable once Ingest returns nil.
func (s *Store) Ingest(ctx context.Context, reports []alarm.Report) ([]alarm.Outcome, error) {
	out := make([]alarm.Outcome, len(reports))
	reports = slices.Clone(reports)
	for i := range reports {
		if reports[i].ReceivedAt.IsZero() {
			reports[i].ReceivedAt = s.now()
		}
	}
	if s.txn == nil && s.onlyFreshHeartbeats(reports) {
		return out, nil
	}
	b := &ingestBatch{panels: map[string]*batchPanel{}, sensors: map[string]alarm.Origin{}, stored: map[retransmission]bool{}, events: make([]pendingEvent, 0, len(reports)), writes: newAlarmWrites()}
	var marks cacheMarks // the home cache's marks after the batch's writes
	err := s.ingestTx(ctx, func(tx *sql.Tx, conn any) error {
		q := s.stmts.in(tx)
		var err error
		if conn != nil {
			m, err := readCacheMarks(ctx, q, conn)
			if err != nil {
				return err
			}
			s.homes.check(m)
			b.writes.cache = s.homes
		}
		// The panels first: the retransmission look-up goes by their homes.
		for i, r := range reports {
			if r.Source == alarm.SourceSIA {
				if _, err := s.panel(ctx, q, b, r); err != nil {
					return fmt.Errorf("report %d (%s %s): panel: %w", i, r.Account, r.Seq, err)
				}
			}
		}
		// MQTT receipts, and the sensor reports of messages stored before
		// (mqtt_receipts.go): left out of the batch.
		skip, receipts, err := s.mqttReceipts(ctx, q, reports)
		if err != nil {
			return err
		}
		// The homes whose state the batch's alarms read, all at once: they
		// are locked together, in one order (lockHomes), before the
		// retransmission look-up, so that a frame that reaches two nodes
		// at once is stored once too.
		homes := map[int64]int64{}
		for _, r := range reports {
			if p := b.panels[r.Account]; p != nil && r.Source == alarm.SourceSIA && r.Kind != alarm.KindTest && r.Kind != alarm.KindSupervision {
				homes[p.known.origin.HomeID] = p.known.origin.CommunityID
			}
		}
		for _, back := range b.returned {
			homes[back.origin.HomeID] = back.origin.CommunityID
		}
		if err := s.sensorOrigins(ctx, q, b, reports, homes); err != nil {
			return err
		}
		if err := s.lockBatchHomes(ctx, q, b.writes, homes); err != nil {
			return err
		}
		if b.before, err = s.retransmissions(ctx, q, b, reports); err != nil {
			return err
		}
		if err := s.loadHomes(ctx, q, b.writes, homes); err != nil {
			return err
		}
		for _, back := range b.returned {
			if _, err := s.process(ctx, q, b, -1, back.report, back.origin); err != nil {
				return fmt.Errorf("panel %s reports again: %w", back.report.Account, err)
			}
		}
		for i, r := range reports {
			if o, ok := skip[i]; ok {
				out[i] = o
				continue
			}
			o, err := s.ingestOne(ctx, q, b, i, r)
			if err != nil {
				return fmt.Errorf("report %d (%s %s): %w", i, r.Account, r.Seq, err)
			}
			out[i] = o
		}
		if err := s.flush(ctx, q, b.writes); err != nil {
			return err
		}
		// The receipts last: on PostgreSQL the last one in the events'
		// statement, which saves the batch a round trip.
		var withEvents *receiptWrite
		if s.dialect == Postgres && len(b.events) > 0 && len(receipts) > 0 {
			withEvents = &receipts[len(receipts)-1]
			receipts = receipts[:len(receipts)-1]
		}
		for _, w := range receipts {
			if err := s.writeReceipt(ctx, q, w); err != nil {
				return err
			}
		}
		ids, err := s.insertEvents(ctx, q, b.events, withEvents)
		if err != nil {
			return err
		}
		for k, e := range b.events {
			if e.outcome >= 0 {
				out[e.outcome].EventID = ids[k]
			}
		}
		if conn != nil {
			marks, err = readCacheMarks(ctx, q, conn)
		}
		return err
	}, func() {
		if marks.conn != nil {
			s.homes.keep(marks, b.writes.homes)
		}
	})
	if err != nil {
		s.homes.drop()
	}
	if err != nil || s.txn != nil {
		// Inside Atomic nothing is committed yet: remember nothing.
		return out, err
	}
	for account, p := range b.panels {
		if p != nil && p.read {
			s.panelDir.remember(account, p.known)
		}
	}
	if err := s.stmts.prepareMissed(ctx); err != nil {
		s.log.Warn("ingest statements not prepared; they run from text", "err", err)
	}
	return out, nil
}

// onlyFreshHeartbeats tells whether every report is a heartbeat of a panel
// marked seen within its refresh: such a batch has nothing to write (a
// heartbeat is stored as last_seen_at alone, see panelDirectory), so it
// needs no transaction.
func (s *Store) onlyFreshHeartbeats(reports []alarm.Report) bool {
	for _, r := range reports {
		if r.Source != alarm.SourceSIA || r.Kind != alarm.KindSupervision {
			return false
		}
		if _, ok := s.panelDir.fresh(r.Account, r.ReceivedAt); !ok {
			return false
		}
	}
	return true
}

// ingestBatch is what one Ingest call learns once and reuses for every
// report of the batch.
type ingestBatch struct {
	// panels are the batch's panels by account, nil for an account no
	// panel has: each is looked up once.
	panels map[string]*batchPanel
	// returned are the reports of panels that had been marked silent and
	// report again (see panel), processed once the batch's homes are
	// locked.
	returned []pendingReport
	// sensors are the batch's MQTT sensors by name (sensorOrigins).
	sensors map[string]alarm.Origin
	// events are inserted together at the end of the batch; stored holds
	// the retransmission keys among them, which the database does not
	// know yet, before those the database had within the window.
	events []pendingEvent
	stored map[retransmission]bool
	before map[retransmission]bool
	// writes are what process decided, written at the batch's end.
	writes *alarmWrites
}

// alarmWrites returns the batch's pending writes; outside a batch (b nil)
// a set of its own, which process writes before it returns.
func (b *ingestBatch) alarmWrites() *alarmWrites {
	if b == nil {
		return newAlarmWrites()
	}
	return b.writes
}

type retransmission struct{ account, seq, fingerprint string }

// pendingReport is a report of the store's own, with its origin.
type pendingReport struct {
	report alarm.Report
	origin alarm.Origin
}

// pendingEvent is an event of the batch not inserted yet.
type pendingEvent struct {
	report   alarm.Report
	origin   alarm.Origin
	incident int64
	outcome  int // the report's place in the batch; -1 for an event of the store's own
}

type batchPanel struct {
	known knownPanel
	read  bool // read (and marked seen) in this batch
}

// checksRetransmission tells whether r could be a retransmission to look
// for: an SIA report with a sequence number that is stored as an event.
func checksRetransmission(r alarm.Report) bool {
	return r.Source == alarm.SourceSIA && r.Kind != alarm.KindSupervision && r.Seq != ""
}

// retransmissionsSQL are SQLite's look-ups, a few reports at a time;
// retransmissionsPostgres takes the whole batch as arrays, which plans and
// runs in a third of the time of the OR form there. Being LATERAL with
// OFFSET 0 (which keeps the planner from turning it into a join), it
// probes the index once per report whatever the table's statistics say:
// without them, a batch of a hundred reports was merged against the
// whole table.
var retransmissionsSQL = newChunked("SELECT account, seq, fingerprint, received_at FROM alarm_events WHERE (",
	"(home_id = ? AND account = ? AND seq = ?)", " OR ", ") AND received_at > ?")[SQLite]

const retransmissionsPostgres = `SELECT e.account, e.seq, e.fingerprint, e.received_at
	FROM unnest($1::bigint[], $2::text[], $3::text[]) AS k(home_id, account, seq)
	CROSS JOIN LATERAL (SELECT account, seq, fingerprint, received_at FROM alarm_events
		WHERE home_id = k.home_id AND account = k.account AND seq = k.seq AND received_at > $4 OFFSET 0) e`

// retransmissions returns the keys of the reports that the database holds
// an event of within RetransmissionWindow: a few statements for the whole
// batch rather than one per report, bounded by the window of the batch's
// earliest report; the content and each report's own window are compared
// here, which binds fewer values than asking the database to. The batch's
// panels are known by then (b.panels); a report of an unknown panel is not
// looked for.
func (s *Store) retransmissions(ctx context.Context, q querier, b *ingestBatch, reports []alarm.Report) (map[retransmission]bool, error) {
	var todo []alarm.Report
	var since time.Time
	for _, r := range reports {
		if checksRetransmission(r) && b.panels[r.Account] != nil {
			todo = append(todo, r)
			if since.IsZero() || r.ReceivedAt.Before(since) {
				since = r.ReceivedAt
			}
		}
	}
	since = since.Add(-RetransmissionWindow)
	home := func(r alarm.Report) int64 { return b.panels[r.Account].known.origin.HomeID }
	latest := map[retransmission]time.Time{}
	if s.dialect == Postgres && len(todo) > 0 {
		homes, accounts, seqs := make([]int64, len(todo)), make([]string, len(todo)), make([]string, len(todo))
		for i, r := range todo {
			homes[i], accounts[i], seqs[i] = home(r), r.Account, r.Seq
		}
		// Planned for its values each time rather than once: a plan
		// cached while alarm_events was nearly empty scans the table
		// (seen at 1,300 frames/s on a new database under load).
		if err := s.readRetransmissions(ctx, q, retransmissionsPostgres, []any{pgx.QueryExecModeExec, homes, accounts, seqs, since}, latest); err != nil {
			return nil, fmt.Errorf("retransmissions: %w", err)
		}
	}
	if s.dialect == SQLite {
		a := make([]any, 0, 3*chunk(len(todo))+1)
		for rest := todo; len(rest) > 0; {
			n := chunk(len(rest))
			a = a[:0]
			for _, r := range rest[:n] {
				a = append(a, home(r), r.Account, r.Seq)
			}
			a = append(a, since)
			if err := s.readRetransmissions(ctx, q, retransmissionsSQL[n], a, latest); err != nil {
				return nil, fmt.Errorf("retransmissions: %w", err)
			}
			rest = rest[n:]
		}
	}
	found := map[retransmission]bool{}
	for _, r := range todo {
		k := retransmission{r.Account, r.Seq, r.Fingerprint}
		if t, ok := latest[k]; ok && t.After(r.ReceivedAt.Add(-RetransmissionWindow)) {
			found[k] = true
		}
	}
	return found, nil
}

// readRetransmissions keeps, per key, the latest time an event of it was
// received.
func (s *Store) readRetransmissions(ctx context.Context, q querier, query string, a []any, latest map[retransmission]time.Time) error {
	rows, err := q.QueryContext(ctx, query, a...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k retransmission
		var at time.Time
		if err := rows.Scan(&k.account, &k.seq, &k.fingerprint, &at); err != nil {
			return err
		}
		if at.After(latest[k]) {
			latest[k] = at
		}
	}
	return rows.Err()
}

// panelRefresh is the longest the ingest path goes without marking a
// panel seen and reading it again (see panelDirectory).
const panelRefresh = 10 * time.Second

// panelDirectory remembers, per account, the panels this node has read,
// so that most frames cost no statement for their panel: a panel's
// account, id, community and home never change after CreatePanel. What
// can change is last_seen_at and comm_failed. The ingest path marks a
// panel seen (UPDATE … RETURNING, which reads the row again) on its first
// frame after refresh has passed, not on every frame: last_seen_at lags
// by at most refresh, a tenth of the panel's supervision interval and at
// most panelRefresh. comm_failed is verified by that same statement: another
// node (PostgreSQL) can set it only for a panel silent past its interval
// (the condition is in CheckSupervision's UPDATE, ordered with ours by the
// row lock), and a panel this node wrote within refresh is not silent;
// a panel that was silent comes back with its entry due, so its first
// frame reads comm_failed and records the return. CheckSupervision on
// this node forgets the panel at once. Entries are remembered only after
// their batch commits.
type panelDirectory struct {
	mu sync.Mutex
	m  map[string]knownPanel
}

type knownPanel struct {
	origin  alarm.Origin
	refresh time.Duration
	written time.Time // the last_seen_at this node stored
}

func newPanelDirectory() *panelDirectory { return &panelDirectory{m: map[string]knownPanel{}} }

// fresh returns the remembered panel when it need not be read again at t.
func (d *panelDirectory) fresh(account string, t time.Time) (knownPanel, bool) {
	d.mu.Lock()
	k, ok := d.m[account]
	d.mu.Unlock()
	if !ok || t.Before(k.written) || t.Sub(k.written) >= k.refresh {
		return knownPanel{}, false
	}
	return k, true
}

func (d *panelDirectory) remember(account string, k knownPanel) {
	d.mu.Lock()
	d.m[account] = k
	d.mu.Unlock()
}

func (d *panelDirectory) forget(account string) {
	d.mu.Lock()
	delete(d.m, account)
	d.mu.Unlock()
}

// panel returns the panel with account: from the batch, from the
// directory while fresh, or else marked seen and read from the database;
// nil when no panel has the account. When it had been marked silent, its
// return is queued in b.returned: the batch processes it ahead of its own
// reports, once it has locked its homes.
func (s *Store) panel(ctx context.Context, q querier, b *ingestBatch, r alarm.Report) (*batchPanel, error) {
	if p, ok := b.panels[r.Account]; ok {
		return p, nil
	}
	if k, ok := s.panelDir.fresh(r.Account, r.ReceivedAt); ok {
		p := &batchPanel{known: k}
		b.panels[r.Account] = p
		return p, nil
	}
	p := &batchPanel{read: true, known: knownPanel{written: r.ReceivedAt}}
	var commFailed bool
	var supervision int
	err := q.QueryRowContext(ctx, "UPDATE alarm_panels SET last_seen_at = $1 WHERE account = $2 RETURNING id, community_id, home_id, supervision_seconds, comm_failed", r.ReceivedAt.UTC(), r.Account).
		Scan(&p.known.origin.PanelID, &p.known.origin.CommunityID, &p.known.origin.HomeID, &supervision, &commFailed)
	if err == sql.ErrNoRows {
		b.panels[r.Account] = nil
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	p.known.refresh = panelRefresh
	if supervision > 0 {
		p.known.refresh = min(panelRefresh, time.Duration(supervision)*time.Second/10)
	}
	if commFailed {
		// Any frame proves the panel's path works again.
		if _, err := q.ExecContext(ctx, "UPDATE alarm_panels SET comm_failed = FALSE WHERE id = $1", p.known.origin.PanelID); err != nil {
			return nil, err
		}
		back := alarm.Report{Source: alarm.SourceSystem, Account: r.Account, Code: "YK", Kind: alarm.KindCommFailure, Restore: true, Text: "panel reports again", ReceivedAt: r.ReceivedAt}
		b.returned = append(b.returned, pendingReport{back, p.known.origin})
	}
	b.panels[r.Account] = p
	return p, nil
}

func (s *Store) ingestOne(ctx context.Context, tx querier, b *ingestBatch, at int, r alarm.Report) (alarm.Outcome, error) {
	var origin alarm.Origin
	switch r.Source {
	case alarm.SourceSIA:
		p, err := s.panel(ctx, tx, b, r)
		if err != nil {
			return alarm.Outcome{}, err
		}
		if p == nil {
			return alarm.Outcome{Unknown: true}, nil
		}
		origin = p.known.origin
		if r.Kind == alarm.KindSupervision {
			// Heartbeats are kept as the panel's last-seen time, not as
			// events: thousands of panels every minute would bury the log.
			// Not being stored, they need no retransmission check either.
			return alarm.Outcome{}, nil
		}
		if r.Seq != "" {
			key := retransmission{r.Account, r.Seq, r.Fingerprint}
			if b.stored[key] || b.before[key] {
				return alarm.Outcome{Duplicate: true}, nil
			}
			b.stored[key] = true
		}
	case alarm.SourceMQTT:
		var known bool
		var err error
		if origin, known, err = s.sensorOrigin(ctx, tx, b, r); err != nil {
			return alarm.Outcome{}, err
		} else if !known {
			return alarm.Outcome{Unknown: true}, nil
		}
	default:
		return alarm.Outcome{}, fmt.Errorf("ingest does not take %q reports", r.Source)
	}
	return s.process(ctx, tx, b, at, r, origin)
}

// process applies a report whose origin is known: it loads the home's arm
// state and open incident (locking the home first unless the batch has,
// see lockHomes), lets the alarm package decide, and writes the decision
// with the event.
//
// Within an ingest batch (b not nil) the event is inserted with the others
// at the batch's end and EventID is set then; at is the report's place in
// the batch.
func (s *Store) process(ctx context.Context, tx querier, b *ingestBatch, at int, r alarm.Report, origin alarm.Origin) (alarm.Outcome, error) {
	now := r.ReceivedAt
	if r.Kind == alarm.KindTest {
		// A periodic test changes no state and joins no incident (see
		// alarm.Process): it is only recorded.
		id, err := s.recordEvent(ctx, tx, b, at, r, origin, 0)
		return alarm.Outcome{EventID: id}, err
	}
	w := b.alarmWrites()
	h, err := s.home(ctx, tx, w, origin.HomeID, origin.CommunityID)
	if err != nil {
		return alarm.Outcome{}, err
	}
	arm := h.arm
	d := alarm.Process(alarm.Input{Report: r, Origin: origin, Arm: arm, Incident: h.open, Now: now})
	var o alarm.Outcome
	if d.Arm != nil && *d.Arm != arm {
		h.arm, h.armDirty = *d.Arm, true
		if h.arm.Since.IsZero() {
			h.arm.Since = s.now()
		}
		if err := s.publish(w, d.Arm.CommunityID, d.Arm.HomeID, h.grid, "arm_state", d.Arm); err != nil {
			return o, err
		}
		o.Arm = d.Arm
	}
	if d.Incident != nil {
		if d.New {
			if err := s.saveIncident(ctx, tx, d.Incident, true); err != nil {
				return o, err
			}
		}
		if !d.New {
			// A join that leaves the headline as it was moved only the count
			// and the last event's time (a join never changes the status):
			// most frames of an alarm storm.
			j := w.incidents[d.Incident.ID]
			w.incidents[d.Incident.ID] = joinedIncident{inc: d.Incident, headline: j.headline || headlineChanged(h.open, d.Incident)}
		}
		h.open = d.Incident
		o.Incident, o.NewIncident = d.Incident, d.New
		for _, n := range d.Notify {
			key := fmt.Sprintf("notice:%d:%s:%s", d.Incident.ID, n.Template, n.To)
			if err := s.queueJob(ctx, tx, w, key, jobs.Notice{IncidentID: d.Incident.ID, Template: n.Template, To: n.To}, now); err != nil {
				return o, err
			}
		}
		if d.New {
			key := fmt.Sprintf("escalate:%d", d.Incident.ID)
			if err := s.queueJob(ctx, tx, w, key, jobs.Escalate{IncidentID: d.Incident.ID}, now.Add(s.escalateAfter)); err != nil {
				return o, err
			}
			if d.Incident.HomeID != 0 {
				// The cameras at the building's entrances, as it opens.
				key := fmt.Sprintf("incident_snapshots:%d", d.Incident.ID)
				if err := s.queueJob(ctx, tx, w, key, jobs.IncidentSnapshots{IncidentID: d.Incident.ID}, now); err != nil {
					return o, err
				}
			}
		}
		// The whole incident even for a join that only counted: the live
		// stream is an API, and its clients (the simulator's consoles
		// among them) read more of it than the pages do.
		if err := s.publish(w, d.Incident.CommunityID, d.Incident.HomeID, h.grid, "incident", d.Incident); err != nil {
			return o, err
		}
	}
	var incidentID int64
	if d.Incident != nil {
		incidentID = d.Incident.ID
	}
	// The event is the incident's timeline entry too (IncidentTimeline):
	// no line of the incident's log repeats it.
	o.EventID, err = s.recordEvent(ctx, tx, b, at, r, origin, incidentID)
	if err != nil {
		return o, err
	}
	if b == nil {
		// Outside a batch the report is all there is: write it now.
		if err := s.flush(ctx, tx, w); err != nil {
			return o, err
		}
	}
	return o, nil
}

const eventColumns = "community_id, home_id, panel_id, sensor_id, incident_id, source, account, seq, fingerprint, code, kind, restore, area, zone, text, panel_time, received_at"

// appendEventArgs appends an event's values in the order of eventColumns.
func appendEventArgs(a []any, r alarm.Report, origin alarm.Origin, incidentID int64) []any {
	return append(a, origin.CommunityID, nullID(origin.HomeID), nullID(origin.PanelID), nullID(origin.SensorID), nullID(incidentID),
		string(r.Source), r.Account, r.Seq, r.Fingerprint, r.Code, string(r.Kind), r.Restore, r.Area, r.Zone, r.Text, nullTime(r.PanelTime), r.ReceivedAt)
}

func (s *Store) insertEvent(ctx context.Context, tx querier, r alarm.Report, origin alarm.Origin, incidentID int64) (int64, error) {
	return insert(ctx, tx, "INSERT INTO alarm_events ("+eventColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
		appendEventArgs(make([]any, 0, 17), r, origin, incidentID)...)
}

// recordEvent inserts the event now, or, within an ingest batch, queues it
// for insertEvents and returns 0.
func (s *Store) recordEvent(ctx context.Context, tx querier, b *ingestBatch, at int, r alarm.Report, origin alarm.Origin, incidentID int64) (int64, error) {
	if b == nil {
		return s.insertEvent(ctx, tx, r, origin, incidentID)
	}
	b.events = append(b.events, pendingEvent{report: r, origin: origin, incident: incidentID, outcome: at})
	return 0, nil
}

// eventChunks are the row counts of the multi-row statements a batch's
// rows go in, largest first. Every count up to 16 has its own, so that a
// batch of up to 16 reports (an alarm storm's batches hold 7 to 20) writes
// each kind of row in one statement; above that, a few sizes. A statement
// costs the writer several µs whatever its rows: 7 events in 4 + 2 + 1
// rows took three.
var eventChunks = []int{64, 48, 32, 24, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}

// chunkSQL is head, then n copies of group joined by sep, then tail, for
// statements covering several rows at once. Parameters are "?" (in head,
// group and tail): on PostgreSQL they are numbered $1, $2 … in order; on SQLite they stay
// "?", because modernc's driver binds a "$n" by looking its name up in the
// statement's list of names, which makes binding hundreds of parameters
// quadratic.
func chunkSQL(dialect, head, group, sep, tail string, n int) string {
	var b strings.Builder
	b.WriteString(head)
	for i := range n {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(group)
	}
	b.WriteString(tail)
	if dialect == SQLite {
		return b.String()
	}
	var numbered strings.Builder
	k := 0
	for _, c := range []byte(b.String()) {
		if c == '?' {
			k++
			numbered.WriteString("$" + strconv.Itoa(k))
		} else {
			numbered.WriteByte(c)
		}
	}
	return numbered.String()
}

// chunked holds a statement of chunkSQL for each dialect and each n of
// eventChunks.
type chunked map[string]map[int]string

func newChunked(head, group, sep, tail string) chunked {
	c := chunked{}
	for _, d := range []string{SQLite, Postgres} {
		c[d] = map[int]string{}
		for _, n := range eventChunks {
			c[d][n] = chunkSQL(d, head, group, sep, tail, n)
		}
	}
	return c
}

// chunk returns the largest of eventChunks not above n.
func chunk(n int) int {
	for _, c := range eventChunks {
		if c <= n {
			return c
		}
	}
	return 1
}

// insertEventsSQL: on SQLite "OR FAIL", since a failing row fails the
// whole ingest transaction anyway; the default (ABORT) would keep a
// statement journal to undo the statement's earlier rows, a tenth of the
// writer's time. SQLite's statement has no RETURNING either (see
// insertEvents). docs/benchmarks.md, "Alarm centre", has the figures.
var insertEventsSQL = newChunked("INSERT OR FAIL INTO alarm_events ("+eventColumns+") VALUES ", eventGroup, ", ", "")[SQLite]

var eventGroup = "(" + strings.Repeat("?, ", strings.Count(eventColumns, ",")) + "?)"

// insertEvents inserts events and returns their ids in order: on
// PostgreSQL in one statement (insertEventsUnnest), on SQLite in as few
// as eventChunks allow. A multi-row INSERT inserts its rows in the order
// of VALUES, and under SQLite's one writer a row without an id gets the
// table's largest rowid plus one, so the statement's rows hold the n ids
// that end with the last one inserted; RETURNING would cost a temporary
// table and a read per row.
func (s *Store) insertEvents(ctx context.Context, q querier, events []pendingEvent, receipt *receiptWrite) ([]int64, error) {
	if s.dialect == Postgres {
		return s.insertEventsUnnest(ctx, q, events, receipt)
	}
	ids := make([]int64, 0, len(events))
	for rest := events; len(rest) > 0; {
		n := chunk(len(rest))
		a := make([]any, 0, n*17)
		for _, e := range rest[:n] {
			a = appendEventArgs(a, e.report, e.origin, e.incident)
		}
		chunk, err := s.insertEventRows(ctx, q, n, a)
		if err != nil {
			return nil, fmt.Errorf("insert %d events: %w", n, mapError(err))
		}
		ids = append(ids, chunk...)
		rest = rest[n:]
	}
	return ids, nil
}

func (s *Store) insertEventRows(ctx context.Context, q querier, n int, a []any) ([]int64, error) {
	res, err := q.ExecContext(ctx, insertEventsSQL[n], a...)
	if err != nil {
		return nil, err
	}
	last, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	if k, err := res.RowsAffected(); err != nil || k != int64(n) {
		return nil, fmt.Errorf("%d rows inserted (%v)", k, err)
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = last - int64(n-1-i)
	}
	return ids, nil
}

// insertEventsPostgresSQL inserts a batch's events from one array per
// column, the first array being parameter $from: one statement and one
// round trip for any number of rows, where rows of VALUES took one
// statement per 64 rows, each with 1,088 parameters for the server to
// parse and bind (docs/benchmarks.md, "MQTT ingest"). unnest gives the
// rows in the arrays' order, and the identity sequence grows in that
// order, but the order RETURNING lists the ids in is not promised, so
// they are sorted.
func insertEventsPostgresSQL(from int) string {
	types := []string{"bigint", "bigint", "bigint", "bigint", "bigint", "text", "text", "text", "text", "text", "text", "boolean", "text", "text", "text", "timestamptz", "timestamptz"}
	arrays := make([]string, len(types))
	for i, t := range types {
		arrays[i] = "$" + strconv.Itoa(from+i) + "::" + t + "[]"
	}
	return "INSERT INTO alarm_events (" + eventColumns + ") SELECT * FROM unnest(" + strings.Join(arrays, ", ") + ") RETURNING id"
}

var (
	insertEventsUnnestSQL = insertEventsPostgresSQL(1)
	// insertEventsWithReceiptSQL is insertEventsUnnestSQL with a receipt's
	// write ahead of it, unfenced and fenced (see receiptSQL): each row
	// returned also says whether the receipt was written.
	insertEventsWithReceiptSQL = map[int]string{
		3: "WITH receipt AS (" + writeReceiptSQL + " RETURNING 1) " + insertEventsPostgresSQL(4) + ", (SELECT count(*) FROM receipt)",
		7: "WITH receipt AS (" + fencedReceiptSQL[Postgres] + " RETURNING 1) " + insertEventsPostgresSQL(8) + ", (SELECT count(*) FROM receipt)",
	}
)

// insertEventsUnnest is insertEvents on PostgreSQL; receipt, when not
// nil, is written in the same statement.
func (s *Store) insertEventsUnnest(ctx context.Context, q querier, events []pendingEvent, receipt *receiptWrite) ([]int64, error) {
	if len(events) == 0 {
		return nil, nil
	}
	n := len(events)
	community := make([]int64, n)
	home, panel, sensor, incident := make([]*int64, n), make([]*int64, n), make([]*int64, n), make([]*int64, n)
	source, account, seq, fingerprint, code, kind := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	restore := make([]bool, n)
	area, zone, text := make([]string, n), make([]string, n), make([]string, n)
	panelTime, received := make([]*time.Time, n), make([]time.Time, n)
	orNull := func(id int64) *int64 {
		if id == 0 {
			return nil
		}
		return &id
	}
	for i, e := range events {
		r, o := e.report, e.origin
		community[i] = o.CommunityID
		home[i], panel[i], sensor[i], incident[i] = orNull(o.HomeID), orNull(o.PanelID), orNull(o.SensorID), orNull(e.incident)
		source[i], account[i], seq[i], fingerprint[i], code[i], kind[i] = string(r.Source), r.Account, r.Seq, r.Fingerprint, r.Code, string(r.Kind)
		restore[i], area[i], zone[i], text[i] = r.Restore, r.Area, r.Zone, r.Text
		if !r.PanelTime.IsZero() {
			t := r.PanelTime.UTC()
			panelTime[i] = &t
		}
		received[i] = r.ReceivedAt
	}
	columns := []any{community, home, panel, sensor, incident, source, account, seq, fingerprint, code, kind, restore, area, zone, text, panelTime, received}
	query, a := insertEventsUnnestSQL, columns
	if receipt != nil {
		r := *receipt
		r.now = s.now()
		_, k := s.receiptSQL(r)
		query, a = insertEventsWithReceiptSQL[k], append(r.args(), columns...)
	}
	rows, err := q.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, fmt.Errorf("insert %d events: %w", n, mapError(err))
	}
	defer rows.Close()
	ids := make([]int64, 0, n)
	var written int64
	for rows.Next() {
		var id int64
		dest := []any{&id}
		if receipt != nil {
			dest = append(dest, &written)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("insert %d events: %w", n, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("insert %d events: %w", n, mapError(err))
	}
	if len(ids) != n {
		return nil, fmt.Errorf("insert %d events: %d ids returned", n, len(ids))
	}
	if receipt != nil {
		if err := receipt.written(written); err != nil {
			return nil, err
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// int64s reads a column of integers and closes rows.
func int64s(rows *sql.Rows) ([]int64, error) {
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// eventsOfIncident is the condition on alarm_events e for the events of
// the incident whose id is the parameter p: by the incident's home
// first. An incident's events are its home's (an incident of no home has
// events of no home), and SQLite finds them through the index by home,
// whose last column is the incident (migration 00049: an index by
// incident cost an alarm storm a page written a frame). PostgreSQL keeps
// its index by incident.
func eventsOfIncident(p string) string {
	return "e.home_id IS NOT DISTINCT FROM (SELECT ih.home_id FROM incidents ih WHERE ih.id = " + p + ") AND e.incident_id = " + p
}
