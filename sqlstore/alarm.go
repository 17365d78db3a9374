package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
)

// RetransmissionWindow is how far back a frame with the same account,
// sequence number and content counts as a panel repeating itself rather
// than a new event that happens to reuse a wrapped sequence number.
const RetransmissionWindow = time.Hour

var panels = table{
	what: "alarm panel", id: "p.id", order: "p.id",
	from:    "alarm_panels p JOIN homes h ON h.id = p.home_id JOIN buildings b ON b.id = h.building_id",
	scope:   scopeCols{community: "p.community_id", grid: "b.grid_id", household: "p.home_id = (SELECT hh2.home_id FROM households hh2 WHERE hh2.id = %s)"},
	columns: "p.id, p.community_id, p.home_id, p.device_id, p.account, p.key_enc, p.supervision_seconds, p.last_seen_at, p.comm_failed, p.created_at",
}

func (s *Store) scanPanel(r scanner) (alarm.Panel, error) {
	var p alarm.Panel
	var device sql.NullInt64
	var seen sql.NullTime
	var key string
	err := r.Scan(&p.ID, &p.CommunityID, &p.HomeID, &device, &p.Account, &key, &p.SupervisionSeconds, &seen, &p.CommFailed, &p.CreatedAt)
	if err != nil {
		return p, err
	}
	p.DeviceID = device.Int64
	if seen.Valid {
		t := seen.Time.UTC()
		p.LastSeenAt = &t
	}
	if p.Key, err = s.cipher.Open(key); err != nil {
		return p, fmt.Errorf("panel %s key: %w", p.Account, err)
	}
	p.Encrypted = p.Key != ""
	return p, nil
}

// CreatePanel registers a panel for a home. Its key is sealed like
// personal data: a leaked database must not let anyone forge alarms.
func (s *Store) CreatePanel(ctx context.Context, scope auth.Scope, p *alarm.Panel) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		h, err := oneOf(ctx, tx, homes, scope, p.HomeID, scanHome)
		if err != nil {
			return shequ.Invalid(map[string]string{"home_id": fmt.Sprintf("home %d not found", p.HomeID)})
		}
		if err := mustReachCommunity(scope, h.CommunityID); err != nil {
			return err
		}
		p.CommunityID, p.CreatedAt = h.CommunityID, s.now()
		id, err := insert(ctx, tx, `INSERT INTO alarm_panels (community_id, home_id, device_id, account, key_enc, supervision_seconds, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			p.CommunityID, p.HomeID, nullID(p.DeviceID), p.Account, s.cipher.Seal(p.Key), p.SupervisionSeconds, p.CreatedAt)
		if err != nil {
			if shequ.ErrorCode(err) == shequ.ECONFLICT {
				return shequ.Errorf(shequ.ECONFLICT, "a panel with account %s is already registered", p.Account)
			}
			return err
		}
		p.ID = id
		return s.change(ctx, tx, p.CommunityID, "create", "alarm_panel", id, nil, p)
	})
}

// ListPanels returns the panels scope reaches.
func (s *Store) ListPanels(ctx context.Context, scope auth.Scope, page shequ.Page) (shequ.List[alarm.Panel], error) {
	return listOf(ctx, s.reader(), panels, scope, nil, nil, page, s.scanPanel)
}

// PanelKeys returns every panel's account and key, for the receiver.
func (s *Store) PanelKeys(ctx context.Context) (map[string]string, error) {
	rows, err := s.reader().QueryContext(ctx, "SELECT account, key_enc FROM alarm_panels")
	if err != nil {
		return nil, fmt.Errorf("panel keys: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var account, sealed string
		if err := rows.Scan(&account, &sealed); err != nil {
			return nil, err
		}
		key, err := s.cipher.Open(sealed)
		if err != nil {
			return nil, fmt.Errorf("panel %s key: %w", account, err)
		}
		out[account] = key
	}
	return out, rows.Err()
}

var sensors = table{
	what: "sensor", id: "x.id", order: "x.id",
	from:    "alarm_sensors x JOIN homes h ON h.id = x.home_id JOIN buildings b ON b.id = h.building_id",
	scope:   scopeCols{community: "x.community_id", grid: "b.grid_id", household: "x.home_id = (SELECT hh2.home_id FROM households hh2 WHERE hh2.id = %s)"},
	columns: "x.id, x.community_id, x.home_id, x.device_id, x.kind, x.zone, x.mqtt_name, x.online, x.created_at",
}

func scanSensor(r scanner) (alarm.Sensor, error) {
	var x alarm.Sensor
	var device sql.NullInt64
	err := r.Scan(&x.ID, &x.CommunityID, &x.HomeID, &device, &x.Kind, &x.Zone, &x.MQTTName, &x.Online, &x.CreatedAt)
	x.DeviceID = device.Int64
	return x, err
}

// CreateSensor registers a zigbee2mqtt sensor to a home and zone.
func (s *Store) CreateSensor(ctx context.Context, scope auth.Scope, x *alarm.Sensor) error {
	if err := x.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		h, err := oneOf(ctx, tx, homes, scope, x.HomeID, scanHome)
		if err != nil {
			return shequ.Invalid(map[string]string{"home_id": fmt.Sprintf("home %d not found", x.HomeID)})
		}
		if err := mustReachCommunity(scope, h.CommunityID); err != nil {
			return err
		}
		x.CommunityID, x.CreatedAt, x.Online = h.CommunityID, s.now(), true
		id, err := insert(ctx, tx, `INSERT INTO alarm_sensors (community_id, home_id, device_id, kind, zone, mqtt_name, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			x.CommunityID, x.HomeID, nullID(x.DeviceID), x.Kind, x.Zone, x.MQTTName, x.CreatedAt)
		if err != nil {
			if shequ.ErrorCode(err) == shequ.ECONFLICT {
				return shequ.Errorf(shequ.ECONFLICT, "a sensor named %q is already registered", x.MQTTName)
			}
			return err
		}
		x.ID = id
		return s.change(ctx, tx, x.CommunityID, "create", "alarm_sensor", id, nil, x)
	})
}

