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
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/device"
)

// checkOptions are the parts of a check with no column of their own.
type checkOptions struct {
	ClientsOID     string `json:"clients_oid,omitempty"`
	ExpectStatus   int    `json:"expect_status,omitempty"`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty"`
}

// SetDeviceCheck configures (or, with c nil, removes) how a device is
// checked. Its password or SNMP community is sealed; given empty on a
// check of the same kind and target, the stored one is kept, so that
// changing an interval does not need the password typed again.
func (s *Store) SetDeviceCheck(ctx context.Context, scope auth.Scope, id int64, c *device.Check) (community.Device, error) {
	if c != nil {
		if err := c.Validate(); err != nil {
			return community.Device{}, err
		}
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		before, err := oneOf(ctx, tx, devices, scope, id, scanDevice)
		if err != nil {
			return err
		}
		if err := mustReachCommunity(scope, before.CommunityID); err != nil {
			return err
		}
		if c == nil {
			_, err := tx.ExecContext(ctx, `UPDATE devices SET check_kind = '', check_target = '', check_username = '', check_secret_enc = '', check_interval = 0, check_options = '', updated_at = $1 WHERE id = $2`, s.now(), id)
			if err != nil {
				return err
			}
			return s.change(ctx, tx, before.CommunityID, "update", "device_check", id, before.Check, nil)
		}
		secret := c.Password
		if c.Kind == device.CheckSNMP {
			secret = c.Community
		}
		sealed := ""
		if secret != "" {
			sealed = s.cipher.Seal(secret)
		} else if before.Check != nil && before.Check.Kind == c.Kind && before.Check.Target == c.Target() {
			if err := tx.QueryRowContext(ctx, "SELECT check_secret_enc FROM devices WHERE id = $1", id).Scan(&sealed); err != nil {
				return err
			}
		}
		opts, _ := json.Marshal(checkOptions{ClientsOID: c.ClientsOID, ExpectStatus: c.ExpectStatus, TimeoutSeconds: c.TimeoutSeconds})
		_, err = tx.ExecContext(ctx, `UPDATE devices SET check_kind = $1, check_target = $2, check_username = $3, check_secret_enc = $4, check_interval = $5, check_options = $6, updated_at = $7 WHERE id = $8`,
			c.Kind, c.Target(), c.Username, sealed, c.IntervalSeconds, string(opts), s.now(), id)
		if err != nil {
			return mapError(err)
		}
		after := community.DeviceCheck{Kind: c.Kind, Target: c.Target(), Username: c.Username, HasSecret: sealed != "", IntervalSeconds: c.IntervalSeconds}
		return s.change(ctx, tx, before.CommunityID, "update", "device_check", id, before.Check, after)
	})
	if err != nil {
		return community.Device{}, err
	}
	return s.Device(ctx, scope, id)
}

const healthStateColumns = "d.id, d.community_id, d.kind, d.name, d.building_id, d.grid_id, d.status, d.status_since, d.last_seen_at, d.last_checked_at, d.last_error, d.health_detail"

func scanHealthTarget(r scanner, extra ...any) (device.Target, error) {
	var t device.Target
	var building, grid sql.NullInt64
	var since, seen, checked sql.NullTime
	dest := []any{&t.DeviceID, &t.CommunityID, &t.Kind, &t.Name, &building, &grid, &t.State.Status, &since, &seen, &checked, &t.State.LastError, &t.State.Detail}
	if err := r.Scan(append(dest, extra...)...); err != nil {
		return t, err
	}
	t.BuildingID, t.GridID = building.Int64, grid.Int64
	t.State.Since, t.State.LastSeen, t.State.LastCheck = timePtr(since), timePtr(seen), timePtr(checked)
	return t, nil
}

