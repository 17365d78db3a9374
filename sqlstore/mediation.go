package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
)

// Mediation cases. An administrator reaches the cases of their community,
// an association's members and chair the cases of their association; to
// anyone else a case is not found. Every step goes through assoc.Next, so
// a step that does not fit the case's state is a conflict and changes
// nothing.

var mediations = table{
	what: "mediation", id: "m.id", order: "m.id DESC",
	from: "mediations m",
	columns: "m.id, m.community_id, m.association_id, m.subject, m.description, m.status, m.outcome, m.agreement, m.signed, m.outcome_note, m.concluded_at, m.created_by, m.created_at, m.updated_at, " +
		"(SELECT COUNT(*) FROM mediation_parties mp WHERE mp.mediation_id = m.id), (SELECT COUNT(*) FROM mediation_sessions ms WHERE ms.mediation_id = m.id)",
}

func scanMediation(r scanner) (assoc.Mediation, error) {
	var m assoc.Mediation
	var concluded sql.NullTime
	var by sql.NullInt64
	err := r.Scan(&m.ID, &m.CommunityID, &m.AssociationID, &m.Subject, &m.Description, &m.Status, &m.Outcome, &m.Agreement, &m.Signed, &m.OutcomeNote, &concluded, &by,
		&m.CreatedAt, &m.UpdatedAt, &m.PartyCount, &m.SessionCount)
	m.ConcludedAt, m.CreatedBy, m.CreatedAt, m.UpdatedAt = timePtr(concluded), by.Int64, m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, err
}

// ListMediations returns the cases acc reaches, newest first.
func (s *Store) ListMediations(ctx context.Context, acc assoc.Access, f assoc.MediationFilter) (shequ.List[assoc.Mediation], error) {
	var a args
	conds := []string{associationWhere(acc, "m.community_id", "m.association_id", &a)}
	if f.CommunityID != 0 {
		conds = append(conds, "m.community_id = "+a.add(f.CommunityID))
	}
	if f.AssociationID != 0 {
		conds = append(conds, "m.association_id = "+a.add(f.AssociationID))
	}
	if f.Status != "" {
		conds = append(conds, "m.status = "+a.add(f.Status))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		conds = append(conds, "LOWER(m.subject) LIKE LOWER("+a.add("%"+likeEscape(q)+"%")+`) ESCAPE '\'`)
	}
	return listOf(ctx, s.reader(), mediations, everything, conds, a, f.Page, scanMediation)
}

// mediation reads one case acc reaches; ENOTFOUND otherwise.
func (s *Store) mediation(ctx context.Context, q querier, acc assoc.Access, id int64) (assoc.Mediation, error) {
	var a args
	query := "SELECT " + mediations.columns + " FROM mediations m WHERE m.id = " + a.add(id) + " AND " + associationWhere(acc, "m.community_id", "m.association_id", &a)
	m, err := scanMediation(q.QueryRowContext(ctx, query, a...))
	if err == sql.ErrNoRows {
		return m, notFound("mediation", id)
	} else if err != nil {
		return m, fmt.Errorf("mediation %d: %w", id, err)
	}
	return m, nil
}

// Mediation returns one case with its parties, sessions and follow-ups.
func (s *Store) Mediation(ctx context.Context, acc assoc.Access, id int64) (assoc.Mediation, error) {
	m, err := s.mediation(ctx, s.reader(), acc, id)
	if err != nil {
		return m, err
	}
	if m.Parties, err = s.mediationParties(ctx, s.reader(), id); err != nil {
		return m, err
	}
	if m.Sessions, err = s.mediationSessions(ctx, s.reader(), id); err != nil {
		return m, err
	}
	m.FollowUps, err = s.mediationChecks(ctx, s.reader(), id)
	return m, err
}

func (s *Store) mediationParties(ctx context.Context, q querier, id int64) ([]assoc.MediationParty, error) {
	rows, err := q.QueryContext(ctx, `SELECT mp.id, mp.mediation_id, mp.person_id, COALESCE(p.name, ''), mp.organisation, mp.side, mp.representative, mp.represents, mp.created_at
		FROM mediation_parties mp LEFT JOIN people p ON p.id = mp.person_id WHERE mp.mediation_id = $1 ORDER BY mp.id`, id)
	if err != nil {
		return nil, fmt.Errorf("mediation parties: %w", err)
	}
	defer rows.Close()
	out := []assoc.MediationParty{}
	for rows.Next() {
		var x assoc.MediationParty
		var person sql.NullInt64
		if err := rows.Scan(&x.ID, &x.MediationID, &person, &x.PersonName, &x.Organisation, &x.Side, &x.Representative, &x.Represents, &x.CreatedAt); err != nil {
			return nil, err
		}
		x.PersonID, x.CreatedAt = person.Int64, x.CreatedAt.UTC()
		out = append(out, x)
	}
	return out, rows.Err()
}

