package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
)

// The services associations give: individual services (cases) and group
// services (events). Administrators reach every case of their community,
// association members and chairs the cases of the associations their
// grants name; a case out of reach is not found. Every write is audited
// and keeps the statistics' rollup (case_rollup, case_people, case_served;
// see stats_sets.go) in the same transaction.

var cases = table{
	what: "case", id: "cs.id", order: "cs.day DESC, cs.id DESC",
	from:  "assoc_cases cs LEFT JOIN people p ON p.id = cs.person_id",
	scope: scopeCols{community: "cs.community_id"},
	columns: "cs.id, cs.community_id, cs.association_id, cs.kind, cs.person_id, COALESCE(p.name, ''), cs.summary, cs.day, cs.place, cs.topic, cs.attendance, " +
		"cs.status, cs.outcome, cs.opened_at, cs.closed_at, cs.created_by, cs.created_at, cs.updated_at",
}

func scanCase(r scanner) (assoc.Case, error) {
	var c assoc.Case
	var person, by sql.NullInt64
	var closed sql.NullTime
	err := r.Scan(&c.ID, &c.CommunityID, &c.AssociationID, &c.Kind, &person, &c.PersonName, &c.Summary, &c.Day, &c.Place, &c.Topic, &c.Attendance,
		&c.Status, &c.Outcome, &c.OpenedAt, &closed, &by, &c.CreatedAt, &c.UpdatedAt)
	c.PersonID, c.CreatedBy = person.Int64, by.Int64
	c.OpenedAt, c.CreatedAt, c.UpdatedAt = c.OpenedAt.UTC(), c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if closed.Valid {
		t := closed.Time.UTC()
		c.ClosedAt = &t
	}
	if c.Kind == assoc.KindGroup {
		c.Attendees = []int64{}
	}
	return c, err
}

// caseSummary is what the audit log keeps of a case: who and when, not
// the need or the outcome, which stay with the case under its rules.
func caseSummary(c assoc.Case) map[string]any {
	return map[string]any{"kind": c.Kind, "association_id": c.AssociationID, "person_id": c.PersonID, "date": c.Day,
		"attendance": c.Attendance, "attendees": len(c.Attendees), "status": c.Status}
}

// checkCasePeople checks that the people a case names live in community c.
func checkCasePeople(ctx context.Context, q querier, c int64, cs assoc.Case) error {
	if cs.Kind == assoc.KindIndividual {
		_, err := residentIn(ctx, q, cs.PersonID, c)
		return err
	}
	if len(cs.Attendees) == 0 {
		return nil
	}
	var a args
	n, err := count(ctx, q, "SELECT COUNT(*) FROM people WHERE community_id = "+a.add(c)+" AND id IN "+inList(&a, cs.Attendees), a...)
	if err != nil {
		return err
	}
	if n != len(cs.Attendees) {
		return shequ.Invalid(map[string]string{"attendees": "name only residents of this community"})
	}
	return nil
}

// putAttendees replaces a group service's named attendees.
func putAttendees(ctx context.Context, tx *sql.Tx, id int64, people []int64) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM case_attendees WHERE case_id = $1", id); err != nil {
		return err
	}
	for _, p := range people {
		if _, err := tx.ExecContext(ctx, "INSERT INTO case_attendees (case_id, person_id) VALUES ($1, $2)", id, p); err != nil {
			return mapError(err)
		}
	}
	return nil
}

