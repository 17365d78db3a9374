package assoc

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
)

func ptr(x float64) *float64 { return &x }

func jobSeekers() LedgerType {
	return LedgerType{ID: 7, CommunityID: 1, Key: JobSeekers, Name: "求职登记", AssociationID: 10, Fields: []Field{
		{Key: "skills", Label: "技能", Type: FieldText},
		{Key: "desired_work", Label: "意向工作", Type: FieldText, Required: true, Max: ptr(50)},
		{Key: "status", Label: "状态", Type: FieldChoice, Required: true, Choices: []string{"seeking", "placed"}},
		{Key: "expected_salary", Label: "期望月薪", Type: FieldNumber, Min: ptr(0), Max: ptr(100000)},
		{Key: "registered_on", Label: "登记日期", Type: FieldDate},
		{Key: "has_certificate", Label: "有证书", Type: FieldBool},
		{Key: "health", Label: "健康", Type: FieldText, Sensitive: true},
	}}
}

func fieldErrors(t *testing.T, err error) map[string]string {
	t.Helper()
	e, ok := err.(*shequ.Error)
	if !ok || e.Code != shequ.EINVALID {
		t.Fatalf("want an invalid error, got %v", err)
	}
	return e.Fields
}

func TestCheckValues(t *testing.T) {
	lt := jobSeekers()
	for _, c := range []struct {
		name   string
		values map[string]any
		want   map[string]any    // normalised, when valid
		errs   map[string]string // field → part of the message
	}{
		{name: "complete", values: map[string]any{"desired_work": " 保洁 ", "status": "seeking", "expected_salary": "3500", "registered_on": "2026-03-01", "has_certificate": "yes"},
			want: map[string]any{"desired_work": "保洁", "status": "seeking", "expected_salary": 3500.0, "registered_on": "2026-03-01", "has_certificate": true}},
		{name: "blank optional is dropped", values: map[string]any{"desired_work": "保安", "status": "placed", "skills": "  ", "registered_on": nil},
			want: map[string]any{"desired_work": "保安", "status": "placed"}},
		{name: "required missing", values: map[string]any{"status": "seeking"}, errs: map[string]string{"values.desired_work": "is required"}},
		{name: "required blank", values: map[string]any{"desired_work": " ", "status": "seeking"}, errs: map[string]string{"values.desired_work": "is required"}},
		{name: "bad choice", values: map[string]any{"desired_work": "x", "status": "retired"}, errs: map[string]string{"values.status": "must be one of seeking, placed"}},
		{name: "not a number", values: map[string]any{"desired_work": "x", "status": "seeking", "expected_salary": "lots"}, errs: map[string]string{"values.expected_salary": "must be a number"}},
		{name: "below min", values: map[string]any{"desired_work": "x", "status": "seeking", "expected_salary": -1.0}, errs: map[string]string{"values.expected_salary": "at least 0"}},
		{name: "above max", values: map[string]any{"desired_work": "x", "status": "seeking", "expected_salary": 1e6}, errs: map[string]string{"values.expected_salary": "at most 100000"}},
		{name: "too long", values: map[string]any{"desired_work": strings.Repeat("工", 51), "status": "seeking"}, errs: map[string]string{"values.desired_work": "at most 50 characters"}},
		{name: "bad date", values: map[string]any{"desired_work": "x", "status": "seeking", "registered_on": "2026-02-30"}, errs: map[string]string{"values.registered_on": "not a real date"}},
		{name: "date format", values: map[string]any{"desired_work": "x", "status": "seeking", "registered_on": "1/3/2026"}, errs: map[string]string{"values.registered_on": "like 2026-03-21"}},
		{name: "bad bool", values: map[string]any{"desired_work": "x", "status": "seeking", "has_certificate": "maybe"}, errs: map[string]string{"values.has_certificate": "yes or no"}},
		{name: "unknown field", values: map[string]any{"desired_work": "x", "status": "seeking", "shoe_size": 42.0}, errs: map[string]string{"values.shoe_size": "not a field"}},
		{name: "text given a number", values: map[string]any{"desired_work": 12.0, "status": "seeking"}, errs: map[string]string{"values.desired_work": "must be text"}},
		{name: "several at once", values: map[string]any{"status": "x", "expected_salary": "y"}, errs: map[string]string{"values.desired_work": "required", "values.status": "one of", "values.expected_salary": "number"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := lt.CheckValues(c.values)
			if c.errs == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("got %#v, want %#v", got, c.want)
				}
				return
			}
			fields := fieldErrors(t, err)
			if len(fields) != len(c.errs) {
				t.Errorf("errors %v, want %v", fields, c.errs)
			}
			for k, part := range c.errs {
				if !strings.Contains(fields[k], part) {
					t.Errorf("%s: %q, want it to say %q", k, fields[k], part)
				}
			}
		})
	}
}

