package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/transfer"
)

// errDryRun ends a dry run once its report is complete, so that the
// savepoint around the run undoes every write.
var errDryRun = errors.New("sqlstore: dry run")

// savepoint runs fn inside a savepoint of the running transaction. When fn
// fails, whatever it wrote is undone and the transaction carries on: on
// PostgreSQL a failed statement otherwise aborts the whole transaction,
// and on both databases a half-written row (a household without its
// resident) would otherwise stay. name must be a constant identifier.
func (s *Store) savepoint(ctx context.Context, name string, fn func() error) error {
	if s.txn == nil {
		return fmt.Errorf("sqlstore: savepoint %s outside a transaction", name)
	}
	if _, err := s.txn.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("savepoint %s: %w", name, err)
	}
	if err := fn(); err != nil {
		if _, rerr := s.txn.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+name); rerr != nil {
			return errors.Join(err, fmt.Errorf("roll back to savepoint %s: %w", name, rerr))
		}
		// ROLLBACK TO keeps the savepoint; release it so that a long import
		// does not stack thousands of them.
		if _, rerr := s.txn.ExecContext(ctx, "RELEASE SAVEPOINT "+name); rerr != nil {
			return errors.Join(err, fmt.Errorf("release savepoint %s: %w", name, rerr))
		}
		return err
	}
	if _, err := s.txn.ExecContext(ctx, "RELEASE SAVEPOINT "+name); err != nil {
		return fmt.Errorf("release savepoint %s: %w", name, err)
	}
	return nil
}

// Import puts the rows of a file of kind into community communityID. Each
// row goes in whole or not at all: a row with a fault (invalid value,
// unknown building, door or grid, repeated in the file, already on record)
// is reported and skipped, the others are committed together. With dryRun
// nothing is kept, and the report is the one a real run would give, since
// the run is the same and only rolled back at the end. The rows are
// created through the store's create methods, so each gets its own audit
// entry; the import as a whole gets one more, import.<kind>.
func (s *Store) Import(ctx context.Context, scope auth.Scope, communityID int64, kind string, rows []transfer.Row, dryRun bool) (transfer.Report, error) {
	rep := transfer.Report{Kind: kind, DryRun: dryRun, Rows: len(rows), Errors: []transfer.RowError{}}
	if err := transfer.CheckKind(kind); err != nil {
		return rep, err
	}
	if len(rows) > transfer.MaxRows {
		return rep, shequ.Errorf(shequ.EINVALID, "an import takes at most %d rows: split the file", transfer.MaxRows)
	}
	if err := mustReachCommunity(scope, communityID); err != nil {
		return rep, err
	}
	err := s.Atomic(ctx, func(tx *Store) error {
		if _, err := tx.Community(ctx, scope, communityID); err != nil {
			return err
		}
		err := tx.savepoint(ctx, "shequ_import", func() error {
			im := &importer{s: tx, scope: scope, community: communityID}
			if err := im.load(ctx, kind); err != nil {
				return err
			}
			for _, r := range rows {
				faults, err := im.row(ctx, kind, r)
				if err != nil {
					return fmt.Errorf("row %d: %w", r.Line, err)
				}
				if faults != nil {
					rep.Errors = append(rep.Errors, faults.Errors()...)
				} else {
					rep.Imported++
				}
			}
			if dryRun {
				return errDryRun
			}
			return tx.record(ctx, tx.txn, audit.Entry{
				CommunityID: communityID, Action: "import." + kind, Entity: "import",
				After: snapshot(map[string]int{"rows": rep.Rows, "imported": rep.Imported, "rejected": rep.Rows - rep.Imported}),
			})
		})
		if errors.Is(err, errDryRun) {
			return nil
		}
		return err
	})
	if err != nil {
		return transfer.Report{Kind: kind, DryRun: dryRun, Rows: len(rows), Errors: []transfer.RowError{}}, fmt.Errorf("import %s: %w", kind, err)
	}
	return rep, nil
}

// importer resolves the names a file uses and remembers what is on record,
// loaded once so that a row costs its inserts and no look-ups. The maps
// learn each row that goes in, which is how a repeat within the file is
// told from a clash with what was there before.
type importer struct {
	s         *Store
	scope     auth.Scope
	community int64

	buildings map[string]buildingRef // by name
	grids     map[string]int64       // grid id by code
	gridCodes map[int64]string
	homes     map[homeKey]seenAt
	// households holds the first household of each home that has one;
	// people of a file join it rather than start another.
	households map[int64]int64
	idNumbers  map[string]seenAt // by blind index
	serials    map[string]seenAt
}

type buildingRef struct {
	id, grid int64
}

type homeKey struct {
	building int64
	door     string
}

// seenAt is a row on record: its id, and the row of the file it came
// from, 0 when it was there before the import.
type seenAt struct {
	id   int64
	line int
}

