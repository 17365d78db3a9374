package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

var communities = table{
	what: "community", from: "communities c", id: "c.id", scope: communityCols, order: "c.id",
	columns: "c.id, c.code, c.name, c.name_en, c.timezone, c.phone, c.address, c.created_at",
}

func scanCommunity(r scanner) (community.Community, error) {
	var c community.Community
	err := r.Scan(&c.ID, &c.Code, &c.Name, &c.NameEn, &c.Timezone, &c.Phone, &c.Address, &c.CreatedAt)
	return c, err
}

// ListCommunities returns the communities scope reaches.
func (s *Store) ListCommunities(ctx context.Context, scope auth.Scope, page shequ.Page) (shequ.List[community.Community], error) {
	return listOf(ctx, s.reader(), communities, scope, nil, nil, page, scanCommunity)
}

// Community returns one community.
func (s *Store) Community(ctx context.Context, scope auth.Scope, id int64) (community.Community, error) {
	return oneOf(ctx, s.reader(), communities, scope, id, scanCommunity)
}

// CommunityByCode returns the community with code, whatever the scope; it
// serves start-up work such as loading the demo.
func (s *Store) CommunityByCode(ctx context.Context, code string) (community.Community, error) {
	var a args
	v, err := scanCommunity(s.reader().QueryRowContext(ctx, "SELECT "+communities.columns+" FROM communities c WHERE c.code = "+a.add(code), a...))
	if err == sql.ErrNoRows {
		return v, shequ.Errorf(shequ.ENOTFOUND, "community %q not found", code)
	}
	return v, err
}

// CreateCommunity adds a community; only a deployment-wide scope may.
func (s *Store) CreateCommunity(ctx context.Context, scope auth.Scope, c *community.Community) error {
	if !scope.All() {
		return shequ.Errorf(shequ.EFORBIDDEN, "only a deployment administrator may create communities")
	}
	if err := c.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		c.CreatedAt = s.now()
		id, err := insert(ctx, tx, `INSERT INTO communities (code, name, name_en, timezone, phone, address, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.Code, c.Name, c.NameEn, c.Timezone, c.Phone, c.Address, c.CreatedAt)
		if err != nil {
			return err
		}
		c.ID = id
		return s.change(ctx, tx, id, "create", "community", id, nil, c)
	})
}

// UpdateCommunity changes a community's details.
func (s *Store) UpdateCommunity(ctx context.Context, scope auth.Scope, c *community.Community) error {
	if err := mustReachCommunity(scope, c.ID); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := oneOf(ctx, tx, communities, scope, c.ID, scanCommunity)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE communities SET code = $1, name = $2, name_en = $3, timezone = $4, phone = $5, address = $6 WHERE id = $7`,
			c.Code, c.Name, c.NameEn, c.Timezone, c.Phone, c.Address, c.ID); err != nil {
			return mapError(err)
		}
		c.CreatedAt = before.CreatedAt
		return s.change(ctx, tx, c.ID, "update", "community", c.ID, before, c)
	})
}

var grids = table{
	what: "grid", from: "grids g", id: "g.id", scope: gridCols, order: "g.community_id, g.code",
	columns: "g.id, g.community_id, g.code, g.name, g.polygon, g.worker_user_id",
}

func scanGrid(r scanner) (community.Grid, error) {
	var g community.Grid
	var worker sql.NullInt64
	err := r.Scan(&g.ID, &g.CommunityID, &g.Code, &g.Name, &g.Polygon, &worker)
	g.WorkerUserID = worker.Int64
	return g, err
}

// ListGrids returns the grids scope reaches.
func (s *Store) ListGrids(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Grid], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "g.community_id = "+a.add(f.CommunityID))
	}
	return listOf(ctx, s.reader(), grids, scope, conds, a, f.Page, scanGrid)
}

// Grid returns one grid.
func (s *Store) Grid(ctx context.Context, scope auth.Scope, id int64) (community.Grid, error) {
	return oneOf(ctx, s.reader(), grids, scope, id, scanGrid)
}

