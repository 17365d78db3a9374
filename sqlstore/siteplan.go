package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/siteplan"
)

// Outlines are a community's footprints and grid boundaries by id.
type Outlines struct {
	Buildings map[int64]siteplan.Ring
	Grids     map[int64]siteplan.Ring
}

// ImportOutlines attaches outlines read from GeoJSON to the community's
// buildings (by name) and grids (by code), replacing those they had, all
// or nothing: an outline naming no building or grid of the community
// refuses the import, naming the feature (features[i], from 1).
func (s *Store) ImportOutlines(ctx context.Context, scope auth.Scope, community int64, os []siteplan.Outline) error {
	if err := mustReachCommunity(scope, community); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		for i, o := range os {
			var q string
			switch o.Kind {
			case siteplan.KindBuilding:
				q = "SELECT id FROM buildings WHERE community_id = $1 AND name = $2"
			case siteplan.KindGrid:
				q = "SELECT id FROM grids WHERE community_id = $1 AND code = $2"
			default:
				return shequ.Invalid(map[string]string{fmt.Sprintf("features[%d]", i+1): "kind must be building or grid"})
			}
			var id int64
			err := tx.QueryRowContext(ctx, q, community, o.Ref).Scan(&id)
			if err == sql.ErrNoRows {
				return shequ.Invalid(map[string]string{fmt.Sprintf("features[%d]", i+1): fmt.Sprintf("no %s %q in the community", o.Kind, o.Ref)})
			}
			if err != nil {
				return fmt.Errorf("outline %d: %w", i+1, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO site_outlines (community_id, kind, ref_id, ring, updated_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (kind, ref_id) DO UPDATE SET ring = excluded.ring, updated_at = excluded.updated_at`, community, o.Kind, id, o.Ring.Encode(), now); err != nil {
				return fmt.Errorf("outline %d: %w", i+1, err)
			}
		}
		return s.change(ctx, tx, community, "import", "site_outlines", 0, nil, map[string]int{"outlines": len(os)})
	})
}

// SiteOutlines returns the outlines of a community scope reaches.
func (s *Store) SiteOutlines(ctx context.Context, scope auth.Scope, community int64) (Outlines, error) {
	out := Outlines{Buildings: map[int64]siteplan.Ring{}, Grids: map[int64]siteplan.Ring{}}
	if !scope.All() && !slices.Contains(scope.Communities(), community) {
		return out, nil
	}
	rows, err := s.reader().QueryContext(ctx, "SELECT kind, ref_id, ring FROM site_outlines WHERE community_id = $1", community)
	if err != nil {
		return out, fmt.Errorf("site outlines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, ring string
		var id int64
		if err := rows.Scan(&kind, &id, &ring); err != nil {
			return out, fmt.Errorf("site outlines: %w", err)
		}
		r, err := siteplan.DecodeRing(ring)
		if err != nil {
			return out, err
		}
		if kind == siteplan.KindGrid {
			out.Grids[id] = r
		} else {
			out.Buildings[id] = r
		}
	}
	return out, rows.Err()
}

// OnDutyPositions returns where the community's staff on duty last said
// they were, for the site plan.
func (s *Store) OnDutyPositions(ctx context.Context, scope auth.Scope, community int64) ([]alarm.StaffPosition, error) {
	if !scope.All() && !slices.Contains(scope.Communities(), community) {
		return nil, nil
	}
	rows, err := s.reader().QueryContext(ctx, `SELECT sp.user_id, u.display_name, sp.lat, sp.lng, sp.on_duty, sp.reported_at FROM staff_positions sp JOIN users u ON u.id = sp.user_id
		WHERE sp.on_duty = TRUE AND sp.user_id IN (SELECT user_id FROM grants WHERE community_id = $1 AND role <> 'resident') ORDER BY u.display_name`, community)
	if err != nil {
		return nil, fmt.Errorf("staff positions: %w", err)
	}
	defer rows.Close()
	var out []alarm.StaffPosition
	for rows.Next() {
		var p alarm.StaffPosition
		if err := rows.Scan(&p.UserID, &p.Name, &p.Lat, &p.Lng, &p.OnDuty, &p.ReportedAt); err != nil {
			return nil, fmt.Errorf("staff positions: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
