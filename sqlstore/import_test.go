package sqlstore_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/transfer"
)

// importSite is a community laid out as the fixtures in
// ../transfer/testdata expect: grids G01 and G02, building A栋 in G01 and
// B栋 in G02, the home A栋 1-101 with nobody in it, a resident with the
// ID number 500112194508120052 and a loudspeaker with serial SPK-OLD.
type importSite struct {
	community community.Community
}

func makeImportSite(t *testing.T, st *sqlstore.Store, code string) importSite {
	t.Helper()
	ctx := t.Context()
	site := importSite{community: community.Community{Code: code, Name: "导入测试 " + code}}
	mustOK(t, st.CreateCommunity(ctx, everywhere, &site.community))
	c := site.community.ID
	g1 := community.Grid{CommunityID: c, Code: "G01", Name: "第1网格"}
	g2 := community.Grid{CommunityID: c, Code: "G02", Name: "第2网格"}
	mustOK(t, st.CreateGrid(ctx, everywhere, &g1))
	mustOK(t, st.CreateGrid(ctx, everywhere, &g2))
	a := community.Building{CommunityID: c, GridID: g1.ID, Name: "A栋", Floors: 6}
	b := community.Building{CommunityID: c, GridID: g2.ID, Name: "B栋", Floors: 6}
	mustOK(t, st.CreateBuilding(ctx, everywhere, &a))
	mustOK(t, st.CreateBuilding(ctx, everywhere, &b))
	return site
}

// addRecordsOfFixtures adds what the fixtures clash with.
func (s importSite) addRecordsOfFixtures(t *testing.T, st *sqlstore.Store) {
	t.Helper()
	ctx := t.Context()
	c := s.community.ID
	bs, err := st.ListBuildings(ctx, everywhere, community.Filter{CommunityID: c})
	mustOK(t, err)
	home := community.Home{BuildingID: bs.Items[0].ID, Entrance: "1单元", Floor: 1, Door: "1-101"}
	mustOK(t, st.CreateHome(ctx, everywhere, &home))
	old := community.Person{CommunityID: c, Name: "老住户", IDNumber: "500112194508120052"}
	mustOK(t, st.CreatePerson(ctx, everywhere, &old))
	gs, err := st.ListGrids(ctx, everywhere, community.Filter{CommunityID: c})
	mustOK(t, err)
	spk := community.Device{CommunityID: c, Kind: community.DeviceSpeaker, Name: "Spk Old", Serial: "SPK-OLD", GridID: gs.Items[1].ID}
	mustOK(t, st.CreateDevice(ctx, everywhere, &spk))
}

func readTestFile(t *testing.T, name string, format transfer.Format, kind string) []transfer.Row {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "transfer", "testdata", name+"."+string(format)))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := transfer.Read(data, format, kind)
	if err != nil {
		t.Fatalf("read %s.%s: %v", name, format, err)
	}
	return rows
}

// counts is how many rows of each table a community has, to tell that a
// dry run wrote nothing.
type counts struct{ homes, households, people, devices, audit int }

func countAll(t *testing.T, st *sqlstore.Store, c int64) counts {
	t.Helper()
	ctx := t.Context()
	f := community.Filter{CommunityID: c}
	h, err := st.ListHomes(ctx, everywhere, f)
	mustOK(t, err)
	hh, err := st.ListHouseholds(ctx, everywhere, f)
	mustOK(t, err)
	p, err := st.ListPeople(ctx, everywhere, f)
	mustOK(t, err)
	d, err := st.ListDevices(ctx, everywhere, f)
	mustOK(t, err)
	a, err := st.ListAudit(ctx, auth.Scope{{CommunityID: c}}, audit.Filter{})
	mustOK(t, err)
	return counts{h.Total, hh.Total, p.Total, d.Total, a.Total}
}

