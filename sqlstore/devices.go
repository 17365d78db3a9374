package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

var devices = table{
	what: "device", from: "devices d", id: "d.id", scope: deviceCols, order: "d.community_id, d.kind, d.name",
	columns: "d.id, d.community_id, d.kind, d.name, d.serial, d.address, d.location, d.lat, d.lng, d.grid_id, d.building_id, d.home_id, d.status, d.last_seen_at, d.created_at" +
		", d.status_since, d.last_checked_at, d.last_error, d.health_detail, d.check_kind, d.check_target, d.check_username, d.check_secret_enc, d.check_interval, COALESCE((SELECT db.name FROM buildings db WHERE db.id = d.building_id), '')",
}

func scanDevice(r scanner) (community.Device, error) {
	var d community.Device
	var grid, building, home sql.NullInt64
	var seen, since, checked sql.NullTime
	var ck community.DeviceCheck
	var secret string
	err := r.Scan(&d.ID, &d.CommunityID, &d.Kind, &d.Name, &d.Serial, &d.Address, &d.Location, &d.Lat, &d.Lng, &grid, &building, &home, &d.Status, &seen, &d.CreatedAt,
		&since, &checked, &d.LastError, &d.Detail, &ck.Kind, &ck.Target, &ck.Username, &secret, &ck.IntervalSeconds, &d.BuildingName)
	d.GridID, d.BuildingID, d.HomeID = grid.Int64, building.Int64, home.Int64
	d.LastSeenAt, d.StatusSince, d.LastCheckedAt = timePtr(seen), timePtr(since), timePtr(checked)
	if ck.Kind != "" {
		ck.HasSecret = secret != ""
		d.Check = &ck
	}
	return d, err
}

// ListDevices returns the devices scope reaches.
func (s *Store) ListDevices(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Device], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "d.community_id = "+a.add(f.CommunityID))
	}
	if f.Kind != "" {
		conds = append(conds, "d.kind = "+a.add(f.Kind))
	}
	if f.Status != "" {
		conds = append(conds, "d.status = "+a.add(f.Status))
	}
	if f.GridID != 0 {
		conds = append(conds, "d.grid_id = "+a.add(f.GridID))
	}
	if f.BuildingID != 0 {
		conds = append(conds, "d.building_id = "+a.add(f.BuildingID))
	}
	if f.HomeID != 0 {
		conds = append(conds, "d.home_id = "+a.add(f.HomeID))
	}
	l, err := listOf(ctx, s.reader(), devices, scope, conds, a, f.Page, scanDevice)
	if err != nil {
		return l, err
	}
	return l, s.fillUptime(ctx, l.Items)
}

// Device returns one device.
func (s *Store) Device(ctx context.Context, scope auth.Scope, id int64) (community.Device, error) {
	d, err := oneOf(ctx, s.reader(), devices, scope, id, scanDevice)
	if err != nil {
		return d, err
	}
	one := []community.Device{d}
	err = s.fillUptime(ctx, one)
	return one[0], err
}

// placeDevice fills in the grid and building from the most precise place
// given, and checks they all lie in the device's community.
func placeDevice(ctx context.Context, q querier, d *community.Device) error {
	bad := func(field string, id int64) error {
		return shequ.Invalid(map[string]string{field: fmt.Sprintf("%d is not in community %d", id, d.CommunityID)})
	}
	if d.HomeID != 0 {
		var c, b int64
		if err := q.QueryRowContext(ctx, "SELECT community_id, building_id FROM homes WHERE id = $1", d.HomeID).Scan(&c, &b); err != nil || c != d.CommunityID {
			return bad("home_id", d.HomeID)
		}
		d.BuildingID = b
	}
	if d.BuildingID != 0 {
		var c, g int64
		if err := q.QueryRowContext(ctx, "SELECT community_id, grid_id FROM buildings WHERE id = $1", d.BuildingID).Scan(&c, &g); err != nil || c != d.CommunityID {
			return bad("building_id", d.BuildingID)
		}
		d.GridID = g
	}
	if d.GridID != 0 {
		if err := checkGridOf(ctx, q, d.CommunityID, d.GridID); err != nil {
			return err
		}
	}
	return nil
}

