package assoc

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// caseNow is 2026-11-28 17:00 in Shanghai.
var caseNow = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

func fieldsOf(err error) map[string]string {
	if e, ok := err.(*shequ.Error); ok {
		return e.Fields
	}
	return nil
}

func TestCaseValidate(t *testing.T) {
	individual := func(mod func(*Case)) Case {
		c := Case{AssociationID: 1, Kind: KindIndividual, PersonID: 7, Summary: "求职登记"}
		mod(&c)
		return c
	}
	group := func(mod func(*Case)) Case {
		c := Case{AssociationID: 1, Kind: KindGroup, Day: "2026-11-20", Place: "活动室", Topic: "招聘会", Summary: "六家企业", Attendance: 30, Attendees: []int64{7, 8}}
		mod(&c)
		return c
	}
	for _, c := range []struct {
		name  string
		c     Case
		field string // "" when valid
	}{
		{"individual", individual(func(*Case) {}), ""},
		{"no association", individual(func(c *Case) { c.AssociationID = 0 }), "association_id"},
		{"no person", individual(func(c *Case) { c.PersonID = 0 }), "person_id"},
		{"blank summary", individual(func(c *Case) { c.Summary = "  " }), "summary"},
		{"long summary", individual(func(c *Case) { c.Summary = strings.Repeat("长", MaxCaseText+1) }), "summary"},
		{"individual with a place", individual(func(c *Case) { c.Place = "活动室" }), "place"},
		{"individual with attendance", individual(func(c *Case) { c.Attendance = 3 }), "attendance"},
		{"opened tomorrow", individual(func(c *Case) { c.OpenedAt = caseNow.Add(25 * time.Hour) }), "opened_at"},
		{"opened two years ago", individual(func(c *Case) { c.OpenedAt = caseNow.AddDate(-2, 0, 0) }), "opened_at"},
		{"group", group(func(*Case) {}), ""},
		{"group with a person", group(func(c *Case) { c.PersonID = 7 }), "person_id"},
		{"group without topic", group(func(c *Case) { c.Topic = "" }), "topic"},
		{"group without place", group(func(c *Case) { c.Place = "" }), "place"},
		{"group without date", group(func(c *Case) { c.Day = "" }), "date"},
		{"group date badly written", group(func(c *Case) { c.Day = "2026/11/20" }), "date"},
		{"group on 30 February", group(func(c *Case) { c.Day = "2026-02-30" }), "date"},
		{"group tomorrow", group(func(c *Case) { c.Day = "2026-11-29" }), "date"},
		{"group two years ago", group(func(c *Case) { c.Day = "2024-11-20" }), "date"},
		{"group of nobody", group(func(c *Case) { c.Attendance, c.Attendees = 0, nil }), "attendance"},
		{"fewer came than named", group(func(c *Case) { c.Attendance = 1 }), "attendance"},
		{"an attendee twice", group(func(c *Case) { c.Attendees = []int64{7, 7} }), "attendees"},
		{"unknown kind", Case{AssociationID: 1, Kind: "visit", Summary: "x"}, "kind"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs := c.c
			err := cs.Validate(caseNow, shanghai)
			switch {
			case c.field == "" && err != nil:
				t.Errorf("valid case rejected: %v", err)
			case c.field != "" && fieldsOf(err)[c.field] == "":
				t.Errorf("got %v, want a message on %s", err, c.field)
			}
		})
	}
}

// A case's day is the community's: opened at 17:00 UTC on 31 December is
// 1 January in Shanghai.
func TestCaseDayIsTheCommunitys(t *testing.T) {
	c := Case{AssociationID: 1, Kind: KindIndividual, PersonID: 7, Summary: "x", OpenedAt: time.Date(2025, 12, 31, 17, 0, 0, 0, time.UTC)}
	if err := c.Validate(caseNow, shanghai); err != nil || c.Day != "2026-01-01" || c.Status != CaseOpen {
		t.Errorf("day %s, status %s: %v", c.Day, c.Status, err)
	}
	g := Case{AssociationID: 1, Kind: KindGroup, Day: "2026-11-28", Place: "p", Topic: "t", Summary: "x", Attendees: []int64{3, 4}}
	if err := g.Validate(caseNow, shanghai); err != nil || g.Attendance != 2 || g.Status != CaseHeld {
		t.Errorf("group held today with two named: %+v %v", g, err)
	}
}

