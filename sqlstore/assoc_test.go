package sqlstore_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// ledgerWorld is a community with two associations, two partners, a job
// seekers ledger and a help-education ledger, and the access of each kind
// of actor.
type ledgerWorld struct {
	tr                       tree
	c                        int64
	jiuye, bangjiao          community.Association
	hr, other                community.Partner
	carol, dave              community.Person
	admin, jy, bj, hrA, othA assoc.Access
}

func ptrf(x float64) *float64 { return &x }

func makeLedgers(t *testing.T, st *sqlstore.Store, code string) ledgerWorld {
	t.Helper()
	ctx := t.Context()
	w := ledgerWorld{tr: makeTree(t, st, code)}
	w.c = w.tr.community.ID
	w.jiuye = community.Association{CommunityID: w.c, Key: "jiuye", Name: "就业协会"}
	w.bangjiao = community.Association{CommunityID: w.c, Key: "bangjiao", Name: "帮教协会"}
	mustOK(t, st.CreateAssociation(ctx, everywhere, &w.jiuye))
	mustOK(t, st.CreateAssociation(ctx, everywhere, &w.bangjiao))
	w.hr = community.Partner{CommunityID: w.c, Name: "人力资源公司", Kind: "hr_company"}
	w.other = community.Partner{CommunityID: w.c, Name: "另一家公司", Kind: "hr_company"}
	mustOK(t, st.CreatePartner(ctx, everywhere, &w.hr))
	mustOK(t, st.CreatePartner(ctx, everywhere, &w.other))
	w.carol = community.Person{HouseholdID: w.tr.household1.ID, Name: "王秀英", BirthDate: "1985-01-01"}
	w.dave = community.Person{HouseholdID: w.tr.household2.ID, Name: "李建国", BirthDate: "1990-01-01"}
	mustOK(t, st.CreatePerson(ctx, everywhere, &w.carol))
	mustOK(t, st.CreatePerson(ctx, everywhere, &w.dave))
	js := assoc.LedgerType{CommunityID: w.c, Key: assoc.JobSeekers, Name: "求职登记", AssociationID: w.jiuye.ID, Fields: []assoc.Field{
		{Key: "skills", Label: "技能", Type: assoc.FieldText},
		{Key: "desired_work", Label: "意向工作", Type: assoc.FieldText, Required: true, Max: ptrf(50)},
		{Key: "status", Label: "状态", Type: assoc.FieldChoice, Required: true, Choices: []string{"seeking", "placed"}},
		{Key: "expected_salary", Label: "期望月薪", Type: assoc.FieldNumber, Min: ptrf(0)},
		{Key: "health", Label: "健康", Type: assoc.FieldText, Sensitive: true},
	}}
	mustOK(t, st.CreateLedgerType(ctx, assoc.Everything, &js))
	help := assoc.LedgerType{CommunityID: w.c, Key: assoc.HelpEducation, Name: "帮教对象", AssociationID: w.bangjiao.ID, Sensitive: true, Fields: []assoc.Field{
		{Key: "measure", Label: "帮教措施", Type: assoc.FieldText, Required: true},
	}}
	mustOK(t, st.CreateLedgerType(ctx, assoc.Everything, &help))
	w.admin = assoc.Access{Admin: []int64{w.c}}
	w.jy = assoc.Access{Associations: []assoc.Seat{{CommunityID: w.c, ID: w.jiuye.ID}}}
	w.bj = assoc.Access{Associations: []assoc.Seat{{CommunityID: w.c, ID: w.bangjiao.ID}}}
	w.hrA = assoc.Access{Partners: []assoc.Seat{{CommunityID: w.c, ID: w.hr.ID}}}
	w.othA = assoc.Access{Partners: []assoc.Seat{{CommunityID: w.c, ID: w.other.ID}}}
	return w
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := shequ.ErrorCode(err); got != code {
		t.Errorf("%s: got %v, want %q", what, err, code)
	}
}

func auditCount(t *testing.T, st *sqlstore.Store, action string) int {
	t.Helper()
	l, err := st.ListAudit(t.Context(), everywhere, audit.Filter{Action: action})
	mustOK(t, err)
	return l.Total
}

