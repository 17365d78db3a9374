package transfer

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/community"
)

// Both formats of each fixture give the same rows at the same row numbers,
// and the same records and faults once decoded.
func TestFixturesReadAlikeInBothFormats(t *testing.T) {
	for _, name := range fixtureNames {
		kind := kindOfFixture(name)
		t.Run(name, func(t *testing.T) {
			fromCSV := readFixture(t, name, CSV, kind)
			fromXLSX := readFixture(t, name, XLSX, kind)
			if len(fromCSV) != len(fromXLSX) {
				t.Fatalf("csv has %d rows, xlsx %d", len(fromCSV), len(fromXLSX))
			}
			for i := range fromCSV {
				c, x := decodeAny(kind, fromCSV[i]), decodeAny(kind, fromXLSX[i])
				if !reflect.DeepEqual(c, x) {
					t.Errorf("row %d differs:\ncsv  %+v\nxlsx %+v", fromCSV[i].Line, c, x)
				}
			}
		})
	}
}

// decodeAny decodes r and returns the record and faults as one value.
func decodeAny(kind string, r Row) any {
	switch kind {
	case KindHomes:
		rec, f := DecodeHome(r)
		return []any{rec, f.Errors()}
	case KindPeople:
		rec, f := DecodePerson(r)
		return []any{rec, f.Errors()}
	default:
		rec, f := DecodeDevice(r)
		return []any{rec, f.Errors()}
	}
}

