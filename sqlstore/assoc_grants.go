package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/audit"
)

var ledgerGrants = table{
	what: "grant", id: "lg.id", order: "lg.id DESC",
	from:  "ledger_grants lg JOIN ledger_types lt ON lt.id = lg.type_id JOIN partners pa ON pa.id = lg.partner_id",
	scope: scopeCols{community: "lg.community_id"},
	columns: "lg.id, lg.community_id, lg.partner_id, pa.name, lt.key, lg.type_id, lg.fields, lg.filter_json, lg.purpose, lg.expires_at, lg.created_by, lg.created_at, " +
		"lg.revoked_at, lg.revoked_by",
}

func (s *Store) scanGrant(r scanner) (assoc.LedgerGrant, error) {
	var g assoc.LedgerGrant
	var fields, filter string
	var created, revokedBy sql.NullInt64
	var revoked sql.NullTime
	if err := r.Scan(&g.ID, &g.CommunityID, &g.PartnerID, &g.PartnerName, &g.Ledger, &g.TypeID, &fields, &filter, &g.Purpose, &g.ExpiresAt, &created, &g.CreatedAt, &revoked, &revokedBy); err != nil {
		return g, err
	}
	g.ExpiresAt, g.CreatedAt, g.CreatedBy, g.RevokedBy, g.RevokedAt = g.ExpiresAt.UTC(), g.CreatedAt.UTC(), created.Int64, revokedBy.Int64, timePtr(revoked)
	g.Consent = true
	if err := json.Unmarshal([]byte(fields), &g.Fields); err != nil {
		return g, fmt.Errorf("grant %d fields: %w", g.ID, err)
	}
	if err := json.Unmarshal([]byte(filter), &g.Filter); err != nil {
		return g, fmt.Errorf("grant %d filter: %w", g.ID, err)
	}
	g.Live = g.LiveAt(s.now())
	return g, nil
}