// ListSensors returns the sensors scope reaches.
func (s *Store) ListSensors(ctx context.Context, scope auth.Scope, page shequ.Page) (shequ.List[alarm.Sensor], error) {
	return listOf(ctx, s.reader(), sensors, scope, nil, nil, page, scanSensor)
}

// SensorByName returns the sensor with a zigbee2mqtt name, whatever the
// scope: the MQTT ingestion acts for the deployment.
func (s *Store) SensorByName(ctx context.Context, name string) (alarm.Sensor, error) {
	v, err := scanSensor(s.reader().QueryRowContext(ctx, "SELECT "+sensors.columns+" FROM "+sensors.from+" WHERE x.mqtt_name = $1", name))
	if err == sql.ErrNoRows {
		return v, shequ.Errorf(shequ.ENOTFOUND, "sensor %q not found", name)
	}
	return v, err
}

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
	b := &ingestBatch{panels: map[string]*batchPanel{}, stored: map[retransmission]bool{}, events: make([]pendingEvent, 0, len(reports))}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		q := s.stmts.in(tx)
		// The panels first: the retransmission look-up goes by their homes.
		for i, r := range reports {
			if r.Source == alarm.SourceSIA {
				if _, err := s.panel(ctx, q, b, r); err != nil {
					return fmt.Errorf("report %d (%s %s): panel: %w", i, r.Account, r.Seq, err)
				}
			}
		}
		var err error
		if b.before, err = s.retransmissions(ctx, q, b, reports); err != nil {
			return err
		}
		for i, r := range reports {
			o, err := s.ingestOne(ctx, q, b, i, r)
			if err != nil {
				return fmt.Errorf("report %d (%s %s): %w", i, r.Account, r.Seq, err)
			}
			out[i] = o
		}
		ids, err := s.insertEvents(ctx, q, b.events)
		if err != nil {
			return err
		}
		for k, e := range b.events {
			if e.outcome >= 0 {
				out[e.outcome].EventID = ids[k]
			}
		}
		return nil
	})
	if err != nil || s.txn != nil {
		// Inside Atomic nothing is committed yet: remember nothing.
		return out, err
	}
	for account, p := range b.panels {
		if p.read {
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
	panels map[string]*batchPanel
	// events are inserted together at the end of the batch; stored holds
	// the retransmission keys among them, which the database does not
	// know yet, before those the database had within the window.
	events []pendingEvent
	stored map[retransmission]bool
	before map[retransmission]bool
}

type retransmission struct{ account, seq, fingerprint string }

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
// when it had been marked silent, its return is recorded first.
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
		if _, err := s.process(ctx, q, b, -1, back, p.known.origin); err != nil {
			return nil, err
		}
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
		err := tx.QueryRowContext(ctx, "SELECT id, community_id, home_id, kind, zone FROM alarm_sensors WHERE mqtt_name = $1", r.Account).
			Scan(&origin.SensorID, &origin.CommunityID, &origin.HomeID, &origin.SensorKind, &origin.SensorZone)
		if err == sql.ErrNoRows {
			return alarm.Outcome{Unknown: true}, nil
		} else if err != nil {
			return alarm.Outcome{}, err
		}
		if r.Kind == alarm.KindSensorOffline {
			if _, err := tx.ExecContext(ctx, "UPDATE alarm_sensors SET online = $1 WHERE id = $2", r.Restore, origin.SensorID); err != nil {
				return alarm.Outcome{}, err
			}
		}
	default:
		return alarm.Outcome{}, fmt.Errorf("ingest does not take %q reports", r.Source)
	}
	return s.process(ctx, tx, b, at, r, origin)
}