// CreateGrid adds a grid to a community.
func (s *Store) CreateGrid(ctx context.Context, scope auth.Scope, g *community.Grid) error {
	if err := g.Validate(); err != nil {
		return err
	}
	if err := mustReachCommunity(scope, g.CommunityID); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if g.WorkerUserID != 0 {
			if err := staffIn(ctx, tx, "worker_user_id", g.WorkerUserID, g.CommunityID); err != nil {
				return err
			}
		}
		id, err := insert(ctx, tx, `INSERT INTO grids (community_id, code, name, polygon, worker_user_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			g.CommunityID, g.Code, g.Name, g.Polygon, nullID(g.WorkerUserID), s.now())
		if err != nil {
			return err
		}
		g.ID = id
		return s.change(ctx, tx, g.CommunityID, "create", "grid", id, nil, g)
	})
}

// UpdateGrid changes a grid.
func (s *Store) UpdateGrid(ctx context.Context, scope auth.Scope, g *community.Grid) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := oneOf(ctx, tx, grids, scope, g.ID, scanGrid)
		if err != nil {
			return err
		}
		g.CommunityID = before.CommunityID
		if err := g.Validate(); err != nil {
			return err
		}
		if err := mustReachCommunity(scope, g.CommunityID); err != nil {
			return err
		}
		if g.WorkerUserID != 0 {
			if err := staffIn(ctx, tx, "worker_user_id", g.WorkerUserID, g.CommunityID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE grids SET code = $1, name = $2, polygon = $3, worker_user_id = $4 WHERE id = $5`,
			g.Code, g.Name, g.Polygon, nullID(g.WorkerUserID), g.ID); err != nil {
			return mapError(err)
		}
		return s.change(ctx, tx, g.CommunityID, "update", "grid", g.ID, before, g)
	})
}

// DeleteGrid removes a grid that has no buildings.
func (s *Store) DeleteGrid(ctx context.Context, scope auth.Scope, id int64) error {
	return deleteRow(s, ctx, scope, grids, "grid", id, scanGrid, func(g community.Grid) int64 { return g.CommunityID })
}

var buildings = table{
	what: "building", from: "buildings b", id: "b.id", scope: buildingCols, order: "b.community_id, b.name",
	columns: "b.id, b.community_id, b.grid_id, b.name, b.address, b.lat, b.lng, b.floors, b.head_user_id",
}

func scanBuilding(r scanner) (community.Building, error) {
	var b community.Building
	var head sql.NullInt64
	err := r.Scan(&b.ID, &b.CommunityID, &b.GridID, &b.Name, &b.Address, &b.Lat, &b.Lng, &b.Floors, &head)
	b.HeadUserID = head.Int64
	return b, err
}

// ListBuildings returns the buildings scope reaches.
func (s *Store) ListBuildings(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Building], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "b.community_id = "+a.add(f.CommunityID))
	}
	if f.GridID != 0 {
		conds = append(conds, "b.grid_id = "+a.add(f.GridID))
	}
	return listOf(ctx, s.reader(), buildings, scope, conds, a, f.Page, scanBuilding)
}

// Building returns one building.
func (s *Store) Building(ctx context.Context, scope auth.Scope, id int64) (community.Building, error) {
	return oneOf(ctx, s.reader(), buildings, scope, id, scanBuilding)
}

// checkGridOf makes sure grid g is in community c.
func checkGridOf(ctx context.Context, q querier, c, g int64) error {
	n, err := count(ctx, q, "SELECT COUNT(*) FROM grids WHERE id = $1 AND community_id = $2", g, c)
	if err != nil {
		return err
	}
	if n == 0 {
		return shequ.Invalid(map[string]string{"grid_id": fmt.Sprintf("grid %d is not in community %d", g, c)})
	}
	return nil
}