func TestReadRowNumbers(t *testing.T) {
	tests := []struct {
		name   string
		kind   string
		format Format
		lines  []int
	}{
		// The blank line 5 is a row the spreadsheet shows, and is skipped.
		{"homes_bad", KindHomes, CSV, []int{2, 3, 4, 6, 7, 8, 9, 10}},
		{"homes_bad", KindHomes, XLSX, []int{2, 3, 4, 6, 7, 8, 9, 10}},
		// A title row stands above the header.
		{"people_bad", KindPeople, CSV, []int{3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{"people_bad", KindPeople, XLSX, []int{3, 4, 5, 6, 7, 8, 9, 10, 11}},
	}
	for _, tt := range tests {
		t.Run(tt.name+"."+string(tt.format), func(t *testing.T) {
			rows := readFixture(t, tt.name, tt.format, tt.kind)
			var lines []int
			for _, r := range rows {
				lines = append(lines, r.Line)
			}
			if !reflect.DeepEqual(lines, tt.lines) {
				t.Errorf("lines %v, want %v", lines, tt.lines)
			}
		})
	}
}

func TestReadCSVQuirks(t *testing.T) {
	header := "楼栋,单元,楼层,门牌号\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(header + "A栋,1单元,3,1-301\n")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data string
		want []Row
	}{
		{"utf8", header + "A栋,1单元,3,1-301\n", []Row{{Line: 2, Values: map[string]string{"building": "A栋", "entrance": "1单元", "floor": "3", "door": "1-301"}}}},
		{"bom and crlf", "\xef\xbb\xbf" + strings.ReplaceAll(header, "\n", "\r\n") + "A栋,1单元,3,1-301\r\n", []Row{{Line: 2, Values: map[string]string{"building": "A栋", "entrance": "1单元", "floor": "3", "door": "1-301"}}}},
		{"gbk from excel", gbk, []Row{{Line: 2, Values: map[string]string{"building": "A栋", "entrance": "1单元", "floor": "3", "door": "1-301"}}}},
		{"tabs", "building\tentrance\tfloor\tdoor\nA栋\t\t3\t1-301\n", []Row{{Line: 2, Values: map[string]string{"building": "A栋", "entrance": "", "floor": "3", "door": "1-301"}}}},
		{"english headers any case", "Building,Floor,Door Number,Notes\n A栋 , 3 ,1-301,x\n", []Row{{Line: 2, Values: map[string]string{"building": "A栋", "floor": "3", "door": "1-301"}}}},
		{"headers with notes", "楼栋(building),*楼层,门牌号（必填）\nA栋,3,1-301\n", []Row{{Line: 2, Values: map[string]string{"building": "A栋", "floor": "3", "door": "1-301"}}}},
		{"quoted line break counts one row", header + "A栋,\"1\n单元\",3,1-301\n\nB栋,,1,1\n", []Row{
			{Line: 2, Values: map[string]string{"building": "A栋", "entrance": "1\n单元", "floor": "3", "door": "1-301"}},
			{Line: 4, Values: map[string]string{"building": "B栋", "entrance": "", "floor": "1", "door": "1"}},
		}},
		{"only unknown cells filled is blank", "楼栋,楼层,门牌号,备注\n,,,note\nA栋,1,1\n", []Row{{Line: 3, Values: map[string]string{"building": "A栋", "floor": "1", "door": "1"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := Read([]byte(tt.data), CSV, KindHomes)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rows, tt.want) {
				t.Errorf("got %+v\nwant %+v", rows, tt.want)
			}
		})
	}
}

// A list of names has a one-column header; a title with one known word
// in it is not taken for the header.
func TestReadNarrowHeader(t *testing.T) {
	rows, err := Read([]byte("姓名\n张三\n"), CSV, KindPeople)
	if err != nil || len(rows) != 1 || rows[0].Line != 2 || rows[0].Get("name") != "张三" {
		t.Errorf("names only: %+v, %v", rows, err)
	}
	rows, err = Read([]byte("楼栋\n楼栋,楼层,门牌号\nA栋,1,1-101\n"), CSV, KindHomes)
	if err != nil || len(rows) != 1 || rows[0].Line != 3 {
		t.Errorf("title row: %+v, %v", rows, err)
	}
}

func TestReadRefusesFiles(t *testing.T) {
	many := &strings.Builder{}
	many.WriteString("楼栋,楼层,门牌号\n")
	for i := 0; i <= MaxRows; i++ {
		fmt.Fprintf(many, "A栋,1,%d\n", i)
	}
	tests := []struct {
		name   string
		data   []byte
		format Format
		want   string
	}{
		{"no header", []byte("a,b,c\n1,2,3\n"), CSV, "no header row"},
		{"missing required column", []byte("楼栋,门牌号\nA栋,1\n"), CSV, "no column for 楼层 (floor)"},
		{"column twice", []byte("楼栋,楼层,门牌号,building\nA栋,1,1,B栋\n"), CSV, "appears twice (columns A and D)"},
		{"too many rows", []byte(many.String()), CSV, fmt.Sprintf("more than %d rows", MaxRows)},
		{"too large", bytes.Repeat([]byte("x"), MaxBytes+1), CSV, "larger than 10 MiB"},
		{"old xls", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 rest"), CSV, "old .xls"},
		{"not a workbook", []byte("PK\x03\x04 broken"), XLSX, "not a readable XLSX"},
		{"utf-16", []byte("\xff\xfeb\x00"), CSV, "UTF-16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(tt.data, tt.format, KindHomes)
			if shequ.ErrorCode(err) != shequ.EINVALID || !strings.Contains(shequ.ErrorMessage(err), tt.want) {
				t.Errorf("got %v, want EINVALID with %q", err, tt.want)
			}
		})
	}
}

func TestDecodeFaults(t *testing.T) {
	tests := []struct {
		name string
		kind string
		row  map[string]string
		want []RowError
	}{
		{"home fine", KindHomes, map[string]string{"building": "A栋", "floor": "3楼", "door": "1-301"}, []RowError{}},
		{"home basement", KindHomes, map[string]string{"building": "A栋", "floor": "-1", "door": "B1"}, []RowError{}},
		{"home empty", KindHomes, map[string]string{"building": "", "floor": "", "door": ""}, []RowError{
			{7, "building", "is required"}, {7, "floor", "is required"}, {7, "door", "is required"}}},
		{"home floor words", KindHomes, map[string]string{"building": "A栋", "floor": "三", "door": "1"}, []RowError{{7, "floor", "must be a whole number, e.g. 3 or -1"}}},
		{"person door without building", KindPeople, map[string]string{"door": "1-101", "name": "王"}, []RowError{{7, "building", "is required when a door is given"}}},
		{"person bad gender and date", KindPeople, map[string]string{"name": "王", "gender": "x", "birth_date": "21.03.1950"}, []RowError{
			{7, "gender", "must be 男 or 女 (male or female)"}, {7, "birth_date", "must be a date like 1950-03-21"}}},
		{"person masked birth date", KindPeople, map[string]string{"name": "王", "birth_date": "1950-**-**"}, []RowError{
			{7, "birth_date", "is masked (contains *): export with whole numbers shown to import it again"}}},
		{"person id as float", KindPeople, map[string]string{"name": "王", "id_number": "5.00112195003210E+17"}, []RowError{
			{7, "id_number", "was stored as a number and lost its digits: format the column as text and type it again"}}},
		{"person contacts do not pair", KindPeople, map[string]string{"name": "王", "emergency_name": "甲;乙", "emergency_phone": "13900000001"}, []RowError{
			{7, "emergency_phone", "give one phone per emergency contact (2 names, 1 phones)"}}},
		{"person phone without contact", KindPeople, map[string]string{"name": "王", "emergency_phone": "13900000001"}, []RowError{
			{7, "emergency_name", "is required when an emergency phone is given"}}},
		{"device bad kind and status", KindDevices, map[string]string{"kind": "toaster", "name": "x", "status": "broken", "lat": "north"}, []RowError{
			{7, "kind", "must be one of camera (摄像机), wifi_ap (无线AP), speaker (广播音箱), alarm_panel (报警主机), sensor (传感器), door_controller (门禁)"},
			{7, "lat", "must be a number in degrees, e.g. 29.61"},
			{7, "status", "must be one of unknown (未知), online (在线), offline (离线), degraded (异常)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeAny(tt.kind, Row{Line: 7, Values: tt.row}).([]any)[1]
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	for in, want := range map[string]string{
		"1950-03-21": "1950-03-21", "1950-3-21": "1950-03-21", "1950/3/21": "1950-03-21", "1950.03.21": "1950-03-21",
		"1950年3月21日": "1950-03-21", "19500321": "1950-03-21", "18343": "1950-03-21", "59": "1900-02-28", "61": "1900-03-01",
	} {
		got, ok := parseDate(in)
		if !ok || got != want {
			t.Errorf("parseDate(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := parseDate("1950-02-30"); ok {
		t.Error("1950-02-30 accepted")
	}
}

// What Write writes, Read and the decoders give back unchanged, in both
// formats and both languages; text that looks like a formula survives the
// CSV escape.
func TestWriteReadRoundTrip(t *testing.T) {
	homes := []HomeRecord{
		{Building: "A栋", Home: community.Home{Entrance: "1单元", Floor: 1, Door: "1-101"}},
		{Building: "=B栋", Home: community.Home{Entrance: "", Floor: -1, Door: "-1-01"}},
	}
	people := []PersonRecord{
		{Building: "A栋", Door: "1-101", Person: community.Person{Name: "张大山", Gender: "male", Phone: "13800000001", IDNumber: "500112195003210014",
			BirthDate: "1950-03-21", Relation: "户主", Tags: []string{community.TagElderly, community.TagLivingAlone, "党员"},
			Contacts: []community.Contact{{Name: "张小山", Phone: "13900000001", Relation: "子女"}, {Name: "张二山", Phone: "+86 139 0000 0002"}}}},
		{Person: community.Person{Name: "@钱七", Gender: "female", Tags: []string{}, Contacts: []community.Contact{}}},
		{Person: community.Person{Name: "无名", Tags: []string{}, Contacts: []community.Contact{{Name: "甲", Phone: "13900000003"}}}},
	}
	devices := []DeviceRecord{
		{Building: "A栋", Door: "1-101", Device: community.Device{Kind: community.DeviceAlarmPanel, Name: "报警主机 A栋 1-101", Serial: "PNL-00001", Status: community.DeviceOnline}},
		{Grid: "G01", Device: community.Device{Kind: community.DeviceCamera, Name: "摄像机001", Address: "rtsp://cam001.test.invalid/stream1",
			Location: "+小区东门", Lat: 29.612345678, Lng: 106.623456789, Status: community.DeviceOffline}},
	}
	for _, format := range []Format{CSV, XLSX} {
		for _, lang := range []Lang{Chinese, English} {
			t.Run(string(format)+"/"+string(lang), func(t *testing.T) {
				var hr, pr, dr []Row
				for _, h := range homes {
					hr = append(hr, EncodeHome(h, lang))
				}
				for _, p := range people {
					pr = append(pr, EncodePerson(p, lang))
				}
				for _, d := range devices {
					dr = append(dr, EncodeDevice(d, lang))
				}
				for i, got := range roundTrip(t, format, KindHomes, lang, hr) {
					rec, f := DecodeHome(got)
					rec.Line = 0
					if !f.Empty() || !reflect.DeepEqual(rec, homes[i]) {
						t.Errorf("home %d: %+v %v, want %+v", i, rec, f.Errors(), homes[i])
					}
				}
				for i, got := range roundTrip(t, format, KindPeople, lang, pr) {
					rec, f := DecodePerson(got)
					rec.Line = 0
					want := people[i]
					if !f.Empty() || !reflect.DeepEqual(rec, want) {
						t.Errorf("person %d: %+v %v\nwant %+v", i, rec, f.Errors(), want)
					}
				}
				for i, got := range roundTrip(t, format, KindDevices, lang, dr) {
					rec, f := DecodeDevice(got)
					rec.Line = 0
					if !f.Empty() || !reflect.DeepEqual(rec, devices[i]) {
						t.Errorf("device %d: %+v %v\nwant %+v", i, rec, f.Errors(), devices[i])
					}
				}
			})
		}
	}
}

func roundTrip(t *testing.T, format Format, kind string, lang Lang, rows []Row) []Row {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, format, kind, lang, rows); err != nil {
		t.Fatalf("write %s: %v", kind, err)
	}
	if got := Sniff(buf.Bytes()); got != format {
		t.Errorf("written %s sniffed as %s", format, got)
	}
	if format == CSV && strings.Contains(buf.String(), "\r\n=B栋") {
		t.Error("a formula-like cell was written unescaped")
	}
	back, err := Read(buf.Bytes(), format, kind)
	if err != nil {
		t.Fatalf("read %s back: %v", kind, err)
	}
	if len(back) != len(rows) {
		t.Fatalf("%s: wrote %d rows, read %d", kind, len(rows), len(back))
	}
	for i, r := range back {
		if r.Line != i+2 {
			t.Errorf("%s row %d read at line %d", kind, i, r.Line)
		}
	}
	return back
}

func TestHeadersAreUnambiguous(t *testing.T) {
	for _, kind := range Kinds {
		for _, lang := range []Lang{Chinese, English} {
			for i, h := range Headers(kind, lang) {
				if got := columnOf(kind, h); got != layouts[kind][i].Key {
					t.Errorf("%s header %q reads as %q", kind, h, got)
				}
			}
		}
	}
}