// process applies a report whose origin is known: it loads the home's arm
// state and open incident, lets the alarm package decide, and writes the
// decision with the event.
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
	arm, err := s.armState(ctx, tx, origin.HomeID, origin.CommunityID)
	if err != nil {
		return alarm.Outcome{}, err
	}
	open, err := s.openIncident(ctx, tx, origin.HomeID)
	if err != nil {
		return alarm.Outcome{}, err
	}
	d := alarm.Process(alarm.Input{Report: r, Origin: origin, Arm: arm, Incident: open, Now: now})
	var o alarm.Outcome
	if d.Arm != nil && *d.Arm != arm {
		if err := s.saveArmState(ctx, tx, *d.Arm); err != nil {
			return o, err
		}
		if err := s.publishLive(ctx, tx, d.Arm.CommunityID, d.Arm.HomeID, "arm_state", d.Arm); err != nil {
			return o, err
		}
		o.Arm = d.Arm
	}
	if d.Incident != nil {
		if err := s.saveIncident(ctx, tx, d.Incident, d.New); err != nil {
			return o, err
		}
		o.Incident, o.NewIncident = d.Incident, d.New
		if err := s.enqueueNotices(ctx, tx, *d.Incident, d.Notify, now); err != nil {
			return o, err
		}
		if d.New {
			key := fmt.Sprintf("escalate:%d", d.Incident.ID)
			if err := s.enqueue(ctx, tx, key, "escalate", map[string]int64{"incident_id": d.Incident.ID}, now.Add(s.escalateAfter)); err != nil {
				return o, err
			}
		}
		if err := s.publishLive(ctx, tx, d.Incident.CommunityID, d.Incident.HomeID, "incident", d.Incident); err != nil {
			return o, err
		}
	}
	var incidentID int64
	if d.Incident != nil {
		incidentID = d.Incident.ID
	}
	o.EventID, err = s.recordEvent(ctx, tx, b, at, r, origin, incidentID)
	if err != nil {
		return o, err
	}
	if incidentID != 0 {
		action := "event"
		if d.New {
			action = "opened"
		}
		if err := s.logIncident(ctx, tx, incidentID, now, action, 0, d.Title); err != nil {
			return o, err
		}
	}
	return o, nil
}

func (s *Store) armState(ctx context.Context, q querier, home, community int64) (alarm.ArmState, error) {
	a := alarm.ArmState{HomeID: home, CommunityID: community, State: alarm.Disarmed, EntryDelay: int(alarm.DefaultEntryDelay / time.Second)}
	if home == 0 {
		return a, nil
	}
	var deadline sql.NullTime
	var mode, state string
	err := q.QueryRowContext(ctx, "SELECT community_id, state, mode, since, deadline, entry_delay, zone, changed_by FROM arm_states WHERE home_id = $1", home).
		Scan(&a.CommunityID, &state, &mode, &a.Since, &deadline, &a.EntryDelay, &a.Zone, &a.ChangedBy)
	if err == sql.ErrNoRows {
		return a, nil
	} else if err != nil {
		return a, fmt.Errorf("arm state of home %d: %w", home, err)
	}
	a.State, a.Mode, a.Since = alarm.State(state), alarm.Mode(mode), a.Since.UTC()
	if deadline.Valid {
		t := deadline.Time.UTC()
		a.Deadline = &t
	}
	return a, nil
}

func (s *Store) saveArmState(ctx context.Context, q querier, a alarm.ArmState) error {
	var deadline any
	if a.Deadline != nil {
		deadline = a.Deadline.UTC()
	}
	if a.Since.IsZero() {
		a.Since = s.now()
	}
	_, err := q.ExecContext(ctx, `INSERT INTO arm_states (home_id, community_id, state, mode, since, deadline, entry_delay, zone, changed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (home_id) DO UPDATE SET state = excluded.state, mode = excluded.mode, since = excluded.since, deadline = excluded.deadline,
		entry_delay = excluded.entry_delay, zone = excluded.zone, changed_by = excluded.changed_by`,
		a.HomeID, a.CommunityID, string(a.State), string(a.Mode), a.Since.UTC(), deadline, a.EntryDelay, a.Zone, a.ChangedBy)
	if err != nil {
		return fmt.Errorf("save arm state of home %d: %w", a.HomeID, err)
	}
	return nil
}

const incidentColumns = "i.id, i.community_id, i.home_id, i.panel_id, i.kind, i.priority, i.status, i.title, i.opened_at, i.last_event_at, i.event_count, i.ack_at, i.ack_by, i.dispatched_at, i.dispatched_to, i.accepted_at, i.arrived_at, i.resolved_at, i.resolved_by, i.resolution, i.notes"

