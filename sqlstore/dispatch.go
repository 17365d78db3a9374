package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/media"
)

// The field staff's side of an incident. A staff member sent to a home
// reaches it through the dispatch, whatever grid it is in, for as long as
// the incident is open and still theirs: its home and who lives there (to
// find and call them), and the report and photos they leave.

// photoOwnerIncident is the owner kind of a report's photos.
const photoOwnerIncident = "incident"

// ReportOnIncident records a report step (what the staff member on site
// found) and, when photo is not nil, its photo (its bytes put), in one
// transaction: a report and its photo are stored together or not at all.
// It returns the incident and the photo's id (0 without a photo).
func (s *Store) ReportOnIncident(ctx context.Context, scope auth.Scope, id int64, step alarm.Step, photo *media.Media) (alarm.Incident, int64, error) {
	if step.Action != "report" {
		return alarm.Incident{}, 0, shequ.Errorf(shequ.EINVALID, "a report is a report step, not %q", step.Action)
	}
	var out alarm.Incident
	var photoID int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if out, err = s.stepIncident(ctx, tx, scope, id, step); err != nil {
			return err
		}
		if photo == nil {
			return nil
		}
		m := *photo
		m.CreatedBy = step.By
		if err := s.addPhoto(ctx, tx, out.CommunityID, photoOwnerIncident, id, &m); err != nil {
			return err
		}
		photoID = m.ID
		return nil
	})
	if err != nil {
		return alarm.Incident{}, 0, err
	}
	return out, photoID, nil
}

// reachIncident checks that the incident is within scope or, failing
// that, open and dispatched to user.
func (s *Store) reachIncident(ctx context.Context, scope auth.Scope, user, id int64) error {
	err := mustReach(ctx, s.reader(), incidents, scope, id)
	if shequ.ErrorCode(err) != shequ.ENOTFOUND || user == 0 {
		return err
	}
	n, err := count(ctx, s.reader(), "SELECT COUNT(*) FROM incidents WHERE id = $1 AND dispatched_to = $2 AND status <> 'resolved'", id, user)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("incident", id)
	}
	return nil
}

// IncidentPhotoIDs lists the photos reported on an incident that scope
// reaches or that is dispatched to user.
func (s *Store) IncidentPhotoIDs(ctx context.Context, scope auth.Scope, user, id int64) ([]int64, error) {
	if err := s.reachIncident(ctx, scope, user, id); err != nil {
		return nil, err
	}
	return mediaIDs(ctx, s.reader(), photoOwnerIncident, id)
}

// IncidentPhoto returns one photo of such an incident.
func (s *Store) IncidentPhoto(ctx context.Context, scope auth.Scope, user, id, photo int64) (media.Media, error) {
	if err := s.reachIncident(ctx, scope, user, id); err != nil {
		return media.Media{}, err
	}
	return mediaByID(ctx, s.reader(), photoOwnerIncident, id, photo)
}

// DispatchReach returns what a staff member reaches while sent to an
// open incident: the households of its home (none for an empty home; the
// incident itself says where the home is). The incident is not found once
// it is resolved, given to someone else, or has no home.
func (s *Store) DispatchReach(ctx context.Context, user, id int64) (auth.Scope, error) {
	var community, home sql.NullInt64
	err := s.reader().QueryRowContext(ctx,
		"SELECT community_id, home_id FROM incidents WHERE id = $1 AND dispatched_to = $2 AND status <> 'resolved'", id, user).Scan(&community, &home)
	if err == sql.ErrNoRows || (err == nil && !home.Valid) {
		return nil, notFound("incident", id)
	}
	if err != nil {
		return nil, fmt.Errorf("dispatch reach: %w", err)
	}
	rows, err := s.reader().QueryContext(ctx, "SELECT id FROM households WHERE home_id = $1 ORDER BY id", home.Int64)
	if err != nil {
		return nil, fmt.Errorf("dispatch reach: %w", err)
	}
	defer rows.Close()
	var out auth.Scope
	for rows.Next() {
		var hh int64
		if err := rows.Scan(&hh); err != nil {
			return nil, err
		}
		out = append(out, auth.Reach{CommunityID: community.Int64, HouseholdID: hh})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
