package sqlstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// reliefWorld is a community with the assistance, help-education and
// employment associations, a households-in-difficulty ledger (one field
// of it sensitive), a sensitive help-education ledger and residents made
// to sit on each side of the targeted relief policy's rules.
type reliefWorld struct {
	tr                      tree
	c                       int64
	bangfu, bangjiao, jiuye community.Association
	people                  map[string]community.Person
	admin, bf, bj, jy       assoc.Access
}

// resident describes one fixture resident: birth date, tags, and the
// households-in-difficulty entry (nil: none; closed: a closed entry).
type resident struct {
	birth  string
	sex    string
	tags   []string
	values map[string]any
	closed bool
}

// The residents, on 2026-11-28 (the test clock's day), against "age ≥ 60,
// living alone, pension < 1500".
var reliefResidents = map[string]resident{
	"sixty_today":    {birth: "1966-11-28", sex: "male", tags: []string{"living_alone"}, values: map[string]any{"pension": 1130.0}},
	"sixty_tomorrow": {birth: "1966-11-29", sex: "male", tags: []string{"living_alone"}, values: map[string]any{"pension": 1000.0}},
	"at_threshold":   {birth: "1950-01-01", sex: "female", tags: []string{"elderly", "living_alone"}, values: map[string]any{"pension": 1500.0}},
	"just_under":     {birth: "1950-01-01", sex: "female", tags: []string{"living_alone"}, values: map[string]any{"pension": 1499.5}},
	"nine_hundred":   {birth: "1940-05-05", sex: "female", tags: []string{"living_alone"}, values: map[string]any{"pension": 900.0}}, // "900" > "1500" as text
	"no_pension":     {birth: "1950-01-01", sex: "male", tags: []string{"living_alone"}, values: map[string]any{}},
	"no_entry":       {birth: "1950-01-01", sex: "male", tags: []string{"living_alone"}},
	"no_birth_date":  {sex: "male", tags: []string{"living_alone"}, values: map[string]any{"pension": 1000.0}},
	"closed_entry":   {birth: "1950-01-01", sex: "male", tags: []string{"living_alone"}, values: map[string]any{"pension": 1000.0}, closed: true},
	"not_alone":      {birth: "1950-01-01", sex: "male", tags: []string{"elderly"}, values: map[string]any{"pension": 1000.0}},
	"tag_lookalike":  {birth: "1950-01-01", sex: "male", tags: []string{"livingxalone"}, values: map[string]any{"pension": 1000.0}},
	"covered":        {birth: "1945-02-02", sex: "male", tags: []string{"living_alone"}, values: map[string]any{"pension": 1000.0}},
	"pending":        {birth: "1945-02-02", sex: "female", tags: []string{"living_alone"}, values: map[string]any{"pension": 1000.0}},
	"refused":        {birth: "1945-02-02", sex: "male", tags: []string{"living_alone"}, values: map[string]any{"pension": 1000.0}},
}