// CreateCase records a service for an association acc serves: an
// individual service for a resident or a group service held. On any error
// nothing is stored.
func (s *Store) CreateCase(ctx context.Context, acc assoc.Access, c *assoc.Case) error {
	out := *c
	err := s.tx(ctx, func(tx *sql.Tx) error {
		c := &out
		var community int64
		err := tx.QueryRowContext(ctx, "SELECT community_id FROM associations WHERE id = $1", c.AssociationID).Scan(&community)
		if err == sql.ErrNoRows || (err == nil && !acc.IsAdmin(community) && !slices.Contains(acc.Communities(), community)) {
			return shequ.Invalid(map[string]string{"association_id": fmt.Sprintf("there is no association %d", c.AssociationID)})
		} else if err != nil {
			return err
		}
		if !acc.ActsFor(community, c.AssociationID) {
			return shequ.Errorf(shequ.EFORBIDDEN, "you do not record services for association %d", c.AssociationID)
		}
		loc, err := s.location(ctx, tx, community)
		if err != nil {
			return err
		}
		now := s.now()
		if err := c.Validate(now, loc); err != nil {
			return err
		}
		if err := checkCasePeople(ctx, tx, community, *c); err != nil {
			return err
		}
		c.CommunityID, c.CreatedBy, c.CreatedAt, c.UpdatedAt = community, actorID(ctx), now, now
		id, err := insert(ctx, tx, `INSERT INTO assoc_cases (community_id, association_id, kind, person_id, summary, day, place, topic, attendance, status, outcome, opened_at, closed_at, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			community, c.AssociationID, c.Kind, nullID(c.PersonID), c.Summary, c.Day, c.Place, c.Topic, c.Attendance, c.Status, c.Outcome, c.OpenedAt, nil, nullID(c.CreatedBy), now, now)
		if err != nil {
			return err
		}
		c.ID = id
		if c.Kind == assoc.KindIndividual {
			if err := tx.QueryRowContext(ctx, "SELECT name FROM people WHERE id = $1", c.PersonID).Scan(&c.PersonName); err != nil {
				return err
			}
		}
		if err := putAttendees(ctx, tx, id, c.Attendees); err != nil {
			return err
		}
		if err := rollupChange(ctx, tx, nil, c); err != nil {
			return err
		}
		return s.change(ctx, tx, community, "create", "case", id, nil, caseSummary(*c))
	})
	if err == nil {
		*c = out
	}
	return err
}

// attendeesOf fills the named attendees of the group services in cs.
func attendeesOf(ctx context.Context, q querier, cs []assoc.Case) error {
	at := map[int64]int{}
	var ids []int64
	for i, c := range cs {
		if c.Kind == assoc.KindGroup {
			at[c.ID] = i
			ids = append(ids, c.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var a args
	rows, err := q.QueryContext(ctx, "SELECT case_id, person_id FROM case_attendees WHERE case_id IN "+inList(&a, ids)+" ORDER BY case_id, person_id", a...)
	if err != nil {
		return fmt.Errorf("attendees: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c, p int64
		if err := rows.Scan(&c, &p); err != nil {
			return err
		}
		cs[at[c]].Attendees = append(cs[at[c]].Attendees, p)
	}
	return rows.Err()
}

// reachableCase loads a case acc reaches, with its attendees; ENOTFOUND
// otherwise.
func reachableCase(ctx context.Context, q querier, acc assoc.Access, id int64) (assoc.Case, error) {
	var a args
	query := "SELECT " + cases.columns + " FROM " + cases.from + " WHERE cs.id = " + a.add(id) + " AND " + associationWhere(acc, "cs.community_id", "cs.association_id", &a)
	c, err := scanCase(q.QueryRowContext(ctx, query, a...))
	if err == sql.ErrNoRows {
		return c, notFound("case", id)
	} else if err != nil {
		return c, fmt.Errorf("case %d: %w", id, err)
	}
	one := []assoc.Case{c}
	err = attendeesOf(ctx, q, one)
	return one[0], err
}

// Case returns one case acc reaches, with its attendees and actions.
func (s *Store) Case(ctx context.Context, acc assoc.Access, id int64) (assoc.Case, error) {
	c, err := reachableCase(ctx, s.reader(), acc, id)
	if err != nil {
		return c, err
	}
	c.Actions, err = caseActions(ctx, s.reader(), id)
	return c, err
}

// CaseAttendees returns the named attendees of a case acc reaches, by name;
// none for a case it does not reach.
func (s *Store) CaseAttendees(ctx context.Context, acc assoc.Access, id int64) ([]assoc.CaseAttendee, error) {
	var a args
	rows, err := s.reader().QueryContext(ctx, `SELECT ca.person_id, p.name FROM case_attendees ca
		JOIN assoc_cases cs ON cs.id = ca.case_id JOIN people p ON p.id = ca.person_id
		WHERE ca.case_id = `+a.add(id)+` AND `+associationWhere(acc, "cs.community_id", "cs.association_id", &a)+`
		ORDER BY p.name, ca.person_id`, a...)
	if err != nil {
		return nil, fmt.Errorf("case attendees: %w", err)
	}
	defer rows.Close()
	out := []assoc.CaseAttendee{}
	for rows.Next() {
		var x assoc.CaseAttendee
		if err := rows.Scan(&x.PersonID, &x.Name); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// SetCaseAttendee names a resident among a group service's attendees, or
// takes them off (present false).
func (s *Store) SetCaseAttendee(ctx context.Context, acc assoc.Access, id, person int64, present bool) (assoc.Case, error) {
	return s.changeCase(ctx, acc, id, "attendee", func(tx *sql.Tx, old assoc.Case) (assoc.Case, error) {
		next, err := old.Attend(person, present)
		if err != nil {
			return next, err
		}
		loc, err := s.location(ctx, tx, old.CommunityID)
		if err != nil {
			return next, err
		}
		if err := next.Validate(s.now(), loc); err != nil {
			return next, err
		}
		return next, checkCasePeople(ctx, tx, old.CommunityID, next)
	})
}

func caseActions(ctx context.Context, q querier, id int64) ([]assoc.CaseAction, error) {
	rows, err := q.QueryContext(ctx, "SELECT id, case_id, at, note, user_id, username FROM case_actions WHERE case_id = $1 ORDER BY at, id", id)
	if err != nil {
		return nil, fmt.Errorf("case actions: %w", err)
	}
	defer rows.Close()
	out := []assoc.CaseAction{}
	for rows.Next() {
		var x assoc.CaseAction
		var user sql.NullInt64
		if err := rows.Scan(&x.ID, &x.CaseID, &x.At, &x.Note, &user, &x.Username); err != nil {
			return nil, err
		}
		x.UserID, x.At = user.Int64, x.At.UTC()
		out = append(out, x)
	}
	return out, rows.Err()
}

// ListCases returns the cases acc reaches, latest day first.
func (s *Store) ListCases(ctx context.Context, acc assoc.Access, f assoc.CaseFilter) (shequ.List[assoc.Case], error) {
	if err := assoc.CheckCaseKind(f.Kind); err != nil {
		return shequ.List[assoc.Case]{}, err
	}
	if err := assoc.CheckCaseStatus(f.Status); err != nil {
		return shequ.List[assoc.Case]{}, err
	}
	var a args
	conds := []string{associationWhere(acc, "cs.community_id", "cs.association_id", &a)}
	if f.CommunityID != 0 {
		conds = append(conds, "cs.community_id = "+a.add(f.CommunityID))
	}
	if f.AssociationID != 0 {
		conds = append(conds, "cs.association_id = "+a.add(f.AssociationID))
	}
	if f.Kind != "" {
		conds = append(conds, "cs.kind = "+a.add(f.Kind))
	}
	if f.Status != "" {
		conds = append(conds, "cs.status = "+a.add(f.Status))
	}
	if f.PersonID != 0 {
		p := a.add(f.PersonID)
		conds = append(conds, "(cs.person_id = "+p+" OR EXISTS (SELECT 1 FROM case_attendees ca WHERE ca.case_id = cs.id AND ca.person_id = "+p+"))")
	}
	if f.From != "" || f.To != "" {
		p, err := assoc.ParseDays(f.From, f.To)
		if err != nil {
			return shequ.List[assoc.Case]{}, err
		}
		conds = append(conds, "cs.day >= "+a.add(p.From), "cs.day <= "+a.add(p.To))
	}
	out, err := listOf(ctx, s.reader(), cases, everything, conds, a, f.Page, scanCase)
	if err != nil {
		return out, err
	}
	return out, attendeesOf(ctx, s.reader(), out.Items)
}

// changeCase loads a case acc may change in tx, lets fn change it, and
// stores the result: the row, its attendees, the rollup (the old case
// out, the new in) and the audit line.
func (s *Store) changeCase(ctx context.Context, acc assoc.Access, id int64, action string, fn func(tx *sql.Tx, old assoc.Case) (assoc.Case, error)) (assoc.Case, error) {
	var out assoc.Case
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRow(ctx, tx, "assoc_cases", id); err != nil {
			return err
		}
		old, err := reachableCase(ctx, tx, acc, id)
		if err != nil {
			return err
		}
		next, err := fn(tx, old)
		if err != nil {
			return err
		}
		next.UpdatedAt = s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE assoc_cases SET person_id = $1, summary = $2, day = $3, place = $4, topic = $5, attendance = $6, status = $7, outcome = $8,
			opened_at = $9, closed_at = $10, updated_at = $11 WHERE id = $12`,
			nullID(next.PersonID), next.Summary, next.Day, next.Place, next.Topic, next.Attendance, next.Status, next.Outcome,
			next.OpenedAt, closedAt(next.ClosedAt), next.UpdatedAt, id); err != nil {
			return mapError(err)
		}
		if next.Kind == assoc.KindGroup && !slices.Equal(old.Attendees, next.Attendees) {
			if err := putAttendees(ctx, tx, id, next.Attendees); err != nil {
				return err
			}
		}
		if err := rollupChange(ctx, tx, &old, &next); err != nil {
			return err
		}
		if next.PersonID != old.PersonID && next.PersonID != 0 {
			if err := tx.QueryRowContext(ctx, "SELECT name FROM people WHERE id = $1", next.PersonID).Scan(&next.PersonName); err != nil {
				return err
			}
		}
		out = next
		return s.change(ctx, tx, old.CommunityID, action, "case", id, caseSummary(old), caseSummary(next))
	})
	return out, err
}