func (s *Store) mediationSessions(ctx context.Context, q querier, id int64) ([]assoc.MediationSession, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, mediation_id, held_at, place, attendees, other_attendees, notes, created_by, created_at
		FROM mediation_sessions WHERE mediation_id = $1 ORDER BY held_at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("mediation sessions: %w", err)
	}
	defer rows.Close()
	out := []assoc.MediationSession{}
	for rows.Next() {
		var x assoc.MediationSession
		var attendees string
		var by sql.NullInt64
		if err := rows.Scan(&x.ID, &x.MediationID, &x.HeldAt, &x.Place, &attendees, &x.OtherAttendees, &x.Notes, &by, &x.CreatedAt); err != nil {
			return nil, err
		}
		x.CreatedBy, x.HeldAt, x.CreatedAt = by.Int64, x.HeldAt.UTC(), x.CreatedAt.UTC()
		if err := json.Unmarshal([]byte(attendees), &x.Attendees); err != nil {
			return nil, fmt.Errorf("mediation session %d attendees: %w", x.ID, err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

func (s *Store) mediationChecks(ctx context.Context, q querier, id int64) ([]assoc.MediationCheck, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, mediation_id, checked_on, question, resolved, note, closes, created_by, created_at
		FROM mediation_checks WHERE mediation_id = $1 ORDER BY checked_on, id`, id)
	if err != nil {
		return nil, fmt.Errorf("mediation follow-ups: %w", err)
	}
	defer rows.Close()
	out := []assoc.MediationCheck{}
	for rows.Next() {
		var x assoc.MediationCheck
		var by sql.NullInt64
		if err := rows.Scan(&x.ID, &x.MediationID, &x.CheckedOn, &x.Question, &x.Resolved, &x.Note, &x.Close, &by, &x.CreatedAt); err != nil {
			return nil, err
		}
		x.CreatedBy, x.CreatedAt = by.Int64, x.CreatedAt.UTC()
		out = append(out, x)
	}
	return out, rows.Err()
}

// CreateMediation opens a case for an association acc works for.
func (s *Store) CreateMediation(ctx context.Context, acc assoc.Access, m *assoc.Mediation) error {
	if err := m.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var c int64
		err := tx.QueryRowContext(ctx, "SELECT community_id FROM associations WHERE id = $1", m.AssociationID).Scan(&c)
		if err == sql.ErrNoRows || (err == nil && !acc.ActsFor(c, m.AssociationID)) {
			return shequ.Invalid(map[string]string{"association_id": "is not an association you work for"})
		} else if err != nil {
			return err
		}
		now, by := s.now(), actorID(ctx)
		m.CommunityID, m.CreatedBy, m.CreatedAt, m.UpdatedAt = c, by, now, now
		id, err := insert(ctx, tx, `INSERT INTO mediations (community_id, association_id, subject, description, status, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, c, m.AssociationID, m.Subject, m.Description, m.Status, nullID(by), now, now)
		if err != nil {
			return err
		}
		m.ID = id
		m.Parties, m.Sessions, m.FollowUps = []assoc.MediationParty{}, []assoc.MediationSession{}, []assoc.MediationCheck{}
		return s.change(ctx, tx, c, "create", "mediation", id, nil, map[string]any{"association_id": m.AssociationID, "subject": m.Subject})
	})
}

// stepMediation loads a case acc reaches for a write, works out where
// step takes it, runs write and then moves the case to its new state, all
// in one audited transaction. A step that does not fit changes nothing.
func (s *Store) stepMediation(ctx context.Context, acc assoc.Access, id int64, step string, write func(tx *sql.Tx, m *assoc.Mediation) (record any, err error)) (assoc.Mediation, error) {
	var out assoc.Mediation
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRow(ctx, tx, "mediations", id); err != nil {
			return err
		}
		m, err := s.mediation(ctx, tx, acc, id)
		if err != nil {
			return err
		}
		next, err := assoc.Next(m.Status, step)
		if err != nil {
			return err
		}
		before := m.Status
		record, err := write(tx, &m)
		if err != nil {
			return err
		}
		m.Status, m.UpdatedAt = next, s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE mediations SET status = $1, outcome = $2, agreement = $3, signed = $4, outcome_note = $5, concluded_at = $6, updated_at = $7 WHERE id = $8`,
			m.Status, m.Outcome, m.Agreement, m.Signed, m.OutcomeNote, nullTimePtr(m.ConcludedAt), m.UpdatedAt, id); err != nil {
			return mapError(err)
		}
		out = m
		return s.change(ctx, tx, m.CommunityID, step, "mediation", id, map[string]any{"status": before}, map[string]any{"status": next, "record": record})
	})
	return out, err
}

// AddMediationParty adds a resident or an organisation to a case before it
// concludes. A resident must be one of the case's community.
func (s *Store) AddMediationParty(ctx context.Context, acc assoc.Access, id int64, x *assoc.MediationParty) error {
	if err := x.Validate(); err != nil {
		return err
	}
	_, err := s.stepMediation(ctx, acc, id, assoc.StepAddParty, func(tx *sql.Tx, m *assoc.Mediation) (any, error) {
		if x.PersonID != 0 {
			var err error
			if x.PersonName, err = residentIn(ctx, tx, x.PersonID, m.CommunityID); err != nil {
				return nil, err
			}
			n, err := count(ctx, tx, "SELECT COUNT(*) FROM mediation_parties WHERE mediation_id = $1 AND person_id = $2", id, x.PersonID)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				return nil, shequ.Errorf(shequ.ECONFLICT, "resident %d is a party already", x.PersonID)
			}
		}
		x.MediationID, x.CreatedAt = id, s.now()
		pid, err := insert(ctx, tx, `INSERT INTO mediation_parties (mediation_id, person_id, organisation, side, representative, represents, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			id, nullID(x.PersonID), x.Organisation, x.Side, x.Representative, x.Represents, x.CreatedAt)
		x.ID = pid
		return map[string]any{"person_id": x.PersonID, "organisation": x.Organisation, "side": x.Side, "representative": x.Representative, "represents": x.Represents}, err
	})
	return err
}

