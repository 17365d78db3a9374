package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/access"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

const welfareColumns = "w.person_id, w.community_id, w.enabled, w.days, w.consent_by, w.consent_note, w.since, w.changed_at, w.changed_by, w.last_check_at"

func scanWelfare(r scanner) (access.WelfareWatch, error) {
	var w access.WelfareWatch
	var last sql.NullTime
	err := r.Scan(&w.PersonID, &w.CommunityID, &w.Enabled, &w.Days, &w.ConsentBy, &w.ConsentNote, &w.Since, &w.ChangedAt, &w.ChangedBy, &last)
	w.Since, w.ChangedAt, w.LastCheckAt = w.Since.UTC(), w.ChangedAt.UTC(), timePtr(last)
	return w, err
}

// WelfareWatch returns a person's welfare watch; a person without one has
// it off.
func (s *Store) WelfareWatch(ctx context.Context, scope auth.Scope, person int64) (access.WelfareWatch, error) {
	p, err := s.person(ctx, s.reader(), scope, person)
	if err != nil {
		return access.WelfareWatch{}, err
	}
	w, err := scanWelfare(s.reader().QueryRowContext(ctx, "SELECT "+welfareColumns+" FROM access_welfare w WHERE w.person_id = $1", person))
	if err == sql.ErrNoRows {
		return access.WelfareWatch{PersonID: person, CommunityID: p.CommunityID}, nil
	}
	return w, err
}

// SetWelfareWatch switches a living-alone resident's watch on (or off)
// with the consent it rests on; who consented and who recorded it are
// kept and audited.
func (s *Store) SetWelfareWatch(ctx context.Context, scope auth.Scope, w *access.WelfareWatch) error {
	if w.Enabled {
		if err := w.Validate(); err != nil {
			return err
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		p, err := s.person(ctx, tx, scope, w.PersonID)
		if err != nil {
			return err
		}
		if w.Enabled && !slices.Contains(p.Tags, community.TagLivingAlone) {
			return shequ.Invalid(map[string]string{"person_id": "the welfare watch is for residents who live alone"})
		}
		return s.saveWelfare(ctx, tx, p, w)
	})
}

// StopWelfareWatch switches a watch off: what a resident may always do
// for themselves (scope: their household).
func (s *Store) StopWelfareWatch(ctx context.Context, scope auth.Scope, person int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		p, err := s.person(ctx, tx, scope, person)
		if err != nil {
			return err
		}
		w, err := scanWelfare(tx.QueryRowContext(ctx, "SELECT "+welfareColumns+" FROM access_welfare w WHERE w.person_id = $1", person))
		if err == sql.ErrNoRows {
			return nil // off already
		} else if err != nil {
			return err
		}
		w.Enabled = false
		return s.saveWelfare(ctx, tx, p, &w)
	})
}