func TestLedgerValidationStoresNothing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		w := makeLedgers(t, st, "lv")
		before := auditCount(t, st, "ledger_entry.create")
		for _, c := range []struct {
			name   string
			values map[string]any
			field  string
		}{
			{"required missing", map[string]any{"status": "seeking"}, "values.desired_work"},
			{"not a choice", map[string]any{"desired_work": "保洁", "status": "asleep"}, "values.status"},
			{"negative salary", map[string]any{"desired_work": "保洁", "status": "seeking", "expected_salary": -5.0}, "values.expected_salary"},
			{"unknown field", map[string]any{"desired_work": "保洁", "status": "seeking", "shoe_size": 40.0}, "values.shoe_size"},
		} {
			e := assoc.LedgerEntry{PersonID: w.tr.alice.ID, Values: c.values}
			err := st.CreateEntry(ctx, w.jy, w.c, assoc.JobSeekers, &e)
			var se *shequ.Error
			if !asError(err, &se) || se.Code != shequ.EINVALID || se.Fields[c.field] == "" {
				t.Errorf("%s: got %v, want a message on %s", c.name, err, c.field)
			}
		}
		e := assoc.LedgerEntry{PersonID: 999999, Values: map[string]any{"desired_work": "保洁", "status": "seeking"}}
		wantCode(t, "unknown resident", st.CreateEntry(ctx, w.jy, w.c, assoc.JobSeekers, &e), shequ.EINVALID)
		list, err := st.ListEntries(ctx, w.admin, assoc.EntryFilter{Ledger: assoc.JobSeekers})
		mustOK(t, err)
		if list.Total != 0 || auditCount(t, st, "ledger_entry.create") != before {
			t.Errorf("a rejected entry left traces: %d entries", list.Total)
		}
		// A change that fails its checks leaves the entry as it was.
		good := assoc.LedgerEntry{PersonID: w.tr.alice.ID, Values: map[string]any{"desired_work": "保洁", "status": "seeking"}}
		mustOK(t, st.CreateEntry(ctx, w.jy, w.c, assoc.JobSeekers, &good))
		_, err = st.UpdateEntry(ctx, w.jy, w.c, assoc.JobSeekers, good.ID, assoc.EntryChange{Values: map[string]any{"desired_work": nil, "skills": "电工"}})
		wantCode(t, "clearing a required field", err, shequ.EINVALID)
		got, err := st.Entry(ctx, w.jy, w.c, assoc.JobSeekers, good.ID)
		mustOK(t, err)
		if got.Values["desired_work"] != "保洁" || got.Values["skills"] != nil {
			t.Errorf("a failed update changed the entry: %v", got.Values)
		}
		hist, err := st.EntryHistory(ctx, w.jy, w.c, assoc.JobSeekers, good.ID)
		mustOK(t, err)
		if len(hist) != 1 {
			t.Errorf("history after a failed update: %+v", hist)
		}
		dup := assoc.LedgerEntry{PersonID: w.tr.alice.ID, Values: map[string]any{"desired_work": "保安", "status": "seeking"}}
		wantCode(t, "a second entry for one resident", st.CreateEntry(ctx, w.jy, w.c, assoc.JobSeekers, &dup), shequ.ECONFLICT)
	})
}

func asError(err error, target **shequ.Error) bool {
	e, ok := err.(*shequ.Error)
	*target = e
	return ok
}

func TestLedgerSchemaAndHistory(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		w := makeLedgers(t, st, "ls")
		langs := assoc.Field{Key: "languages", Label: "语言", Type: assoc.FieldChoice, Choices: []string{"普通话", "重庆话"}}
		_, err := st.AddLedgerField(ctx, w.jy, w.c, assoc.JobSeekers, langs)
		wantCode(t, "a member extends the schema", err, shequ.EFORBIDDEN)
		lt, err := st.AddLedgerField(ctx, w.admin, w.c, assoc.JobSeekers, langs)
		mustOK(t, err)
		if len(lt.Fields) != 6 {
			t.Fatalf("fields %+v", lt.Fields)
		}
		_, err = st.AddLedgerField(ctx, w.admin, w.c, assoc.JobSeekers, langs)
		wantCode(t, "a field added twice", err, shequ.EINVALID)
		_, err = st.AddLedgerField(ctx, w.admin, w.c, assoc.JobSeekers, assoc.Field{Key: "x1", Label: "x", Type: "colour"})
		wantCode(t, "a field of no type", err, shequ.EINVALID)

		e := assoc.LedgerEntry{PersonID: w.carol.ID, Values: map[string]any{"desired_work": "家政", "status": "seeking", "languages": "重庆话"}}
		mustOK(t, st.CreateEntry(ctx, w.jy, w.c, assoc.JobSeekers, &e))
		e2 := assoc.LedgerEntry{PersonID: w.dave.ID, Values: map[string]any{"desired_work": "家政", "status": "seeking", "languages": "英语"}}
		wantCode(t, "a value the new field does not allow", st.CreateEntry(ctx, w.jy, w.c, assoc.JobSeekers, &e2), shequ.EINVALID)

		clock.Advance(time.Hour)
		up, err := st.UpdateEntry(ctx, w.jy, w.c, assoc.JobSeekers, e.ID, assoc.EntryChange{Values: map[string]any{"status": "placed", "expected_salary": "4200"}})
		mustOK(t, err)
		if up.Values["status"] != "placed" || up.Values["expected_salary"] != 4200.0 || up.Values["desired_work"] != "家政" {
			t.Errorf("merged values %v", up.Values)
		}
		mustOK(t, st.RecordConsent(ctx, w.jy, w.c, assoc.JobSeekers, e.ID, &assoc.Consent{PartnerID: w.hr.ID, Given: true, Method: "paper", RecordedBy: "网格员张"}))
		hist, err := st.EntryHistory(ctx, w.jy, w.c, assoc.JobSeekers, e.ID)
		mustOK(t, err)
		if len(hist) != 3 || hist[0].Action != "create" || hist[1].Action != "update" || hist[2].Action != "consent" {
			t.Fatalf("history %+v", hist)
		}
		before := hist[1].Before["values"].(map[string]any)
		after := hist[1].After["values"].(map[string]any)
		if before["status"] != "seeking" || after["status"] != "placed" || !hist[1].At.After(hist[0].At) {
			t.Errorf("update line %+v", hist[1])
		}
		// An update that changes nothing writes no history.
		_, err = st.UpdateEntry(ctx, w.jy, w.c, assoc.JobSeekers, e.ID, assoc.EntryChange{Values: map[string]any{"status": "placed"}})
		mustOK(t, err)
		if h, _ := st.EntryHistory(ctx, w.jy, w.c, assoc.JobSeekers, e.ID); len(h) != 3 {
			t.Errorf("a no-op wrote history: %d lines", len(h))
		}
		// Partners never read history; other associations read it without
		// sensitive fields.
		_, err = st.EntryHistory(ctx, w.hrA, w.c, assoc.JobSeekers, e.ID)
		wantCode(t, "a partner reads history", err, shequ.ENOTFOUND)
		_, err = st.UpdateEntry(ctx, w.jy, w.c, assoc.JobSeekers, e.ID, assoc.EntryChange{Values: map[string]any{"health": "高血压"}})
		mustOK(t, err)
		h, err := st.EntryHistory(ctx, w.bj, w.c, assoc.JobSeekers, e.ID)
		mustOK(t, err)
		if v := h[len(h)-1].After["values"].(map[string]any); v["health"] != nil || v["desired_work"] != "家政" {
			t.Errorf("another association's history view %v", v)
		}
	})
}