// AddMediationSession records a session the parties held; the first moves
// the case into session.
func (s *Store) AddMediationSession(ctx context.Context, acc assoc.Access, id int64, x *assoc.MediationSession) error {
	_, err := s.stepMediation(ctx, acc, id, assoc.StepAddSession, func(tx *sql.Tx, m *assoc.Mediation) (any, error) {
		parties, err := s.mediationParties(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if err := x.Validate(parties, s.now()); err != nil {
			return nil, err
		}
		attendees, _ := json.Marshal(x.Attendees)
		x.MediationID, x.CreatedBy, x.CreatedAt = id, actorID(ctx), s.now()
		sid, err := insert(ctx, tx, `INSERT INTO mediation_sessions (mediation_id, held_at, place, attendees, other_attendees, notes, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			id, x.HeldAt, x.Place, string(attendees), x.OtherAttendees, x.Notes, nullID(x.CreatedBy), x.CreatedAt)
		x.ID = sid
		return map[string]any{"held_at": x.HeldAt, "place": x.Place, "attendees": x.Attendees}, err
	})
	return err
}

// RecordMediationOutcome concludes a case: agreed (with the agreement and
// whether it was signed), failed or withdrawn (with why).
func (s *Store) RecordMediationOutcome(ctx context.Context, acc assoc.Access, id int64, r assoc.MediationResult) (assoc.Mediation, error) {
	if err := r.Validate(); err != nil {
		return assoc.Mediation{}, err
	}
	return s.stepMediation(ctx, acc, id, r.Outcome, func(tx *sql.Tx, m *assoc.Mediation) (any, error) {
		now := s.now()
		m.Outcome, m.Agreement, m.Signed, m.OutcomeNote, m.ConcludedAt = r.Outcome, r.Agreement, r.Signed, r.Note, &now
		return map[string]any{"outcome": r.Outcome, "signed": r.Signed}, nil
	})
}

// AddMediationFollowUp records a check on a concluded case; an agreed case
// is then followed up, and a check that closes it closes it.
func (s *Store) AddMediationFollowUp(ctx context.Context, acc assoc.Access, id int64, x *assoc.MediationCheck) error {
	step := assoc.StepFollowUp
	if x.Close {
		step = assoc.StepFollowUpClose
	}
	_, err := s.stepMediation(ctx, acc, id, step, func(tx *sql.Tx, m *assoc.Mediation) (any, error) {
		today, err := s.today(ctx, tx, m.CommunityID)
		if err != nil {
			return nil, err
		}
		if err := x.Validate(today.Format(time.DateOnly)); err != nil {
			return nil, err
		}
		x.MediationID, x.CreatedBy, x.CreatedAt = id, actorID(ctx), s.now()
		cid, err := insert(ctx, tx, `INSERT INTO mediation_checks (mediation_id, checked_on, question, resolved, note, closes, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			id, x.CheckedOn, x.Question, x.Resolved, x.Note, x.Close, nullID(x.CreatedBy), x.CreatedAt)
		x.ID = cid
		return map[string]any{"checked_on": x.CheckedOn, "question": x.Question, "resolved": x.Resolved, "close": x.Close}, err
	})
	return err
}

// today returns the current day in community c's own calendar, at midnight.
func (s *Store) today(ctx context.Context, q querier, c int64) (time.Time, error) {
	loc, err := s.location(ctx, q, c)
	if err != nil {
		return time.Time{}, err
	}
	y, m, d := s.now().In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
}

// MediationStats counts, per association of community and in all, the
// cases opened in [from, to) and those concluded in it by outcome, with
// the success rate agreed / concluded. Members count their own
// associations' cases only.
func (s *Store) MediationStats(ctx context.Context, acc assoc.Access, community int64, from, to time.Time) (assoc.MediationStats, error) {
	out := assoc.MediationStats{CommunityID: community, From: from.UTC(), To: to.UTC(), Associations: []assoc.MediationCount{}, Total: assoc.MediationCount{Name: "all"}}
	if community == 0 {
		return out, shequ.Invalid(map[string]string{"community": "say which community"})
	}
	if !to.After(from) {
		return out, shequ.Invalid(map[string]string{"to": "must be after from"})
	}
	if !acc.IsAdmin(community) && len(acc.AssociationsIn(community)) == 0 {
		if acc.MemberIn(community) {
			return out, nil
		}
		return out, shequ.Errorf(shequ.EFORBIDDEN, "you do not work in community %d", community)
	}
	var a args
	where := "m.community_id = " + a.add(community) + " AND " + associationWhere(acc, "m.community_id", "m.association_id", &a)
	f, t := a.add(from.UTC()), a.add(to.UTC())
	rows, err := s.reader().QueryContext(ctx, `SELECT m.association_id, asn.name,
			SUM(CASE WHEN m.created_at >= `+f+` AND m.created_at < `+t+` THEN 1 ELSE 0 END),
			SUM(CASE WHEN m.concluded_at >= `+f+` AND m.concluded_at < `+t+` AND m.outcome = 'agreed' THEN 1 ELSE 0 END),
			SUM(CASE WHEN m.concluded_at >= `+f+` AND m.concluded_at < `+t+` AND m.outcome = 'failed' THEN 1 ELSE 0 END),
			SUM(CASE WHEN m.concluded_at >= `+f+` AND m.concluded_at < `+t+` AND m.outcome = 'withdrawn' THEN 1 ELSE 0 END)
		FROM mediations m JOIN associations asn ON asn.id = m.association_id
		WHERE `+where+` AND ((m.created_at >= `+f+` AND m.created_at < `+t+`) OR (m.concluded_at >= `+f+` AND m.concluded_at < `+t+`))
		GROUP BY m.association_id, asn.name ORDER BY m.association_id`, a...)
	if err != nil {
		return out, fmt.Errorf("mediation stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c assoc.MediationCount
		var agreed, failed, withdrawn int
		if err := rows.Scan(&c.AssociationID, &c.Name, &c.Opened, &agreed, &failed, &withdrawn); err != nil {
			return out, err
		}
		c.AddOutcomes(agreed, failed, withdrawn)
		out.Total.Opened += c.Opened
		out.Total.AddOutcomes(agreed, failed, withdrawn)
		out.Associations = append(out.Associations, c)
	}
	return out, rows.Err()
}
