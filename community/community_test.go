package community

import (
	"testing"
	"time"

	"github.com/shequ/shequ"
)

func TestValidIDNumber(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"11010519491231002X", true}, // the example in GB 11643
		{"110105194912310021", false},
		{"11010519491231002", false},
		{"1101051949123100AX", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidIDNumber(tt.id); got != tt.want {
			t.Errorf("ValidIDNumber(%q) = %v", tt.id, got)
		}
	}
}

func TestPersonValidate(t *testing.T) {
	tests := []struct {
		name   string
		p      Person
		fields []string
	}{
		{"fine", Person{Name: "王芳", Phone: "199 0000 1111", IDNumber: "11010519491231002x", BirthDate: "1949-12-31"}, nil},
		{"no name", Person{Name: "  "}, []string{"name"}},
		{"bad phone", Person{Name: "x", Phone: "ring me"}, []string{"phone"}},
		{"bad date", Person{Name: "x", BirthDate: "1950-13-01"}, []string{"birth_date"}},
		{"bad gender", Person{Name: "x", Gender: "n/a"}, []string{"gender"}},
		{"bad contact", Person{Name: "x", Contacts: []Contact{{Name: "", Phone: "1"}}}, []string{"emergency_contacts[0].name", "emergency_contacts[0].phone"}},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		var fields map[string]string
		if e, ok := err.(*shequ.Error); ok {
			fields = e.Fields
		}
		if len(fields) != len(tt.fields) {
			t.Errorf("%s: got %v, want fields %v", tt.name, err, tt.fields)
			continue
		}
		for _, f := range tt.fields {
			if _, ok := fields[f]; !ok {
				t.Errorf("%s: no problem reported for %s: %v", tt.name, f, fields)
			}
		}
	}
	p := Person{Name: "x", IDNumber: "11010519491231002x", Tags: []string{"b", "a", "b", " "}}
	if err := p.Validate(); err != nil || p.IDNumber != "11010519491231002X" || len(p.Tags) != 2 || p.Tags[0] != "a" {
		t.Errorf("normalising: %v %+v", err, p)
	}
}

func TestAge(t *testing.T) {
	p := Person{BirthDate: "1950-06-15"}
	now := time.Date(2026, 6, 14, 0, 0, 0, 0, time.UTC)
	if got := p.Age(now); got != 75 {
		t.Errorf("day before the birthday: %d", got)
	}
	if got := p.Age(now.AddDate(0, 0, 1)); got != 76 {
		t.Errorf("on the birthday: %d", got)
	}
	if (&Person{}).Age(now) != -1 {
		t.Error("unknown birth date")
	}
}

// TestMask: a masked person keeps the ends of their numbers and the year
// of their birth date, and nothing of the ID number's middle is left
// anywhere in the copy (the birth date is characters 7 to 14 of it).
func TestMask(t *testing.T) {
	p := Person{Name: "王芳", Phone: "13912345678", IDNumber: "500112195003010019", BirthDate: "1950-03-01",
		Contacts: []Contact{{Name: "王强", Phone: "13987654321"}}}
	m := p.Mask()
	tests := []struct{ field, got, want string }{
		{"phone", m.Phone, "139****5678"},
		{"id_number", m.IDNumber, "5001**********0019"},
		{"birth_date", m.BirthDate, "1950-**-**"},
		{"contact phone", m.Contacts[0].Phone, "139****4321"},
		{"name", m.Name, "王芳"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.field, tt.got, tt.want)
		}
	}
	if !m.Masked || p.Masked || p.BirthDate != "1950-03-01" || p.Contacts[0].Phone != "13987654321" {
		t.Errorf("the original changed or the copy is not marked: %+v", p)
	}
	if (Person{}).Mask().BirthDate != "" {
		t.Error("an unknown birth date became something")
	}
	if m.Age(time.Date(2026, 6, 14, 0, 0, 0, 0, time.UTC)) != -1 {
		t.Error("a masked birth date gives an age: take it before masking")
	}
}

func TestOtherValidation(t *testing.T) {
	tests := []struct {
		name string
		v    interface{ Validate() error }
		ok   bool
	}{
		{"community", &Community{Code: "baosheng-east", Name: "宝圣东路社区"}, true},
		{"community code", &Community{Code: "Bad Code", Name: "x"}, false},
		{"community zone", &Community{Code: "c", Name: "x", Timezone: "Mars/Olympus"}, false},
		{"building", &Building{CommunityID: 1, GridID: 1, Name: "B栋", Lat: 29.7, Lng: 106.6}, true},
		{"building latitude", &Building{CommunityID: 1, GridID: 1, Name: "B栋", Lat: 99}, false},
		{"home", &Home{BuildingID: 1, Floor: 1, Door: "1-101"}, true},
		{"home door", &Home{BuildingID: 1, Floor: 1}, false},
		{"device", &Device{CommunityID: 1, Kind: DeviceCamera, Name: "cam"}, true},
		{"device kind", &Device{CommunityID: 1, Kind: "toaster", Name: "t"}, false},
		{"device status", &Device{CommunityID: 1, Kind: DeviceSpeaker, Name: "s", Status: "loud"}, false},
		{"grid", &Grid{CommunityID: 1, Code: "G1", Name: "第1网格"}, true},
		{"grid polygon", &Grid{CommunityID: 1, Code: "G1", Name: "x", Polygon: "circle"}, false},
	}
	for _, tt := range tests {
		if err := tt.v.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		} else if err != nil && shequ.ErrorCode(err) != shequ.EINVALID {
			t.Errorf("%s: code %s", tt.name, shequ.ErrorCode(err))
		}
	}
}
