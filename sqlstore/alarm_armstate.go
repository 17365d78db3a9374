package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
)

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
		// An ingest batch of the home writes the arm state it read.
		if err := s.lockHome(ctx, tx, h.ID); err != nil {
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
// process locks the home before it reads its open incident, so an SOS and
// the panel's panic button at once make one incident.
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
			// process locks the home again (a no-op): the entry delay's
			// alarm is decided on what this transaction read and wrote.
			if err := s.lockHome(ctx, tx, home); err != nil {
				return err
			}
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
	// The intervals in use, by a walk up the index (one lookup each),
	// then per interval only the panels silent past it: the index's range
	// (migration 00042), not every supervised panel. The conditions repeat
	// the index's own so that SQLite sees it applies.
	irows, err := s.reader().QueryContext(ctx, `WITH RECURSIVE s(secs) AS (
		SELECT MIN(supervision_seconds) FROM alarm_panels WHERE comm_failed = FALSE AND supervision_seconds > 0
		UNION ALL
		SELECT (SELECT MIN(supervision_seconds) FROM alarm_panels WHERE comm_failed = FALSE AND supervision_seconds > 0 AND supervision_seconds > s.secs) FROM s WHERE s.secs IS NOT NULL)
		SELECT secs FROM s WHERE secs IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("supervision intervals: %w", err)
	}
	var intervals []int
	for irows.Next() {
		var secs int
		if err := irows.Scan(&secs); err != nil {
			irows.Close()
			return nil, err
		}
		intervals = append(intervals, secs)
	}
	irows.Close()
	if err := irows.Err(); err != nil {
		return nil, fmt.Errorf("supervision intervals: %w", err)
	}
	var due []silent
	for _, secs := range intervals {
		if due, err = s.silentPanels(ctx, now, secs, due); err != nil {
			return nil, err
		}
	}
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

// silent is a supervised panel past its interval.
type silent struct {
	origin  alarm.Origin
	account string
	before  time.Time // silent since before this
}

// silentPanels appends the panels of supervision interval secs silent
// for longer than it at now.
func (s *Store) silentPanels(ctx context.Context, now time.Time, secs int, due []silent) ([]silent, error) {
	before := now.Add(-time.Duration(secs) * time.Second)
	rows, err := s.reader().QueryContext(ctx, `SELECT id, community_id, home_id, account FROM alarm_panels
		WHERE comm_failed = FALSE AND supervision_seconds > 0 AND supervision_seconds = $1 AND COALESCE(last_seen_at, created_at) < $2`, secs, before)
	if err != nil {
		return due, fmt.Errorf("panels silent past %d s: %w", secs, err)
	}
	defer rows.Close()
	for rows.Next() {
		var o alarm.Origin
		var account string
		if err := rows.Scan(&o.PanelID, &o.CommunityID, &o.HomeID, &account); err != nil {
			return due, err
		}
		due = append(due, silent{o, account, before})
	}
	return due, rows.Err()
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
		if err := s.lockHome(ctx, tx, h.ID); err != nil {
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
			if err := s.lockHome(ctx, tx, d.home); err != nil {
				return err
			}
			var community int64
			if err := tx.QueryRowContext(ctx, "SELECT community_id FROM homes WHERE id = $1", d.home).Scan(&community); err != nil {
				return err
			}
			// The day is marked done even when the home was armed already:
			// the schedule arms once a day, it does not fight the residents.
			// Only if not done today: two nodes that both think they lead
			// (one paused past its lease) arm the home once.
			res, err := tx.ExecContext(ctx, "UPDATE arm_rules SET last_arm_day = $1 WHERE home_id = $2 AND (last_arm_day IS NULL OR last_arm_day <> $1)", d.day, d.home)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
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