func TestCaseLifecycle(t *testing.T) {
	c := Case{ID: 1, Kind: KindIndividual, Status: CaseOpen}
	if _, err := c.Close(" ", caseNow); fieldsOf(err)["outcome"] == "" {
		t.Errorf("closing without an outcome: %v", err)
	}
	closed, err := c.Close("已上岗", caseNow)
	if err != nil || closed.Status != CaseClosed || closed.ClosedAt == nil || closed.Outcome != "已上岗" {
		t.Fatalf("close: %+v %v", closed, err)
	}
	if _, err := closed.Close("again", caseNow); shequ.ErrorCode(err) != shequ.ECONFLICT {
		t.Errorf("closing twice: %v", err)
	}
	if _, _, err := c.Reopen("why", caseNow); shequ.ErrorCode(err) != shequ.ECONFLICT {
		t.Errorf("reopening an open case: %v", err)
	}
	if _, _, err := closed.Reopen("", caseNow); fieldsOf(err)["reason"] == "" {
		t.Errorf("reopening without a reason: %v", err)
	}
	open, line, err := closed.Reopen("工作未落实", caseNow)
	if err != nil || open.Status != CaseOpen || open.ClosedAt != nil || open.Outcome != "" || !strings.Contains(line.Note, "已上岗") || !strings.Contains(line.Note, "工作未落实") {
		t.Errorf("reopen: %+v %+v %v", open, line, err)
	}
	g := Case{Kind: KindGroup, Status: CaseHeld}
	if _, err := g.Close("x", caseNow); shequ.ErrorCode(err) != shequ.ECONFLICT {
		t.Errorf("closing a group service: %v", err)
	}
}

func TestParsePeriod(t *testing.T) {
	today := time.Date(2026, 11, 28, 17, 0, 0, 0, shanghai)
	for _, c := range []struct {
		from, to string
		want     Period
		field    string
	}{
		{"", "", Period{"2026-01-01", "2026-12-31"}, ""},
		{"2026-03-15", "", Period{"2026-03-15", "2026-12-31"}, ""},
		{"2025-01-01", "2025-06-30", Period{"2025-01-01", "2025-06-30"}, ""},
		{"2026-05-01", "2026-04-01", Period{}, "to"},
		{"2026-13-01", "", Period{}, "from"},
		{"", "yesterday", Period{}, "to"},
		{"2000-01-01", "2026-12-31", Period{}, "to"},
	} {
		got, err := ParsePeriod(c.from, c.to, today)
		switch {
		case c.field == "" && (err != nil || got != c.want):
			t.Errorf("%q–%q: got %v %v, want %v", c.from, c.to, got, err, c.want)
		case c.field != "" && fieldsOf(err)[c.field] == "":
			t.Errorf("%q–%q: got %v, want a message on %s", c.from, c.to, err, c.field)
		}
	}
}

func TestPeriodSplit(t *testing.T) {
	for _, c := range []struct {
		p           Period
		first, last string
		ends        []Period
	}{
		{Period{"2026-01-01", "2026-12-31"}, "2026-01", "2026-12", nil},
		{Period{"2026-03-15", "2026-05-10"}, "2026-04", "2026-04", []Period{{"2026-03-15", "2026-03-31"}, {"2026-05-01", "2026-05-10"}}},
		{Period{"2026-03-01", "2026-05-10"}, "2026-03", "2026-04", []Period{{"2026-05-01", "2026-05-10"}}},
		{Period{"2026-03-02", "2026-03-30"}, "", "", []Period{{"2026-03-02", "2026-03-30"}}},
		{Period{"2026-03-15", "2026-04-10"}, "", "", []Period{{"2026-03-15", "2026-04-10"}}},
		{Period{"2024-02-01", "2024-02-29"}, "2024-02", "2024-02", nil},
	} {
		first, last, ends := c.p.Split()
		if first != c.first || last != c.last || !reflect.DeepEqual(ends, c.ends) {
			t.Errorf("%v: got %s–%s %v, want %s–%s %v", c.p, first, last, ends, c.first, c.last, c.ends)
		}
	}
	if got := (Period{"2025-12-15", "2026-02-01"}).Months(); !reflect.DeepEqual(got, []string{"2025-12", "2026-01", "2026-02"}) {
		t.Errorf("months %v", got)
	}
}