func closedAt(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

// UpdateCase changes what a case says; its checks are those of a new case.
func (s *Store) UpdateCase(ctx context.Context, acc assoc.Access, id int64, ch assoc.CaseChange) (assoc.Case, error) {
	return s.changeCase(ctx, acc, id, "update", func(tx *sql.Tx, old assoc.Case) (assoc.Case, error) {
		next := old
		next.PersonID, next.Summary, next.Day, next.Place, next.Topic, next.Attendance, next.Attendees =
			ch.PersonID, ch.Summary, ch.Day, ch.Place, ch.Topic, ch.Attendance, ch.Attendees
		next.OpenedAt = old.OpenedAt
		if !ch.OpenedAt.IsZero() {
			next.OpenedAt = ch.OpenedAt
		}
		loc, err := s.location(ctx, tx, old.CommunityID)
		if err != nil {
			return next, err
		}
		if err := next.Validate(s.now(), loc); err != nil {
			return next, err
		}
		return next, checkCasePeople(ctx, tx, old.CommunityID, next)
	})
}

// CloseCase closes an individual service with its outcome.
func (s *Store) CloseCase(ctx context.Context, acc assoc.Access, id int64, outcome string) (assoc.Case, error) {
	return s.changeCase(ctx, acc, id, "close", func(_ *sql.Tx, old assoc.Case) (assoc.Case, error) {
		return old.Close(outcome, s.now())
	})
}

// ReopenCase opens a closed individual service again; the reason and the
// old outcome go into its actions.
func (s *Store) ReopenCase(ctx context.Context, acc assoc.Access, id int64, reason string) (assoc.Case, error) {
	return s.changeCase(ctx, acc, id, "reopen", func(tx *sql.Tx, old assoc.Case) (assoc.Case, error) {
		next, line, err := old.Reopen(reason, s.now())
		if err != nil {
			return next, err
		}
		return next, s.insertCaseAction(ctx, tx, &line)
	})
}

func (s *Store) insertCaseAction(ctx context.Context, tx *sql.Tx, x *assoc.CaseAction) error {
	username := "system"
	if a := auth.ActorFrom(ctx); a != nil {
		username = a.User.Username
	}
	x.UserID, x.Username = actorID(ctx), username
	id, err := insert(ctx, tx, "INSERT INTO case_actions (case_id, at, note, user_id, username) VALUES ($1, $2, $3, $4, $5)", x.CaseID, x.At, x.Note, nullID(x.UserID), x.Username)
	x.ID = id
	return err
}

// AddCaseAction appends a dated line of what was done to a case.
func (s *Store) AddCaseAction(ctx context.Context, acc assoc.Access, id int64, x *assoc.CaseAction) error {
	if err := x.Validate(s.now()); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		c, err := reachableCase(ctx, tx, acc, id)
		if err != nil {
			return err
		}
		x.CaseID = id
		if err := s.insertCaseAction(ctx, tx, x); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE assoc_cases SET updated_at = $1 WHERE id = $2", s.now(), id); err != nil {
			return err
		}
		return s.change(ctx, tx, c.CommunityID, "action", "case", id, nil, map[string]any{"action_id": x.ID, "at": x.At})
	})
}