func (s *Store) saveWelfare(ctx context.Context, tx *sql.Tx, p community.Person, w *access.WelfareWatch) error {
	before, err := scanWelfare(tx.QueryRowContext(ctx, "SELECT "+welfareColumns+" FROM access_welfare w WHERE w.person_id = $1", p.ID))
	if err != nil && err != sql.ErrNoRows {
		return err
	}
	now := s.now()
	w.CommunityID, w.ChangedAt = p.CommunityID, now
	if a := auth.ActorFrom(ctx); a != nil {
		w.ChangedBy = a.User.Username
	}
	w.Since = before.Since
	if w.Enabled && (err == sql.ErrNoRows || !before.Enabled) {
		w.Since = now // days count from switching on
	}
	if w.Since.IsZero() {
		w.Since = now
	}
	if !w.Enabled && w.ConsentBy == "" {
		w.ConsentBy, w.Days = before.ConsentBy, before.Days
	}
	if w.Days == 0 {
		w.Days = 3
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO access_welfare (person_id, community_id, enabled, days, consent_by, consent_note, since, changed_at, changed_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (person_id) DO UPDATE SET enabled = excluded.enabled, days = excluded.days, consent_by = excluded.consent_by,
			consent_note = excluded.consent_note, since = excluded.since, changed_at = excluded.changed_at, changed_by = excluded.changed_by`,
		p.ID, p.CommunityID, w.Enabled, w.Days, w.ConsentBy, w.ConsentNote, w.Since, now, w.ChangedBy)
	if err != nil {
		return fmt.Errorf("welfare watch: %w", err)
	}
	action := "welfare_watch.on"
	if !w.Enabled {
		action = "welfare_watch.off"
	}
	return s.record(ctx, tx, audit.Entry{CommunityID: p.CommunityID, Action: action, Entity: "person", EntityID: p.ID, Before: snapshot(before), After: snapshot(w)})
}

// CheckWelfare opens a welfare-check visit for each watched resident with
// no door passage for their watch's days: an incident at their home,
// dispatched to their grid worker, who is offered it like any dispatch.
// Each watch is checked again only after as many days more. It returns
// the incidents opened.
func (s *Store) CheckWelfare(ctx context.Context) ([]int64, error) {
	now := s.now()
	rows, err := s.reader().QueryContext(ctx, "SELECT "+welfareColumns+" FROM access_welfare w WHERE w.enabled")
	if err != nil {
		return nil, fmt.Errorf("welfare watches: %w", err)
	}
	var watches []access.WelfareWatch
	for rows.Next() {
		w, err := scanWelfare(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		watches = append(watches, w)
	}
	rows.Close()
	var due []access.WelfareWatch
	for _, w := range watches {
		var last sql.NullTime
		err := s.reader().QueryRowContext(ctx, "SELECT at FROM access_log WHERE person_id = $1 AND granted ORDER BY at DESC LIMIT 1", w.PersonID).Scan(&last)
		if err != nil && err != sql.ErrNoRows {
			return nil, fmt.Errorf("last passage of person %d: %w", w.PersonID, err)
		}
		if access.WelfareDue(w, timePtr(last), now) {
			due = append(due, w)
		}
	}
	var opened []int64
	for _, w := range due {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			// Only if still due: another node, or a passage meanwhile.
			res, err := tx.ExecContext(ctx, "UPDATE access_welfare SET last_check_at = $1 WHERE person_id = $2 AND enabled AND (last_check_at IS NULL OR last_check_at < $3)",
				now, w.PersonID, now.Add(-time.Duration(w.Days)*24*time.Hour))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil
			}
			id, err := s.welfareIncident(ctx, tx, w, now)
			if id != 0 {
				opened = append(opened, id)
			}
			return err
		})
		if err != nil {
			return opened, fmt.Errorf("welfare check of person %d: %w", w.PersonID, err)
		}
	}
	return opened, nil
}

func (s *Store) welfareIncident(ctx context.Context, tx *sql.Tx, w access.WelfareWatch, now time.Time) (int64, error) {
	var name string
	var home, worker sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT p.name, hh.home_id, g.worker_user_id FROM people p LEFT JOIN households hh ON hh.id = p.household_id
		LEFT JOIN homes h ON h.id = hh.home_id LEFT JOIN buildings b ON b.id = h.building_id LEFT JOIN grids g ON g.id = b.grid_id WHERE p.id = $1`, w.PersonID).
		Scan(&name, &home, &worker)
	if err != nil {
		return 0, err
	}
	if !home.Valid {
		return 0, nil // lives nowhere now: nobody to visit
	}
	title := fmt.Sprintf("独居老人%s已%d天没有门禁通行，请上门看望", name, w.Days)
	detail := fmt.Sprintf("welfare check: no door passage for %d days (consent: %s)", w.Days, w.ConsentBy)
	inc := alarm.Incident{CommunityID: w.CommunityID, HomeID: home.Int64, Kind: alarm.KindTrouble, Priority: alarm.PriorityTrouble, Status: alarm.StatusNew,
		Title: title, Kinds: []alarm.Kind{alarm.KindTrouble}, OpenedAt: now, LastEventAt: now, EventCount: 1}
	if err := s.saveIncident(ctx, tx, &inc, true); err != nil {
		return 0, err
	}
	if err := s.logIncident(ctx, tx, inc.ID, now, "opened", 0, detail); err != nil {
		return 0, err
	}
	if err := s.publishLive(ctx, tx, inc.CommunityID, inc.HomeID, "incident", inc); err != nil {
		return 0, err
	}
	if err := s.record(ctx, tx, audit.Entry{CommunityID: w.CommunityID, Action: "welfare_watch.check", Entity: "person", EntityID: w.PersonID,
		After: snapshot(map[string]any{"incident": inc.ID, "days": w.Days})}); err != nil {
		return 0, err
	}
	if worker.Valid {
		if _, err := s.stepIncident(ctx, tx, everything, inc.ID, alarm.Step{Action: "dispatch", To: worker.Int64, Notes: strings.TrimSpace(detail)}); err != nil {
			return inc.ID, err
		}
	}
	return inc.ID, nil
}