func makeRelief(t testing.TB, st *sqlstore.Store, code string) reliefWorld {
	t.Helper()
	ctx := t.Context()
	w := reliefWorld{tr: makeTree(t, st, code), people: map[string]community.Person{}}
	w.c = w.tr.community.ID
	w.bangfu = community.Association{CommunityID: w.c, Key: "bangfu", Name: "帮扶协会"}
	w.bangjiao = community.Association{CommunityID: w.c, Key: "bangjiao", Name: "帮教协会"}
	w.jiuye = community.Association{CommunityID: w.c, Key: "jiuye", Name: "就业协会"}
	for _, as := range []*community.Association{&w.bangfu, &w.bangjiao, &w.jiuye} {
		mustOK(t, st.CreateAssociation(ctx, everywhere, as))
	}
	hid := assoc.LedgerType{CommunityID: w.c, Key: assoc.HouseholdsInDifficulty, Name: "困难家庭", AssociationID: w.bangfu.ID, Fields: []assoc.Field{
		{Key: "pension", Label: "养老金", Type: assoc.FieldNumber, Min: ptrf(0)},
		{Key: "difficulty", Label: "困难类型", Type: assoc.FieldChoice, Choices: []string{"elderly", "illness", "unemployment"}},
		{Key: "health", Label: "健康", Type: assoc.FieldText, Sensitive: true},
	}}
	mustOK(t, st.CreateLedgerType(ctx, assoc.Everything, &hid))
	help := assoc.LedgerType{CommunityID: w.c, Key: assoc.HelpEducation, Name: "帮教对象", AssociationID: w.bangjiao.ID, Sensitive: true, Fields: []assoc.Field{
		{Key: "category", Label: "类别", Type: assoc.FieldChoice, Required: true, Choices: []string{"released", "community_correction"}},
	}}
	mustOK(t, st.CreateLedgerType(ctx, assoc.Everything, &help))
	names := make([]string, 0, len(reliefResidents))
	for n := range reliefResidents {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		r := reliefResidents[n]
		p := community.Person{HouseholdID: w.tr.household1.ID, Name: n, BirthDate: r.birth, Gender: r.sex, Tags: r.tags}
		mustOK(t, st.CreatePerson(ctx, everywhere, &p))
		w.people[n] = p
		if r.values != nil {
			e := assoc.LedgerEntry{PersonID: p.ID, Values: r.values}
			if r.closed {
				e.Status = assoc.EntryClosed
			}
			mustOK(t, st.CreateEntry(ctx, assoc.Everything, w.c, assoc.HouseholdsInDifficulty, &e))
		}
	}
	w.admin = assoc.Access{Admin: []int64{w.c}, UserID: 0}
	w.bf = assoc.Access{Associations: []assoc.Seat{{CommunityID: w.c, ID: w.bangfu.ID}}}
	w.bj = assoc.Access{Associations: []assoc.Seat{{CommunityID: w.c, ID: w.bangjiao.ID}}}
	w.jy = assoc.Access{Associations: []assoc.Seat{{CommunityID: w.c, ID: w.jiuye.ID}}}
	return w
}

// targeted is the relief policy the fixture is built around.
func (w reliefWorld) targeted() assoc.AssistancePolicy {
	return assoc.AssistancePolicy{CommunityID: w.c, AssociationID: w.bangfu.ID, Name: "定点救助政策", Benefit: "入住养老院费用减免", ValidFrom: "2026-01-01", ValidTo: "2026-12-31",
		Rules: []assoc.Condition{
			{Field: assoc.ResidentAge, Op: assoc.OpGe, Value: 60.0},
			{Field: assoc.ResidentTag, Op: assoc.OpEq, Value: "living_alone"},
			{Ledger: assoc.HouseholdsInDifficulty, Field: "pension", Op: assoc.OpLt, Value: 1500.0},
		}}
}

func eligibleNames(t *testing.T, st *sqlstore.Store, acc assoc.Access, policy int64, day time.Time) []string {
	t.Helper()
	l, err := st.Eligible(t.Context(), acc, policy, day, shequ.Page{Limit: 500})
	mustOK(t, err)
	if l.Total != len(l.Items) {
		t.Errorf("eligible total %d, %d items", l.Total, len(l.Items))
	}
	var out []string
	for _, r := range l.Items {
		out = append(out, r.Name)
	}
	slices.Sort(out)
	return out
}