func scanIncident(r scanner, extra ...any) (alarm.Incident, error) {
	var i alarm.Incident
	var home, panel, ackBy, to, resolvedBy sql.NullInt64
	var ack, dispatched, accepted, arrived, resolved sql.NullTime
	var kind string
	dest := []any{&i.ID, &i.CommunityID, &home, &panel, &kind, &i.Priority, &i.Status, &i.Title, &i.OpenedAt, &i.LastEventAt, &i.EventCount,
		&ack, &ackBy, &dispatched, &to, &accepted, &arrived, &resolved, &resolvedBy, &i.Resolution, &i.Notes}
	if err := r.Scan(append(dest, extra...)...); err != nil {
		return i, err
	}
	i.Kind, i.HomeID, i.PanelID, i.AckBy, i.DispatchedTo, i.ResolvedBy = alarm.Kind(kind), home.Int64, panel.Int64, ackBy.Int64, to.Int64, resolvedBy.Int64
	i.OpenedAt, i.LastEventAt = i.OpenedAt.UTC(), i.LastEventAt.UTC()
	i.AckAt, i.DispatchedAt, i.AcceptedAt, i.ArrivedAt, i.ResolvedAt = timePtr(ack), timePtr(dispatched), timePtr(accepted), timePtr(arrived), timePtr(resolved)
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

func (s *Store) saveIncident(ctx context.Context, q querier, i *alarm.Incident, isNew bool) error {
	if isNew {
		id, err := insert(ctx, q, `INSERT INTO incidents (community_id, home_id, panel_id, kind, priority, status, title, opened_at, last_event_at, event_count)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			i.CommunityID, nullID(i.HomeID), nullID(i.PanelID), string(i.Kind), int(i.Priority), i.Status, i.Title, i.OpenedAt.UTC(), i.LastEventAt.UTC(), i.EventCount)
		if err != nil {
			return fmt.Errorf("open incident: %w", err)
		}
		i.ID = id
		return nil
	}
	_, err := q.ExecContext(ctx, `UPDATE incidents SET kind = $1, priority = $2, status = $3, title = $4, last_event_at = $5, event_count = $6,
		ack_at = $7, ack_by = $8, dispatched_at = $9, dispatched_to = $10, accepted_at = $11, arrived_at = $12, resolved_at = $13, resolved_by = $14,
		resolution = $15, notes = $16 WHERE id = $17`,
		string(i.Kind), int(i.Priority), i.Status, i.Title, i.LastEventAt.UTC(), i.EventCount,
		ptrTime(i.AckAt), nullID(i.AckBy), ptrTime(i.DispatchedAt), nullID(i.DispatchedTo), ptrTime(i.AcceptedAt), ptrTime(i.ArrivedAt),
		ptrTime(i.ResolvedAt), nullID(i.ResolvedBy), i.Resolution, i.Notes, i.ID)
	if err != nil {
		return fmt.Errorf("update incident %d: %w", i.ID, err)
	}
	return nil
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
func (s *Store) enqueue(ctx context.Context, q querier, key, kind string, payload any, runAt time.Time) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO outbox (idempotency_key, kind, payload, run_at, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING`,
		key, kind, string(b), runAt.UTC(), s.now())
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", key, err)
	}
	return nil
}

func (s *Store) enqueueNotices(ctx context.Context, q querier, inc alarm.Incident, ns []alarm.Notice, now time.Time) error {
	for _, n := range ns {
		key := fmt.Sprintf("notice:%d:%s:%s", inc.ID, n.Template, n.To)
		if err := s.enqueue(ctx, q, key, "notice", alarm.NoticeJob{IncidentID: inc.ID, Template: n.Template, To: n.To}, now); err != nil {
			return err
		}
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
	return listOf(ctx, s.reader(), incidents, scope, conds, a, f.Page, scanIncidentRow)
}

// Incident returns one incident.
func (s *Store) Incident(ctx context.Context, scope auth.Scope, id int64) (alarm.Incident, error) {
	return oneOf(ctx, s.reader(), incidents, scope, id, scanIncidentRow)
}

// TimelineEntry is one line of an incident's history.
type TimelineEntry struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	UserID int64     `json:"user_id,omitempty"`
	Detail string    `json:"detail"`
}

// IncidentTimeline returns what happened to an incident, oldest first.
func (s *Store) IncidentTimeline(ctx context.Context, scope auth.Scope, id int64) ([]TimelineEntry, error) {
	if err := mustReach(ctx, s.reader(), incidents, scope, id); err != nil {
		return nil, err
	}
	rows, err := s.reader().QueryContext(ctx, "SELECT at, action, user_id, detail FROM incident_log WHERE incident_id = $1 ORDER BY id", id)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	defer rows.Close()
	out := []TimelineEntry{}
	for rows.Next() {
		var e TimelineEntry
		var user sql.NullInt64
		if err := rows.Scan(&e.At, &e.Action, &user, &e.Detail); err != nil {
			return nil, err
		}
		e.At, e.UserID = e.At.UTC(), user.Int64
		out = append(out, e)
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

// ArmState returns a home's alarm state.
func (s *Store) ArmState(ctx context.Context, scope auth.Scope, home int64) (alarm.ArmState, error) {
	h, err := oneOf(ctx, s.reader(), homes, scope, home, scanHome)
	if err != nil {
		return alarm.ArmState{}, err
	}
	return s.armState(ctx, s.reader(), h.ID, h.CommunityID)
}

// ChangeArmState runs fn on a home's arm state and stores the result as an
// app event, audited. fn returns the new state or an error that leaves
// everything as it was.
func (s *Store) ChangeArmState(ctx context.Context, scope auth.Scope, home int64, action string, fn func(alarm.ArmState, time.Time) (alarm.ArmState, error)) (alarm.ArmState, error) {
	var out alarm.ArmState
	err := s.tx(ctx, func(tx *sql.Tx) error {
		h, err := oneOf(ctx, tx, homes, scope, home, scanHome)
		if err != nil {
			return err
		}
		before, err := s.armState(ctx, tx, h.ID, h.CommunityID)
		if err != nil {
			return err
		}
		now := s.now()
		next, err := fn(before, now)
		if err != nil {
			return err
		}
		if err := s.saveArmState(ctx, tx, next); err != nil {
			return err
		}
		if err := s.publishLive(ctx, tx, next.CommunityID, next.HomeID, "arm_state", next); err != nil {
			return err
		}
		kind := alarm.KindClosing
		if next.State == alarm.Disarmed {
			kind = alarm.KindOpening
		}
		actor := auth.ActorFrom(ctx)
		var who string
		if actor != nil {
			who = actor.User.Username
		}
		if _, err := insert(ctx, tx, `INSERT INTO alarm_events (community_id, home_id, source, account, code, kind, text, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			h.CommunityID, h.ID, string(alarm.SourceApp), who, map[alarm.Kind]string{alarm.KindClosing: "CL", alarm.KindOpening: "OP"}[kind], string(kind), action, now); err != nil {
			return err
		}
		out = next
		return s.record(ctx, tx, audit.Entry{CommunityID: h.CommunityID, Action: "alarm." + action, Entity: "home", EntityID: h.ID, Before: snapshot(before), After: snapshot(next)})
	})
	return out, err
}

// RaiseSOS opens (or joins) a top-priority incident at a resident's home.
func (s *Store) RaiseSOS(ctx context.Context, scope auth.Scope, home int64, note string, lat, lng float64) (alarm.Outcome, error) {
	var out alarm.Outcome
	err := s.tx(ctx, func(tx *sql.Tx) error {
		h, err := oneOf(ctx, tx, homes, scope, home, scanHome)
		if err != nil {
			return err
		}
		actor := auth.ActorFrom(ctx)
		who := "app"
		if actor != nil {
			who = actor.User.Username
		}
		text := note
		if lat != 0 || lng != 0 {
			text = fmt.Sprintf("%s (GPS %.6f,%.6f)", note, lat, lng)
		}
		r := alarm.Report{Source: alarm.SourceApp, Account: who, Code: "PA", Kind: alarm.KindPanic, Text: text, ReceivedAt: s.now()}
		out, err = s.process(ctx, tx, nil, 0, r, alarm.Origin{CommunityID: h.CommunityID, HomeID: h.ID})
		if err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{CommunityID: h.CommunityID, Action: "alarm.sos", Entity: "home", EntityID: h.ID, After: snapshot(r)})
	})
	return out, err
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
		conds = append(conds, "e.incident_id = "+a.add(f.IncidentID))
	}
	return listOf(ctx, s.reader(), events, scope, conds, a, f.Page, scanEvent)
}

// TickArmStates ends the exit and entry delays that have run out; an entry
// delay that ran out raises an intrusion. Deadlines live in the database,
// so a restart in the middle of a delay loses nothing.
func (s *Store) TickArmStates(ctx context.Context) ([]alarm.Outcome, error) {
	var homesDue []int64
	rows, err := s.reader().QueryContext(ctx, "SELECT home_id FROM arm_states WHERE deadline IS NOT NULL AND deadline <= $1", s.now())
	if err != nil {
		return nil, fmt.Errorf("due arm states: %w", err)
	}
	if homesDue, err = int64s(rows); err != nil {
		return nil, fmt.Errorf("due arm states: %w", err)
	}
	var out []alarm.Outcome
	for _, home := range homesDue {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var community int64
			if err := tx.QueryRowContext(ctx, "SELECT community_id FROM homes WHERE id = $1", home).Scan(&community); err != nil {
				return err
			}
			before, err := s.armState(ctx, tx, home, community)
			if err != nil {
				return err
			}
			now := s.now()
			next, raised := before.Tick(now)
			if next == before {
				return nil // someone disarmed in between
			}
			if err := s.saveArmState(ctx, tx, next); err != nil {
				return err
			}
			if err := s.publishLive(ctx, tx, next.CommunityID, next.HomeID, "arm_state", next); err != nil {
				return err
			}
			o := alarm.Outcome{Arm: &next}
			if raised != nil {
				r := alarm.Report{Source: alarm.SourceSystem, Account: "entry-delay", Code: "BA", Kind: raised.Kind, Zone: raised.Zone, Text: raised.Text, ReceivedAt: now}
				if o, err = s.process(ctx, tx, nil, 0, r, alarm.Origin{CommunityID: community, HomeID: home}); err != nil {
					return err
				}
				o.Arm = &next
			}
			out = append(out, o)
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("tick home %d: %w", home, err)
		}
	}
	return out, nil
}

// CheckSupervision raises a communication-failure incident for each
// supervised panel silent past its interval. The next frame from the panel
// clears the condition (see ingestOne).
func (s *Store) CheckSupervision(ctx context.Context) ([]alarm.Outcome, error) {
	now := s.now()
	rows, err := s.reader().QueryContext(ctx, "SELECT id, community_id, home_id, account, supervision_seconds, last_seen_at, created_at FROM alarm_panels WHERE supervision_seconds > 0 AND comm_failed = FALSE")
	if err != nil {
		return nil, fmt.Errorf("supervised panels: %w", err)
	}
	type silent struct {
		origin  alarm.Origin
		account string
		before  time.Time // silent since before this
	}
	var due []silent
	for rows.Next() {
		var o alarm.Origin
		var account string
		var secs int
		var seen sql.NullTime
		var created time.Time
		if err := rows.Scan(&o.PanelID, &o.CommunityID, &o.HomeID, &account, &secs, &seen, &created); err != nil {
			rows.Close()
			return nil, err
		}
		last := created
		if seen.Valid {
			last = seen.Time
		}
		if now.Sub(last) > time.Duration(secs)*time.Second {
			due = append(due, silent{o, account, now.Add(-time.Duration(secs) * time.Second)})
		}
	}
	rows.Close()
	var out []alarm.Outcome
	for _, d := range due {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			// Only if still silent: a frame ingested since the read (here or
			// on another node) has moved last_seen_at, and the panel's
			// directory entry relies on that (see panelDirectory).
			res, err := tx.ExecContext(ctx, "UPDATE alarm_panels SET comm_failed = TRUE WHERE id = $1 AND comm_failed = FALSE AND COALESCE(last_seen_at, created_at) < $2", d.origin.PanelID, d.before)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil
			}
			s.panelDir.forget(d.account)
			r := alarm.Report{Source: alarm.SourceSystem, Account: d.account, Code: "YC", Kind: alarm.KindCommFailure, Text: "panel silent past its supervision interval", ReceivedAt: now}
			o, err := s.process(ctx, tx, nil, 0, r, d.origin)
			out = append(out, o)
			return err
		})
		if err != nil {
			return out, fmt.Errorf("supervision of panel %s: %w", d.account, err)
		}
	}
	return out, nil
}

// LiveEvent is one message of the live stream.
type LiveEvent struct {
	ID          int64           `json:"id"`
	CommunityID int64           `json:"community_id"`
	HomeID      int64           `json:"home_id,omitempty"`
	Type        string          `json:"type"` // incident, arm_state
	Payload     json.RawMessage `json:"payload"`
	At          time.Time       `json:"at"`
}

// publishLive appends to the live stream in the transaction of the change.
func (s *Store) publishLive(ctx context.Context, q querier, community, home int64, typ string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	var grid sql.NullInt64
	if home != 0 {
		if err := q.QueryRowContext(ctx, "SELECT b.grid_id FROM homes h JOIN buildings b ON b.id = h.building_id WHERE h.id = $1", home).Scan(&grid); err != nil && err != sql.ErrNoRows {
			return err
		}
	}
	_, err = q.ExecContext(ctx, "INSERT INTO live_events (community_id, home_id, grid_id, type, payload, at) VALUES ($1, $2, $3, $4, $5, $6)",
		community, nullID(home), grid, typ, string(b), s.now())
	if err != nil {
		return fmt.Errorf("live event: %w", err)
	}
	return nil
}

var liveEvents = table{
	what: "live event", from: "live_events l", id: "l.id", order: "l.id",
	scope:   scopeCols{community: "l.community_id", grid: "l.grid_id", household: "l.home_id = (SELECT hh2.home_id FROM households hh2 WHERE hh2.id = %s)"},
	columns: "l.id, l.community_id, l.home_id, l.type, l.payload, l.at",
}

// LiveSince returns up to limit live events after id that scope reaches.
func (s *Store) LiveSince(ctx context.Context, scope auth.Scope, after int64, limit int) ([]LiveEvent, error) {
	var a args
	conds := []string{"l.id > " + a.add(after)}
	l, err := listOf(ctx, s.reader(), liveEvents, scope, conds, a, shequ.Page{Limit: limit}, func(r scanner) (LiveEvent, error) {
		var e LiveEvent
		var home sql.NullInt64
		var payload string
		err := r.Scan(&e.ID, &e.CommunityID, &home, &e.Type, &payload, &e.At)
		e.HomeID, e.Payload, e.At = home.Int64, json.RawMessage(payload), e.At.UTC()
		return e, err
	})
	return l.Items, err
}

// LastLiveID returns the newest live event id, so a new subscriber starts
// from now.
func (s *Store) LastLiveID(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	err := s.reader().QueryRowContext(ctx, "SELECT MAX(id) FROM live_events").Scan(&id)
	return id.Int64, err
}

// SetPosition records where a staff member is and whether they are on duty.
func (s *Store) SetPosition(ctx context.Context, user int64, lat, lng float64, onDuty bool) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO staff_positions (user_id, lat, lng, on_duty, reported_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (user_id) DO UPDATE SET lat = excluded.lat, lng = excluded.lng, on_duty = excluded.on_duty, reported_at = excluded.reported_at`,
			user, lat, lng, onDuty, s.now())
		if err != nil {
			return fmt.Errorf("position: %w", err)
		}
		return nil
	})
}

// LastSensorReports returns the latest stored report of each kind from a
// sensor, oldest first, so the MQTT side can rebuild what it last knew.
func (s *Store) LastSensorReports(ctx context.Context, name string) ([]alarm.Report, error) {
	rows, err := s.reader().QueryContext(ctx, `SELECT kind, restore, received_at FROM alarm_events
		WHERE id IN (SELECT MAX(id) FROM alarm_events
			WHERE home_id = (SELECT home_id FROM alarm_sensors WHERE mqtt_name = $1) AND account = $1 AND source = 'mqtt' GROUP BY kind)
		ORDER BY id`, name)
	if err != nil {
		return nil, fmt.Errorf("last sensor reports: %w", err)
	}
	defer rows.Close()
	var out []alarm.Report
	for rows.Next() {
		var kind string
		r := alarm.Report{Source: alarm.SourceMQTT, Account: name}
		if err := rows.Scan(&kind, &r.Restore, &r.ReceivedAt); err != nil {
			return nil, err
		}
		r.Kind = alarm.Kind(kind)
		out = append(out, r)
	}
	return out, rows.Err()
}

// SensorDirectory returns every sensor's name with its kind and zone.
func (s *Store) SensorDirectory(ctx context.Context) (map[string][2]string, error) {
	rows, err := s.reader().QueryContext(ctx, "SELECT mqtt_name, kind, zone FROM alarm_sensors")
	if err != nil {
		return nil, fmt.Errorf("sensor directory: %w", err)
	}
	defer rows.Close()
	out := map[string][2]string{}
	for rows.Next() {
		var name, kind, zone string
		if err := rows.Scan(&name, &kind, &zone); err != nil {
			return nil, err
		}
		out[name] = [2]string{kind, zone}
	}
	return out, rows.Err()
}

// offer notes that a staff member was sent, queues their SMS, and sets the
// timer that offers the incident to the next candidate if they do not
// accept in time.
func (s *Store) offer(ctx context.Context, tx *sql.Tx, incident, user int64, at time.Time) error {
	if err := s.logIncident(ctx, tx, incident, at, "offered", user, ""); err != nil {
		return err
	}
	payload := map[string]int64{"incident_id": incident, "user_id": user}
	key := fmt.Sprintf("dispatch:%d:%d:%d", incident, user, at.UnixNano())
	if err := s.enqueue(ctx, tx, key, "dispatch", payload, at); err != nil {
		return err
	}
	return s.enqueue(ctx, tx, key+":timeout", "dispatch_timeout", payload, at.Add(s.acceptTimeout))
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
		err := q.QueryRowContext(ctx, `SELECT b.lat, b.lng, g.worker_user_id, u.display_name FROM homes h JOIN buildings b ON b.id = h.building_id
			JOIN grids g ON g.id = b.grid_id LEFT JOIN users u ON u.id = g.worker_user_id WHERE h.id = $1`, inc.HomeID).Scan(&lat, &lng, &worker, &workerName)
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
		inc, err := oneOf(ctx, tx, incidents, everything, incidentID, scanIncidentRow)
		if err != nil {
			return err
		}
		if inc.Status != alarm.StatusDispatched || inc.DispatchedTo != user || inc.AcceptedAt != nil {
			return nil
		}
		now := s.now()
		if err := s.logIncident(ctx, tx, incidentID, now, "not_accepted", user, "no answer in time"); err != nil {
			return err
		}
		cands, err := s.candidates(ctx, tx, everything, incidentID)
		if err != nil {
			return err
		}
		if len(cands) == 0 {
			if err := s.logIncident(ctx, tx, incidentID, now, "no_candidates", 0, "nobody left to send"); err != nil {
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

// ArmRules returns a home's automatic-arming rules.
func (s *Store) ArmRules(ctx context.Context, scope auth.Scope, home int64) (alarm.ArmRules, error) {
	if err := mustReach(ctx, s.reader(), homes, scope, home); err != nil {
		return alarm.ArmRules{}, err
	}
	return s.armRules(ctx, s.reader(), home)
}

func (s *Store) armRules(ctx context.Context, q querier, home int64) (alarm.ArmRules, error) {
	r := alarm.ArmRules{HomeID: home, Mode: alarm.ModeHome}
	var mode string
	err := q.QueryRowContext(ctx, "SELECT arm_on_leave, arm_at, mode, last_arm_day FROM arm_rules WHERE home_id = $1", home).Scan(&r.ArmOnLeave, &r.ArmAt, &mode, &r.LastArmDay)
	if err == sql.ErrNoRows {
		return r, nil
	}
	r.Mode = alarm.Mode(mode)
	return r, err
}

// SetArmRules stores a home's automatic-arming rules.
func (s *Store) SetArmRules(ctx context.Context, scope auth.Scope, r *alarm.ArmRules) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		h, err := oneOf(ctx, tx, homes, scope, r.HomeID, scanHome)
		if err != nil {
			return err
		}
		before, err := s.armRules(ctx, tx, h.ID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO arm_rules (home_id, community_id, arm_on_leave, arm_at, mode) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (home_id) DO UPDATE SET arm_on_leave = excluded.arm_on_leave, arm_at = excluded.arm_at, mode = excluded.mode`,
			h.ID, h.CommunityID, r.ArmOnLeave, r.ArmAt, string(r.Mode))
		if err != nil {
			return fmt.Errorf("arm rules: %w", err)
		}
		return s.change(ctx, tx, h.CommunityID, "arm_rules", "home", h.ID, before, r)
	})
}

// ReportPresence records that a resident is at home or has left. When the
// last resident who reports presence leaves a disarmed home whose rules
// say so, the home arms itself (away, with the exit delay).
func (s *Store) ReportPresence(ctx context.Context, scope auth.Scope, home, user int64, present bool) (alarm.ArmState, bool, error) {
	var out alarm.ArmState
	armed := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		h, err := oneOf(ctx, tx, homes, scope, home, scanHome)
		if err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO presence (user_id, home_id, present, at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id) DO UPDATE SET home_id = excluded.home_id, present = excluded.present, at = excluded.at`, user, h.ID, present, now); err != nil {
			return fmt.Errorf("presence: %w", err)
		}
		if out, err = s.armState(ctx, tx, h.ID, h.CommunityID); err != nil {
			return err
		}
		if present {
			return nil
		}
		rules, err := s.armRules(ctx, tx, h.ID)
		if err != nil || !rules.ArmOnLeave {
			return err
		}
		n, err := count(ctx, tx, "SELECT COUNT(*) FROM presence WHERE home_id = $1 AND present = TRUE AND user_id <> $2", h.ID, user)
		if err != nil || n > 0 {
			return err
		}
		next, ok := alarm.AutoArm(out, alarm.ModeAway, now, "leave")
		if !ok {
			return nil
		}
		if err := s.saveAutoArm(ctx, tx, next, "auto-arm: the last resident left"); err != nil {
			return err
		}
		out, armed = next, true
		return nil
	})
	return out, armed, err
}

// saveAutoArm stores an automatic arming with its event and live update.
func (s *Store) saveAutoArm(ctx context.Context, tx *sql.Tx, next alarm.ArmState, text string) error {
	if err := s.saveArmState(ctx, tx, next); err != nil {
		return err
	}
	if err := s.publishLive(ctx, tx, next.CommunityID, next.HomeID, "arm_state", next); err != nil {
		return err
	}
	_, err := insert(ctx, tx, `INSERT INTO alarm_events (community_id, home_id, source, account, code, kind, text, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		next.CommunityID, next.HomeID, string(alarm.SourceSystem), next.ChangedBy, "CL", string(alarm.KindClosing), text, s.now())
	return err
}

// RunArmSchedules arms the homes whose daily arming time has come (in
// their community's time zone), once a day each.
func (s *Store) RunArmSchedules(ctx context.Context) ([]alarm.Outcome, error) {
	rows, err := s.reader().QueryContext(ctx, "SELECT r.home_id, r.arm_at, r.mode, r.last_arm_day, c.timezone FROM arm_rules r JOIN communities c ON c.id = r.community_id WHERE r.arm_at <> ''")
	if err != nil {
		return nil, fmt.Errorf("arm schedules: %w", err)
	}
	type due struct {
		home int64
		mode alarm.Mode
		day  string
	}
	var todo []due
	now := s.now()
	for rows.Next() {
		var r alarm.ArmRules
		var mode, tz string
		if err := rows.Scan(&r.HomeID, &r.ArmAt, &mode, &r.LastArmDay, &tz); err != nil {
			rows.Close()
			return nil, err
		}
		if ok, day := r.ScheduleDue(now, zone(tz)); ok {
			todo = append(todo, due{r.HomeID, alarm.Mode(mode), day})
		}
	}
	rows.Close()
	var out []alarm.Outcome
	for _, d := range todo {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var community int64
			if err := tx.QueryRowContext(ctx, "SELECT community_id FROM homes WHERE id = $1", d.home).Scan(&community); err != nil {
				return err
			}
			// The day is marked done even when the home was armed already:
			// the schedule arms once a day, it does not fight the residents.
			if _, err := tx.ExecContext(ctx, "UPDATE arm_rules SET last_arm_day = $1 WHERE home_id = $2", d.day, d.home); err != nil {
				return err
			}
			st, err := s.armState(ctx, tx, d.home, community)
			if err != nil {
				return err
			}
			next, ok := alarm.AutoArm(st, d.mode, s.now(), "schedule")
			if !ok {
				return nil
			}
			out = append(out, alarm.Outcome{Arm: &next})
			return s.saveAutoArm(ctx, tx, next, "auto-arm: daily schedule")
		})
		if err != nil {
			return out, fmt.Errorf("schedule of home %d: %w", d.home, err)
		}
	}
	return out, nil
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

// eventChunks are the row counts of the multi-row INSERTs a batch's events
// go in: powers of two, so that few statements are prepared and a batch
// takes few of them.
var eventChunks = []int{64, 32, 16, 8, 4, 2, 1}

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
var insertEventsSQL = chunked{
	SQLite:   newChunked("INSERT OR FAIL INTO alarm_events ("+eventColumns+") VALUES ", eventGroup, ", ", "")[SQLite],
	Postgres: newChunked("INSERT INTO alarm_events ("+eventColumns+") VALUES ", eventGroup, ", ", " RETURNING id")[Postgres],
}

var eventGroup = "(" + strings.Repeat("?, ", strings.Count(eventColumns, ",")) + "?)"

// insertEvents inserts events in as few statements as eventChunks allow
// and returns their ids in order. A multi-row INSERT inserts its rows in
// the order of VALUES. On SQLite, under its one writer, a row without an
// id gets the table's largest rowid plus one, so the statement's rows
// hold the n ids that end with the last one inserted; RETURNING would
// cost a temporary table and a read per row. On PostgreSQL the identity
// sequence grows in that order, but the order RETURNING lists the ids in
// is not promised, so they are sorted.
func (s *Store) insertEvents(ctx context.Context, q querier, events []pendingEvent) ([]int64, error) {
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
	if s.dialect == SQLite {
		res, err := q.ExecContext(ctx, insertEventsSQL[SQLite][n], a...)
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
	rows, err := q.QueryContext(ctx, insertEventsSQL[Postgres][n], a...)
	if err != nil {
		return nil, err
	}
	ids, err := int64s(rows)
	if err != nil {
		return nil, err
	}
	if len(ids) != n {
		return nil, fmt.Errorf("%d ids returned", len(ids))
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