// The fixtures' bad rows, as the report must give them.
var fixtureFaults = map[string][]transfer.RowError{
	transfer.KindHomes: {
		{Row: 3, Field: "door", Message: "building A栋 already has a door 1-101"},
		{Row: 4, Field: "building", Message: `there is no building "C栋" in this community`},
		{Row: 7, Field: "door", Message: "door 1-201 of building A栋 appears twice in the file (first at row 6)"},
		{Row: 8, Field: "floor", Message: "must be a whole number, e.g. 3 or -1"},
		{Row: 10, Field: "floor", Message: "is required"},
	},
	transfer.KindPeople: {
		{Row: 4, Field: "name", Message: "is required"},
		{Row: 5, Field: "id_number", Message: "is not a valid 18-character resident ID number"},
		{Row: 6, Field: "building", Message: `there is no building "C栋" in this community`},
		{Row: 7, Field: "door", Message: "building A栋 has no door 1-999"},
		{Row: 9, Field: "id_number", Message: "the same ID number appears twice in the file (first at row 3)"},
		{Row: 10, Field: "id_number", Message: "a resident with this ID number is already registered in this community"},
		{Row: 11, Field: "phone", Message: "is masked (contains *): export with whole numbers shown to import it again"},
	},
	transfer.KindDevices: {
		{Row: 3, Field: "serial", Message: "serial number CAM-1 appears twice in the file (first at row 2)"},
		{Row: 4, Field: "kind", Message: "must be one of camera (摄像机), wifi_ap (无线AP), speaker (广播音箱), alarm_panel (报警主机), sensor (传感器), door_controller (门禁)"},
		{Row: 5, Field: "lat", Message: "must be between -90 and 90"},
		{Row: 7, Field: "grid", Message: "building B栋 is in grid G02, not G01"},
		{Row: 8, Field: "serial", Message: "a device with serial number SPK-OLD is already registered in this community"},
		{Row: 9, Field: "grid", Message: `there is no grid "G09" in this community`},
	},
}

// What is on record after a real import of each fixture, by export.
var fixtureKept = map[string][]string{
	transfer.KindHomes:   {"A栋 1-101", "A栋 1-102", "A栋 1-201", "B栋 2-301"},
	transfer.KindPeople:  {"老住户 @", "张大山 @A栋 1-101", "钱七 @"},
	transfer.KindDevices: {"Spk Old", "Cam 1", "Panel"},
}

func keptOf(t *testing.T, st *sqlstore.Store, c int64, kind string) []string {
	t.Helper()
	var out []string
	switch kind {
	case transfer.KindHomes:
		recs, err := st.ExportHomes(t.Context(), everywhere, c)
		mustOK(t, err)
		for _, r := range recs {
			out = append(out, r.Building+" "+r.Home.Door)
		}
	case transfer.KindPeople:
		recs, err := st.ExportPeople(t.Context(), everywhere, c)
		mustOK(t, err)
		for _, r := range recs {
			out = append(out, r.Person.Name+" @"+strings.TrimSpace(r.Building+" "+r.Door))
		}
	case transfer.KindDevices:
		recs, err := st.ExportDevices(t.Context(), everywhere, c)
		mustOK(t, err)
		for _, r := range recs {
			out = append(out, r.Device.Name)
		}
	}
	slices.Sort(out)
	return out
}

func TestImportWithBadRows(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		n := 0
		for _, kind := range transfer.Kinds {
			for _, format := range []transfer.Format{transfer.CSV, transfer.XLSX} {
				t.Run(kind+"."+string(format), func(t *testing.T) {
					n++
					site := makeImportSite(t, st, "import-"+itoa(n))
					site.addRecordsOfFixtures(t, st)
					c := site.community.ID
					rows := readTestFile(t, kind+"_bad", format, kind)
					want := fixtureFaults[kind]
					before := countAll(t, st, c)

					dry, err := st.Import(ctx, everywhere, c, kind, rows, true)
					mustOK(t, err)
					if after := countAll(t, st, c); after != before {
						t.Errorf("dry run wrote: %+v, before %+v", after, before)
					}
					if !reflect.DeepEqual(dry.Errors, want) {
						t.Errorf("dry run faults:\n%v\nwant\n%v", dry.Errors, want)
					}
					good := len(rows) - len(want)
					if !dry.DryRun || dry.Rows != len(rows) || dry.Imported != good {
						t.Errorf("dry run report %+v, want %d rows, %d imported", dry, len(rows), good)
					}

					real, err := st.Import(ctx, everywhere, c, kind, rows, false)
					mustOK(t, err)
					dry.DryRun = false
					if !reflect.DeepEqual(real, dry) {
						t.Errorf("real run report differs from the dry run's:\n%+v\n%+v", real, dry)
					}
					want2 := slices.Clone(fixtureKept[kind])
					slices.Sort(want2)
					if got := keptOf(t, st, c, kind); !reflect.DeepEqual(got, want2) {
						t.Errorf("on record %q, want %q", got, want2)
					}
					summary, err := st.ListAudit(ctx, everywhere, audit.Filter{Action: "import." + kind})
					mustOK(t, err)
					mine := 0
					for _, e := range summary.Items {
						if e.CommunityID == c {
							mine++
						}
					}
					if mine != 1 {
						t.Errorf("%d import.%s audit entries, want 1", mine, kind)
					}
					// Each row that went in was audited by its create, and
					// nothing else was written.
					after := countAll(t, st, c)
					if kind == transfer.KindPeople && after.households != before.households+1 {
						t.Errorf("households %d, want %d: 张大山 needs one made", after.households, before.households+1)
					}
					rowsWritten := (after.homes - before.homes) + (after.households - before.households) + (after.people - before.people) + (after.devices - before.devices)
					if after.audit != before.audit+rowsWritten+1 {
						t.Errorf("audit grew by %d, want %d (one per row written and the summary)", after.audit-before.audit, rowsWritten+1)
					}
				})
			}
		}
	})
}