func TestEligibilityFindsExactlyTheExpectedResidents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		w := makeRelief(t, st, "el1")
		// Another community whose residents match as well.
		makeRelief(t, st, "el2")
		pol := w.targeted()
		mustOK(t, st.CreateAssistancePolicy(ctx, w.admin, &pol))

		for _, name := range []string{"covered", "pending", "refused"} {
			app := assoc.Application{PolicyID: pol.ID, PersonID: w.people[name].ID, Note: "本人申请"}
			mustOK(t, st.CreateApplication(ctx, w.bf, &app))
			switch name {
			case "covered":
				_, err := st.DecideApplication(ctx, w.bf, app.ID, assoc.ApplicationGranted, "", "")
				mustOK(t, err)
			case "refused":
				_, err := st.DecideApplication(ctx, w.bf, app.ID, assoc.ApplicationRefused, "材料不全", "2026-11-27")
				mustOK(t, err)
			}
		}

		want := []string{"just_under", "nine_hundred", "pending", "refused", "sixty_today"}
		if got := eligibleNames(t, st, w.admin, pol.ID, time.Time{}); !slices.Equal(got, want) {
			t.Errorf("eligible today:\n got %v\nwant %v", got, want)
		}
		// A day earlier sixty_today was 59.
		if got := eligibleNames(t, st, w.admin, pol.ID, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)); !slices.Equal(got, []string{"just_under", "nine_hundred", "pending", "refused"}) {
			t.Errorf("eligible on 2026-11-27: %v", got)
		}
		// The next day sixty_tomorrow has come of age.
		if got := eligibleNames(t, st, w.admin, pol.ID, time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)); !slices.Contains(got, "sixty_tomorrow") || len(got) != 6 {
			t.Errorf("eligible on 2026-11-29: %v", got)
		}
		// Outside the policy's dates nobody is.
		if got := eligibleNames(t, st, w.admin, pol.ID, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)); len(got) != 0 {
			t.Errorf("eligible after the policy ended: %v", got)
		}
		// The rules' values come with each resident.
		l, err := st.Eligible(ctx, w.bf, pol.ID, time.Time{}, shequ.Page{Limit: 2})
		mustOK(t, err)
		if l.Total != 5 || len(l.Items) != 2 || l.Items[0].Values[assoc.HouseholdsInDifficulty+".pension"] == nil || l.Items[0].Age < 60 {
			t.Errorf("first page %+v", l)
		}

		// Other operators: women (sex in), not unemployed (!=), under 80
		// (<), pension of exactly 1500 (=).
		second := assoc.AssistancePolicy{CommunityID: w.c, AssociationID: w.bangfu.ID, Name: "女性困难补贴", Benefit: "每月200元", ValidFrom: "2026-01-01", Rules: []assoc.Condition{
			{Field: assoc.ResidentSex, Op: assoc.OpIn, Value: []any{"female"}},
			{Field: assoc.ResidentAge, Op: assoc.OpLt, Value: 80.0},
			{Ledger: assoc.HouseholdsInDifficulty, Field: "pension", Op: assoc.OpEq, Value: "1500"},
		}}
		mustOK(t, st.CreateAssistancePolicy(ctx, w.admin, &second))
		if got := eligibleNames(t, st, w.admin, second.ID, time.Time{}); !slices.Equal(got, []string{"at_threshold"}) {
			t.Errorf("second policy: %v", got)
		}
		third := assoc.AssistancePolicy{CommunityID: w.c, AssociationID: w.bangfu.ID, Name: "非独居老人关爱", Benefit: "探访", ValidFrom: "2026-01-01", Rules: []assoc.Condition{
			{Field: assoc.ResidentTag, Op: assoc.OpNe, Value: "living_alone"},
			{Field: assoc.ResidentAge, Op: assoc.OpIn, Value: []any{76.0, 60.0}},
		}}
		mustOK(t, st.CreateAssistancePolicy(ctx, w.admin, &third))
		if got := eligibleNames(t, st, w.admin, third.ID, time.Time{}); !slices.Equal(got, []string{"not_alone", "tag_lookalike"}) {
			t.Errorf("third policy: %v", got)
		}

		counts, err := st.EligibleUncovered(ctx, w.bf, w.c)
		mustOK(t, err)
		byName := map[string]int{}
		for _, c := range counts {
			byName[c.Name] = c.Uncovered
		}
		if len(counts) != 3 || byName["定点救助政策"] != 5 || byName["女性困难补贴"] != 1 || byName["非独居老人关爱"] != 2 {
			t.Errorf("eligible uncovered %+v", counts)
		}

		// Granting the pending application covers its resident.
		apps, err := st.ListApplications(ctx, w.bf, assoc.ApplicationFilter{PolicyID: pol.ID, Status: assoc.ApplicationPending})
		mustOK(t, err)
		if apps.Total != 1 {
			t.Fatalf("pending applications %+v", apps)
		}
		_, err = st.DecideApplication(ctx, w.bf, apps.Items[0].ID, assoc.ApplicationGranted, "", "")
		mustOK(t, err)
		if got := eligibleNames(t, st, w.admin, pol.ID, time.Time{}); slices.Contains(got, "pending") || len(got) != 4 {
			t.Errorf("after granting: %v", got)
		}
	})
}

