package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

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

// LiveSince returns up to limit live events after id that scope reaches,
// up to the horizon (liveHorizon): a stream that saw id n never later
// misses an id below n.
func (s *Store) LiveSince(ctx context.Context, scope auth.Scope, after int64, limit int) ([]live.Event, error) {
	horizon, err := s.liveHorizon(ctx)
	if err != nil {
		return nil, err
	}
	var a args
	conds := []string{"l.id > " + a.add(after)}
	if horizon < math.MaxInt64 {
		conds = append(conds, "l.id <= "+a.add(horizon))
	}
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
	if err := s.reader().QueryRowContext(ctx, "SELECT MAX(id) FROM live_events").Scan(&id); err != nil {
		return 0, err
	}
	horizon, err := s.liveHorizon(ctx)
	return min(id.Int64, horizon), err
}

// Several transactions (of one node or of several) write live events at
// once on PostgreSQL; ids are handed out at the insert and become visible
// at the commit, so id 101 may be read while 100 is still in flight. A
// stream that went on to 101 would never show 100. So the streams read
// only up to the first gap among the newest ids, until the gap fills (its
// transaction commits) or liveGrace has passed (it rolled back: the id
// will never come). SQLite has one writer: ids commit in order.
const (
	// liveGrace is how long a gap is waited for; longer than any
	// transaction that writes live events holds them uncommitted.
	liveGrace = 5 * time.Second
	// liveTail is how many of the newest ids are looked at for gaps.
	liveTail = 1000
)

// liveHoles remembers since when each gap among the newest live event
// ids has been seen, by its lowest missing id.
type liveHoles struct {
	mu   sync.Mutex
	seen map[int64]time.Time
}

// liveHorizon returns the id up to which every live event is either
// visible or known never to come (math.MaxInt64: no limit).
func (s *Store) liveHorizon(ctx context.Context) (int64, error) {
	if s.dialect != Postgres {
		return math.MaxInt64, nil
	}
	rows, err := s.reader().QueryContext(ctx, "SELECT id FROM live_events ORDER BY id DESC LIMIT "+strconv.Itoa(liveTail))
	if err != nil {
		return 0, fmt.Errorf("live events: %w", err)
	}
	var ids []int64 // newest first
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	now := s.now()
	h := s.liveHoles
	h.mu.Lock()
	defer h.mu.Unlock()
	// Never past the newest id this look saw: the stream's read is a later
	// statement, and an id committed between the two would take it past
	// a gap this look could not see (100 seen, 101 in flight, 102
	// committed after the look: the read would go to 102).
	horizon := int64(0)
	if len(ids) > 0 {
		horizon = ids[0]
	}
	current := map[int64]bool{}
	for i := 0; i+1 < len(ids); i++ {
		lo := ids[i+1] + 1
		if lo == ids[i] {
			continue
		}
		current[lo] = true
		first, ok := h.seen[lo]
		if !ok {
			h.seen[lo], first = now, now
		}
		if now.Sub(first) < liveGrace {
			horizon = lo - 1 // the walk goes down: the lowest open gap wins
		}
	}
	for lo := range h.seen {
		if !current[lo] {
			delete(h.seen, lo)
		}
	}
	return horizon, nil
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
