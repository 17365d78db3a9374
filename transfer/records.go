package transfer

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ/community"
)

// HomeRecord is a home as a file holds it: its building by name.
type HomeRecord struct {
	Line     int
	Building string
	Home     community.Home
}

// PersonRecord is a resident as a file holds it: the home they live in by
// building name and door, both empty for someone with no home on record.
type PersonRecord struct {
	Line     int
	Building string
	Door     string
	Person   community.Person
}

// DeviceRecord is a device as a file holds it: its place by building name
// and door, or by grid code, all optional.
type DeviceRecord struct {
	Line     int
	Building string
	Door     string
	Grid     string
	Device   community.Device
}

// listSeparators split a cell holding several values. Commas are among
// them because the store keeps tags comma-separated, so a comma can never
// be part of one.
var listSeparators = []string{";", "；", "、", ",", "，"}

// splitList splits a cell into its values. With keepEmpty the positions
// are kept ("张三;;李四" is three values), as the emergency contact columns
// line up by position.
func splitList(cell string, keepEmpty bool) []string {
	if strings.TrimSpace(cell) == "" {
		return nil
	}
	for _, sep := range listSeparators[1:] {
		cell = strings.ReplaceAll(cell, sep, listSeparators[0])
	}
	var out []string
	for _, v := range strings.Split(cell, listSeparators[0]) {
		v = strings.TrimSpace(v)
		if v != "" || keepEmpty {
			out = append(out, v)
		}
	}
	return out
}

// DecodeHome reads a home from a row of a homes file. The building is left
// for the store to find.
func DecodeHome(r Row) (HomeRecord, *Faults) {
	f := NewFaults(KindHomes, r.Line)
	rec := HomeRecord{Line: r.Line, Building: r.Get("building")}
	rec.Home.Entrance = r.Get("entrance")
	rec.Home.Door = r.Get("door")
	if rec.Building == "" {
		f.Add("building", "is required")
	}
	switch floor, ok := parseFloor(r.Get("floor")); {
	case r.Get("floor") == "":
		f.Add("floor", "is required")
	case !ok:
		f.Add("floor", "must be a whole number, e.g. 3 or -1")
	default:
		rec.Home.Floor = floor
	}
	if rec.Home.Door == "" {
		f.Add("door", "is required")
	}
	return rec, f
}

// parseFloor reads "3", "3楼", "3层", "3F" or "3.0" (a number cell).
func parseFloor(s string) (int, bool) {
	s = strings.TrimSpace(s)
	for _, suffix := range []string{"楼", "层", "F", "f"} {
		s = strings.TrimSuffix(s, suffix)
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n, true
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil && v == math.Trunc(v) && math.Abs(v) < 1000 {
		return int(v), true
	}
	return 0, false
}

// DecodePerson reads a resident from a row of a people file.
func DecodePerson(r Row) (PersonRecord, *Faults) {
	f := NewFaults(KindPeople, r.Line)
	rec := PersonRecord{Line: r.Line, Building: r.Get("building"), Door: r.Get("door")}
	switch {
	case rec.Building == "" && rec.Door != "":
		f.Add("building", "is required when a door is given")
	case rec.Building != "" && rec.Door == "":
		f.Add("door", "is required when a building is given")
	}
	p := &rec.Person
	p.Name = r.Get("name")
	if g := r.Get("gender"); g != "" {
		code, ok := codeOf(genderLabels, g)
		if !ok {
			f.Add("gender", "must be 男 or 女 (male or female)")
		}
		p.Gender = code
	}
	p.Phone = r.Get("phone")
	checkWholeNumber(f, "phone", p.Phone)
	p.IDNumber = r.Get("id_number")
	checkWholeNumber(f, "id_number", p.IDNumber)
	if b := r.Get("birth_date"); strings.Contains(b, "*") {
		// An export without whole numbers keeps only the year.
		f.Add("birth_date", "is masked (contains *): export with whole numbers shown to import it again")
	} else if b != "" {
		d, ok := parseDate(b)
		if !ok {
			f.Add("birth_date", "must be a date like 1950-03-21")
		}
		p.BirthDate = d
	}
	p.Relation = r.Get("relation")
	p.Tags = []string{}
	for _, t := range splitList(r.Get("tags"), false) {
		if code, ok := codeOf(tagLabels, t); ok {
			t = code
		}
		p.Tags = append(p.Tags, t)
	}
	p.Contacts = decodeContacts(f, r)
	return rec, f
}

// checkWholeNumber catches the two ways a number cell arrives spoiled:
// masked by an export without reveal, or turned into a float by a
// spreadsheet that took an ID number for a quantity.
func checkWholeNumber(f *Faults, field, v string) {
	switch {
	case strings.Contains(v, "*"):
		f.Add(field, "is masked (contains *): export with whole numbers shown to import it again")
	case strings.Contains(strings.ToUpper(v), "E+"):
		f.Add(field, "was stored as a number and lost its digits: format the column as text and type it again")
	}
}

// decodeContacts pairs the emergency contact columns by position: the
// second name goes with the second phone.
func decodeContacts(f *Faults, r Row) []community.Contact {
	names := splitList(r.Get("emergency_name"), true)
	phones := splitList(r.Get("emergency_phone"), true)
	relations := splitList(r.Get("emergency_relation"), true)
	out := []community.Contact{}
	switch {
	case len(names) == 0 && len(phones) == 0:
		if len(relations) > 0 {
			f.Add("emergency_relation", "is given without an emergency contact")
		}
		return out
	case len(names) == 0:
		f.Add("emergency_name", "is required when an emergency phone is given")
		return out
	case len(phones) != len(names):
		f.Add("emergency_phone", "give one phone per emergency contact (%d names, %d phones)", len(names), len(phones))
		return out
	case len(relations) > len(names):
		f.Add("emergency_relation", "has more relations (%d) than emergency contacts (%d)", len(relations), len(names))
		return out
	}
	for i := range names {
		c := community.Contact{Name: names[i], Phone: phones[i]}
		if i < len(relations) {
			c.Relation = relations[i]
		}
		checkWholeNumber(f, "emergency_phone", c.Phone)
		out = append(out, c)
	}
	return out
}

// dateLayouts are the ways a date is typed in the office.
var dateLayouts = []string{"2006-01-02", "2006-1-2", "2006/1/2", "2006.1.2", "2006年1月2日", "20060102"}

// parseDate reads a date in one of dateLayouts, or a spreadsheet's day
// number (what an XLSX date cell holds), and gives it as YYYY-MM-DD.
func parseDate(s string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format(time.DateOnly), true
		}
	}
	if serial, err := strconv.ParseFloat(s, 64); err == nil && serial >= 1 && serial < 100000 {
		// Day 1 is 1900-01-01 and the format counts a 29 February 1900
		// that never was, so days from 61 on start from 1899-12-30.
		base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
		if serial < 61 {
			base = base.AddDate(0, 0, 1)
		}
		return base.AddDate(0, 0, int(serial)).Format(time.DateOnly), true
	}
	return s, false
}