func TestPolicyRulesAreValidated(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		w := makeRelief(t, st, "pv1")
		bad := w.targeted()
		bad.Rules = []assoc.Condition{
			{Ledger: assoc.HouseholdsInDifficulty, Field: "pensio", Op: assoc.OpLt, Value: 1500.0},
			{Ledger: assoc.HouseholdsInDifficulty, Field: "difficulty", Op: assoc.OpLt, Value: "elderly"},
			{Ledger: "no_such_ledger", Field: "x", Op: assoc.OpEq, Value: "y"},
			{Field: assoc.ResidentAge, Op: assoc.OpGe, Value: "sixty"},
		}
		err := st.CreateAssistancePolicy(ctx, w.admin, &bad)
		var e *shequ.Error
		if !asError(err, &e) || e.Code != shequ.EINVALID {
			t.Fatalf("bad rules: %v", err)
		}
		for _, k := range []string{"rules[0].field", "rules[1].op", "rules[2].ledger", "rules[3].value"} {
			if e.Fields[k] == "" {
				t.Errorf("no message for %s in %v", k, e.Fields)
			}
		}
		list, err := st.ListAssistancePolicies(ctx, w.admin, assoc.AssistancePolicyFilter{})
		mustOK(t, err)
		if list.Total != 0 {
			t.Errorf("a policy was stored despite errors: %+v", list)
		}
		// Only administrators configure policies.
		good := w.targeted()
		wantCode(t, "member creates a policy", st.CreateAssistancePolicy(ctx, w.bf, &good), shequ.EFORBIDDEN)
		mustOK(t, st.CreateAssistancePolicy(ctx, w.admin, &good))
		good.Name = "定点救助政策（修订）"
		wantCode(t, "member updates a policy", st.UpdateAssistancePolicy(ctx, w.bf, &good), shequ.EFORBIDDEN)
		good.Rules[2].Value = 1600.0
		mustOK(t, st.UpdateAssistancePolicy(ctx, w.admin, &good))
		got, err := st.AssistancePolicy(ctx, w.jy, good.ID)
		mustOK(t, err)
		if got.Name != "定点救助政策（修订）" || got.Rules[2].Value != 1600.0 {
			t.Errorf("updated policy %+v", got)
		}
		if n := auditCount(t, st, "assistance_policy.update"); n != 1 {
			t.Errorf("%d policy updates audited", n)
		}
	})
}

func TestEligibilityKeepsSensitiveLedgersToThoseWhoSeeThem(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		w := makeRelief(t, st, "es1")
		subject := w.people["no_entry"]
		mustOK(t, st.CreateEntry(ctx, assoc.Everything, w.c, assoc.HelpEducation, &assoc.LedgerEntry{PersonID: subject.ID, Values: map[string]any{"category": "released"}}))
		help := assoc.AssistancePolicy{CommunityID: w.c, AssociationID: w.bangjiao.ID, Name: "刑释人员过渡救助", Benefit: "临时救助金", ValidFrom: "2026-01-01", Rules: []assoc.Condition{
			{Ledger: assoc.HelpEducation, Field: "category", Op: assoc.OpEq, Value: "released"},
		}}
		mustOK(t, st.CreateAssistancePolicy(ctx, w.admin, &help))
		health := assoc.AssistancePolicy{CommunityID: w.c, AssociationID: w.bangfu.ID, Name: "大病救助", Benefit: "医疗救助", ValidFrom: "2026-01-01", Rules: []assoc.Condition{
			{Ledger: assoc.HouseholdsInDifficulty, Field: "health", Op: assoc.OpEq, Value: "重病"},
		}}
		mustOK(t, st.CreateAssistancePolicy(ctx, w.admin, &health))

		if got := eligibleNames(t, st, w.bj, help.ID, time.Time{}); !slices.Equal(got, []string{"no_entry"}) {
			t.Errorf("help-education association sees %v", got)
		}
		_, err := st.Eligible(ctx, w.jy, help.ID, time.Time{}, shequ.Page{})
		wantCode(t, "employment member lists help-education eligibility", err, shequ.EFORBIDDEN)
		// A rule over a sensitive field looks only at the entries on which
		// the reader sees that field: the owner association's.
		ill := w.people["no_pension"]
		entries, err := st.ListEntries(ctx, assoc.Everything, assoc.EntryFilter{CommunityID: w.c, Ledger: assoc.HouseholdsInDifficulty, PersonID: ill.ID})
		mustOK(t, err)
		_, err = st.UpdateEntry(ctx, assoc.Everything, w.c, assoc.HouseholdsInDifficulty, entries.Items[0].ID, assoc.EntryChange{Values: map[string]any{"health": "重病"}})
		mustOK(t, err)
		if got := eligibleNames(t, st, w.bf, health.ID, time.Time{}); !slices.Equal(got, []string{"no_pension"}) {
			t.Errorf("the owner association lists its own sensitive field: %v", got)
		}
		// Another association's member may not list who appears eligible
		// at all: who is missing from the list holds a granted application.
		_, err = st.Eligible(ctx, w.jy, health.ID, time.Time{}, shequ.Page{})
		wantCode(t, "employment member lists the assistance association's policy", err, shequ.EFORBIDDEN)
		counts, err := st.EligibleUncovered(ctx, w.jy, w.c)
		mustOK(t, err)
		if len(counts) != 1 || counts[0].PolicyID != health.ID || counts[0].Uncovered != 0 {
			t.Errorf("employment member's counts show %+v", counts)
		}
		// Another community's member does not find the policy at all.
		other := makeRelief(t, st, "es2")
		_, err = st.Eligible(ctx, other.bf, help.ID, time.Time{}, shequ.Page{})
		wantCode(t, "another community's member", err, shequ.ENOTFOUND)
	})
}