// Tally and DistinctPeople on figures counted by hand: association 1
// served residents 7 and 8 in March and 7 again in April; association 2
// served 7 in April. The community served two people, not three.
func TestTally(t *testing.T) {
	p := Period{"2026-03-01", "2026-04-30"}
	rows := []AssociationStats{{AssociationID: 1, Name: "就业协会"}, {AssociationID: 2, Name: "帮扶协会"}}
	counts := []ServiceCount{{1, "2026-03", KindIndividual, 2}, {1, "2026-04", KindIndividual, 1}, {1, "2026-03", KindGroup, 1}, {2, "2026-04", KindIndividual, 1},
		{3, "2026-04", KindIndividual, 5}, {1, "2026-05", KindIndividual, 9}}
	served := DistinctPeople([]Served{{1, "2026-03", 7}, {1, "2026-03", 8}, {1, "2026-03", 7}, {1, "2026-04", 7}, {2, "2026-04", 7}})
	placed := DistinctPeople([]Served{{1, "2026-04", 8}, {1, "2026-04", 8}})
	s := Tally(p, rows, counts, served, placed)
	want := map[string][4]int{"1": {3, 1, 2, 1}, "2": {1, 0, 1, 0}, "total": {4, 1, 2, 1}}
	got := map[string][4]int{"total": {s.Total.Individual, s.Total.Group, s.Total.PeopleServed, s.Total.Placements}}
	for _, a := range s.Associations {
		got[strconv.FormatInt(a.AssociationID, 10)] = [4]int{a.Individual, a.Group, a.PeopleServed, a.Placements}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if m := s.Total.Months; len(m) != 2 || m[0] != (MonthStats{"2026-03", 2, 1, 2, 0}) || m[1] != (MonthStats{"2026-04", 2, 0, 1, 1}) {
		t.Errorf("total months %+v", m)
	}
	if m := s.Associations[0].Months; m[1] != (MonthStats{"2026-04", 1, 0, 1, 1}) {
		t.Errorf("association 1 in April %+v", m[1])
	}
}

func TestCaseAttend(t *testing.T) {
	group := Case{Kind: KindGroup, Attendance: 2, Attendees: []int64{7}}
	tests := []struct {
		name       string
		c          Case
		person     int64
		present    bool
		attendees  []int64
		attendance int
		err        string
	}{
		{"named", group, 9, true, []int64{7, 9}, 2, ""},
		{"more names than the head count", Case{Kind: KindGroup, Attendance: 1, Attendees: []int64{7}}, 9, true, []int64{7, 9}, 2, ""},
		{"taken off, the count stays", group, 7, false, []int64{}, 2, ""},
		{"named twice", group, 7, true, nil, 0, shequ.EINVALID},
		{"nobody", group, 0, true, nil, 0, shequ.EINVALID},
		{"an individual service", Case{Kind: KindIndividual, PersonID: 3}, 9, true, nil, 0, shequ.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.c.Attendees)
			got, err := tt.c.Attend(tt.person, tt.present)
			if code := shequ.ErrorCode(err); code != tt.err {
				t.Fatalf("error %v, want code %q", err, tt.err)
			}
			if !slices.Equal(tt.c.Attendees, before) {
				t.Errorf("the case it was called on changed: %v", tt.c.Attendees)
			}
			if tt.err == "" && (!slices.Equal(got.Attendees, tt.attendees) || got.Attendance != tt.attendance) {
				t.Errorf("got %v (%d), want %v (%d)", got.Attendees, got.Attendance, tt.attendees, tt.attendance)
			}
		})
	}
}
