package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/shequ/shequ/alarm"
)

// sensorDirectory remembers, per MQTT name, the sensors this node has
// read, so that an ingest batch of sensor reports costs no statement for
// its sensors: a sensor's id, community, home, kind and zone are written
// once, by CreateSensor, and never changed (nothing updates those columns
// or deletes a sensor), so an entry never goes stale. Only sensors found
// are remembered: one registered later is looked up when its first report
// comes. Before this, each report read its sensor with a statement of its
// own, and each sensor's home was read with three more per batch
// (docs/benchmarks.md, "MQTT ingest").
type sensorDirectory struct {
	mu sync.Mutex
	m  map[string]alarm.Origin
}

func newSensorDirectory() *sensorDirectory { return &sensorDirectory{m: map[string]alarm.Origin{}} }

func (d *sensorDirectory) get(name string) (alarm.Origin, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, ok := d.m[name]
	return o, ok
}

func (d *sensorDirectory) remember(found map[string]alarm.Origin) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, o := range found {
		d.m[name] = o
	}
}

var (
	// sensorsByNameSQL reads the sensors of a batch, a chunk of names at
	// a time (SQLite); sensorsByNamePostgres takes them all as an array.
	sensorsByNameSQL      = newChunked("SELECT mqtt_name, id, community_id, home_id, kind, zone FROM alarm_sensors WHERE mqtt_name IN (", "?", ", ", ")")[SQLite]
	sensorsByNamePostgres = "SELECT mqtt_name, id, community_id, home_id, kind, zone FROM alarm_sensors WHERE mqtt_name = ANY($1::text[])"
)

// sensorOrigins finds the sensor of every MQTT report of the batch, from
// the directory or, for the names it does not hold, with one statement
// for all of them, and adds each sensor's home to homes (home → community)
// so that loadHomes reads the homes' state with the panels' homes. A name
// that is not a registered sensor is left out of b.sensors.
func (s *Store) sensorOrigins(ctx context.Context, q querier, b *ingestBatch, reports []alarm.Report, homes map[int64]int64) error {
	var todo []string
	for _, r := range reports {
		if r.Source != alarm.SourceMQTT || isMQTTReceipt(r) {
			continue
		}
		if _, ok := b.sensors[r.Account]; ok {
			continue
		}
		if o, ok := s.sensorDir.get(r.Account); ok {
			b.sensors[r.Account] = o
			continue
		}
		b.sensors[r.Account] = alarm.Origin{} // asked for below; not yet known
		todo = append(todo, r.Account)
	}
	found := map[string]alarm.Origin{}
	scan := func(rows *sql.Rows) error {
		var name string
		var o alarm.Origin
		if err := rows.Scan(&name, &o.SensorID, &o.CommunityID, &o.HomeID, &o.SensorKind, &o.SensorZone); err != nil {
			return err
		}
		found[name] = o
		return nil
	}
	if s.dialect == Postgres && len(todo) > 0 {
		rows, err := q.QueryContext(ctx, sensorsByNamePostgres, todo)
		if err != nil {
			return fmt.Errorf("sensors: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("sensors: %w", err)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sensors: %w", err)
		}
	}
	if s.dialect == SQLite {
		if err := queryIn(ctx, q, sensorsByNameSQL, todo, scan); err != nil {
			return fmt.Errorf("sensors: %w", err)
		}
	}
	for _, name := range todo {
		if o, ok := found[name]; ok {
			b.sensors[name] = o
		} else {
			delete(b.sensors, name)
		}
	}
	if s.txn == nil {
		// Inside Atomic the sensor may be one created by the same,
		// uncommitted transaction: remember nothing.
		s.sensorDir.remember(found)
	}
	for _, r := range reports {
		if o, ok := b.sensors[r.Account]; ok && r.Source == alarm.SourceMQTT && o.HomeID != 0 {
			homes[o.HomeID] = o.CommunityID
		}
	}
	return nil
}

// sensorOrigin returns the origin of an MQTT report found by sensorOrigins
// and records a sensor going offline or coming back. known is false for a
// name that is not a registered sensor.
func (s *Store) sensorOrigin(ctx context.Context, q querier, b *ingestBatch, r alarm.Report) (origin alarm.Origin, known bool, err error) {
	origin, known = b.sensors[r.Account]
	if !known {
		return origin, false, nil
	}
	if r.Kind == alarm.KindSensorOffline {
		if _, err := q.ExecContext(ctx, "UPDATE alarm_sensors SET online = $1 WHERE id = $2", r.Restore, origin.SensorID); err != nil {
			return origin, true, err
		}
	}
	return origin, true, nil
}