func TestPartnerVisibility(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		w := makeLedgers(t, st, "pv")
		js := assoc.JobSeekers
		seeker := func(p int64, status string) assoc.LedgerEntry {
			e := assoc.LedgerEntry{PersonID: p, Values: map[string]any{"skills": "电工证", "desired_work": "维修电工", "status": status, "expected_salary": 5000.0, "health": "良好"}}
			mustOK(t, st.CreateEntry(ctx, w.jy, w.c, js, &e))
			return e
		}
		alice := seeker(w.tr.alice.ID, "seeking") // consents
		bob := seeker(w.tr.bob.ID, "seeking")     // does not
		carol := seeker(w.carol.ID, "placed")     // consents, outside the filter
		for _, e := range []assoc.LedgerEntry{alice, carol} {
			mustOK(t, st.RecordConsent(ctx, w.jy, w.c, js, e.ID, &assoc.Consent{PartnerID: w.hr.ID, Given: true, Method: "app"}))
		}
		help := assoc.LedgerEntry{PersonID: w.dave.ID, Values: map[string]any{"measure": "每月谈话"}}
		mustOK(t, st.CreateEntry(ctx, w.bj, w.c, assoc.HelpEducation, &help))

		// Before any grant the partner reaches nothing.
		_, err := st.ListEntries(ctx, w.hrA, assoc.EntryFilter{Ledger: js})
		wantCode(t, "no grant yet", err, shequ.EFORBIDDEN)

		g := assoc.LedgerGrant{Ledger: js, PartnerID: w.hr.ID, Fields: []string{"skills", "desired_work"}, Purpose: "一对一就业服务", ExpiresAt: clock.Now().Add(30 * 24 * time.Hour), Consent: true}
		wantCode(t, "a member grants", st.CreateLedgerGrant(ctx, w.jy, &g, map[string]any{"status": "seeking"}), shequ.EFORBIDDEN)
		wantCode(t, "granting a sensitive field", st.CreateLedgerGrant(ctx, w.admin, &assoc.LedgerGrant{Ledger: js, PartnerID: w.hr.ID, Fields: []string{"health"}, Purpose: "x", ExpiresAt: g.ExpiresAt, Consent: true}, nil), shequ.EINVALID)
		wantCode(t, "granting help-education", st.CreateLedgerGrant(ctx, w.admin, &assoc.LedgerGrant{Ledger: assoc.HelpEducation, PartnerID: w.hr.ID, Fields: []string{"measure"}, Purpose: "x", ExpiresAt: g.ExpiresAt, Consent: true}, nil), shequ.EINVALID)
		mustOK(t, st.CreateLedgerGrant(ctx, w.admin, &g, map[string]any{"status": "seeking"}))

		reads := auditCount(t, st, "ledger.partner_read")
		list, err := st.ListEntries(ctx, w.hrA, assoc.EntryFilter{Ledger: js})
		mustOK(t, err)
		if list.Total != 1 || len(list.Items) != 1 {
			t.Fatalf("partner sees %d entries: %+v", list.Total, list.Items)
		}
		got := list.Items[0]
		if got.ID != alice.ID || got.PersonName != "王*" || got.PersonID != 0 || got.AssociationID != 0 || !got.Masked || len(got.Values) != 2 ||
			got.Values["skills"] != "电工证" || got.Values["desired_work"] != "维修电工" {
			t.Errorf("partner's view %+v", got)
		}
		if n := auditCount(t, st, "ledger.partner_read"); n != reads+1 {
			t.Errorf("partner reads audited: %d, want %d", n, reads+1)
		}
		one, err := st.Entry(ctx, w.hrA, w.c, js, alice.ID)
		mustOK(t, err)
		if len(one.Values) != 2 || one.Consents != nil {
			t.Errorf("partner's entry %+v", one)
		}
		if n := auditCount(t, st, "ledger.partner_read"); n != reads+2 {
			t.Errorf("reading one entry not audited: %d", n)
		}
		types, err := st.ListLedgerTypes(ctx, w.hrA, 0)
		mustOK(t, err)
		if types.Total != 1 || types.Items[0].Key != js || len(types.Items[0].Fields) != 2 || len(types.Items[0].Shared) != 1 {
			t.Errorf("partner's ledgers %+v", types.Items)
		}

		for _, c := range []struct {
			name string
			acc  assoc.Access
			do   func(acc assoc.Access) error
			want string
		}{
			{"entry without consent", w.hrA, func(a assoc.Access) error { _, err := st.Entry(ctx, a, w.c, js, bob.ID); return err }, shequ.ENOTFOUND},
			{"entry outside the filter", w.hrA, func(a assoc.Access) error { _, err := st.Entry(ctx, a, w.c, js, carol.ID); return err }, shequ.ENOTFOUND},
			{"entry of another ledger by id", w.hrA, func(a assoc.Access) error { _, err := st.Entry(ctx, a, w.c, js, help.ID); return err }, shequ.ENOTFOUND},
			{"help-education ledger", w.hrA, func(a assoc.Access) error {
				_, err := st.ListEntries(ctx, a, assoc.EntryFilter{Ledger: assoc.HelpEducation})
				return err
			}, shequ.EFORBIDDEN},
			{"help-education entry", w.hrA, func(a assoc.Access) error { _, err := st.Entry(ctx, a, w.c, assoc.HelpEducation, help.ID); return err }, shequ.ENOTFOUND},
			{"filter on a field not granted", w.hrA, func(a assoc.Access) error {
				_, err := st.ListEntries(ctx, a, assoc.EntryFilter{Ledger: js, Where: map[string]string{"expected_salary": "5000"}})
				return err
			}, shequ.EINVALID},
			{"search by name", w.hrA, func(a assoc.Access) error {
				_, err := st.ListEntries(ctx, a, assoc.EntryFilter{Ledger: js, Query: "王"})
				return err
			}, shequ.EINVALID},
			{"history", w.hrA, func(a assoc.Access) error { _, err := st.EntryHistory(ctx, a, w.c, js, alice.ID); return err }, shequ.ENOTFOUND},
			{"changing an entry", w.hrA, func(a assoc.Access) error {
				_, err := st.UpdateEntry(ctx, a, w.c, js, alice.ID, assoc.EntryChange{Values: map[string]any{"status": "placed"}})
				return err
			}, shequ.ENOTFOUND},
			{"another partner's list", w.othA, func(a assoc.Access) error {
				_, err := st.ListEntries(ctx, a, assoc.EntryFilter{Ledger: js})
				return err
			}, shequ.EFORBIDDEN},
			{"another partner's entry", w.othA, func(a assoc.Access) error { _, err := st.Entry(ctx, a, w.c, js, alice.ID); return err }, shequ.ENOTFOUND},
			{"grants list", w.hrA, func(a assoc.Access) error {
				l, err := st.ListLedgerGrants(ctx, a, assoc.GrantFilter{})
				if err == nil && l.Total != 0 {
					return shequ.Errorf(shequ.EINTERNAL, "partner lists %d grants", l.Total)
				}
				return err
			}, ""},
		} {
			wantCode(t, c.name, c.do(c.acc), c.want)
		}

		// Withdrawn consent ends the sharing of that entry at once.
		mustOK(t, st.RecordConsent(ctx, w.jy, w.c, js, alice.ID, &assoc.Consent{PartnerID: w.hr.ID, Given: false, Method: "verbal"}))
		list, err = st.ListEntries(ctx, w.hrA, assoc.EntryFilter{Ledger: js})
		mustOK(t, err)
		if list.Total != 0 {
			t.Errorf("entries after consent withdrawn: %d", list.Total)
		}
		mustOK(t, st.RecordConsent(ctx, w.jy, w.c, js, alice.ID, &assoc.Consent{PartnerID: w.hr.ID, Given: true, Method: "paper"}))

		// The partner records a placement; the owner association sees it,
		// the other partner cannot add one.
		f := assoc.FollowUp{Kind: assoc.Placed, Note: "已入职物业公司"}
		mustOK(t, st.AddFollowUp(ctx, w.hrA, w.c, js, alice.ID, &f))
		if f.PartnerID != w.hr.ID || f.AssociationID != 0 {
			t.Errorf("follow-up %+v", f)
		}
		wantCode(t, "follow-up on an entry not shared", st.AddFollowUp(ctx, w.hrA, w.c, js, bob.ID, &assoc.FollowUp{Kind: assoc.Interview}), shequ.ENOTFOUND)
		wantCode(t, "follow-up by another partner", st.AddFollowUp(ctx, w.othA, w.c, js, alice.ID, &assoc.FollowUp{Kind: assoc.Interview}), shequ.EFORBIDDEN)
		wantCode(t, "follow-up by another association", st.AddFollowUp(ctx, w.bj, w.c, js, alice.ID, &assoc.FollowUp{Kind: assoc.Interview}), shequ.EFORBIDDEN)
		owner, err := st.Entry(ctx, w.jy, w.c, js, alice.ID)
		mustOK(t, err)
		if len(owner.FollowUps) != 1 || owner.FollowUps[0].Kind != assoc.Placed || len(owner.Consents) != 1 || owner.Values["health"] != "良好" || owner.PersonName != w.tr.alice.Name {
			t.Errorf("owner's view %+v", owner)
		}
		stats, err := st.PlacementStats(ctx, w.admin, w.c, 2026)
		mustOK(t, err)
		if stats.ResidentsPlaced != 1 || stats.ByMonth[10] != 1 || len(stats.ByPartner) != 1 || stats.ByPartner[0].PartnerID != w.hr.ID {
			t.Errorf("stats %+v", stats)
		}
		if s, _ := st.PlacementStats(ctx, w.othA, w.c, 2026); s.ResidentsPlaced != 0 {
			t.Errorf("another partner counts hr's placements: %+v", s)
		}

		// Revoking cuts access at once.
		mustOK(t, st.RevokeLedgerGrant(ctx, w.admin, g.ID))
		wantCode(t, "revoked twice", st.RevokeLedgerGrant(ctx, w.admin, g.ID), shequ.ECONFLICT)
		_, err = st.ListEntries(ctx, w.hrA, assoc.EntryFilter{Ledger: js})
		wantCode(t, "list after revocation", err, shequ.EFORBIDDEN)
		_, err = st.Entry(ctx, w.hrA, w.c, js, alice.ID)
		wantCode(t, "entry after revocation", err, shequ.ENOTFOUND)
		wantCode(t, "follow-up after revocation", st.AddFollowUp(ctx, w.hrA, w.c, js, alice.ID, &assoc.FollowUp{Kind: assoc.Interview}), shequ.EFORBIDDEN)
		if types, _ := st.ListLedgerTypes(ctx, w.hrA, 0); types.Total != 0 {
			t.Errorf("ledgers after revocation %+v", types.Items)
		}

		// A grant that runs out ends by itself.
		short := assoc.LedgerGrant{Ledger: js, PartnerID: w.hr.ID, Fields: []string{"desired_work"}, Purpose: "短期招聘会", ExpiresAt: clock.Now().Add(time.Hour), Consent: true}
		mustOK(t, st.CreateLedgerGrant(ctx, w.admin, &short, nil))
		list, err = st.ListEntries(ctx, w.hrA, assoc.EntryFilter{Ledger: js})
		mustOK(t, err)
		if list.Total != 2 || len(list.Items[0].Values) != 1 { // alice and carol consented; no filter
			t.Errorf("short grant %+v", list)
		}
		clock.Advance(time.Hour)
		_, err = st.ListEntries(ctx, w.hrA, assoc.EntryFilter{Ledger: js})
		wantCode(t, "list after expiry", err, shequ.EFORBIDDEN)
		_, err = st.Entry(ctx, w.hrA, w.c, js, carol.ID)
		wantCode(t, "entry after expiry", err, shequ.ENOTFOUND)
		live, err := st.ListLedgerGrants(ctx, w.admin, assoc.GrantFilter{LiveOnly: true})
		mustOK(t, err)
		all, err := st.ListLedgerGrants(ctx, w.admin, assoc.GrantFilter{})
		mustOK(t, err)
		if live.Total != 0 || all.Total != 2 || all.Items[0].Live || all.Items[1].RevokedAt == nil {
			t.Errorf("grants: live %d, all %+v", live.Total, all.Items)
		}
	})
}

