package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

// The associations' work: ledgers, sharing grants, follow-ups, openings and
// intakes. Every function takes the caller's assoc.Access and narrows its
// queries to the rules of package assoc; a partner's reads are audited in
// the transaction that reads them.

// Now returns the store's time, for callers (the demo) that set deadlines.
func (s *Store) Now() time.Time { return s.now() }

// accessScope returns the communities an access reaches as a scope.
func accessScope(communities []int64) auth.Scope {
	if communities == nil {
		return everything
	}
	s := auth.Scope{}
	for _, c := range communities {
		s = append(s, auth.Reach{CommunityID: c})
	}
	return s
}

// --- ledger types ---

func associationIn(ctx context.Context, q querier, id, community int64) error {
	n, err := count(ctx, q, "SELECT COUNT(*) FROM associations WHERE id = $1 AND community_id = $2", id, community)
	if err != nil {
		return err
	}
	if n == 0 {
		return shequ.Invalid(map[string]string{"association_id": fmt.Sprintf("association %d is not one of this community", id)})
	}
	return nil
}

// residentIn checks that person lives in community and returns their name.
func residentIn(ctx context.Context, q querier, person, community int64) (string, error) {
	var c int64
	var name string
	err := q.QueryRowContext(ctx, "SELECT community_id, name FROM people WHERE id = $1", person).Scan(&c, &name)
	if err == sql.ErrNoRows || (err == nil && c != community) {
		return "", shequ.Invalid(map[string]string{"person_id": fmt.Sprintf("resident %d is not one of this community", person)})
	}
	return name, err
}

func partnerIn(ctx context.Context, q querier, id, community int64) error {
	n, err := count(ctx, q, "SELECT COUNT(*) FROM partners WHERE id = $1 AND community_id = $2", id, community)
	if err != nil {
		return err
	}
	if n == 0 {
		return shequ.Invalid(map[string]string{"partner_id": fmt.Sprintf("partner %d is not one of this community", id)})
	}
	return nil
}

// --- entries ---

// --- sharing grants ---

// --- follow-ups ---

// --- openings ---

// --- placements ---

// --- intakes ---

// appendSeats adds to ors the condition that col names one of the seats
// (those that name one) within the seat's community (communityCol), when
// there are any. The community is checked too although grants are checked
// when they are made: a seat must never reach across communities.
func appendSeats(ors []string, a *args, communityCol, col string, seats []assoc.Seat) []string {
	byCommunity := map[int64][]int64{}
	var order []int64
	for _, st := range seats {
		if st.ID == 0 || st.CommunityID == 0 {
			continue
		}
		if _, ok := byCommunity[st.CommunityID]; !ok {
			order = append(order, st.CommunityID)
		}
		byCommunity[st.CommunityID] = append(byCommunity[st.CommunityID], st.ID)
	}
	for _, c := range order {
		ors = append(ors, "("+communityCol+" = "+a.add(c)+" AND "+col+" IN "+inList(a, byCommunity[c])+")")
	}
	return ors
}

// associationWhere keeps the rows of the communities acc administers
// (communityCol) and of the associations it works for (associationCol):
// the reach of services, mediations and applications.
func associationWhere(acc assoc.Access, communityCol, associationCol string, a *args) string {
	if acc.All() {
		return "TRUE"
	}
	var ors []string
	if len(acc.Admin) > 0 {
		ors = append(ors, communityCol+" IN "+inList(a, acc.Admin))
	}
	return anyOf(appendSeats(ors, a, communityCol, associationCol, acc.Associations))
}

// anyOf joins conditions with OR; none keeps nothing.
func anyOf(ors []string) string {
	if len(ors) == 0 {
		return "FALSE"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// --- associations and partners ---

// UpdateAssociation renames an association, sets its chair and, when
// members are given, replaces its members.
func (s *Store) UpdateAssociation(ctx context.Context, scope auth.Scope, as *community.Association) error {
	as.Name, as.NameEn = strings.TrimSpace(as.Name), strings.TrimSpace(as.NameEn)
	if as.Name == "" {
		return shequ.Invalid(map[string]string{"name": "is required"})
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		old, err := oneOf(ctx, tx, associations, scope, as.ID, scanAssociation)
		if err != nil {
			return err
		}
		if err := mustReachCommunity(scope, old.CommunityID); err != nil {
			return err
		}
		as.CommunityID, as.Key = old.CommunityID, old.Key
		if as.ChairUserID != 0 {
			if n, err := count(ctx, tx, "SELECT COUNT(*) FROM grants WHERE user_id = $1 AND community_id = $2 AND role <> 'resident'", as.ChairUserID, old.CommunityID); err != nil {
				return err
			} else if n == 0 {
				return shequ.Invalid(map[string]string{"chair_user_id": "is not a cadre of this community"})
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE associations SET name = $1, name_en = $2, chair_user_id = $3 WHERE id = $4", as.Name, as.NameEn, nullID(as.ChairUserID), as.ID); err != nil {
			return mapError(err)
		}
		if as.Members != nil {
			if _, err := tx.ExecContext(ctx, "DELETE FROM association_members WHERE association_id = $1", as.ID); err != nil {
				return err
			}
			for i, m := range as.Members {
				if strings.TrimSpace(m.Name) == "" {
					return shequ.Invalid(map[string]string{fmt.Sprintf("members[%d].name", i): "is required"})
				}
				if m.Role == "" {
					m.Role = "member"
				}
				if err := memberIn(ctx, tx, i, m, old.CommunityID); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO association_members (association_id, user_id, person_id, name, kind, role) VALUES ($1, $2, $3, $4, $5, $6)`,
					as.ID, nullID(m.UserID), nullID(m.PersonID), m.Name, m.Kind, m.Role); err != nil {
					return mapError(err)
				}
			}
		}
		return s.change(ctx, tx, old.CommunityID, "update", "association", as.ID, old, as)
	})
}

var partners = table{
	what: "partner", from: "partners pa", id: "pa.id", order: "pa.community_id, pa.id",
	scope:   scopeCols{community: "pa.community_id"},
	columns: "pa.id, pa.community_id, pa.name, pa.kind",
}

// ListPartners returns the partner organisations of the communities scope
// reaches.
func (s *Store) ListPartners(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Partner], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "pa.community_id = "+a.add(f.CommunityID))
	}
	return listOf(ctx, s.reader(), partners, scope.Widen(), conds, a, f.Page, func(r scanner) (community.Partner, error) {
		var p community.Partner
		err := r.Scan(&p.ID, &p.CommunityID, &p.Name, &p.Kind)
		return p, err
	})
}