func TestLedgerTypeValidate(t *testing.T) {
	ok := jobSeekers()
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		edit  func(*LedgerType)
		field string
	}{
		{"bad key", func(t *LedgerType) { t.Key = "Job Seekers" }, "key"},
		{"no name", func(t *LedgerType) { t.Name = " " }, "name"},
		{"no owner", func(t *LedgerType) { t.AssociationID = 0 }, "association_id"},
		{"duplicate field", func(t *LedgerType) { t.Fields = append(t.Fields, Field{Key: "skills", Label: "x", Type: FieldText}) }, "fields[7].key"},
		{"unknown type", func(t *LedgerType) { t.Fields[0].Type = "colour" }, "fields[0].type"},
		{"choice without choices", func(t *LedgerType) { t.Fields[2].Choices = nil }, "fields[2].choices"},
		{"choices on text", func(t *LedgerType) { t.Fields[0].Choices = []string{"a"} }, "fields[0].choices"},
		{"min above max", func(t *LedgerType) { t.Fields[3].Min = ptr(5); t.Fields[3].Max = ptr(1) }, "fields[3].min"},
		{"bounds on a date", func(t *LedgerType) { t.Fields[4].Max = ptr(1) }, "fields[4].min"},
		{"field without label", func(t *LedgerType) { t.Fields[1].Label = "" }, "fields[1].label"},
	} {
		t.Run(c.name, func(t *testing.T) {
			lt := jobSeekers()
			lt.Fields = append([]Field{}, lt.Fields...)
			c.edit(&lt)
			if _, ok := fieldErrors(t, lt.Validate())[c.field]; !ok {
				t.Errorf("no error on %s: %v", c.field, lt.Validate())
			}
		})
	}
	lt := jobSeekers()
	if err := lt.AddField(Field{Key: "languages", Label: "语言", Type: FieldText}); err != nil || len(lt.Fields) != 8 {
		t.Errorf("add field: %v %d", err, len(lt.Fields))
	}
	if err := lt.AddField(Field{Key: "languages", Label: "语言", Type: FieldText}); err == nil {
		t.Error("a field added twice")
	}
}

func TestAccessOf(t *testing.T) {
	a := &auth.Actor{User: auth.User{ID: 5, Grants: []auth.Grant{
		{Role: auth.RoleAssociationChair, CommunityID: 1, AssociationID: 10},
		{Role: auth.RolePartner, CommunityID: 1, PartnerID: 3},
		{Role: auth.RoleGridWorker, CommunityID: 1, GridID: 2},
		{Role: auth.RolePartner, CommunityID: 0, PartnerID: 4}, // only admins span the deployment
	}}}
	acc := AccessOf(a, auth.PermLedgerRead)
	if acc.IsAdmin(1) || !reflect.DeepEqual(acc.AssociationsIn(1), []int64{10}) || !reflect.DeepEqual(acc.PartnersIn(1), []int64{3}) || len(acc.Partners) != 1 {
		t.Errorf("access %+v", acc)
	}
	if w := AccessOf(a, auth.PermLedgerWrite); len(w.Partners) != 0 || len(w.Associations) != 1 {
		t.Errorf("partners write ledgers: %+v", w)
	}
	admin := AccessOf(&auth.Actor{User: auth.User{Grants: []auth.Grant{{Role: auth.RoleAdmin, CommunityID: 0}}}}, auth.PermLedgerRead)
	if !admin.All() || admin.Communities() != nil {
		t.Errorf("deployment admin %+v", admin)
	}
	if r := AccessOf(&auth.Actor{HouseholdID: 9, User: auth.User{Grants: []auth.Grant{{Role: auth.RoleResident, CommunityID: 1}}}}, auth.PermLedgerRead); !r.Empty() {
		t.Errorf("a resident reads ledgers: %+v", r)
	}
}

