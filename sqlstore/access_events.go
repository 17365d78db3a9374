package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/access"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/jobs"
)

// doorEventTitles are the incident titles of the alarming door events,
// read by the operator on the console.
var doorEventTitles = map[string]string{
	access.EventForced:   "门被强行打开",
	access.EventHeldOpen: "门长时间未关",
	access.EventTamper:   "门禁控制器被拆动",
}

// RecordDoorEvent stores what a controller reported about its door
// (opened, closed, forced, held_open, tamper). Forced, held open and
// tamper open an incident at tamper priority on the console, one per door:
// further events of the door join it until it is resolved. It returns the
// incident's id, 0 for an event that needs nobody.
func (s *Store) RecordDoorEvent(ctx context.Context, doorID int64, event string, at time.Time, source string) (int64, error) {
	if !slices.Contains(access.DoorEvents, event) {
		return 0, shequ.Invalid(map[string]string{"event": "must be one of opened, closed, forced, held_open, tamper"})
	}
	door, err := s.doorByID(ctx, s.reader(), doorID)
	if err != nil {
		return 0, err
	}
	now := s.now()
	if at.IsZero() || at.After(now) {
		at = now
	}
	var incident int64
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// A door released for a fire stays released whatever it reports.
		if _, err := tx.ExecContext(ctx, "UPDATE access_doors SET state = $1, state_at = $2 WHERE device_id = $3 AND state <> 'released'", stateOf(event), at, door.ID); err != nil {
			return fmt.Errorf("door state: %w", err)
		}
		if err := s.touchController(ctx, tx, door.ID, now); err != nil {
			return err
		}
		if err := s.logAccess(ctx, tx, door, at, event, "", access.Decision{}, access.Subject{}, false, source); err != nil {
			return err
		}
		if !access.Alarming(event) {
			return nil
		}
		var err error
		incident, err = s.doorIncident(ctx, tx, door, event, at)
		return err
	})
	return incident, err
}

func stateOf(event string) string {
	switch event {
	case access.EventOpened:
		return access.StateOpen
	case access.EventClosed:
		return access.StateClosed
	case access.EventForced:
		return access.StateForced
	case access.EventHeldOpen:
		return access.StateHeldOpen
	}
	return access.StateTamper
}

// touchController marks the door's controller online in the device
// registry: a controller that talks is alive.
func (s *Store) touchController(ctx context.Context, q querier, door int64, now time.Time) error {
	_, err := q.ExecContext(ctx, "UPDATE devices SET status = 'online', last_seen_at = $1 WHERE id = $2", now, door)
	if err != nil {
		return fmt.Errorf("controller seen: %w", err)
	}
	return nil
}

// doorIncident opens the door's incident, or adds the event to the one
// still open: a door banging in the wind is one incident, not fifty.
func (s *Store) doorIncident(ctx context.Context, tx *sql.Tx, door access.Door, event string, at time.Time) (int64, error) {
	title := doorEventTitles[event] + "：" + door.Name
	if door.BuildingName != "" && door.Kind == access.DoorEntrance {
		title = doorEventTitles[event] + "：" + door.BuildingName + " " + door.Name
	}
	detail := "door " + event
	var open sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT i.id FROM access_doors ad JOIN incidents i ON i.id = ad.incident_id WHERE ad.device_id = $1 AND i.status <> 'resolved'`, door.ID).Scan(&open); err != nil && err != sql.ErrNoRows {
		return 0, fmt.Errorf("open incident of door %d: %w", door.ID, err)
	}
	if open.Valid {
		// saveIncident writes every column back: an operator's step
		// meanwhile must not be written over.
		if err := s.lockIncident(ctx, tx, open.Int64); err != nil {
			return 0, err
		}
		i, err := scanIncident(tx.QueryRowContext(ctx, "SELECT "+incidentColumns+" FROM incidents i WHERE i.id = $1", open.Int64))
		if err != nil {
			return 0, fmt.Errorf("incident %d: %w", open.Int64, err)
		}
		i.EventCount++
		i.LastEventAt = at
		if event == access.EventTamper || event == access.EventForced {
			i.Title = title
		}
		if err := s.saveIncident(ctx, tx, &i, false); err != nil {
			return 0, err
		}
		if err := s.logIncident(ctx, tx, i.ID, at, "event", 0, detail); err != nil {
			return 0, err
		}
		return i.ID, s.publishLive(ctx, tx, i.CommunityID, 0, "incident", i)
	}
	i := alarm.Incident{CommunityID: door.CommunityID, Kind: alarm.KindTamper, Priority: alarm.PriorityTamper, Status: alarm.StatusNew,
		Title: title, Kinds: []alarm.Kind{alarm.KindTamper}, OpenedAt: at, LastEventAt: at, EventCount: 1}
	if err := s.saveIncident(ctx, tx, &i, true); err != nil {
		return 0, err
	}
	if err := s.logIncident(ctx, tx, i.ID, at, "opened", 0, detail); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE access_doors SET incident_id = $1 WHERE device_id = $2", i.ID, door.ID); err != nil {
		return 0, fmt.Errorf("door incident: %w", err)
	}
	if err := s.enqueue(ctx, tx, fmt.Sprintf("escalate:%d", i.ID), jobs.Escalate{IncidentID: i.ID}, at.Add(s.escalateAfter)); err != nil {
		return 0, err
	}
	return i.ID, s.publishLive(ctx, tx, i.CommunityID, 0, "incident", i)
}

// FireReleases releases the doors set to release for a fire (their
// building has an open fire incident; a shared door: anywhere in the
// community) and locks again those whose fire is resolved. Each change is
// audited and logged; the commands are for the controllers.
func (s *Store) FireReleases(ctx context.Context) ([]access.Command, error) {
	const fire = `EXISTS (SELECT 1 FROM incidents i LEFT JOIN homes h ON h.id = i.home_id
		WHERE i.community_id = ad.community_id AND i.status <> 'resolved' AND (i.kind = 'fire' OR i.kinds LIKE '%fire%')
		AND (ad.building_id IS NULL OR h.building_id = ad.building_id))`
	var out []access.Command
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, step := range []struct {
			cond, state, event, action string
		}{
			{"ad.fire_release AND ad.state <> 'released' AND " + fire, access.StateReleased, access.EventFireRelease, "release"},
			{"ad.state = 'released' AND NOT (ad.fire_release AND " + fire + ")", access.StateClosed, access.EventFireRestore, "lock"},
		} {
			l, err := listOf(ctx, tx, accessDoors, everything, []string{step.cond}, nil, shequ.Page{Limit: 10000}, scanDoor)
			if err != nil {
				return fmt.Errorf("fire doors: %w", err)
			}
			now := s.now()
			for _, d := range l.Items {
				if _, err := tx.ExecContext(ctx, "UPDATE access_doors SET state = $1, state_at = $2 WHERE device_id = $3", step.state, now, d.ID); err != nil {
					return err
				}
				if err := s.logAccess(ctx, tx, d, now, step.event, "", access.Decision{Granted: step.action == "release"}, access.Subject{}, false, "shequ"); err != nil {
					return err
				}
				if err := s.record(ctx, tx, audit.Entry{CommunityID: d.CommunityID, Action: "door." + step.event, Entity: "door", EntityID: d.ID}); err != nil {
					return err
				}
				out = append(out, access.Command{DoorID: d.ID, CommunityID: d.CommunityID, Action: step.action})
			}
		}
		return nil
	})
	return out, err
}