// load reads what the rows of kind will be checked against.
func (im *importer) load(ctx context.Context, kind string) error {
	q := im.s.reader()
	im.buildings = map[string]buildingRef{}
	err := eachRow(ctx, q, "SELECT id, name, grid_id FROM buildings WHERE community_id = $1", []any{im.community}, func(sc scanner) error {
		var b buildingRef
		var name string
		if err := sc.Scan(&b.id, &name, &b.grid); err != nil {
			return err
		}
		im.buildings[name] = b
		return nil
	})
	if err != nil {
		return fmt.Errorf("load buildings: %w", err)
	}
	im.grids, im.gridCodes = map[string]int64{}, map[int64]string{}
	err = eachRow(ctx, q, "SELECT id, code FROM grids WHERE community_id = $1", []any{im.community}, func(sc scanner) error {
		var id int64
		var code string
		if err := sc.Scan(&id, &code); err != nil {
			return err
		}
		im.grids[code], im.gridCodes[id] = id, code
		return nil
	})
	if err != nil {
		return fmt.Errorf("load grids: %w", err)
	}
	im.homes = map[homeKey]seenAt{}
	err = eachRow(ctx, q, "SELECT id, building_id, door FROM homes WHERE community_id = $1", []any{im.community}, func(sc scanner) error {
		var h seenAt
		var k homeKey
		if err := sc.Scan(&h.id, &k.building, &k.door); err != nil {
			return err
		}
		im.homes[k] = h
		return nil
	})
	if err != nil {
		return fmt.Errorf("load homes: %w", err)
	}
	switch kind {
	case transfer.KindPeople:
		im.households = map[int64]int64{}
		err = eachRow(ctx, q, "SELECT home_id, MIN(id) FROM households WHERE community_id = $1 GROUP BY home_id", []any{im.community}, func(sc scanner) error {
			var home, hh int64
			if err := sc.Scan(&home, &hh); err != nil {
				return err
			}
			im.households[home] = hh
			return nil
		})
		if err != nil {
			return fmt.Errorf("load households: %w", err)
		}
		im.idNumbers = map[string]seenAt{}
		err = eachRow(ctx, q, "SELECT id, id_number_idx FROM people WHERE community_id = $1 AND id_number_idx <> ''", []any{im.community}, func(sc scanner) error {
			var p seenAt
			var idx string
			if err := sc.Scan(&p.id, &idx); err != nil {
				return err
			}
			im.idNumbers[idx] = p
			return nil
		})
		if err != nil {
			return fmt.Errorf("load id numbers: %w", err)
		}
	case transfer.KindDevices:
		im.serials = map[string]seenAt{}
		err = eachRow(ctx, q, "SELECT id, serial FROM devices WHERE community_id = $1 AND serial <> ''", []any{im.community}, func(sc scanner) error {
			var d seenAt
			var serial string
			if err := sc.Scan(&d.id, &serial); err != nil {
				return err
			}
			im.serials[serial] = d
			return nil
		})
		if err != nil {
			return fmt.Errorf("load serials: %w", err)
		}
	}
	return nil
}