// CreateBuilding adds a building to a grid.
func (s *Store) CreateBuilding(ctx context.Context, scope auth.Scope, b *community.Building) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if err := mustReachCommunity(scope, b.CommunityID); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkGridOf(ctx, tx, b.CommunityID, b.GridID); err != nil {
			return err
		}
		if b.HeadUserID != 0 {
			if err := staffIn(ctx, tx, "head_user_id", b.HeadUserID, b.CommunityID); err != nil {
				return err
			}
		}
		id, err := insert(ctx, tx, `INSERT INTO buildings (community_id, grid_id, name, address, lat, lng, floors, head_user_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			b.CommunityID, b.GridID, b.Name, b.Address, b.Lat, b.Lng, b.Floors, nullID(b.HeadUserID), s.now())
		if err != nil {
			return err
		}
		b.ID = id
		return s.change(ctx, tx, b.CommunityID, "create", "building", id, nil, b)
	})
}

// UpdateBuilding changes a building.
func (s *Store) UpdateBuilding(ctx context.Context, scope auth.Scope, b *community.Building) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := oneOf(ctx, tx, buildings, scope, b.ID, scanBuilding)
		if err != nil {
			return err
		}
		b.CommunityID = before.CommunityID
		if err := b.Validate(); err != nil {
			return err
		}
		if err := mustReachCommunity(scope, b.CommunityID); err != nil {
			return err
		}
		if err := checkGridOf(ctx, tx, b.CommunityID, b.GridID); err != nil {
			return err
		}
		if b.HeadUserID != 0 {
			if err := staffIn(ctx, tx, "head_user_id", b.HeadUserID, b.CommunityID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE buildings SET grid_id = $1, name = $2, address = $3, lat = $4, lng = $5, floors = $6, head_user_id = $7 WHERE id = $8`,
			b.GridID, b.Name, b.Address, b.Lat, b.Lng, b.Floors, nullID(b.HeadUserID), b.ID); err != nil {
			return mapError(err)
		}
		return s.change(ctx, tx, b.CommunityID, "update", "building", b.ID, before, b)
	})
}

// DeleteBuilding removes a building that has no homes.
func (s *Store) DeleteBuilding(ctx context.Context, scope auth.Scope, id int64) error {
	return deleteRow(s, ctx, scope, buildings, "building", id, scanBuilding, func(b community.Building) int64 { return b.CommunityID })
}

var homes = table{
	what: "home", from: "homes h JOIN buildings b ON b.id = h.building_id", id: "h.id", scope: homeCols,
	order:   "h.community_id, h.building_id, h.floor, h.door",
	columns: "h.id, h.community_id, h.building_id, h.entrance, h.floor, h.door, b.name, b.grid_id",
}

func scanHome(r scanner) (community.Home, error) {
	var h community.Home
	err := r.Scan(&h.ID, &h.CommunityID, &h.BuildingID, &h.Entrance, &h.Floor, &h.Door, &h.BuildingName, &h.GridID)
	return h, err
}

// ListHomes returns the homes scope reaches, by building and floor.
func (s *Store) ListHomes(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Home], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "h.community_id = "+a.add(f.CommunityID))
	}
	if f.BuildingID != 0 {
		conds = append(conds, "h.building_id = "+a.add(f.BuildingID))
	}
	if f.GridID != 0 {
		conds = append(conds, "b.grid_id = "+a.add(f.GridID))
	}
	if f.Floor != nil {
		conds = append(conds, "h.floor = "+a.add(*f.Floor))
	}
	return listOf(ctx, s.reader(), homes, scope, conds, a, f.Page, scanHome)
}

// Home returns one home.
func (s *Store) Home(ctx context.Context, scope auth.Scope, id int64) (community.Home, error) {
	return oneOf(ctx, s.reader(), homes, scope, id, scanHome)
}

// CreateHome adds a home to a building; its community is the building's.
func (s *Store) CreateHome(ctx context.Context, scope auth.Scope, h *community.Home) error {
	if err := h.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.createHome(ctx, tx, scope, h)
	})
}

func (s *Store) createHome(ctx context.Context, tx *sql.Tx, scope auth.Scope, h *community.Home) error {
	b, err := oneOf(ctx, tx, buildings, scope, h.BuildingID, scanBuilding)
	if err != nil {
		return shequ.Invalid(map[string]string{"building_id": fmt.Sprintf("building %d not found", h.BuildingID)})
	}
	if err := mustReachCommunity(scope, b.CommunityID); err != nil {
		return err
	}
	h.CommunityID, h.BuildingName, h.GridID = b.CommunityID, b.Name, b.GridID
	id, err := insert(ctx, tx, `INSERT INTO homes (community_id, building_id, entrance, floor, door, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		h.CommunityID, h.BuildingID, h.Entrance, h.Floor, h.Door, s.now())
	if err != nil {
		return err
	}
	h.ID = id
	return s.change(ctx, tx, h.CommunityID, "create", "home", id, nil, h)
}

// UpdateHome changes a home's entrance, floor and door.
func (s *Store) UpdateHome(ctx context.Context, scope auth.Scope, h *community.Home) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := oneOf(ctx, tx, homes, scope, h.ID, scanHome)
		if err != nil {
			return err
		}
		h.BuildingID, h.CommunityID, h.BuildingName, h.GridID = before.BuildingID, before.CommunityID, before.BuildingName, before.GridID
		if err := h.Validate(); err != nil {
			return err
		}
		if err := mustReachCommunity(scope, h.CommunityID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE homes SET entrance = $1, floor = $2, door = $3 WHERE id = $4`, h.Entrance, h.Floor, h.Door, h.ID); err != nil {
			return mapError(err)
		}
		return s.change(ctx, tx, h.CommunityID, "update", "home", h.ID, before, h)
	})
}