func TestVisibility(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	js := jobSeekers()
	help := LedgerType{ID: 8, CommunityID: 1, Key: HelpEducation, AssociationID: 20, Sensitive: true, Fields: []Field{{Key: "measure", Label: "措施", Type: FieldText}}}
	grant := LedgerGrant{ID: 1, CommunityID: 1, PartnerID: 3, TypeID: 7, Fields: []string{"skills", "desired_work"}, Filter: map[string]string{"status": "seeking"}, ExpiresAt: now.Add(24 * time.Hour), Consent: true}
	revoked := grant
	revoked.RevokedAt = &now
	expired := grant
	expired.ExpiresAt = now.Add(-time.Second)
	otherPartner := grant
	otherPartner.PartnerID = 4

	seeker := LedgerEntry{ID: 100, CommunityID: 1, TypeID: 7, Ledger: JobSeekers, PersonID: 50, PersonName: "王秀英", AssociationID: 10,
		Values: map[string]any{"skills": "电工", "desired_work": "维修", "status": "seeking", "expected_salary": 4000.0, "health": "良好"}}
	placed := seeker
	placed.Values = Merge(seeker.Values, map[string]any{"status": "placed"})
	otherOwner := seeker
	otherOwner.AssociationID = 11
	helpEntry := LedgerEntry{ID: 200, CommunityID: 1, TypeID: 8, Ledger: HelpEducation, PersonName: "李明", AssociationID: 20, Values: map[string]any{"measure": "每月谈话"}}

	partner := Access{Partners: []Seat{{1, 3}}}
	jiuye := Access{Associations: []Seat{{1, 10}}}
	bangjiao := Access{Associations: []Seat{{1, 20}}}
	admin := Access{Admin: []int64{1}}
	otherAdmin := Access{Admin: []int64{2}}
	yes := func(int64) bool { return true }
	no := func(int64) bool { return false }

	for _, c := range []struct {
		name      string
		acc       Access
		lt        LedgerType
		grants    []LedgerGrant
		entry     LedgerEntry
		consented func(int64) bool
		forbidden bool     // the ledger is not for them at all
		seen      bool     // the entry is shown
		values    []string // keys shown
		masked    bool
	}{
		{name: "partner sees granted fields of a consenting seeker", acc: partner, lt: js, grants: []LedgerGrant{grant}, entry: seeker, consented: yes, seen: true, values: []string{"desired_work", "skills"}, masked: true},
		{name: "partner without consent", acc: partner, lt: js, grants: []LedgerGrant{grant}, entry: seeker, consented: no},
		{name: "partner, entry outside the filter", acc: partner, lt: js, grants: []LedgerGrant{grant}, entry: placed, consented: yes},
		{name: "partner after revocation", acc: partner, lt: js, grants: []LedgerGrant{revoked}, entry: seeker, consented: yes, forbidden: true},
		{name: "partner after expiry", acc: partner, lt: js, grants: []LedgerGrant{expired}, entry: seeker, consented: yes, forbidden: true},
		{name: "another partner's grant", acc: partner, lt: js, grants: []LedgerGrant{otherPartner}, entry: seeker, consented: yes, forbidden: true},
		{name: "partner, ledger never granted", acc: partner, lt: help, grants: []LedgerGrant{grant}, entry: helpEntry, consented: yes, forbidden: true},
		{name: "owner association sees everything", acc: jiuye, lt: js, entry: seeker, seen: true, values: []string{"desired_work", "expected_salary", "health", "skills", "status"}},
		{name: "other association reads without sensitive fields", acc: bangjiao, lt: js, entry: seeker, seen: true, values: []string{"desired_work", "expected_salary", "skills", "status"}},
		{name: "member sees entries another association owns", acc: jiuye, lt: js, entry: otherOwner, seen: true, values: []string{"desired_work", "expected_salary", "skills", "status"}},
		{name: "help-education hidden from another association", acc: jiuye, lt: help, entry: helpEntry, forbidden: true},
		{name: "help-education seen by its association", acc: bangjiao, lt: help, entry: helpEntry, seen: true, values: []string{"measure"}},
		{name: "help-education seen by the admin", acc: admin, lt: help, entry: helpEntry, seen: true, values: []string{"measure"}},
		{name: "another community's admin", acc: otherAdmin, lt: js, entry: seeker, forbidden: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := c.acc.ViewOf(c.lt, c.grants, now)
			if v.None() != c.forbidden {
				t.Fatalf("forbidden %v, want %v (view %+v)", v.None(), c.forbidden, v)
			}
			consented := c.consented
			if consented == nil {
				consented = no
			}
			s, ok := v.See(c.entry, consented)
			if ok != c.seen {
				t.Fatalf("seen %v, want %v", ok, c.seen)
			}
			if !ok {
				return
			}
			var keys []string
			for k := range s.Entry.Values {
				keys = append(keys, k)
			}
			sortStrings(keys)
			if !reflect.DeepEqual(keys, c.values) {
				t.Errorf("fields %v, want %v", keys, c.values)
			}
			if s.Entry.Masked != c.masked {
				t.Errorf("masked %v", s.Entry.Masked)
			}
			if c.masked && (s.Entry.PersonName != "王**" || s.Entry.PersonID != 0 || s.Entry.AssociationID != 0 || len(s.Grants) != 1) {
				t.Errorf("partner view %+v", s)
			}
		})
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestGrantCheck(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	js := jobSeekers()
	good := func() LedgerGrant {
		return LedgerGrant{PartnerID: 3, Fields: []string{"skills", "desired_work"}, Purpose: "一对一就业服务", ExpiresAt: now.AddDate(1, 0, 0), Consent: true}
	}
	g := good()
	if err := g.Check(js, map[string]any{"status": "seeking", "expected_salary": "3000"}, now); err != nil {
		t.Fatal(err)
	}
	if g.Filter["expected_salary"] != "3000" || g.Ledger != JobSeekers || g.TypeID != 7 {
		t.Errorf("normalised grant %+v", g)
	}
	for _, c := range []struct {
		name   string
		edit   func(*LedgerGrant)
		filter map[string]any
		lt     LedgerType
		field  string
	}{
		{"no fields", func(g *LedgerGrant) { g.Fields = nil }, nil, js, "fields"},
		{"unknown field", func(g *LedgerGrant) { g.Fields = []string{"iq"} }, nil, js, "fields"},
		{"sensitive field", func(g *LedgerGrant) { g.Fields = []string{"health"} }, nil, js, "fields"},
		{"filter on unknown field", func(*LedgerGrant) {}, map[string]any{"colour": "red"}, js, "filter.colour"},
		{"filter value not a choice", func(*LedgerGrant) {}, map[string]any{"status": "asleep"}, js, "filter.status"},
		{"no purpose", func(g *LedgerGrant) { g.Purpose = "" }, nil, js, "purpose"},
		{"expired already", func(g *LedgerGrant) { g.ExpiresAt = now }, nil, js, "expires_at"},
		{"too long", func(g *LedgerGrant) { g.ExpiresAt = now.AddDate(3, 0, 0) }, nil, js, "expires_at"},
		{"no consent", func(g *LedgerGrant) { g.Consent = false }, nil, js, "consent"},
		{"sensitive ledger", func(*LedgerGrant) {}, nil, LedgerType{ID: 8, Key: HelpEducation, Sensitive: true, Fields: js.Fields}, "ledger_type"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := good()
			c.edit(&g)
			if _, ok := fieldErrors(t, g.Check(c.lt, c.filter, now))[c.field]; !ok {
				t.Errorf("no error on %s", c.field)
			}
		})
	}
}