func TestSensitiveLedgers(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		w := makeLedgers(t, st, "sl")
		help := assoc.LedgerEntry{PersonID: w.dave.ID, Values: map[string]any{"measure": "每月谈话"}}
		wantCode(t, "another association writes help-education", st.CreateEntry(ctx, w.jy, w.c, assoc.HelpEducation, &help), shequ.EFORBIDDEN)
		wantCode(t, "the admin files a help-education entry under another association",
			st.CreateEntry(ctx, w.admin, w.c, assoc.HelpEducation, &assoc.LedgerEntry{PersonID: w.dave.ID, AssociationID: w.jiuye.ID, Values: map[string]any{"measure": "x"}}), shequ.EFORBIDDEN)
		mustOK(t, st.CreateEntry(ctx, w.bj, w.c, assoc.HelpEducation, &help))
		if help.AssociationID != w.bangjiao.ID {
			t.Errorf("owner %d", help.AssociationID)
		}
		js := assoc.LedgerEntry{PersonID: w.carol.ID, Values: map[string]any{"desired_work": "保洁", "status": "seeking", "health": "腰伤"}}
		mustOK(t, st.CreateEntry(ctx, w.jy, w.c, assoc.JobSeekers, &js))

		for _, c := range []struct {
			name     string
			acc      assoc.Access
			ledgers  []string
			helpSeen bool
			health   bool // sees the sensitive field of the job seeker
			// schema: the sensitive field is in the ledger's schema (for
			// administrators and the ledger's owner association)
			schema bool
		}{
			{"help-education association", w.bj, []string{assoc.HelpEducation, assoc.JobSeekers}, true, false, false},
			{"employment association", w.jy, []string{assoc.JobSeekers}, false, true, true},
			{"administrator", w.admin, []string{assoc.HelpEducation, assoc.JobSeekers}, true, true, true},
			{"member of no association", assoc.Access{Associations: []assoc.Seat{{CommunityID: w.c}}}, []string{assoc.JobSeekers}, false, false, false},
			{"administrator of another community", assoc.Access{Admin: []int64{w.c + 1000}}, nil, false, false, false},
		} {
			t.Run(c.name, func(t *testing.T) {
				types, err := st.ListLedgerTypes(ctx, c.acc, 0)
				mustOK(t, err)
				var keys []string
				for _, lt := range types.Items {
					keys = append(keys, lt.Key)
					if lt.Key == assoc.JobSeekers {
						if _, ok := lt.Field("health"); ok != c.schema {
							t.Errorf("health field in the schema: %v", ok)
						}
					}
				}
				slices.Sort(keys)
				if !slices.Equal(keys, c.ledgers) {
					t.Errorf("ledgers %v, want %v", keys, c.ledgers)
				}
				list, err := st.ListEntries(ctx, c.acc, assoc.EntryFilter{Ledger: assoc.HelpEducation})
				_, oneErr := st.Entry(ctx, c.acc, w.c, assoc.HelpEducation, help.ID)
				if c.helpSeen {
					if err != nil || list.Total != 1 || oneErr != nil {
						t.Errorf("help-education hidden: %v %v", err, oneErr)
					}
				} else {
					if code := shequ.ErrorCode(err); code != shequ.EFORBIDDEN && code != shequ.ENOTFOUND {
						t.Errorf("help-education list: %v", err)
					}
					wantCode(t, "help-education entry", oneErr, shequ.ENOTFOUND)
					_, hErr := st.EntryHistory(ctx, c.acc, w.c, assoc.HelpEducation, help.ID)
					if code := shequ.ErrorCode(hErr); code != shequ.ENOTFOUND {
						t.Errorf("help-education history: %v", hErr)
					}
				}
				if c.ledgers == nil {
					return
				}
				e, err := st.Entry(ctx, c.acc, w.c, assoc.JobSeekers, js.ID)
				mustOK(t, err)
				if (e.Values["health"] != nil) != c.health || e.Values["desired_work"] != "保洁" {
					t.Errorf("job seeker as seen: %v", e.Values)
				}
				if !c.health && (e.Consents != nil || e.FollowUps != nil) {
					t.Errorf("another association sees consents or follow-ups")
				}
			})
		}
		_, err := st.UpdateEntry(ctx, w.bj, w.c, assoc.JobSeekers, js.ID, assoc.EntryChange{Values: map[string]any{"status": "placed"}})
		wantCode(t, "another association changes an entry it reads", err, shequ.EFORBIDDEN)
		wantCode(t, "another association records consent", st.RecordConsent(ctx, w.bj, w.c, assoc.JobSeekers, js.ID, &assoc.Consent{PartnerID: w.hr.ID, Given: true, Method: "paper"}), shequ.EFORBIDDEN)
	})
}

