package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
)

var openings = table{
	what: "opening", id: "o.id", order: "o.status DESC, o.id DESC",
	from:  "job_openings o JOIN partners pa ON pa.id = o.partner_id",
	scope: scopeCols{community: "o.community_id"},
	columns: "o.id, o.community_id, o.partner_id, pa.name, o.title, o.description, o.skills, o.location, o.salary, o.positions, o.status, o.closes_at, o.created_by, o.created_at, o.updated_at, " +
		"(SELECT COUNT(*) FROM ledger_followups f WHERE f.opening_id = o.id AND f.kind = 'job_offered'), " +
		"(SELECT COUNT(*) FROM ledger_followups f WHERE f.opening_id = o.id AND f.kind = 'interview'), " +
		"(SELECT COUNT(*) FROM ledger_followups f WHERE f.opening_id = o.id AND f.kind = 'placed')",
}

func scanOpening(r scanner) (assoc.Opening, error) {
	var o assoc.Opening
	var closes sql.NullTime
	var by sql.NullInt64
	err := r.Scan(&o.ID, &o.CommunityID, &o.PartnerID, &o.PartnerName, &o.Title, &o.Description, &o.Skills, &o.Location, &o.Salary, &o.Positions, &o.Status, &closes, &by,
		&o.CreatedAt, &o.UpdatedAt, &o.Offered, &o.Interviews, &o.Placed)
	o.ClosesAt, o.CreatedBy, o.CreatedAt, o.UpdatedAt = timeOrZero(closes), by.Int64, o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	return o, err
}

// openingWhere keeps the openings acc reaches: a community's for its
// administrators and association roles, a partner's own for the partner.
func openingWhere(acc assoc.Access, a *args) string {
	if acc.All() {
		return "TRUE"
	}
	var ors []string
	var whole []int64
	for _, c := range acc.Communities() {
		if acc.IsAdmin(c) || acc.MemberIn(c) {
			whole = append(whole, c)
		}
	}
	if len(whole) > 0 {
		ors = append(ors, "o.community_id IN "+inList(a, whole))
	}
	return anyOf(appendSeats(ors, a, "o.community_id", "o.partner_id", acc.Partners))
}

// ListOpenings returns the job openings acc reaches, open ones first.
func (s *Store) ListOpenings(ctx context.Context, acc assoc.Access, f assoc.OpeningFilter) (shequ.List[assoc.Opening], error) {
	var a args
	conds := []string{openingWhere(acc, &a)}
	if f.CommunityID != 0 {
		conds = append(conds, "o.community_id = "+a.add(f.CommunityID))
	}
	if f.PartnerID != 0 {
		conds = append(conds, "o.partner_id = "+a.add(f.PartnerID))
	}
	if f.Status != "" {
		conds = append(conds, "o.status = "+a.add(f.Status))
	}
	return listOf(ctx, s.reader(), openings, everything, conds, a, f.Page, scanOpening)
}

// Opening returns one opening acc reaches.
func (s *Store) Opening(ctx context.Context, acc assoc.Access, id int64) (assoc.Opening, error) {
	var a args
	query := "SELECT " + openings.columns + " FROM " + openings.from + " WHERE o.id = " + a.add(id) + " AND " + openingWhere(acc, &a)
	o, err := scanOpening(s.reader().QueryRowContext(ctx, query, a...))
	if err == sql.ErrNoRows {
		return o, notFound("opening", id)
	}
	return o, err
}

// mayPost reports whether acc posts openings for partner p of community c.
func mayPost(acc assoc.Access, c, p int64) bool {
	return acc.IsAdmin(c) || slices.Contains(acc.PartnersIn(c), p)
}