// A second resident of a home joins the household the first one made,
// and the details of a row all go in.
func TestImportPeopleShareAHousehold(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		site := makeImportSite(t, st, "household")
		c := site.community.ID
		homes, err := transfer.Read([]byte("楼栋,楼层,门牌号\nA栋,2,1-201\n"), transfer.CSV, transfer.KindHomes)
		mustOK(t, err)
		rep, err := st.Import(ctx, everywhere, c, transfer.KindHomes, homes, false)
		mustOK(t, err)
		if rep.Imported != 1 {
			t.Fatalf("homes: %+v", rep)
		}
		file := "楼栋,门牌号,姓名,性别,电话,身份证号,出生日期,与户主关系,标签,紧急联系人,紧急联系人电话,紧急联系人关系\n" +
			"A栋,1-201,王大,男,13800000011,500112197012310067,1970-12-31,户主,失业,王小,13900000011,子女\n" +
			"A栋,1-201,李二,女,13800000012,,1972-01-01,配偶,,,,\n"
		people, err := transfer.Read([]byte(file), transfer.CSV, transfer.KindPeople)
		mustOK(t, err)
		rep, err = st.Import(ctx, everywhere, c, transfer.KindPeople, people, false)
		mustOK(t, err)
		if rep.Imported != 2 || len(rep.Errors) != 0 {
			t.Fatalf("people: %+v", rep)
		}
		hh, err := st.ListHouseholds(ctx, everywhere, community.Filter{CommunityID: c})
		mustOK(t, err)
		if hh.Total != 1 || hh.Items[0].Name != "王大户" {
			t.Fatalf("households %+v, want one named 王大户", hh.Items)
		}
		ps, err := st.ListPeople(ctx, everywhere, community.Filter{CommunityID: c, HouseholdID: hh.Items[0].ID})
		mustOK(t, err)
		if ps.Total != 2 {
			t.Fatalf("%d people in the household, want 2", ps.Total)
		}
		p := ps.Items[0]
		want := community.Contact{Name: "王小", Phone: "13900000011", Relation: "子女"}
		if p.Name != "王大" || p.Gender != "male" || p.IDNumber != "500112197012310067" || p.BirthDate != "1970-12-31" ||
			!slices.Equal(p.Tags, []string{community.TagUnemployed}) || len(p.Contacts) != 1 || p.Contacts[0] != want {
			t.Errorf("imported %+v", p)
		}
	})
}

// Export, write, read and import into a fresh community with the same
// grids and buildings gives the same rows, in both formats.
func TestExportImportRoundTrip(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		src := makeImportSite(t, st, "source")
		for _, kind := range transfer.Kinds {
			rep, err := st.Import(ctx, everywhere, src.community.ID, kind, readTestFile(t, kind+"_bad", transfer.CSV, kind), false)
			mustOK(t, err)
			if rep.Imported == 0 {
				t.Fatalf("nothing of %s went in: %+v", kind, rep)
			}
		}
		for i, format := range []transfer.Format{transfer.CSV, transfer.XLSX} {
			for _, lang := range []transfer.Lang{transfer.Chinese, transfer.English} {
				t.Run(string(format)+"/"+string(lang), func(t *testing.T) {
					dst := makeImportSite(t, st, "copy-"+string(format)+"-"+string(lang)+itoa(i))
					for _, kind := range transfer.Kinds {
						var buf bytes.Buffer
						mustOK(t, transfer.Write(&buf, format, kind, lang, exportRows(t, st, src.community.ID, kind, lang)))
						rows, err := transfer.Read(buf.Bytes(), format, kind)
						mustOK(t, err)
						rep, err := st.Import(ctx, everywhere, dst.community.ID, kind, rows, false)
						mustOK(t, err)
						if len(rep.Errors) != 0 || rep.Imported != len(rows) {
							t.Fatalf("%s: %+v", kind, rep)
						}
						if got, want := exportRows(t, st, dst.community.ID, kind, lang), exportRows(t, st, src.community.ID, kind, lang); !reflect.DeepEqual(got, want) {
							t.Errorf("%s differ after the round trip:\n%v\nwant\n%v", kind, got, want)
						}
					}
				})
			}
		}
	})
}

