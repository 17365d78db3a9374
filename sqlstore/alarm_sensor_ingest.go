package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/shequ/shequ/alarm"
)

// sensorDirectory remembers, per MQTT name, the sensors this node has
// read — the one directory of sensors, for the MQTT subscriber's
// translation (Store.Sensor) and the ingest batches alike — so that a
// sensor report costs no statement for its sensor: a sensor's id,
// community, home, kind and zone are written once, by CreateSensor, and
// never changed (nothing updates those columns or deletes a sensor), so
// an entry never goes stale. Before this, each report read its sensor
// with a statement of its own, and each sensor's home was read with three
// more per batch (docs/benchmarks.md, "MQTT ingest").
//
// A name looked up and not found is remembered too, for sensorMissTTL: a
// device on the broker that is not a registered sensor, sending a message
// a second, costs a statement once in that time rather than every
// message; a sensor registered on another node meanwhile is found when it
// has passed (on this node, CreateSensor forgets the miss at once).
type sensorDirectory struct {
	mu sync.Mutex
	m  map[string]alarm.Origin
	// missed holds, by name, when a look-up last found nothing (the
	// machine's monotonic time: it times a cache, not the domain).
	missed map[string]time.Time
	// registered counts forgetMiss's calls: a look-up that began before
	// a sensor was registered here must not note a miss after it.
	registered uint64
}

// sensorMissTTL is how long a name found not to be a sensor is believed
// not to be one; maxSensorMisses bounds the names remembered so.
const (
	sensorMissTTL   = 5 * time.Second
	maxSensorMisses = 10_000
)

func newSensorDirectory() *sensorDirectory {
	return &sensorDirectory{m: map[string]alarm.Origin{}, missed: map[string]time.Time{}}
}

func (d *sensorDirectory) get(name string) (alarm.Origin, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, ok := d.m[name]
	return o, ok
}

// missedLately tells whether name was looked up and not found within
// sensorMissTTL.
func (d *sensorDirectory) missedLately(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ok := d.missed[name]
	return ok && time.Since(at) < sensorMissTTL
}

// generation returns the count of sensors registered here so far, to be
// taken before a look-up and given to remember after it.
func (d *sensorDirectory) generation() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.registered
}

// remember keeps the sensors found, and notes the names asked for and not
// found, unless a sensor was registered here since gen (the look-up may
// have missed it).
func (d *sensorDirectory) remember(found map[string]alarm.Origin, asked []string, gen uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, o := range found {
		d.m[name] = o
		delete(d.missed, name)
	}
	if d.registered != gen {
		return
	}
	now := time.Now()
	for _, name := range asked {
		if _, ok := found[name]; ok {
			continue
		}
		if len(d.missed) >= maxSensorMisses {
			clear(d.missed)
		}
		d.missed[name] = now
	}
}

// forgetMiss drops what a look-up of name found missing (CreateSensor).
func (d *sensorDirectory) forgetMiss(name string) {
	d.mu.Lock()
	delete(d.missed, name)
	d.registered++
	d.mu.Unlock()
}

// sensorByNameSQL reads one sensor by its MQTT name (Store.Sensor).
const sensorByNameSQL = "SELECT mqtt_name, id, community_id, home_id, kind, zone FROM alarm_sensors WHERE mqtt_name = $1"

// Sensor returns the registered sensor with the MQTT name name (its id,
// community, home, kind and zone), from the sensor directory or else the
// database; known is false for a name that is not a registered sensor.
// The MQTT subscriber translates a message by it; the ingest batch then
// finds the same entry.
func (s *Store) Sensor(ctx context.Context, name string) (o alarm.Origin, known bool, err error) {
	if o, ok := s.sensorDir.get(name); ok {
		return o, true, nil
	}
	if s.sensorDir.missedLately(name) {
		return alarm.Origin{}, false, nil
	}
	gen := s.sensorDir.generation()
	var found string
	err = s.reader().QueryRowContext(ctx, sensorByNameSQL, name).Scan(&found, &o.SensorID, &o.CommunityID, &o.HomeID, &o.SensorKind, &o.SensorZone)
	switch {
	case err == sql.ErrNoRows:
		if s.txn == nil {
			s.sensorDir.remember(nil, []string{name}, gen)
		}
		return alarm.Origin{}, false, nil
	case err != nil:
		return alarm.Origin{}, false, fmt.Errorf("sensor %q: %w", name, err)
	}
	if s.txn == nil {
		// Inside Atomic the sensor may be one created by the same,
		// uncommitted transaction: remember nothing.
		s.sensorDir.remember(map[string]alarm.Origin{name: o}, nil, gen)
	}
	return o, true, nil
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
	gen := s.sensorDir.generation()
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
		s.sensorDir.remember(found, todo, gen)
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