func TestSmallRules(t *testing.T) {
	for in, want := range map[string]string{"王秀英": "王**", "李明": "李*", "张": "张*", "": ""} {
		if got := MaskName(in); got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
	}
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	f := FollowUp{Kind: "hired"}
	if _, ok := fieldErrors(t, f.Validate(now))["kind"]; !ok {
		t.Error("unknown kind accepted")
	}
	f = FollowUp{Kind: Placed, At: now.Add(48 * time.Hour)}
	if _, ok := fieldErrors(t, f.Validate(now))["at"]; !ok {
		t.Error("a follow-up in the future")
	}
	f = FollowUp{Kind: Placed}
	if err := f.Validate(now); err != nil || !f.At.Equal(now) {
		t.Errorf("default time: %v %v", err, f.At)
	}
	o := Opening{Title: "电工", Skills: "电工证、维修", PartnerID: 1}
	if err := o.Validate(); err != nil || o.Positions != 1 || o.Status != OpeningOpen {
		t.Errorf("opening %+v %v", o, err)
	}
	if o.Score(map[string]any{"skills": "持电工证，会维修"}) != 3 || o.Score(map[string]any{"skills": "厨师"}) != 0 {
		t.Errorf("score %d", o.Score(map[string]any{"skills": "持电工证，会维修"}))
	}
	in := Intake{AssociationID: 1, PersonID: 2, Description: "电梯坏了没人修"}
	if err := in.Validate(); err != nil || in.Status != IntakeOpen || in.Channel != "app" {
		t.Errorf("intake %+v %v", in, err)
	}
	closed, err := in.Move(IntakeClosed, "已协调物业修好", now)
	if err != nil || closed.Status != IntakeClosed {
		t.Fatal(err)
	}
	if _, err := closed.Move(IntakeOpen, "", now); shequ.ErrorCode(err) != shequ.ECONFLICT {
		t.Errorf("reopened a closed intake: %v", err)
	}
	c := Consent{PartnerID: 1, Method: "email"}
	if _, ok := fieldErrors(t, c.Validate())["method"]; !ok {
		t.Error("unknown consent method")
	}
}

