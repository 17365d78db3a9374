package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/live"
)

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
	return s.notifyLive(ctx, q)
}

var liveEvents = table{
	what: "live event", from: "live_events l", id: "l.id", order: "l.id",
	scope:   scopeCols{community: "l.community_id", grid: "l.grid_id", household: "l.home_id = (SELECT hh2.home_id FROM households hh2 WHERE hh2.id = %s)"},
	columns: "l.id, l.community_id, l.home_id, l.type, l.payload, l.at",
}

// LiveSince returns up to limit live events after id that scope reaches.
func (s *Store) LiveSince(ctx context.Context, scope auth.Scope, after int64, limit int) ([]live.Event, error) {
	var a args
	conds := []string{"l.id > " + a.add(after)}
	l, err := listOf(ctx, s.reader(), liveEvents, scope, conds, a, shequ.Page{Limit: limit}, func(r scanner) (live.Event, error) {
		var e live.Event
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