// exportRows is a community's rows of kind as a file holds them: ids and
// times are not in a file, so they cannot differ.
func exportRows(t *testing.T, st *sqlstore.Store, c int64, kind string, lang transfer.Lang) []transfer.Row {
	t.Helper()
	ctx := t.Context()
	var out []transfer.Row
	switch kind {
	case transfer.KindHomes:
		recs, err := st.ExportHomes(ctx, everywhere, c)
		mustOK(t, err)
		for _, r := range recs {
			out = append(out, transfer.EncodeHome(r, lang))
		}
	case transfer.KindPeople:
		recs, err := st.ExportPeople(ctx, everywhere, c)
		mustOK(t, err)
		for _, r := range recs {
			out = append(out, transfer.EncodePerson(r, lang))
		}
	case transfer.KindDevices:
		recs, err := st.ExportDevices(ctx, everywhere, c)
		mustOK(t, err)
		for _, r := range recs {
			out = append(out, transfer.EncodeDevice(r, lang))
		}
	}
	return out
}

func TestImportRefuses(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		site := makeImportSite(t, st, "refuse")
		c := site.community.ID
		rows := []transfer.Row{{Line: 2, Values: map[string]string{"building": "A栋", "floor": "1", "door": "9"}}}
		tests := []struct {
			name  string
			scope auth.Scope
			c     int64
			kind  string
			rows  []transfer.Row
			code  string
		}{
			{"a grid is not the community", auth.Scope{{CommunityID: c, GridID: 1}}, c, transfer.KindHomes, rows, shequ.EFORBIDDEN},
			{"another community", auth.Scope{{CommunityID: c + 1}}, c, transfer.KindHomes, rows, shequ.EFORBIDDEN},
			{"no such community", everywhere, c + 1000, transfer.KindHomes, rows, shequ.ENOTFOUND},
			{"unknown kind", everywhere, c, "grids", rows, shequ.EINVALID},
			{"too many rows", everywhere, c, transfer.KindHomes, make([]transfer.Row, transfer.MaxRows+1), shequ.EINVALID},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := countAll(t, st, c)
				_, err := st.Import(ctx, tt.scope, tt.c, tt.kind, tt.rows, false)
				if got := shequ.ErrorCode(err); got != tt.code {
					t.Errorf("got %v, want %s", err, tt.code)
				}
				if after := countAll(t, st, c); after != before {
					t.Errorf("a refused import wrote: %+v, before %+v", after, before)
				}
			})
		}
		if _, err := st.ExportPeople(ctx, auth.Scope{{CommunityID: c + 1}}, c); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("export out of scope: %v, want not found", err)
		}
	})
}

// A statement that fails inside a savepoint leaves the transaction
// usable and undoes only the savepoint's writes. Without the savepoint
// PostgreSQL refuses every later statement of the transaction.
func TestSavepointKeepsTheTransaction(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		site := makeImportSite(t, st, "savepoint")
		c := site.community.ID
		errRow := errors.New("row failed")
		err := st.Atomic(ctx, func(tx *sqlstore.Store) error {
			err := tx.Savepoint(ctx, "test_row", func() error {
				g := community.Grid{CommunityID: c, Code: "G03", Name: "kept only if the row is"}
				if err := tx.CreateGrid(ctx, everywhere, &g); err != nil {
					return err
				}
				dup := community.Grid{CommunityID: c, Code: "G01", Name: "clashes"}
				if err := tx.CreateGrid(ctx, everywhere, &dup); shequ.ErrorCode(err) != shequ.ECONFLICT {
					t.Errorf("duplicate grid code: %v, want conflict", err)
				}
				return errRow
			})
			if !errors.Is(err, errRow) {
				t.Errorf("savepoint returned %v, want the row's error", err)
			}
			g := community.Grid{CommunityID: c, Code: "G04", Name: "after the failed row"}
			return tx.CreateGrid(ctx, everywhere, &g)
		})
		mustOK(t, err)
		gs, err := st.ListGrids(ctx, everywhere, community.Filter{CommunityID: c})
		mustOK(t, err)
		var codes []string
		for _, g := range gs.Items {
			codes = append(codes, g.Code)
		}
		if !slices.Equal(codes, []string{"G01", "G02", "G04"}) {
			t.Errorf("grids %v, want G01 G02 G04", codes)
		}
		if err := st.Savepoint(ctx, "outside", func() error { return nil }); err == nil {
			t.Error("a savepoint outside a transaction was accepted")
		}
	})
}

// A large import fits in a reasonable time on both databases.
func TestImportManyRows(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		site := makeImportSite(t, st, "many")
		var rows []transfer.Row
		for i := range 2000 {
			rows = append(rows, transfer.Row{Line: i + 2, Values: map[string]string{"building": "A栋", "floor": itoa(i/20 + 1), "door": "D" + itoa(i)}})
		}
		start := time.Now()
		rep, err := st.Import(t.Context(), everywhere, site.community.ID, transfer.KindHomes, rows, false)
		mustOK(t, err)
		if rep.Imported != len(rows) {
			t.Fatalf("%+v", rep)
		}
		t.Logf("%d homes in %v", len(rows), time.Since(start))
	})
}