// DecodeDevice reads a device from a row of a devices file.
func DecodeDevice(r Row) (DeviceRecord, *Faults) {
	f := NewFaults(KindDevices, r.Line)
	rec := DeviceRecord{Line: r.Line, Building: r.Get("building"), Door: r.Get("door"), Grid: r.Get("grid")}
	d := &rec.Device
	switch k := r.Get("kind"); {
	case k == "":
		f.Add("kind", "is required")
	default:
		code, ok := codeOf(kindLabels, k)
		if !ok {
			f.Add("kind", "must be one of %s", codes(kindLabels))
		}
		d.Kind = code
	}
	d.Name = r.Get("name")
	d.Serial = r.Get("serial")
	d.Address = r.Get("address")
	d.Location = r.Get("location")
	d.Lat = parseCoordinate(f, "lat", r.Get("lat"))
	d.Lng = parseCoordinate(f, "lng", r.Get("lng"))
	if st := r.Get("status"); st != "" {
		code, ok := codeOf(statusLabels, st)
		if !ok {
			f.Add("status", "must be one of %s", codes(statusLabels))
		}
		d.Status = code
	}
	if rec.Door != "" && rec.Building == "" {
		f.Add("building", "is required when a door is given")
	}
	return rec, f
}

func parseCoordinate(f *Faults, field, s string) float64 {
	if s == "" {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		f.Add(field, "must be a number in degrees, e.g. 29.61")
		return 0
	}
	return v
}

// EncodeHome is the row of a home; building is its building's name.
func EncodeHome(rec HomeRecord, lang Lang) Row {
	h := rec.Home
	return Row{Values: map[string]string{
		"building": rec.Building, "entrance": h.Entrance, "floor": strconv.Itoa(h.Floor), "door": h.Door,
	}}
}

// EncodePerson is the row of a resident.
func EncodePerson(rec PersonRecord, lang Lang) Row {
	p := rec.Person
	tags := make([]string, len(p.Tags))
	for i, t := range p.Tags {
		tags[i] = textOf(tagLabels, t, lang)
	}
	var names, phones, relations []string
	anyRelation := false
	for _, c := range p.Contacts {
		names, phones, relations = append(names, c.Name), append(phones, c.Phone), append(relations, c.Relation)
		anyRelation = anyRelation || c.Relation != ""
	}
	if !anyRelation {
		relations = nil
	}
	gender := ""
	if p.Gender != "" {
		gender = textOf(genderLabels, p.Gender, lang)
	}
	return Row{Values: map[string]string{
		"building": rec.Building, "door": rec.Door, "name": p.Name, "gender": gender,
		"phone": p.Phone, "id_number": p.IDNumber, "birth_date": p.BirthDate, "relation": p.Relation,
		"tags":           strings.Join(tags, listSeparators[0]),
		"emergency_name": strings.Join(names, listSeparators[0]), "emergency_phone": strings.Join(phones, listSeparators[0]),
		"emergency_relation": strings.Join(relations, listSeparators[0]),
	}}
}

// EncodeDevice is the row of a device.
func EncodeDevice(rec DeviceRecord, lang Lang) Row {
	d := rec.Device
	status := ""
	if d.Status != "" {
		status = textOf(statusLabels, d.Status, lang)
	}
	return Row{Values: map[string]string{
		"kind": textOf(kindLabels, d.Kind, lang), "name": d.Name, "serial": d.Serial, "address": d.Address,
		"location": d.Location, "lat": formatCoordinate(d.Lat), "lng": formatCoordinate(d.Lng), "status": status,
		"building": rec.Building, "door": rec.Door, "grid": rec.Grid,
	}}
}

// formatCoordinate leaves a coordinate that was never set empty rather
// than claiming a place in the Gulf of Guinea.
func formatCoordinate(v float64) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