func TestApplications(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		w := makeRelief(t, st, "ap1")
		pol := w.targeted()
		mustOK(t, st.CreateAssistancePolicy(ctx, w.admin, &pol))
		man := w.people["sixty_today"]
		// A member of the employment association, signed in: applications
		// remember who filed them.
		member := &auth.User{Username: "jy-member", Grants: []auth.Grant{{Role: auth.RoleAssociationMember, CommunityID: w.c, AssociationID: w.jiuye.ID}}}
		mustOK(t, st.CreateUser(ctx, everywhere, member, "a-long-password-1"))
		jyUser := w.jy
		jyUser.UserID = member.ID
		memberCtx := auth.WithActor(ctx, &auth.Actor{User: *member})
		app := assoc.Application{PolicyID: pol.ID, PersonID: man.ID}
		mustOK(t, st.CreateApplication(ctx, w.bf, &app))
		again := assoc.Application{PolicyID: pol.ID, PersonID: man.ID}
		wantCode(t, "a second live application", st.CreateApplication(ctx, w.bf, &again), shequ.ECONFLICT)
		wantCode(t, "a resident of another community", st.CreateApplication(ctx, w.bf, &assoc.Application{PolicyID: pol.ID, PersonID: makeRelief(t, st, "ap2").people["no_entry"].ID}), shequ.EINVALID)

		_, err := st.DecideApplication(ctx, w.jy, app.ID, assoc.ApplicationGranted, "", "")
		wantCode(t, "another association decides", err, shequ.ENOTFOUND)
		_, err = st.DecideApplication(ctx, w.bf, app.ID, assoc.ApplicationRefused, "", "")
		wantCode(t, "a refusal without reason", err, shequ.EINVALID)
		_, err = st.DecideApplication(ctx, w.bf, app.ID, assoc.ApplicationGranted, "", "2026-12-01")
		wantCode(t, "a decision in the future", err, shequ.EINVALID)
		got, err := st.DecideApplication(ctx, w.bf, app.ID, assoc.ApplicationGranted, "符合条件，入住养老院", "2026-11-28")
		mustOK(t, err)
		if got.Status != assoc.ApplicationGranted || got.DecidedOn != "2026-11-28" {
			t.Errorf("decided %+v", got)
		}
		_, err = st.DecideApplication(ctx, w.bf, app.ID, assoc.ApplicationRefused, "改判", "")
		wantCode(t, "deciding twice", err, shequ.ECONFLICT)

		perPerson, err := st.ListApplications(ctx, w.bf, assoc.ApplicationFilter{PersonID: man.ID})
		mustOK(t, err)
		if perPerson.Total != 1 || perPerson.Items[0].PolicyName != pol.Name || perPerson.Items[0].PersonName != man.Name {
			t.Errorf("per person %+v", perPerson)
		}
		// The employment association files one and sees only that one.
		mine := assoc.Application{PolicyID: pol.ID, PersonID: w.people["just_under"].ID}
		mustOK(t, st.CreateApplication(memberCtx, jyUser, &mine))
		seen, err := st.ListApplications(ctx, jyUser, assoc.ApplicationFilter{PolicyID: pol.ID})
		mustOK(t, err)
		if seen.Total != 1 || seen.Items[0].ID != mine.ID {
			t.Errorf("the employment member sees %+v", seen)
		}
		_, err = st.DecideApplication(memberCtx, jyUser, mine.ID, assoc.ApplicationGranted, "", "")
		wantCode(t, "the filer of another association decides", err, shequ.EFORBIDDEN)
		if n := auditCount(t, st, "assistance_application.decide"); n != 1 {
			t.Errorf("%d decisions audited", n)
		}
	})
}
