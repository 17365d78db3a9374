package sqlstore

import (
	"context"
	"database/sql"
	"slices"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
)

var intakes = table{
	what: "intake", id: "i.id", order: "i.id DESC",
	from:    "assoc_intakes i",
	scope:   scopeCols{community: "i.community_id"},
	columns: "i.id, i.community_id, i.association_id, i.person_id, i.household_id, i.description, i.channel, i.status, i.note, i.submitted_by, i.created_at, i.updated_at",
}

func scanIntake(r scanner) (assoc.Intake, error) {
	var in assoc.Intake
	var person, household, by sql.NullInt64
	err := r.Scan(&in.ID, &in.CommunityID, &in.AssociationID, &person, &household, &in.Description, &in.Channel, &in.Status, &in.Note, &by, &in.CreatedAt, &in.UpdatedAt)
	in.PersonID, in.HouseholdID, in.SubmittedBy = person.Int64, household.Int64, by.Int64
	in.CreatedAt, in.UpdatedAt = in.CreatedAt.UTC(), in.UpdatedAt.UTC()
	return in, err
}

// SubmitIntake brings a resident's problem to an association: a resident
// for themselves or their household, a member or administrator for a
// resident of the community who came to them.
func (s *Store) SubmitIntake(ctx context.Context, acc assoc.Access, in *assoc.Intake) error {
	if err := in.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var c int64
		err := tx.QueryRowContext(ctx, "SELECT community_id FROM associations WHERE id = $1", in.AssociationID).Scan(&c)
		if err == sql.ErrNoRows {
			return notFound("association", in.AssociationID)
		} else if err != nil {
			return err
		}
		staff := acc.IsAdmin(c) || acc.MemberIn(c)
		homes := acc.HouseholdsIn(c)
		if !staff && len(homes) == 0 {
			return notFound("association", in.AssociationID)
		}
		var pc int64
		var household sql.NullInt64
		err = tx.QueryRowContext(ctx, "SELECT community_id, household_id FROM people WHERE id = $1", in.PersonID).Scan(&pc, &household)
		if err == sql.ErrNoRows || (err == nil && (pc != c || (!staff && !slices.Contains(homes, household.Int64)))) {
			return shequ.Invalid(map[string]string{"person_id": "is not a resident you may speak for"})
		} else if err != nil {
			return err
		}
		now := s.now()
		in.CommunityID, in.HouseholdID, in.SubmittedBy, in.CreatedAt, in.UpdatedAt = c, household.Int64, actorID(ctx), now, now
		id, err := insert(ctx, tx, `INSERT INTO assoc_intakes (community_id, association_id, person_id, household_id, description, channel, status, submitted_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, c, in.AssociationID, in.PersonID, nullID(in.HouseholdID), in.Description, in.Channel, in.Status, nullID(in.SubmittedBy), now, now)
		if err != nil {
			return err
		}
		in.ID = id
		return s.change(ctx, tx, c, "create", "intake", id, nil, map[string]any{"association_id": in.AssociationID, "person_id": in.PersonID, "channel": in.Channel})
	})
}

// intakeWhere keeps the intakes acc reaches: its communities' for an
// administrator, its association's for a member, its household's for a
// resident, and those the user filed.
func intakeWhere(acc assoc.Access, a *args) string {
	if acc.All() {
		return "TRUE"
	}
	ors := []string{}
	if acc.UserID != 0 {
		ors = append(ors, "i.submitted_by = "+a.add(acc.UserID))
	}
	if len(acc.Admin) > 0 {
		ors = append(ors, "i.community_id IN "+inList(a, acc.Admin))
	}
	ors = appendSeats(ors, a, "i.community_id", "i.association_id", acc.Associations)
	ors = appendSeats(ors, a, "i.community_id", "i.household_id", acc.Households)
	return anyOf(ors)
}

// ListIntakes returns the problems brought to associations that acc
// reaches, newest first.
func (s *Store) ListIntakes(ctx context.Context, acc assoc.Access, f assoc.IntakeFilter) (shequ.List[assoc.Intake], error) {
	var a args
	conds := []string{intakeWhere(acc, &a)}
	if f.CommunityID != 0 {
		conds = append(conds, "i.community_id = "+a.add(f.CommunityID))
	}
	if f.AssociationID != 0 {
		conds = append(conds, "i.association_id = "+a.add(f.AssociationID))
	}
	if f.Status != "" {
		conds = append(conds, "i.status = "+a.add(f.Status))
	}
	return listOf(ctx, s.reader(), intakes, everything, conds, a, f.Page, scanIntake)
}

// MoveIntake changes an intake's status (its association or an
// administrator).
func (s *Store) MoveIntake(ctx context.Context, acc assoc.Access, id int64, status, note string) (assoc.Intake, error) {
	var out assoc.Intake
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// The move is checked against the status read: two at once must
		// not both pass (a closed intake reopened by a move that read it
		// open).
		if err := s.lockRow(ctx, tx, "assoc_intakes", id); err != nil {
			return err
		}
		in, err := scanIntake(tx.QueryRowContext(ctx, "SELECT "+intakes.columns+" FROM assoc_intakes i WHERE i.id = $1", id))
		if err == sql.ErrNoRows || (err == nil && !acc.IsAdmin(in.CommunityID) && !slices.Contains(acc.AssociationsIn(in.CommunityID), in.AssociationID)) {
			return notFound("intake", id)
		} else if err != nil {
			return err
		}
		next, err := in.Move(status, note, s.now())
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE assoc_intakes SET status = $1, note = $2, updated_at = $3 WHERE id = $4", next.Status, next.Note, next.UpdatedAt, id); err != nil {
			return mapError(err)
		}
		out = next
		return s.change(ctx, tx, in.CommunityID, "update", "intake", id, map[string]any{"status": in.Status}, map[string]any{"status": next.Status, "note": next.Note})
	})
	return out, err
}