// TestCheckProblems: the problems a page translates name the rule and the
// bound, field by field.
func TestCheckProblems(t *testing.T) {
	lt := jobSeekers()
	for _, c := range []struct {
		name   string
		values map[string]any
		want   map[string]Problem
	}{
		{"fine", map[string]any{"desired_work": "保洁", "status": "seeking"}, map[string]Problem{}},
		{"required", map[string]any{"status": "seeking"}, map[string]Problem{"desired_work": {Code: ProblemRequired}}},
		{"bounds", map[string]any{"desired_work": strings.Repeat("工", 51), "status": "seeking", "expected_salary": "-1"},
			map[string]Problem{"desired_work": {Code: ProblemTooLong, Limit: "50"}, "expected_salary": {Code: ProblemTooSmall, Limit: "0"}}},
		{"kinds", map[string]any{"desired_work": "x", "status": "retired", "registered_on": "2026-02-30", "has_certificate": "maybe", "shoe_size": 1.0},
			map[string]Problem{"status": {Code: ProblemChoice}, "registered_on": {Code: ProblemNoDate}, "has_certificate": {Code: ProblemBool}, "shoe_size": {Code: ProblemUnknown}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, found := lt.Check(c.values)
			if len(c.want) == 0 {
				if len(found) != 0 || got == nil {
					t.Errorf("problems %v", found)
				}
				return
			}
			if got != nil || !reflect.DeepEqual(found, c.want) {
				t.Errorf("got %v %v, want %v", got, found, c.want)
			}
			for k, p := range found {
				if f, ok := lt.Field(k); ok && p.English(f) == "" {
					t.Errorf("%s: no words for %s", k, p.Code)
				}
			}
		})
	}
}