// HealthTargets returns the devices to check: those with a configured
// check, and panels and sensors with the evidence the alarm side keeps
// (SIA supervision, zigbee2mqtt availability).
func (s *Store) HealthTargets(ctx context.Context) ([]device.Target, error) {
	q := s.reader()
	var out []device.Target
	rows, err := q.QueryContext(ctx, "SELECT "+healthStateColumns+", d.check_kind, d.check_target, d.check_username, d.check_secret_enc, d.check_interval, d.check_options FROM devices d WHERE d.check_kind <> ''")
	if err != nil {
		return nil, fmt.Errorf("health targets: %w", err)
	}
	for rows.Next() {
		var sealed, opts string
		var c device.Check
		t, err := scanHealthTarget(rows, &c.Kind, &c.URL, &c.Username, &sealed, &c.IntervalSeconds, &opts)
		if err != nil {
			rows.Close()
			return nil, err
		}
		if c.Kind == device.CheckTCP || c.Kind == device.CheckSNMP {
			c.Address, c.URL = c.URL, ""
		}
		if sealed != "" {
			secret, err := s.cipher.Open(sealed)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("secret of device %d: %w", t.DeviceID, err)
			}
			if c.Kind == device.CheckSNMP {
				c.Community = secret
			} else {
				c.Password = secret
			}
		}
		var o checkOptions
		if opts != "" {
			_ = json.Unmarshal([]byte(opts), &o)
		}
		c.ClientsOID, c.ExpectStatus, c.TimeoutSeconds = o.ClientsOID, o.ExpectStatus, o.TimeoutSeconds
		t.Check = c
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	// Panels: a panel under supervision that went silent is offline; one
	// heard from is online as of its last frame.
	rows, err = q.QueryContext(ctx, "SELECT "+healthStateColumns+", d.check_interval, p.supervision_seconds, p.last_seen_at, p.comm_failed FROM alarm_panels p JOIN devices d ON d.id = p.device_id WHERE d.check_kind = ''")
	if err != nil {
		return nil, fmt.Errorf("panel health: %w", err)
	}
	for rows.Next() {
		var interval, supervision int
		var last sql.NullTime
		var failed bool
		t, err := scanHealthTarget(rows, &interval, &supervision, &last, &failed)
		if err != nil {
			rows.Close()
			return nil, err
		}
		r := device.Result{At: now}
		switch {
		case failed:
			r.Status, r.Reason = community.DeviceOffline, "silent past its supervision interval (SIA)"
		case !last.Valid:
			r.Status, r.Reason = community.DeviceUnknown, "never heard from"
		default:
			r.Status, r.SeenAt = community.DeviceOnline, last.Time.UTC()
			if supervision > 0 {
				r.Detail = fmt.Sprintf("SIA supervision every %d s", supervision)
			}
		}
		t.Check = device.Check{Kind: device.CheckAlarm, IntervalSeconds: interval}
		t.Evidence = &r
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, "SELECT "+healthStateColumns+", d.check_interval, x.online FROM alarm_sensors x JOIN devices d ON d.id = x.device_id WHERE d.check_kind = ''")
	if err != nil {
		return nil, fmt.Errorf("sensor health: %w", err)
	}
	for rows.Next() {
		var interval int
		var online bool
		t, err := scanHealthTarget(rows, &interval, &online)
		if err != nil {
			rows.Close()
			return nil, err
		}
		r := device.Result{At: now, Status: community.DeviceOnline, Detail: "zigbee2mqtt availability"}
		if !online {
			r.Status, r.Reason = community.DeviceOffline, "zigbee2mqtt reports it offline"
		}
		t.Check = device.Check{Kind: device.CheckAlarm, IntervalSeconds: interval}
		t.Evidence = &r
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Devices others report on (speakers, by the broadcast side): not
	// checked here, but their outages raise trouble like any other's.
	rows, err = q.QueryContext(ctx, "SELECT "+healthStateColumns+` FROM devices d WHERE d.check_kind = '' AND d.last_checked_at IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM alarm_panels p WHERE p.device_id = d.id) AND NOT EXISTS (SELECT 1 FROM alarm_sensors x WHERE x.device_id = d.id)`)
	if err != nil {
		return nil, fmt.Errorf("reported health: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanHealthTarget(rows)
		if err != nil {
			return nil, err
		}
		t.Check = device.Check{Kind: device.CheckReported}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RecordHealth stores check results: each device's new state, a count in
// its hour's uptime row, and a live event for each change of status.
func (s *Store) RecordHealth(ctx context.Context, obs []device.Observation) error {
	if len(obs) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, o := range obs {
			a := o.After
			_, err := tx.ExecContext(ctx, `UPDATE devices SET status = $1, status_since = $2, last_seen_at = $3, last_checked_at = $4, last_error = $5, health_detail = $6 WHERE id = $7`,
				a.Status, ptrTime(a.Since), ptrTime(a.LastSeen), ptrTime(a.LastCheck), a.LastError, a.Detail, o.DeviceID)
			if err != nil {
				return fmt.Errorf("health of device %d: %w", o.DeviceID, err)
			}
			if o.Result.Status != community.DeviceUnknown {
				up := 0
				if o.Result.Status == community.DeviceOnline {
					up = 1
				}
				_, err = tx.ExecContext(ctx, `INSERT INTO device_uptime (device_id, hour, checks, up) VALUES ($1, $2, 1, $3)
					ON CONFLICT (device_id, hour) DO UPDATE SET checks = device_uptime.checks + 1, up = device_uptime.up + excluded.up`,
					o.DeviceID, o.Result.At.UTC().Truncate(time.Hour), up)
				if err != nil {
					return fmt.Errorf("uptime of device %d: %w", o.DeviceID, err)
				}
			}
			if o.Before.Status != a.Status {
				ev := struct {
					ID        int64        `json:"id"`
					Community int64        `json:"community_id"`
					State     device.State `json:"state"`
				}{o.DeviceID, o.CommunityID, a}
				if err := s.publishLive(ctx, tx, o.CommunityID, 0, "device", ev); err != nil {
					return err
				}
			}
		}
		// The counts past their period go with package retention's
		// "device_checks" policy (whole months on PostgreSQL).
		return nil
	})
}

// ReportDeviceStatus records a status another part has measured: the
// broadcast side reports its speakers through it (status online, offline
// or degraded; reason why not online).
func (s *Store) ReportDeviceStatus(ctx context.Context, id int64, r device.Result) error {
	if r.At.IsZero() {
		r.At = s.now()
	}
	t, err := scanHealthTarget(s.reader().QueryRowContext(ctx, "SELECT "+healthStateColumns+" FROM devices d WHERE d.id = $1", id))
	if err == sql.ErrNoRows {
		return shequ.Errorf(shequ.ENOTFOUND, "device %d not found", id)
	} else if err != nil {
		return err
	}
	return s.RecordHealth(ctx, []device.Observation{{DeviceID: id, CommunityID: t.CommunityID, Result: r, Before: t.State, After: t.State.Next(r)}})
}

// fillUptime sets each device's uptime over 24 hours and 30 days from its
// hourly counts.
func (s *Store) fillUptime(ctx context.Context, ds []community.Device) error {
	if len(ds) == 0 {
		return nil
	}
	var a args
	ids := make([]string, len(ds))
	at := map[int64]int{}
	for i, d := range ds {
		ids[i] = a.add(d.ID)
		at[d.ID] = i
	}
	now := s.now()
	day := a.add(now.Add(-24 * time.Hour).Truncate(time.Hour))
	month := a.add(now.Add(-30 * 24 * time.Hour).Truncate(time.Hour))
	rows, err := s.reader().QueryContext(ctx, `SELECT device_id,
		COALESCE(SUM(CASE WHEN hour >= `+day+` THEN checks ELSE 0 END), 0), COALESCE(SUM(CASE WHEN hour >= `+day+` THEN up ELSE 0 END), 0),
		COALESCE(SUM(checks), 0), COALESCE(SUM(up), 0)
		FROM device_uptime WHERE device_id IN (`+strings.Join(ids, ", ")+`) AND hour >= `+month+` GROUP BY device_id`, a...)
	if err != nil {
		return fmt.Errorf("uptime: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, dayChecks, dayUp, monthChecks, monthUp int64
		if err := rows.Scan(&id, &dayChecks, &dayUp, &monthChecks, &monthUp); err != nil {
			return err
		}
		d := &ds[at[id]]
		if dayChecks > 0 {
			v := float64(dayUp) * 100 / float64(dayChecks)
			d.Uptime24h = &v
		}
		if monthChecks > 0 {
			v := float64(monthUp) * 100 / float64(monthChecks)
			d.Uptime30d = &v
		}
	}
	return rows.Err()
}

// DeviceHealth counts the devices scope reaches by kind and status.
func (s *Store) DeviceHealth(ctx context.Context, scope auth.Scope, communityID int64) (map[string]map[string]int, error) {
	var a args
	conds := []string{scopeWhere(scope, deviceCols, &a)}
	if communityID != 0 {
		conds = append(conds, "d.community_id = "+a.add(communityID))
	}
	rows, err := s.reader().QueryContext(ctx, "SELECT d.kind, d.status, COUNT(*) FROM devices d WHERE "+strings.Join(conds, " AND ")+" GROUP BY d.kind, d.status", a...)
	if err != nil {
		return nil, fmt.Errorf("device health: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var kind, status string
		var n int
		if err := rows.Scan(&kind, &status, &n); err != nil {
			return nil, err
		}
		if out[kind] == nil {
			out[kind] = map[string]int{}
		}
		out[kind][status] += n
	}
	return out, rows.Err()
}

// OpenTrouble returns the open trouble incidents of devices.
func (s *Store) OpenTrouble(ctx context.Context) ([]device.Trouble, error) {
	rows, err := s.reader().QueryContext(ctx, `SELECT t.incident_id, i.community_id, t.group_key, t.device_id FROM device_trouble t
		JOIN incidents i ON i.id = t.incident_id WHERE i.status <> 'resolved' ORDER BY t.incident_id, t.device_id`)
	if err != nil {
		return nil, fmt.Errorf("open trouble: %w", err)
	}
	defer rows.Close()
	var out []device.Trouble
	for rows.Next() {
		var id, c, d int64
		var g string
		if err := rows.Scan(&id, &c, &g, &d); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].IncidentID != id {
			out = append(out, device.Trouble{IncidentID: id, CommunityID: c, Group: g})
		}
		out[len(out)-1].Devices = append(out[len(out)-1].Devices, d)
	}
	return out, rows.Err()
}

// TroubleDevices lists the devices of a trouble incident, with their
// status now.
func (s *Store) TroubleDevices(ctx context.Context, scope auth.Scope, incidentID int64) ([]device.TroubleDevice, error) {
	if _, err := s.Incident(ctx, scope, incidentID); err != nil {
		return nil, err
	}
	rows, err := s.reader().QueryContext(ctx, `SELECT t.device_id, t.device_name, t.down_since, t.listed_at, COALESCE(d.status, '') FROM device_trouble t
		LEFT JOIN devices d ON d.id = t.device_id WHERE t.incident_id = $1 ORDER BY t.device_name`, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []device.TroubleDevice
	for rows.Next() {
		var d device.TroubleDevice
		if err := rows.Scan(&d.DeviceID, &d.Name, &d.DownSince, &d.ListedAt, &d.Status); err != nil {
			return nil, err
		}
		d.DownSince, d.ListedAt = d.DownSince.UTC(), d.ListedAt.UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// troubleText is the incident's headline: how many devices, where, and
// the first few names (device.TroubleHeadline).
func troubleText(place string, ts []device.Target, total int) string {
	names := make([]string, 0, len(ts))
	for _, t := range ts {
		names = append(names, t.Name)
	}
	return device.TroubleHeadline(place, total, names)
}

// ApplyTrouble carries out trouble actions through the alarm path: a new
// group opens a trouble incident as a system report would (with its
// event, timeline, escalation and live update), more devices join its
// timeline, and a group whose devices are all back is resolved as a
// technical fault.
func (s *Store) ApplyTrouble(ctx context.Context, actions []device.TroubleAction, now time.Time) error {
	for _, act := range actions {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			place := ""
			if len(act.Devices) > 0 && act.Devices[0].BuildingID != 0 {
				_ = tx.QueryRowContext(ctx, "SELECT name FROM buildings WHERE id = $1", act.Devices[0].BuildingID).Scan(&place)
			}
			switch {
			case act.Clear:
				if err := s.lockIncident(ctx, tx, act.IncidentID); err != nil {
					return err
				}
				inc, err := scanIncident(tx.QueryRowContext(ctx, "SELECT "+incidentColumns+" FROM incidents i WHERE i.id = $1", act.IncidentID))
				if err != nil {
					return fmt.Errorf("trouble incident %d: %w", act.IncidentID, err)
				}
				if !inc.Open() {
					return nil
				}
				next, err := inc.Apply(alarm.Step{Action: "resolve", Resolution: "technical_fault", Notes: "every device it listed is back online", At: now})
				if err != nil {
					return err
				}
				if err := s.saveIncident(ctx, tx, &next, false); err != nil {
					return err
				}
				if err := s.logIncident(ctx, tx, next.ID, now, "resolve", 0, "technical_fault: every device it listed is back online"); err != nil {
					return err
				}
				return s.publishLive(ctx, tx, next.CommunityID, 0, "incident", next)
			case act.IncidentID == 0:
				r := alarm.Report{Source: alarm.SourceSystem, Kind: alarm.KindTrouble, Code: "YS", Text: troubleText(place, act.Devices, len(act.Devices)), ReceivedAt: now}
				o, err := s.process(ctx, tx, nil, 0, r, alarm.Origin{CommunityID: act.CommunityID})
				if err != nil {
					return err
				}
				if o.Incident == nil {
					return fmt.Errorf("trouble report for %s opened no incident", act.Group)
				}
				return s.listTrouble(ctx, tx, o.Incident.ID, act, now)
			default:
				if err := s.listTrouble(ctx, tx, act.IncidentID, act, now); err != nil {
					return err
				}
				var total int
				if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM device_trouble WHERE incident_id = $1", act.IncidentID).Scan(&total); err != nil {
					return err
				}
				text := troubleText(place, act.Devices, total)
				if _, err := tx.ExecContext(ctx, "UPDATE incidents SET title = $1, last_event_at = $2, event_count = event_count + 1 WHERE id = $3",
					"trouble [YS]: "+text, now, act.IncidentID); err != nil {
					return err
				}
				if err := s.logIncident(ctx, tx, act.IncidentID, now, "event", 0, fmt.Sprintf("%d more devices offline", len(act.Devices))); err != nil {
					return err
				}
				inc, err := scanIncident(tx.QueryRowContext(ctx, "SELECT "+incidentColumns+" FROM incidents i WHERE i.id = $1", act.IncidentID))
				if err != nil {
					return err
				}
				return s.publishLive(ctx, tx, inc.CommunityID, 0, "incident", inc)
			}
		})
		if err != nil {
			return fmt.Errorf("trouble for %s: %w", act.Group, err)
		}
	}
	return nil
}

func (s *Store) listTrouble(ctx context.Context, tx *sql.Tx, incident int64, act device.TroubleAction, now time.Time) error {
	for _, t := range act.Devices {
		since := now
		if t.State.Since != nil {
			since = *t.State.Since
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO device_trouble (incident_id, device_id, group_key, device_name, down_since, listed_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (incident_id, device_id) DO NOTHING`, incident, t.DeviceID, act.Group, t.Name, since.UTC(), now.UTC()); err != nil {
			return fmt.Errorf("list device %d on incident %d: %w", t.DeviceID, incident, err)
		}
	}
	return nil
}

var _ device.Reporter = (*Store)(nil)
