package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

var associations = table{
	what: "association", from: "associations a", id: "a.id", scope: associationCols, order: "a.community_id, a.id",
	columns: "a.id, a.community_id, a.key, a.name, a.name_en, a.chair_user_id",
}

func scanAssociation(r scanner) (community.Association, error) {
	var a community.Association
	var chair sql.NullInt64
	err := r.Scan(&a.ID, &a.CommunityID, &a.Key, &a.Name, &a.NameEn, &chair)
	a.ChairUserID = chair.Int64
	a.Members = []community.Member{}
	return a, err
}

// ListAssociations returns the associations scope reaches, with members.
func (s *Store) ListAssociations(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Association], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "a.community_id = "+a.add(f.CommunityID))
	}
	list, err := listOf(ctx, s.reader(), associations, scope, conds, a, f.Page, scanAssociation)
	if err != nil || len(list.Items) == 0 {
		return list, err
	}
	var qa args
	at := map[int64]int{}
	var marks []string
	for i, as := range list.Items {
		at[as.ID] = i
		marks = append(marks, qa.add(as.ID))
	}
	rows, err := s.reader().QueryContext(ctx, "SELECT association_id, user_id, person_id, name, kind, role FROM association_members WHERE association_id IN ("+strings.Join(marks, ",")+") ORDER BY association_id, id", qa...)
	if err != nil {
		return list, fmt.Errorf("association members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var aid int64
		var m community.Member
		var user, person sql.NullInt64
		if err := rows.Scan(&aid, &user, &person, &m.Name, &m.Kind, &m.Role); err != nil {
			return list, err
		}
		m.UserID, m.PersonID = user.Int64, person.Int64
		list.Items[at[aid]].Members = append(list.Items[at[aid]].Members, m)
	}
	return list, rows.Err()
}

// CreateAssociation adds an association with its members.
func (s *Store) CreateAssociation(ctx context.Context, scope auth.Scope, as *community.Association) error {
	if err := mustReachCommunity(scope, as.CommunityID); err != nil {
		return err
	}
	if strings.TrimSpace(as.Key) == "" || strings.TrimSpace(as.Name) == "" {
		return shequ.Invalid(map[string]string{"name": "key and name are required"})
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if as.ChairUserID != 0 {
			if err := staffIn(ctx, tx, "chair_user_id", as.ChairUserID, as.CommunityID); err != nil {
				return err
			}
		}
		for i, m := range as.Members {
			if err := memberIn(ctx, tx, i, m, as.CommunityID); err != nil {
				return err
			}
		}
		id, err := insert(ctx, tx, `INSERT INTO associations (community_id, key, name, name_en, chair_user_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			as.CommunityID, as.Key, as.Name, as.NameEn, nullID(as.ChairUserID), s.now())
		if err != nil {
			return err
		}
		as.ID = id
		for _, m := range as.Members {
			if _, err := tx.ExecContext(ctx, `INSERT INTO association_members (association_id, user_id, person_id, name, kind, role) VALUES ($1, $2, $3, $4, $5, $6)`,
				id, nullID(m.UserID), nullID(m.PersonID), m.Name, m.Kind, m.Role); err != nil {
				return mapError(err)
			}
		}
		return s.change(ctx, tx, as.CommunityID, "create", "association", id, nil, as)
	})
}

// memberIn makes sure the account and the resident the i-th member of an
// association of community c names are of that community.
func memberIn(ctx context.Context, q querier, i int, m community.Member, c int64) error {
	if m.UserID != 0 {
		if n, err := count(ctx, q, "SELECT COUNT(*) FROM grants WHERE user_id = $1 AND community_id = $2", m.UserID, c); err != nil {
			return err
		} else if n == 0 {
			return shequ.Invalid(map[string]string{fmt.Sprintf("members[%d].user_id", i): fmt.Sprintf("user %d has no role in this community", m.UserID)})
		}
	}
	if m.PersonID != 0 {
		if _, err := residentIn(ctx, q, m.PersonID, c); shequ.ErrorCode(err) == shequ.EINVALID {
			return shequ.Invalid(map[string]string{fmt.Sprintf("members[%d].person_id", i): fmt.Sprintf("resident %d is not one of this community", m.PersonID)})
		} else if err != nil {
			return err
		}
	}
	return nil
}

// CreatePartner adds an outside organisation.
func (s *Store) CreatePartner(ctx context.Context, scope auth.Scope, p *community.Partner) error {
	if err := mustReachCommunity(scope, p.CommunityID); err != nil {
		return err
	}
	if strings.TrimSpace(p.Name) == "" {
		return shequ.Invalid(map[string]string{"name": "is required"})
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		id, err := insert(ctx, tx, `INSERT INTO partners (community_id, name, kind, created_at) VALUES ($1, $2, $3, $4)`, p.CommunityID, p.Name, p.Kind, s.now())
		if err != nil {
			return err
		}
		p.ID = id
		return s.change(ctx, tx, p.CommunityID, "create", "partner", id, nil, p)
	})
}
