package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

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
		if err := s.registerAlarmDevice(ctx, tx, &p.DeviceID, p.CommunityID, p.HomeID, community.DeviceAlarmPanel, "报警主机 "+p.Account, p.Account); err != nil {
			return err
		}
		id, err := insert(ctx, tx, `INSERT INTO alarm_panels (community_id, home_id, device_id, account, key_enc, supervision_seconds, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			p.CommunityID, p.HomeID, nullID(p.DeviceID), p.Account, s.cipher.Seal(p.Key), p.SupervisionSeconds, p.CreatedAt)
		if err != nil {
			if shequ.ErrorCode(err) == shequ.ECONFLICT {
				return shequ.Errorf(shequ.ECONFLICT, "a panel with account %s is already registered", p.Account)
			}
			return err
		}
		p.ID = id
		for zone, name := range p.Zones {
			if _, err := tx.ExecContext(ctx, "INSERT INTO alarm_zones (panel_id, zone, name) VALUES ($1, $2, $3)", id, zone, name); err != nil {
				return fmt.Errorf("zone %s of panel %s: %w", zone, p.Account, err)
			}
		}
		return s.change(ctx, tx, p.CommunityID, "create", "alarm_panel", id, nil, p)
	})
}

// ListPanels returns the panels scope reaches, with their zones' names.
func (s *Store) ListPanels(ctx context.Context, scope auth.Scope, page shequ.Page) (shequ.List[alarm.Panel], error) {
	l, err := listOf(ctx, s.reader(), panels, scope, nil, nil, page, s.scanPanel)
	if err != nil || len(l.Items) == 0 {
		return l, err
	}
	var a args
	ids := make([]string, len(l.Items))
	at := map[int64]int{}
	for i, p := range l.Items {
		ids[i], at[p.ID] = a.add(p.ID), i
	}
	rows, err := s.reader().QueryContext(ctx, "SELECT panel_id, zone, name FROM alarm_zones WHERE panel_id IN ("+strings.Join(ids, ", ")+")", a...)
	if err != nil {
		return l, fmt.Errorf("panel zones: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var zone, name string
		if err := rows.Scan(&id, &zone, &name); err != nil {
			return l, err
		}
		p := &l.Items[at[id]]
		if p.Zones == nil {
			p.Zones = map[string]string{}
		}
		p.Zones[zone] = name
	}
	return l, rows.Err()
}

// ZoneNames returns what the residents of a home call its zones: the
// zones of its panels and its sensors that have a name.
func (s *Store) ZoneNames(ctx context.Context, scope auth.Scope, home int64) (alarm.ZoneNames, error) {
	if err := mustReach(ctx, s.reader(), homes, scope, home); err != nil {
		return nil, err
	}
	rows, err := s.reader().QueryContext(ctx, `SELECT z.zone, z.name FROM alarm_zones z JOIN alarm_panels p ON p.id = z.panel_id WHERE p.home_id = $1
		UNION ALL SELECT zone, name FROM alarm_sensors WHERE home_id = $1 AND name <> ''`, home)
	if err != nil {
		return nil, fmt.Errorf("zone names: %w", err)
	}
	defer rows.Close()
	out := alarm.ZoneNames{}
	for rows.Next() {
		var zone, name string
		if err := rows.Scan(&zone, &name); err != nil {
			return nil, err
		}
		out[zone] = name
	}
	return out, rows.Err()
}

// HomeSensors returns a home's sensors with what each last said: a door
// or window open or closed, movement or none.
func (s *Store) HomeSensors(ctx context.Context, scope auth.Scope, home int64) ([]alarm.SensorState, error) {
	if err := mustReach(ctx, s.reader(), homes, scope, home); err != nil {
		return nil, err
	}
	rows, err := s.reader().QueryContext(ctx, `SELECT x.id, x.kind, x.zone, x.name, x.online,
		(SELECT CASE WHEN e.restore THEN 1 ELSE 0 END FROM alarm_events e WHERE e.home_id = x.home_id AND e.account = x.mqtt_name
			AND e.kind IN ('perimeter', 'entry_exit', 'interior', 'burglary') ORDER BY e.id DESC LIMIT 1)
		FROM alarm_sensors x WHERE x.home_id = $1 ORDER BY x.id`, home)
	if err != nil {
		return nil, fmt.Errorf("sensors of home %d: %w", home, err)
	}
	defer rows.Close()
	var out []alarm.SensorState
	for rows.Next() {
		var x alarm.SensorState
		var restored sql.NullInt64
		if err := rows.Scan(&x.ID, &x.Kind, &x.Zone, &x.Name, &x.Online, &restored); err != nil {
			return nil, err
		}
		x.State = sensorState(x.Kind, restored)
		out = append(out, x)
	}
	return out, rows.Err()
}

// sensorState says what a sensor's latest report means: an alarm report
// is a door or window opened or movement seen, its restore the end of it.
func sensorState(kind string, restored sql.NullInt64) string {
	switch {
	case !restored.Valid:
		return "unknown"
	case kind == alarm.SensorPIR && restored.Int64 == 1:
		return "still"
	case kind == alarm.SensorPIR:
		return "motion"
	case restored.Int64 == 1:
		return "closed"
	}
	return "open"
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

// PanelKeyMark returns the newest entry of the log of key changes. Read
// before PanelKeys, it is where the next PanelKeysSince starts: a change
// after the mark is read again, which is harmless.
func (s *Store) PanelKeyMark(ctx context.Context) (int64, error) {
	var mark int64
	if err := s.reader().QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM alarm_panel_key_changes").Scan(&mark); err != nil {
		return 0, fmt.Errorf("panel key mark: %w", err)
	}
	return mark, nil
}

// PanelKeysSince returns what changed in the panels' keys after the log
// entry after: the key now of each account added or changed, the accounts
// removed, and the new mark. It reads only the log's new entries (by its
// primary key) and those accounts' rows, so a receiver's reload costs what
// changed, not the number of panels. The log commits in seq order (see
// migration 00042), so nothing below the mark can appear later.
func (s *Store) PanelKeysSince(ctx context.Context, after int64) (keys map[string]string, removed []string, mark int64, err error) {
	// A subquery per entry, not a join: the planner could otherwise hash
	// the few entries and scan every panel.
	rows, err := s.reader().QueryContext(ctx, `SELECT c.seq, c.account, (SELECT p.key_enc FROM alarm_panels p WHERE p.account = c.account)
		FROM alarm_panel_key_changes c WHERE c.seq > $1 ORDER BY c.seq`, after)
	if err != nil {
		return nil, nil, after, fmt.Errorf("panel key changes: %w", err)
	}
	defer rows.Close()
	mark, keys = after, map[string]string{}
	gone := map[string]bool{}
	for rows.Next() {
		var seq int64
		var account string
		var sealed sql.NullString
		if err := rows.Scan(&seq, &account, &sealed); err != nil {
			return nil, nil, after, err
		}
		mark = max(mark, seq)
		if !sealed.Valid {
			gone[account] = true
			continue
		}
		key, err := s.cipher.Open(sealed.String)
		if err != nil {
			return nil, nil, after, fmt.Errorf("panel %s key: %w", account, err)
		}
		keys[account] = key
	}
	if err := rows.Err(); err != nil {
		return nil, nil, after, err
	}
	// Read after the entries: the log is only ever cut from its oldest end,
	// so if entries after the mark were cut before or while they were
	// read, the oldest left is now past mark+1.
	var oldest sql.NullInt64
	if err := s.reader().QueryRowContext(ctx, "SELECT MIN(seq) FROM alarm_panel_key_changes").Scan(&oldest); err != nil {
		return nil, nil, after, fmt.Errorf("panel key changes: %w", err)
	}
	if oldest.Valid && oldest.Int64 > after+1 {
		return nil, nil, after, fmt.Errorf("panel key changes after %d: %w", after, ErrPanelKeyLogCut)
	}
	for account := range gone {
		removed = append(removed, account)
	}
	return keys, removed, mark, nil
}

// ErrPanelKeyLogCut says the log of key changes no longer holds every
// entry after the mark asked for: the reader must read every key again.
var ErrPanelKeyLogCut = errors.New("the log of key changes was cut past the mark")

// PanelKeyLogKept is how many of the newest entries CutPanelKeyLog keeps:
// far more than change between two reads of a node (every half minute),
// so that only a node that was away, or a mass import, reads every key.
const PanelKeyLogKept = 10_000

// CutPanelKeyLog deletes the log's entries older than its newest keep and
// says how many went. Any node may run it at any time: the cut only ever
// takes the oldest end, and PanelKeysSince sees when it went past a mark.
func (s *Store) CutPanelKeyLog(ctx context.Context, keep int) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM alarm_panel_key_changes
			WHERE seq <= (SELECT MAX(seq) FROM alarm_panel_key_changes) - $1`, keep)
		if err != nil {
			return fmt.Errorf("cut panel key log: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

var sensors = table{
	what: "sensor", id: "x.id", order: "x.id",
	from:    "alarm_sensors x JOIN homes h ON h.id = x.home_id JOIN buildings b ON b.id = h.building_id",
	scope:   scopeCols{community: "x.community_id", grid: "b.grid_id", household: "x.home_id = (SELECT hh2.home_id FROM households hh2 WHERE hh2.id = %s)"},
	columns: "x.id, x.community_id, x.home_id, x.device_id, x.kind, x.zone, x.mqtt_name, x.online, x.created_at, x.name",
}

func scanSensor(r scanner) (alarm.Sensor, error) {
	var x alarm.Sensor
	var device sql.NullInt64
	err := r.Scan(&x.ID, &x.CommunityID, &x.HomeID, &device, &x.Kind, &x.Zone, &x.MQTTName, &x.Online, &x.CreatedAt, &x.ZoneName)
	x.DeviceID = device.Int64
	return x, err
}

// CreateSensor registers a zigbee2mqtt sensor to a home and zone.
func (s *Store) CreateSensor(ctx context.Context, scope auth.Scope, x *alarm.Sensor) error {
	if err := x.Validate(); err != nil {
		return err
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		h, err := oneOf(ctx, tx, homes, scope, x.HomeID, scanHome)
		if err != nil {
			return shequ.Invalid(map[string]string{"home_id": fmt.Sprintf("home %d not found", x.HomeID)})
		}
		if err := mustReachCommunity(scope, h.CommunityID); err != nil {
			return err
		}
		x.CommunityID, x.CreatedAt, x.Online = h.CommunityID, s.now(), true
		if err := s.registerAlarmDevice(ctx, tx, &x.DeviceID, x.CommunityID, x.HomeID, community.DeviceSensor, "传感器 "+x.MQTTName, x.MQTTName); err != nil {
			return err
		}
		id, err := insert(ctx, tx, `INSERT INTO alarm_sensors (community_id, home_id, device_id, kind, zone, mqtt_name, created_at, name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			x.CommunityID, x.HomeID, nullID(x.DeviceID), x.Kind, x.Zone, x.MQTTName, x.CreatedAt, x.ZoneName)
		if err != nil {
			if shequ.ErrorCode(err) == shequ.ECONFLICT {
				return shequ.Errorf(shequ.ECONFLICT, "a sensor named %q is already registered", x.MQTTName)
			}
			return err
		}
		x.ID = id
		return s.change(ctx, tx, x.CommunityID, "create", "alarm_sensor", id, nil, x)
	})
	if err == nil {
		// A message of it may have come before it was registered.
		s.sensorDir.forgetMiss(x.MQTTName)
	}
	return err
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
