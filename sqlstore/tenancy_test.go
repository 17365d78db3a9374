package sqlstore_test

import (
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// TestReferencesStayInTheirCommunity: a community's administrator names
// another community's association, partner, grid, staff or resident in a
// grant, a grid, a building, an association or an account, and is refused.
func TestReferencesStayInTheirCommunity(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		a := makeLedgers(t, st, "ta")
		b := makeTree(t, st, "tb")
		bAdmin := auth.Scope{{CommunityID: b.community.ID}}
		workerA := &auth.User{Username: "worker-a", Grants: []auth.Grant{{Role: auth.RoleGridWorker, CommunityID: a.c, GridID: a.tr.grid1.ID}}}
		mustOK(t, st.CreateUser(ctx, everywhere, workerA, ""))
		director := &auth.User{Username: "director-b", Grants: []auth.Grant{{Role: auth.RoleAdmin, CommunityID: b.community.ID}}}
		mustOK(t, st.CreateUser(ctx, everywhere, director, ""))

		foreign := []struct {
			what  string
			grant auth.Grant
		}{
			{"another community's association", auth.Grant{Role: auth.RoleAssociationChair, CommunityID: b.community.ID, AssociationID: a.jiuye.ID}},
			{"another community's partner", auth.Grant{Role: auth.RolePartner, CommunityID: b.community.ID, PartnerID: a.hr.ID}},
			{"another community's grid", auth.Grant{Role: auth.RoleGridWorker, CommunityID: b.community.ID, GridID: a.tr.grid1.ID}},
		}
		for _, c := range foreign {
			for _, scope := range []auth.Scope{bAdmin, everywhere} {
				g := c.grant
				g.UserID = director.ID
				wantCode(t, "grant naming "+c.what, st.AddGrant(ctx, scope, &g), shequ.EINVALID)
				u := &auth.User{Username: "intruder", Grants: []auth.Grant{c.grant}}
				wantCode(t, "account with a grant naming "+c.what, st.CreateUser(ctx, scope, u, ""), shequ.EINVALID)
			}
		}
		u, err := st.UserByName(ctx, "director-b")
		mustOK(t, err)
		if len(u.Grants) != 1 {
			t.Errorf("the director holds %d grants, want their one", len(u.Grants))
		}
		if _, err := st.UserByName(ctx, "intruder"); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("an account with a foreign grant was made: %v", err)
		}
		// The same ids of B's own are fine.
		chair := auth.Grant{UserID: director.ID, Role: auth.RoleGridWorker, CommunityID: b.community.ID, GridID: b.grid1.ID}
		mustOK(t, st.AddGrant(ctx, bAdmin, &chair))

		// A grid or building of B led by A's worker.
		g := b.grid1
		g.WorkerUserID = workerA.ID
		wantCode(t, "B's grid with A's worker", st.UpdateGrid(ctx, bAdmin, &g), shequ.EINVALID)
		newGrid := community.Grid{CommunityID: b.community.ID, Code: "G9", Name: "新网格", WorkerUserID: workerA.ID}
		wantCode(t, "new grid of B with A's worker", st.CreateGrid(ctx, bAdmin, &newGrid), shequ.EINVALID)
		bl := b.building1
		bl.HeadUserID = workerA.ID
		wantCode(t, "B's building with A's head", st.UpdateBuilding(ctx, bAdmin, &bl), shequ.EINVALID)
		as := community.Association{CommunityID: b.community.ID, Key: "x", Name: "协会", ChairUserID: workerA.ID}
		wantCode(t, "B's association chaired by A's worker", st.CreateAssociation(ctx, bAdmin, &as), shequ.EINVALID)
		as = community.Association{CommunityID: b.community.ID, Key: "x", Name: "协会", Members: []community.Member{{Name: "王芳", PersonID: a.tr.alice.ID}}}
		wantCode(t, "B's association with A's resident", st.CreateAssociation(ctx, bAdmin, &as), shequ.EINVALID)
		got, err := st.Grid(ctx, everywhere, b.grid1.ID)
		mustOK(t, err)
		if got.WorkerUserID != 0 {
			t.Errorf("B's grid is led by user %d", got.WorkerUserID)
		}
		g.WorkerUserID = director.ID
		mustOK(t, st.UpdateGrid(ctx, bAdmin, &g))

		// An account of B that is A's resident would reach A's household.
		res := &auth.User{Username: "res-b", PersonID: a.tr.alice.ID, Grants: []auth.Grant{{Role: auth.RoleResident, CommunityID: b.community.ID}}}
		wantCode(t, "B's resident account for A's person", st.CreateUser(ctx, bAdmin, res, ""), shequ.EINVALID)
		res = &auth.User{Username: "res-b", PersonID: a.tr.alice.ID, Grants: []auth.Grant{{Role: auth.RoleResident, CommunityID: b.community.ID}}}
		wantCode(t, "B's resident account for A's person, by the deployment", st.CreateUser(ctx, everywhere, res, ""), shequ.EINVALID)
		res = &auth.User{Username: "res-b", PersonID: b.alice.ID, Grants: []auth.Grant{{Role: auth.RoleResident, CommunityID: b.community.ID}}}
		mustOK(t, st.CreateUser(ctx, bAdmin, res, ""))
	})
}