func TestOpeningsAndIntakes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		w := makeLedgers(t, st, "oi")
		o := assoc.Opening{Title: "维修电工", Skills: "电工证", Positions: 2}
		mustOK(t, st.CreateOpening(ctx, w.hrA, &o))
		if o.PartnerID != w.hr.ID || o.CommunityID != w.c || o.Status != assoc.OpeningOpen {
			t.Errorf("opening %+v", o)
		}
		wantCode(t, "posting for another partner", st.CreateOpening(ctx, w.othA, &assoc.Opening{Title: "x", PartnerID: w.hr.ID}), shequ.EFORBIDDEN)
		upd := o
		upd.Status = assoc.OpeningClosed
		wantCode(t, "closing another partner's opening", st.UpdateOpening(ctx, w.othA, &upd), shequ.ENOTFOUND)

		e := assoc.LedgerEntry{PersonID: w.tr.alice.ID, Values: map[string]any{"skills": "有电工证", "desired_work": "维修", "status": "seeking"}}
		mustOK(t, st.CreateEntry(ctx, w.jy, w.c, assoc.JobSeekers, &e))
		mustOK(t, st.RecordConsent(ctx, w.jy, w.c, assoc.JobSeekers, e.ID, &assoc.Consent{PartnerID: w.hr.ID, Given: true, Method: "paper"}))
		g := assoc.LedgerGrant{Ledger: assoc.JobSeekers, PartnerID: w.hr.ID, Fields: []string{"skills", "desired_work"}, Purpose: "招聘", ExpiresAt: clock.Now().AddDate(0, 6, 0), Consent: true}
		mustOK(t, st.CreateLedgerGrant(ctx, w.admin, &g, nil))
		cands, err := st.OpeningCandidates(ctx, w.hrA, o.ID, 10)
		mustOK(t, err)
		if len(cands) != 1 || cands[0].Entry.ID != e.ID || !cands[0].Entry.Masked {
			t.Errorf("candidates %+v", cands)
		}
		mustOK(t, st.AddFollowUp(ctx, w.hrA, w.c, assoc.JobSeekers, e.ID, &assoc.FollowUp{Kind: assoc.JobOffered, OpeningID: o.ID}))
		mustOK(t, st.AddFollowUp(ctx, w.hrA, w.c, assoc.JobSeekers, e.ID, &assoc.FollowUp{Kind: assoc.Interview, OpeningID: o.ID}))
		mustOK(t, st.AddFollowUp(ctx, w.jy, w.c, assoc.JobSeekers, e.ID, &assoc.FollowUp{Kind: assoc.Placed, OpeningID: o.ID}))
		got, err := st.Opening(ctx, w.jy, o.ID)
		mustOK(t, err)
		if got.Offered != 1 || got.Interviews != 1 || got.Placed != 1 {
			t.Errorf("opening counts %+v", got)
		}
		if l, _ := st.ListOpenings(ctx, w.othA, assoc.OpeningFilter{}); l.Total != 0 {
			t.Errorf("another partner lists hr's openings")
		}
		// Placed twice in the year, counted once.
		mustOK(t, st.AddFollowUp(ctx, w.hrA, w.c, assoc.JobSeekers, e.ID, &assoc.FollowUp{Kind: assoc.Placed}))
		stats, err := st.PlacementStats(ctx, w.jy, 0, 0)
		mustOK(t, err)
		if stats.Year != 2026 || stats.ResidentsPlaced != 1 || stats.Placements != 2 {
			t.Errorf("stats %+v", stats)
		}
		if s, _ := st.PlacementStats(ctx, w.jy, w.c, 2025); s.ResidentsPlaced != 0 {
			t.Errorf("last year %+v", s)
		}

		// A resident brings a problem to the mediation association (here:
		// the employment one); its members see it, others do not.
		resident := assoc.Access{UserID: 0, Households: []assoc.Seat{{CommunityID: w.c, ID: w.tr.household1.ID}}}
		in := assoc.Intake{AssociationID: w.jiuye.ID, PersonID: w.tr.alice.ID, Description: "想找一份离家近的工作"}
		mustOK(t, st.SubmitIntake(ctx, resident, &in))
		wantCode(t, "speaking for another household", st.SubmitIntake(ctx, resident, &assoc.Intake{AssociationID: w.jiuye.ID, PersonID: w.tr.bob.ID, Description: "x"}), shequ.EINVALID)
		wantCode(t, "an unknown association", st.SubmitIntake(ctx, resident, &assoc.Intake{AssociationID: 999999, PersonID: w.tr.alice.ID, Description: "x"}), shequ.ENOTFOUND)
		for _, c := range []struct {
			name string
			acc  assoc.Access
			want int
		}{{"the association", w.jy, 1}, {"another association", w.bj, 0}, {"the resident", resident, 1}, {"the admin", w.admin, 1}, {"a partner", w.hrA, 0}} {
			l, err := st.ListIntakes(ctx, c.acc, assoc.IntakeFilter{})
			mustOK(t, err)
			if l.Total != c.want {
				t.Errorf("%s sees %d intakes, want %d", c.name, l.Total, c.want)
			}
		}
		_, err = st.MoveIntake(ctx, w.bj, in.ID, assoc.IntakeAccepted, "")
		wantCode(t, "another association takes it up", err, shequ.ENOTFOUND)
		moved, err := st.MoveIntake(ctx, w.jy, in.ID, assoc.IntakeAccepted, "已登记求职")
		mustOK(t, err)
		if moved.Status != assoc.IntakeAccepted || !strings.Contains(moved.Note, "求职") {
			t.Errorf("moved %+v", moved)
		}

		// Associations are renamed and their members replaced.
		w.jiuye.Name, w.jiuye.Members = "就业创业协会", []community.Member{{Name: "张三", Kind: "volunteer", Role: "member"}}
		mustOK(t, st.UpdateAssociation(ctx, everywhere, &w.jiuye))
		l, err := st.ListAssociations(ctx, everywhere, community.Filter{CommunityID: w.c})
		mustOK(t, err)
		if l.Items[0].Name != "就业创业协会" || len(l.Items[0].Members) != 1 {
			t.Errorf("renamed %+v", l.Items[0])
		}
		ps, err := st.ListPartners(ctx, everywhere, community.Filter{CommunityID: w.c})
		mustOK(t, err)
		if ps.Total != 2 {
			t.Errorf("partners %d", ps.Total)
		}
	})
}