// CreateDevice registers a device.
// Its status starts unknown whatever is given: only a check sets it.
func (s *Store) CreateDevice(ctx context.Context, scope auth.Scope, d *community.Device) error {
	d.Status = community.DeviceUnknown
	if err := d.Validate(); err != nil {
		return err
	}
	if err := mustReachCommunity(scope, d.CommunityID); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return s.createDevice(ctx, tx, d) })
}

func (s *Store) createDevice(ctx context.Context, tx *sql.Tx, d *community.Device) error {
	if err := placeDevice(ctx, tx, d); err != nil {
		return err
	}
	now := s.now()
	d.CreatedAt = now
	id, err := insert(ctx, tx, `INSERT INTO devices (community_id, kind, name, serial, address, location, lat, lng, grid_id, building_id, home_id, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		d.CommunityID, d.Kind, d.Name, d.Serial, d.Address, d.Location, d.Lat, d.Lng, nullID(d.GridID), nullID(d.BuildingID), nullID(d.HomeID), d.Status, now, now)
	if err != nil {
		return err
	}
	d.ID = id
	return s.change(ctx, tx, d.CommunityID, "create", "device", id, nil, d)
}

// UpdateDevice changes a device's registration.
func (s *Store) UpdateDevice(ctx context.Context, scope auth.Scope, d *community.Device) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := oneOf(ctx, tx, devices, scope, d.ID, scanDevice)
		if err != nil {
			return err
		}
		// The health fields are measured, never set through an update.
		d.CommunityID, d.CreatedAt, d.LastSeenAt, d.Status = before.CommunityID, before.CreatedAt, before.LastSeenAt, before.Status
		d.StatusSince, d.LastCheckedAt, d.LastError, d.Detail, d.Check = before.StatusSince, before.LastCheckedAt, before.LastError, before.Detail, before.Check
		if err := d.Validate(); err != nil {
			return err
		}
		if err := mustReachCommunity(scope, d.CommunityID); err != nil {
			return err
		}
		if err := placeDevice(ctx, tx, d); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE devices SET kind = $1, name = $2, serial = $3, address = $4, location = $5, lat = $6, lng = $7, grid_id = $8, building_id = $9, home_id = $10, status = $11, updated_at = $12 WHERE id = $13`,
			d.Kind, d.Name, d.Serial, d.Address, d.Location, d.Lat, d.Lng, nullID(d.GridID), nullID(d.BuildingID), nullID(d.HomeID), d.Status, s.now(), d.ID)
		if err != nil {
			return mapError(err)
		}
		return s.change(ctx, tx, d.CommunityID, "update", "device", d.ID, before, d)
	})
}

// DeleteDevice removes a device from the registry.
func (s *Store) DeleteDevice(ctx context.Context, scope auth.Scope, id int64) error {
	return deleteRow(s, ctx, scope, devices, "device", id, scanDevice, func(d community.Device) int64 { return d.CommunityID })
}

// registerAlarmDevice puts a panel or sensor registered through the alarm
// API into the device registry, at its home, when it was not given an
// existing device: everything the community watches is in one registry.
func (s *Store) registerAlarmDevice(ctx context.Context, tx *sql.Tx, deviceID *int64, communityID, homeID int64, kind, name, serial string) error {
	if *deviceID != 0 {
		return nil
	}
	d := community.Device{CommunityID: communityID, HomeID: homeID, Kind: kind, Name: name, Serial: serial, Status: community.DeviceUnknown}
	if err := d.Validate(); err != nil {
		return err
	}
	if err := s.createDevice(ctx, tx, &d); err != nil {
		return fmt.Errorf("register %s %s as a device: %w", kind, serial, err)
	}
	*deviceID = d.ID
	return nil
}