// TestSeatsReachOnlyTheirCommunity: a seat naming another community's
// association or partner (as a grant made before grants were checked would
// give) reaches nothing of it.
func TestSeatsReachOnlyTheirCommunity(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		w := makeServices(t, st, "sa")
		b := makeTree(t, st, "sb")
		stray := assoc.Access{Associations: []assoc.Seat{{CommunityID: b.community.ID, ID: w.jiuye.ID}}}
		strayPartner := assoc.Access{Partners: []assoc.Seat{{CommunityID: b.community.ID, ID: w.hr.ID}}}

		in := assoc.Intake{AssociationID: w.jiuye.ID, PersonID: w.tr.alice.ID, Description: "找工作"}
		mustOK(t, st.SubmitIntake(ctx, w.admin, &in))
		m := assoc.Mediation{AssociationID: w.jiuye.ID, Subject: "工资纠纷"}
		mustOK(t, st.CreateMediation(ctx, w.admin, &m))
		o := assoc.Opening{PartnerID: w.hr.ID, Title: "保洁", Positions: 1}
		mustOK(t, st.CreateOpening(ctx, w.admin, &o))

		// The true seat sees them, so the stray one seeing none is the seat's doing.
		for _, acc := range []struct {
			what string
			acc  assoc.Access
			want int
		}{{"jiuye's own seat", w.jy, 1}, {"a stray seat", stray, 0}} {
			cs, err := st.ListCases(ctx, acc.acc, assoc.CaseFilter{})
			mustOK(t, err)
			is, err := st.ListIntakes(ctx, acc.acc, assoc.IntakeFilter{})
			mustOK(t, err)
			ms, err := st.ListMediations(ctx, acc.acc, assoc.MediationFilter{})
			mustOK(t, err)
			if (cs.Total > 0) != (acc.want > 0) || is.Total != acc.want || ms.Total != acc.want {
				t.Errorf("%s: %d cases, %d intakes, %d mediations", acc.what, cs.Total, is.Total, ms.Total)
			}
		}
		_, err := st.Case(ctx, stray, w.ids[1])
		wantCode(t, "a stray seat reads a case", err, shequ.ENOTFOUND)
		wantCode(t, "a stray seat writes a case action", st.AddCaseAction(ctx, stray, w.ids[1], &assoc.CaseAction{Note: "x"}), shequ.ENOTFOUND)
		wantCode(t, "a stray seat adds a mediation party", st.AddMediationParty(ctx, stray, m.ID, &assoc.MediationParty{Organisation: "物业", Side: "company"}), shequ.ENOTFOUND)

		mine, err := st.ListOpenings(ctx, w.hrA, assoc.OpeningFilter{})
		mustOK(t, err)
		theirs, err := st.ListOpenings(ctx, strayPartner, assoc.OpeningFilter{})
		mustOK(t, err)
		if mine.Total != 1 || theirs.Total != 0 {
			t.Errorf("openings: the partner sees %d, a stray partner seat %d", mine.Total, theirs.Total)
		}
		_, err = st.Opening(ctx, strayPartner, o.ID)
		wantCode(t, "a stray partner seat reads an opening", err, shequ.ENOTFOUND)
	})
}