// DeleteHome removes a home nobody lives in.
func (s *Store) DeleteHome(ctx context.Context, scope auth.Scope, id int64) error {
	return deleteRow(s, ctx, scope, homes, "home", id, scanHome, func(h community.Home) int64 { return h.CommunityID })
}

var households = table{
	what: "household", id: "hh.id", scope: householdCols, order: "hh.id",
	from:    "households hh JOIN homes h ON h.id = hh.home_id JOIN buildings b ON b.id = h.building_id",
	columns: "hh.id, hh.community_id, hh.home_id, hh.name",
}

func scanHousehold(r scanner) (community.Household, error) {
	var h community.Household
	err := r.Scan(&h.ID, &h.CommunityID, &h.HomeID, &h.Name)
	return h, err
}

// ListHouseholds returns the households scope reaches.
func (s *Store) ListHouseholds(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Household], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "hh.community_id = "+a.add(f.CommunityID))
	}
	if f.HomeID != 0 {
		conds = append(conds, "hh.home_id = "+a.add(f.HomeID))
	}
	return listOf(ctx, s.reader(), households, scope, conds, a, f.Page, scanHousehold)
}

// Household returns one household.
func (s *Store) Household(ctx context.Context, scope auth.Scope, id int64) (community.Household, error) {
	return oneOf(ctx, s.reader(), households, scope, id, scanHousehold)
}

// CreateHousehold adds a household to a home.
func (s *Store) CreateHousehold(ctx context.Context, scope auth.Scope, h *community.Household) error {
	if err := h.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		home, err := oneOf(ctx, tx, homes, scope, h.HomeID, scanHome)
		if err != nil {
			return shequ.Invalid(map[string]string{"home_id": fmt.Sprintf("home %d not found", h.HomeID)})
		}
		h.CommunityID = home.CommunityID
		id, err := insert(ctx, tx, `INSERT INTO households (community_id, home_id, name, created_at) VALUES ($1, $2, $3, $4)`,
			h.CommunityID, h.HomeID, h.Name, s.now())
		if err != nil {
			return err
		}
		h.ID = id
		return s.change(ctx, tx, h.CommunityID, "create", "household", id, nil, h)
	})
}

// deleteRow removes one row of t that scope wholly reaches in its
// community, with its audit entry. Rows still referred to answer
// ECONFLICT: a grid with buildings, a building with homes, a lived-in home.
func deleteRow[T any](s *Store, ctx context.Context, scope auth.Scope, t table, entity string, id int64, scan func(scanner) (T, error), communityOf func(T) int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := oneOf(ctx, tx, t, scope, id, scan)
		if err != nil {
			return err
		}
		c := communityOf(before)
		if err := mustReachCommunity(scope, c); err != nil {
			return err
		}
		// t.from starts with the table and its alias: "homes h JOIN …".
		name := strings.Fields(t.from)[0]
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+name+" WHERE id = $1", id); err != nil {
			return mapError(err)
		}
		return s.change(ctx, tx, c, "delete", entity, id, before, nil)
	})
}

// location returns community c's time zone: the calendar its days,
// schedules and messages are read in.
func (s *Store) location(ctx context.Context, q querier, c int64) (*time.Location, error) {
	var tz string
	if err := q.QueryRowContext(ctx, "SELECT timezone FROM communities WHERE id = $1", c).Scan(&tz); err == sql.ErrNoRows {
		return nil, notFound("community", c)
	} else if err != nil {
		return nil, err
	}
	return zone(tz), nil
}

// zone is the named time zone, UTC when the name is not known on this
// machine: a wrong zone shifts local times, it does not stop the work.
func zone(tz string) *time.Location {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC
	}
	return loc
}