// CreateOpening posts a job: a partner its own, an administrator any
// partner's of the community.
func (s *Store) CreateOpening(ctx context.Context, acc assoc.Access, o *assoc.Opening) error {
	if o.PartnerID == 0 && len(acc.Partners) == 1 {
		o.PartnerID = acc.Partners[0].ID
	}
	if err := o.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var c int64
		err := tx.QueryRowContext(ctx, "SELECT community_id FROM partners WHERE id = $1", o.PartnerID).Scan(&c)
		if err == sql.ErrNoRows {
			return shequ.Invalid(map[string]string{"partner_id": fmt.Sprintf("there is no partner %d", o.PartnerID)})
		} else if err != nil {
			return err
		}
		if !mayPost(acc, c, o.PartnerID) {
			return shequ.Errorf(shequ.EFORBIDDEN, "you may not post openings for partner %d", o.PartnerID)
		}
		now := s.now()
		o.CommunityID, o.CreatedBy, o.CreatedAt, o.UpdatedAt = c, actorID(ctx), now, now
		id, err := insert(ctx, tx, `INSERT INTO job_openings (community_id, partner_id, title, description, skills, location, salary, positions, status, closes_at, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			c, o.PartnerID, o.Title, o.Description, o.Skills, o.Location, o.Salary, o.Positions, o.Status, nullTime(o.ClosesAt), nullID(o.CreatedBy), now, now)
		if err != nil {
			return err
		}
		o.ID = id
		if err := tx.QueryRowContext(ctx, "SELECT name FROM partners WHERE id = $1", o.PartnerID).Scan(&o.PartnerName); err != nil {
			return err
		}
		return s.change(ctx, tx, c, "create", "job_opening", id, nil, o)
	})
}

// UpdateOpening changes an opening (its partner or an administrator);
// closing it is setting its status to closed.
func (s *Store) UpdateOpening(ctx context.Context, acc assoc.Access, o *assoc.Opening) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanOpening(tx.QueryRowContext(ctx, "SELECT "+openings.columns+" FROM "+openings.from+" WHERE o.id = $1", o.ID))
		if err == sql.ErrNoRows || (err == nil && !mayPost(acc, old.CommunityID, old.PartnerID)) {
			return notFound("opening", o.ID)
		} else if err != nil {
			return err
		}
		o.PartnerID, o.CommunityID, o.PartnerName, o.CreatedBy, o.CreatedAt = old.PartnerID, old.CommunityID, old.PartnerName, old.CreatedBy, old.CreatedAt
		if err := o.Validate(); err != nil {
			return err
		}
		o.UpdatedAt = s.now()
		o.Offered, o.Interviews, o.Placed = old.Offered, old.Interviews, old.Placed
		if _, err := tx.ExecContext(ctx, `UPDATE job_openings SET title = $1, description = $2, skills = $3, location = $4, salary = $5, positions = $6, status = $7, closes_at = $8, updated_at = $9 WHERE id = $10`,
			o.Title, o.Description, o.Skills, o.Location, o.Salary, o.Positions, o.Status, nullTime(o.ClosesAt), o.UpdatedAt, o.ID); err != nil {
			return mapError(err)
		}
		return s.change(ctx, tx, o.CommunityID, "update", "job_opening", o.ID, old, o)
	})
}

// OpeningCandidates returns the job seekers acc sees whose entries mention
// the opening's title or skills, best first. A partner sees only the
// seekers its grant shares (and the read is audited like any other).
func (s *Store) OpeningCandidates(ctx context.Context, acc assoc.Access, id int64, limit int) ([]assoc.OpeningCandidate, error) {
	o, err := s.Opening(ctx, acc, id)
	if err != nil {
		return nil, err
	}
	seekers, err := s.ListEntries(ctx, acc, assoc.EntryFilter{CommunityID: o.CommunityID, Ledger: assoc.JobSeekers, Status: assoc.EntryActive, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		return nil, err
	}
	out := []assoc.OpeningCandidate{}
	for _, e := range seekers.Items {
		if n := o.Score(e.Values); n > 0 {
			out = append(out, assoc.OpeningCandidate{Entry: e, Score: n})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// PlacementStats counts the residents placed in work in a year of the
// community's own calendar: a resident placed twice counts once. Partners
// count their own placements only.
func (s *Store) PlacementStats(ctx context.Context, acc assoc.Access, community int64, year int) (assoc.PlacementStats, error) {
	out := assoc.PlacementStats{Year: year, ByPartner: []assoc.PartnerCount{}}
	if community == 0 {
		cs := acc.Communities()
		if len(cs) != 1 {
			return out, shequ.Invalid(map[string]string{"community": "say which community"})
		}
		community = cs[0]
	}
	out.CommunityID = community
	var partners []int64
	switch {
	case acc.IsAdmin(community), acc.MemberIn(community):
	case len(acc.PartnersIn(community)) > 0:
		partners = acc.PartnersIn(community)
	default:
		return out, shequ.Errorf(shequ.EFORBIDDEN, "you do not work in community %d", community)
	}
	loc, err := s.location(ctx, s.reader(), community)
	if err != nil {
		return out, err
	}
	if year == 0 {
		year = s.now().In(loc).Year()
		out.Year = year
	}
	from, to := time.Date(year, 1, 1, 0, 0, 0, 0, loc), time.Date(year+1, 1, 1, 0, 0, 0, 0, loc)
	placements, err := placedRows(ctx, s.reader(), community, from, to, partners)
	if err != nil {
		return out, err
	}
	seen := map[int64]bool{}
	byPartner := map[int64]map[int64]bool{}
	names := map[int64]string{}
	var order []int64
	for _, x := range placements {
		out.Placements++
		if !seen[x.personID] {
			seen[x.personID] = true
			out.ResidentsPlaced++
			out.ByMonth[x.at.In(loc).Month()-1]++
		}
		p := x.partnerID
		if byPartner[p] == nil {
			byPartner[p] = map[int64]bool{}
			names[p] = x.partnerName
			order = append(order, p)
		}
		byPartner[p][x.personID] = true
	}
	for _, p := range order {
		out.ByPartner = append(out.ByPartner, assoc.PartnerCount{PartnerID: p, Name: names[p], Residents: len(byPartner[p])})
	}
	sort.SliceStable(out.ByPartner, func(i, j int) bool { return out.ByPartner[i].Residents > out.ByPartner[j].Residents })
	return out, nil
}