// TestCandidatesOnlyOfTheCommunity: a grid that names another community's
// account as its worker (stored before grids were checked) does not offer
// them an incident.
func TestCandidatesOnlyOfTheCommunity(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		a := makeTree(t, st, "ca")
		b := makeTree(t, st, "cb")
		outsider := &auth.User{Username: "outsider", DisplayName: "外人", Grants: []auth.Grant{{Role: auth.RoleGridWorker, CommunityID: b.community.ID, GridID: b.grid1.ID}}}
		mustOK(t, st.CreateUser(ctx, everywhere, outsider, ""))
		mustOK(t, st.SetPosition(ctx, outsider.ID, 29.72, 106.63, true))
		if _, err := st.DB().ExecContext(ctx, "UPDATE grids SET worker_user_id = $1 WHERE id = $2", outsider.ID, a.grid1.ID); err != nil {
			t.Fatal(err)
		}
		out, err := st.RaiseSOS(ctx, everywhere, a.home1.ID, "", 0, 0)
		mustOK(t, err)
		cands, err := st.DispatchCandidates(ctx, everywhere, out.Incident.ID)
		mustOK(t, err)
		for _, c := range cands {
			if c.UserID == outsider.ID {
				t.Errorf("another community's worker is a candidate: %+v", c)
			}
		}
		// Their own incident still offers them.
		out, err = st.RaiseSOS(ctx, everywhere, b.home1.ID, "", 0, 0)
		mustOK(t, err)
		cands, err = st.DispatchCandidates(ctx, everywhere, out.Incident.ID)
		mustOK(t, err)
		if len(cands) == 0 || cands[0].UserID != outsider.ID {
			t.Errorf("candidates in their own community %+v", cands)
		}
	})
}

// TestSearchTakesWildcardsLiterally: % and _ in a search are characters
// to find, not patterns.
func TestSearchTakesWildcardsLiterally(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		w := makeLedgers(t, st, "wl")
		e := assoc.LedgerEntry{PersonID: w.tr.alice.ID, Values: map[string]any{"desired_work": "保洁", "status": "seeking"}}
		mustOK(t, st.CreateEntry(ctx, w.admin, w.c, assoc.JobSeekers, &e))
		for _, tt := range []struct {
			q    string
			want int
		}{{"王", 2}, {"%", 0}, {"王_", 0}, {"_", 0}, {`\`, 0}} {
			people, err := st.ListPeople(ctx, everywhere, community.Filter{Query: tt.q})
			mustOK(t, err)
			entries, err := st.ListEntries(ctx, w.admin, assoc.EntryFilter{CommunityID: w.c, Ledger: assoc.JobSeekers, Query: tt.q})
			mustOK(t, err)
			if people.Total != tt.want || entries.Total != min(tt.want, 1) {
				t.Errorf("q=%q: %d people, %d entries; want %d and %d", tt.q, people.Total, entries.Total, tt.want, min(tt.want, 1))
			}
		}
		people, err := st.ListPeople(ctx, everywhere, community.Filter{Tag: "%"})
		mustOK(t, err)
		if people.Total != 0 {
			t.Errorf("tag %%: %d people", people.Total)
		}
	})
}

// TestConflictsNameFieldsNotTables: a clash says which fields, in the
// same words on both databases, and no table or constraint name.
func TestConflictsNameFieldsNotTables(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "cf")
		for _, tt := range []struct {
			what string
			err  error
			want string
		}{
			{"a second building of one name", st.CreateBuilding(ctx, everywhere, &community.Building{CommunityID: tr.community.ID, GridID: tr.grid2.ID, Name: "A栋"}),
				"this already exists: another has the same name"},
			{"a second community of one code", st.CreateCommunity(ctx, everywhere, &community.Community{Code: "cf", Name: "x"}),
				"this already exists: another has the same code"},
		} {
			if shequ.ErrorCode(tt.err) != shequ.ECONFLICT || shequ.ErrorMessage(tt.err) != tt.want {
				t.Errorf("%s: %v, want %q", tt.what, tt.err, tt.want)
			}
		}
	})
}