// TestEntryWithConsent: the consents taken with an entry are stored with
// it, in its history and the audit log, and the partner sees the entry at
// once; a consent that cannot be stored keeps the entry out too.
func TestEntryWithConsent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		w := makeLedgers(t, st, "ec")
		g := assoc.LedgerGrant{CommunityID: w.c, PartnerID: w.hr.ID, Ledger: assoc.JobSeekers, Fields: []string{"desired_work"}, Purpose: "就业服务",
			ExpiresAt: clock.Now().AddDate(0, 6, 0), Consent: true}
		mustOK(t, st.CreateLedgerGrant(ctx, w.admin, &g, nil))
		consents := auditCount(t, st, "ledger_entry.consent")
		values := map[string]any{"desired_work": "保洁", "status": "seeking"}

		for _, c := range []struct {
			name    string
			consent assoc.Consent
			code    string
		}{
			{"a partner of no community of ours", assoc.Consent{PartnerID: 999999, Given: true, Method: "paper"}, shequ.EINVALID},
			{"no way of consenting", assoc.Consent{PartnerID: w.hr.ID, Given: true, Method: "telepathy"}, shequ.EINVALID},
		} {
			e := assoc.LedgerEntry{PersonID: w.carol.ID, Values: values, Consents: []assoc.Consent{c.consent}}
			wantCode(t, c.name, st.CreateEntry(ctx, w.jy, w.c, assoc.JobSeekers, &e), c.code)
		}
		list, err := st.ListEntries(ctx, w.admin, assoc.EntryFilter{Ledger: assoc.JobSeekers})
		mustOK(t, err)
		if list.Total != 0 || auditCount(t, st, "ledger_entry.consent") != consents {
			t.Fatalf("a refused consent left %d entries", list.Total)
		}

		e := assoc.LedgerEntry{PersonID: w.carol.ID, Values: values, Consents: []assoc.Consent{{PartnerID: w.hr.ID, Given: true, Method: "paper", RecordedBy: "会长"}}}
		mustOK(t, st.CreateEntry(ctx, w.jy, w.c, assoc.JobSeekers, &e))
		got, err := st.Entry(ctx, w.jy, w.c, assoc.JobSeekers, e.ID)
		mustOK(t, err)
		if len(got.Consents) != 1 || got.Consents[0].PartnerID != w.hr.ID || !got.Consents[0].Given || got.Consents[0].RecordedBy != "会长" {
			t.Errorf("consents %+v", got.Consents)
		}
		hist, err := st.EntryHistory(ctx, w.jy, w.c, assoc.JobSeekers, e.ID)
		mustOK(t, err)
		if len(hist) != 2 || hist[0].Action != "create" || hist[1].Action != "consent" {
			t.Errorf("history %+v", hist)
		}
		if n := auditCount(t, st, "ledger_entry.consent"); n != consents+1 {
			t.Errorf("consent audits %d → %d", consents, n)
		}
		seen, err := st.ListEntries(ctx, w.hrA, assoc.EntryFilter{Ledger: assoc.JobSeekers})
		mustOK(t, err)
		if seen.Total != 1 || seen.Items[0].ID != e.ID || !seen.Items[0].Masked {
			t.Errorf("the partner sees %+v", seen.Items)
		}
		other, err := st.ListEntries(ctx, w.othA, assoc.EntryFilter{Ledger: assoc.JobSeekers})
		if shequ.ErrorCode(err) != shequ.EFORBIDDEN && (err != nil || other.Total != 0) {
			t.Errorf("a partner without consent or grant sees %+v (%v)", other.Items, err)
		}
	})
}