func (s *Store) grantsWhere(ctx context.Context, q querier, conds []string, a args) ([]assoc.LedgerGrant, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+ledgerGrants.columns+" FROM "+ledgerGrants.from+" WHERE "+strings.Join(conds, " AND ")+" ORDER BY lg.id", a...)
	if err != nil {
		return nil, fmt.Errorf("grants: %w", err)
	}
	defer rows.Close()
	var out []assoc.LedgerGrant
	for rows.Next() {
		g, err := s.scanGrant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// CreateLedgerGrant shares part of a ledger with a partner (administrators):
// which fields, which entries (filter), for what purpose, until when.
func (s *Store) CreateLedgerGrant(ctx context.Context, acc assoc.Access, g *assoc.LedgerGrant, filter map[string]any) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		t, err := s.ledgerType(ctx, tx, acc, g.CommunityID, g.Ledger)
		if err != nil {
			if shequ.ErrorCode(err) == shequ.ENOTFOUND {
				return shequ.Invalid(map[string]string{"ledger_type": fmt.Sprintf("there is no ledger %q", g.Ledger)})
			}
			return err
		}
		if !acc.IsAdmin(t.CommunityID) {
			return shequ.Errorf(shequ.EFORBIDDEN, "only an administrator shares a ledger")
		}
		if err := g.Check(t, filter, s.now()); err != nil {
			return err
		}
		if err := partnerIn(ctx, tx, g.PartnerID, t.CommunityID); err != nil {
			return err
		}
		fields, _ := json.Marshal(g.Fields)
		flt, _ := json.Marshal(g.Filter)
		g.CreatedBy, g.CreatedAt = actorID(ctx), s.now()
		id, err := insert(ctx, tx, `INSERT INTO ledger_grants (community_id, partner_id, type_id, fields, filter_json, purpose, expires_at, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, t.CommunityID, g.PartnerID, t.ID, string(fields), string(flt), g.Purpose, g.ExpiresAt.UTC(), nullID(g.CreatedBy), g.CreatedAt)
		if err != nil {
			return err
		}
		g.ID, g.Live = id, true
		if err := tx.QueryRowContext(ctx, "SELECT name FROM partners WHERE id = $1", g.PartnerID).Scan(&g.PartnerName); err != nil {
			return err
		}
		return s.change(ctx, tx, t.CommunityID, "create", "ledger_grant", id, nil, g)
	})
}

// ListLedgerGrants returns the sharing grants of the communities acc administers,
// newest first.
func (s *Store) ListLedgerGrants(ctx context.Context, acc assoc.Access, f assoc.GrantFilter) (shequ.List[assoc.LedgerGrant], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "lg.community_id = "+a.add(f.CommunityID))
	}
	if f.PartnerID != 0 {
		conds = append(conds, "lg.partner_id = "+a.add(f.PartnerID))
	}
	if f.Ledger != "" {
		conds = append(conds, "lt.key = "+a.add(f.Ledger))
	}
	if f.LiveOnly {
		conds = append(conds, "lg.revoked_at IS NULL", "lg.expires_at > "+a.add(s.now()))
	}
	admin := acc.Admin
	if acc.All() {
		admin = nil
	} else if len(admin) == 0 {
		admin = []int64{}
	}
	return listOf(ctx, s.reader(), ledgerGrants, accessScope(admin), conds, a, f.Page, s.scanGrant)
}

// RevokeLedgerGrant ends a grant at once: the partner's next request finds
// nothing.
func (s *Store) RevokeLedgerGrant(ctx context.Context, acc assoc.Access, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		g, err := s.scanGrant(tx.QueryRowContext(ctx, "SELECT "+ledgerGrants.columns+" FROM "+ledgerGrants.from+" WHERE lg.id = $1", id))
		if err == sql.ErrNoRows || (err == nil && !acc.IsAdmin(g.CommunityID)) {
			return notFound("grant", id)
		} else if err != nil {
			return err
		}
		if g.RevokedAt != nil {
			return shequ.Errorf(shequ.ECONFLICT, "grant %d was revoked already", id)
		}
		now, by := s.now(), actorID(ctx)
		if _, err := tx.ExecContext(ctx, "UPDATE ledger_grants SET revoked_at = $1, revoked_by = $2 WHERE id = $3", now, nullID(by), id); err != nil {
			return mapError(err)
		}
		after := g
		after.RevokedAt, after.RevokedBy, after.Live = &now, by, false
		return s.change(ctx, tx, g.CommunityID, "revoke", "ledger_grant", id, g, after)
	})
}

func (s *Store) followUps(ctx context.Context, q querier, entry int64, partners []int64) ([]assoc.FollowUp, error) {
	var a args
	query := "SELECT id, entry_id, partner_id, association_id, opening_id, kind, note, at, user_id, created_at FROM ledger_followups WHERE entry_id = " + a.add(entry)
	if partners != nil {
		if len(partners) == 0 {
			return []assoc.FollowUp{}, nil
		}
		query += " AND partner_id IN " + inList(&a, partners)
	}
	rows, err := q.QueryContext(ctx, query+" ORDER BY at, id", a...)
	if err != nil {
		return nil, fmt.Errorf("follow-ups: %w", err)
	}
	defer rows.Close()
	out := []assoc.FollowUp{}
	for rows.Next() {
		var f assoc.FollowUp
		var partner, association, opening, user sql.NullInt64
		if err := rows.Scan(&f.ID, &f.EntryID, &partner, &association, &opening, &f.Kind, &f.Note, &f.At, &user, &f.CreatedAt); err != nil {
			return nil, err
		}
		f.PartnerID, f.AssociationID, f.OpeningID, f.UserID = partner.Int64, association.Int64, opening.Int64, user.Int64
		f.At, f.CreatedAt = f.At.UTC(), f.CreatedAt.UTC()
		out = append(out, f)
	}
	return out, rows.Err()
}

// AddFollowUp records a step taken for a resident: by a partner on an
// entry it sees through a live grant, or by the owner association or an
// administrator. A follow-up naming an opening is a match to that job.
func (s *Store) AddFollowUp(ctx context.Context, acc assoc.Access, community int64, key string, id int64, f *assoc.FollowUp) error {
	if err := f.Validate(s.now()); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		v, err := s.view(ctx, tx, acc, community, key)
		if err != nil {
			return err
		}
		e, full, err := s.entry(ctx, tx, v, id)
		if err != nil {
			return err
		}
		switch {
		case full:
			f.AssociationID, f.PartnerID = e.AssociationID, 0
		case v.Partner():
			f.PartnerID, f.AssociationID = v.Grants[0].PartnerID, 0
		default:
			return shequ.Errorf(shequ.EFORBIDDEN, "only the association that owns the entry, or a partner it is shared with, records follow-ups")
		}
		if f.OpeningID != 0 {
			var oc, op int64
			err := tx.QueryRowContext(ctx, "SELECT community_id, partner_id FROM job_openings WHERE id = $1", f.OpeningID).Scan(&oc, &op)
			if err == sql.ErrNoRows || (err == nil && (oc != v.Type.CommunityID || (f.PartnerID != 0 && op != f.PartnerID))) {
				return shequ.Invalid(map[string]string{"opening_id": "is not an opening you may name"})
			} else if err != nil {
				return err
			}
		}
		f.EntryID, f.UserID, f.CreatedAt = e.ID, actorID(ctx), s.now()
		fid, err := insert(ctx, tx, `INSERT INTO ledger_followups (entry_id, partner_id, association_id, opening_id, kind, note, at, user_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, id, nullID(f.PartnerID), nullID(f.AssociationID), nullID(f.OpeningID), f.Kind, f.Note, f.At, nullID(f.UserID), f.CreatedAt)
		if err != nil {
			return err
		}
		f.ID = fid
		if err := s.history(ctx, tx, id, "followup", nil, f); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{CommunityID: v.Type.CommunityID, Action: "ledger_entry.followup", Entity: "ledger_entry", EntityID: id, After: snapshot(f)})
	})
}

// ListFollowUps returns an entry's follow-ups: all of them to the owner
// association and administrators, its own to a partner.
func (s *Store) ListFollowUps(ctx context.Context, acc assoc.Access, community int64, key string, id int64) ([]assoc.FollowUp, error) {
	e, err := s.Entry(ctx, acc, community, key, id)
	if err != nil {
		return nil, err
	}
	if e.FollowUps == nil {
		return nil, shequ.Errorf(shequ.EFORBIDDEN, "the follow-ups are the owner association's")
	}
	return e.FollowUps, nil
}