// eachRow runs query and hands each row to fn.
func eachRow(ctx context.Context, q querier, query string, a []any, fn func(scanner) error) error {
	rows, err := q.QueryContext(ctx, query, a...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// row imports one row. It returns the row's faults when it did not go in,
// nil when it did, and an error only when the import as a whole must stop.
func (im *importer) row(ctx context.Context, kind string, r transfer.Row) (*transfer.Faults, error) {
	switch kind {
	case transfer.KindHomes:
		return im.home(ctx, r)
	case transfer.KindPeople:
		return im.person(ctx, r)
	case transfer.KindDevices:
		return im.device(ctx, r)
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

// insert writes one row inside its own savepoint and turns a fault the
// database finds (a clash the look-ups could not foresee, such as a
// concurrent insert) into a fault of the row.
func (im *importer) insert(ctx context.Context, f *transfer.Faults, fn func() error) (*transfer.Faults, error) {
	err := im.s.savepoint(ctx, "shequ_row", fn)
	if err == nil {
		return nil, nil
	}
	if !f.AddError(err) {
		return nil, err
	}
	return f, nil
}

// building finds a building by name, recording a fault when there is none.
func (im *importer) building(f *transfer.Faults, name string) (buildingRef, bool) {
	b, ok := im.buildings[name]
	if !ok {
		f.Add("building", "there is no building %q in this community", name)
	}
	return b, ok
}

func (im *importer) home(ctx context.Context, r transfer.Row) (*transfer.Faults, error) {
	rec, f := transfer.DecodeHome(r)
	h := rec.Home
	var key homeKey
	if rec.Building != "" {
		if b, ok := im.building(f, rec.Building); ok {
			h.BuildingID = b.id
			key = homeKey{building: b.id, door: strings.TrimSpace(h.Door)}
		}
	}
	if err := h.Validate(); err != nil && !f.AddError(err) {
		return nil, err
	}
	if at, dup := im.homes[key]; h.BuildingID != 0 && dup {
		if at.line > 0 {
			f.Add("door", "door %s of building %s appears twice in the file (first at row %d)", h.Door, rec.Building, at.line)
		} else {
			f.Add("door", "building %s already has a door %s", rec.Building, h.Door)
		}
	}
	if !f.Empty() {
		return f, nil
	}
	faults, err := im.insert(ctx, f, func() error { return im.s.CreateHome(ctx, im.scope, &h) })
	if faults == nil && err == nil {
		im.homes[key] = seenAt{id: h.ID, line: r.Line}
	}
	return faults, err
}

func (im *importer) person(ctx context.Context, r transfer.Row) (*transfer.Faults, error) {
	rec, f := transfer.DecodePerson(r)
	p := rec.Person
	p.CommunityID = im.community
	var home int64
	if rec.Building != "" && rec.Door != "" {
		if b, ok := im.building(f, rec.Building); ok {
			at, ok := im.homes[homeKey{building: b.id, door: rec.Door}]
			if !ok {
				f.Add("door", "building %s has no door %s", rec.Building, rec.Door)
			}
			home = at.id
		}
	}
	if err := p.Validate(); err != nil && !f.AddError(err) {
		return nil, err
	}
	idx := ""
	if p.IDNumber != "" && !f.Has("id_number") {
		idx = im.s.cipher.Index(p.IDNumber)
		at, dup := im.idNumbers[idx]
		for _, x := range im.s.cipher.Indexes(p.IDNumber)[1:] { // a row not yet resealed by a key rotation
			if !dup {
				at, dup = im.idNumbers[x]
			}
		}
		if dup {
			if at.line > 0 {
				f.Add("id_number", "the same ID number appears twice in the file (first at row %d)", at.line)
			} else {
				f.Add("id_number", "a resident with this ID number is already registered in this community")
			}
		}
	}
	if !f.Empty() {
		return f, nil
	}
	newHousehold := int64(0)
	faults, err := im.insert(ctx, f, func() error {
		if home != 0 {
			hh, ok := im.households[home]
			if !ok {
				created := community.Household{HomeID: home, Name: p.Name + "户"}
				if err := im.s.CreateHousehold(ctx, im.scope, &created); err != nil {
					return err
				}
				hh, newHousehold = created.ID, created.ID
			}
			p.HouseholdID = hh
		}
		return im.s.CreatePerson(ctx, im.scope, &p)
	})
	if faults == nil && err == nil {
		// Only now: a household made for a row that then failed was
		// rolled back with it.
		if newHousehold != 0 {
			im.households[home] = newHousehold
		}
		if idx != "" {
			im.idNumbers[idx] = seenAt{id: p.ID, line: r.Line}
		}
	}
	return faults, err
}

func (im *importer) device(ctx context.Context, r transfer.Row) (*transfer.Faults, error) {
	rec, f := transfer.DecodeDevice(r)
	d := rec.Device
	d.CommunityID = im.community
	if rec.Grid != "" {
		g, ok := im.grids[rec.Grid]
		if !ok {
			f.Add("grid", "there is no grid %q in this community", rec.Grid)
		}
		d.GridID = g
	}
	if rec.Building != "" {
		if b, ok := im.building(f, rec.Building); ok {
			d.BuildingID = b.id
			// The store takes a device's grid from its building; a file
			// that says otherwise is wrong in one of the two.
			if d.GridID != 0 && d.GridID != b.grid {
				f.Add("grid", "building %s is in grid %s, not %s", rec.Building, im.gridCodes[b.grid], rec.Grid)
			}
			if rec.Door != "" {
				at, ok := im.homes[homeKey{building: b.id, door: rec.Door}]
				if !ok {
					f.Add("door", "building %s has no door %s", rec.Building, rec.Door)
				}
				d.HomeID = at.id
			}
		}
	}
	if err := d.Validate(); err != nil && !f.AddError(err) {
		return nil, err
	}
	if at, dup := im.serials[d.Serial]; d.Serial != "" && dup {
		if at.line > 0 {
			f.Add("serial", "serial number %s appears twice in the file (first at row %d)", d.Serial, at.line)
		} else {
			f.Add("serial", "a device with serial number %s is already registered in this community", d.Serial)
		}
	}
	if !f.Empty() {
		return f, nil
	}
	faults, err := im.insert(ctx, f, func() error { return im.s.CreateDevice(ctx, im.scope, &d) })
	if faults == nil && err == nil && d.Serial != "" {
		im.serials[d.Serial] = seenAt{id: d.ID, line: r.Line}
	}
	return faults, err
}

// exportable checks that scope reaches the community before its rows are
// listed, so that an export of a community out of reach is "not found"
// rather than an empty file.
func (s *Store) exportable(ctx context.Context, scope auth.Scope, communityID int64) error {
	_, err := s.Community(ctx, scope, communityID)
	return err
}

// ExportHomes returns the homes of a community that scope reaches, in the
// order they were made, which for an imported register is the file's.
func (s *Store) ExportHomes(ctx context.Context, scope auth.Scope, communityID int64) ([]transfer.HomeRecord, error) {
	if err := s.exportable(ctx, scope, communityID); err != nil {
		return nil, err
	}
	var a args
	query := "SELECT " + homes.columns + " FROM " + homes.from + " WHERE h.community_id = " + a.add(communityID) +
		" AND " + scopeWhere(scope, homes.scope, &a) + " ORDER BY h.id"
	out := []transfer.HomeRecord{}
	err := eachRow(ctx, s.reader(), query, a, func(sc scanner) error {
		h, err := scanHome(sc)
		if err != nil {
			return err
		}
		out = append(out, transfer.HomeRecord{Building: h.BuildingName, Home: h})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("export homes: %w", err)
	}
	return out, nil
}

// withExtra scans the columns of a table's scanner and then extra ones,
// so that an export can reuse a table's scan and add the names of places.
type withExtra struct {
	r     scanner
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.r.Scan(append(dest, w.extra...)...) }

// ExportPeople returns the residents of a community that scope reaches,
// whole: the caller masks them unless the reader may see them whole.
func (s *Store) ExportPeople(ctx context.Context, scope auth.Scope, communityID int64) ([]transfer.PersonRecord, error) {
	if err := s.exportable(ctx, scope, communityID); err != nil {
		return nil, err
	}
	var a args
	query := "SELECT " + people.columns + ", COALESCE(b.name, ''), COALESCE(h.door, '') FROM " + people.from +
		" WHERE p.community_id = " + a.add(communityID) + " AND " + scopeWhere(scope, people.scope, &a) + " ORDER BY p.id"
	var recs []transfer.PersonRecord
	var ps []community.Person
	err := eachRow(ctx, s.reader(), query, a, func(sc scanner) error {
		var rec transfer.PersonRecord
		p, err := s.scanPerson(withExtra{r: sc, extra: []any{&rec.Building, &rec.Door}})
		if err != nil {
			return err
		}
		recs, ps = append(recs, rec), append(ps, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("export people: %w", err)
	}
	// Contacts in chunks: both databases cap the parameters of a query.
	const chunk = 500
	for i := 0; i < len(ps); i += chunk {
		if err := s.loadContacts(ctx, s.reader(), ps[i:min(i+chunk, len(ps))]); err != nil {
			return nil, fmt.Errorf("export people: %w", err)
		}
	}
	out := make([]transfer.PersonRecord, len(recs))
	for i := range recs {
		out[i] = transfer.PersonRecord{Building: recs[i].Building, Door: recs[i].Door, Person: ps[i]}
	}
	return out, nil
}

// ExportDevices returns the devices of a community that scope reaches.
func (s *Store) ExportDevices(ctx context.Context, scope auth.Scope, communityID int64) ([]transfer.DeviceRecord, error) {
	if err := s.exportable(ctx, scope, communityID); err != nil {
		return nil, err
	}
	var a args
	query := "SELECT " + devices.columns + ", COALESCE(b.name, ''), COALESCE(h.door, ''), COALESCE(g.code, '')" +
		" FROM devices d LEFT JOIN buildings b ON b.id = d.building_id LEFT JOIN homes h ON h.id = d.home_id LEFT JOIN grids g ON g.id = d.grid_id" +
		" WHERE d.community_id = " + a.add(communityID) + " AND " + scopeWhere(scope, devices.scope, &a) + " ORDER BY d.id"
	out := []transfer.DeviceRecord{}
	err := eachRow(ctx, s.reader(), query, a, func(sc scanner) error {
		var rec transfer.DeviceRecord
		d, err := scanDevice(withExtra{r: sc, extra: []any{&rec.Building, &rec.Door, &rec.Grid}})
		if err != nil {
			return err
		}
		rec.Device = d
		out = append(out, rec)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("export devices: %w", err)
	}
	return out, nil
}

// RecordExport writes to the audit log that the actor took a community's
// rows of kind out as a file: a register leaving the system is worth a
// line even when its numbers were masked.
func (s *Store) RecordExport(ctx context.Context, communityID int64, kind string, rows int, revealed bool) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.record(ctx, tx, audit.Entry{
			CommunityID: communityID, Action: "export." + kind, Entity: "export",
			After: snapshot(map[string]any{"rows": rows, "revealed": revealed}),
		})
	})
}
