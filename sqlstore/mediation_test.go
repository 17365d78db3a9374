package sqlstore_test

import (
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

type mediationWorld struct {
	tr               tree
	c                int64
	tiaojie, bangfu  community.Association
	admin, tj, bf    assoc.Access
	outsider, noSeat assoc.Access
}

func makeMediation(t *testing.T, st *sqlstore.Store, code string) mediationWorld {
	t.Helper()
	w := mediationWorld{tr: makeTree(t, st, code)}
	w.c = w.tr.community.ID
	w.tiaojie = community.Association{CommunityID: w.c, Key: "tiaojie", Name: "调解协会"}
	w.bangfu = community.Association{CommunityID: w.c, Key: "bangfu", Name: "帮扶协会"}
	mustOK(t, st.CreateAssociation(t.Context(), everywhere, &w.tiaojie))
	mustOK(t, st.CreateAssociation(t.Context(), everywhere, &w.bangfu))
	w.admin = assoc.Access{Admin: []int64{w.c}}
	w.tj = assoc.Access{Associations: []assoc.Seat{{CommunityID: w.c, ID: w.tiaojie.ID}}}
	w.bf = assoc.Access{Associations: []assoc.Seat{{CommunityID: w.c, ID: w.bangfu.ID}}}
	w.noSeat = assoc.Access{Associations: []assoc.Seat{{CommunityID: w.c}}}
	w.outsider = assoc.Access{Admin: []int64{w.c + 1000}}
	return w
}

// mustState checks the case's status and how many audit entries it has,
// so that a refused step is seen to change nothing.
func mustState(t *testing.T, st *sqlstore.Store, acc assoc.Access, id int64, status string, parties, sessions, checks int) {
	t.Helper()
	m, err := st.Mediation(t.Context(), acc, id)
	mustOK(t, err)
	if m.Status != status || len(m.Parties) != parties || len(m.Sessions) != sessions || len(m.FollowUps) != checks {
		t.Errorf("mediation %d: %s with %d parties, %d sessions, %d checks; want %s, %d, %d, %d", id, m.Status, len(m.Parties), len(m.Sessions), len(m.FollowUps), status, parties, sessions, checks)
	}
}

func TestMediationLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		w := makeMediation(t, st, "md1")
		m := assoc.Mediation{AssociationID: w.tiaojie.ID, Subject: "3栋电梯停运两个月，业主与物业公司协商维修"}
		mustOK(t, st.CreateMediation(ctx, w.tj, &m))
		if m.Status != assoc.MediationOpen || m.CommunityID != w.c {
			t.Fatalf("new mediation %+v", m)
		}
		owner := assoc.MediationParty{PersonID: w.tr.alice.ID, Side: "owners", Representative: true, Represents: 19}
		company := assoc.MediationParty{Organisation: "某物业服务有限公司", Side: "property_company"}
		mustOK(t, st.AddMediationParty(ctx, w.tj, m.ID, &owner))
		mustOK(t, st.AddMediationParty(ctx, w.tj, m.ID, &company))
		wantCode(t, "the same resident twice", st.AddMediationParty(ctx, w.tj, m.ID, &assoc.MediationParty{PersonID: w.tr.alice.ID, Side: "owners"}), shequ.ECONFLICT)
		wantCode(t, "a party both resident and organisation", st.AddMediationParty(ctx, w.tj, m.ID, &assoc.MediationParty{PersonID: w.tr.bob.ID, Organisation: "x", Side: "owners"}), shequ.EINVALID)

		audits := auditCount(t, st, "mediation."+assoc.StepAddParty)
		// Steps that do not fit an open case: conflicts that change nothing.
		_, err := st.RecordMediationOutcome(ctx, w.tj, m.ID, assoc.MediationResult{Outcome: assoc.MediationAgreed, Agreement: "物业两周内修好电梯"})
		wantCode(t, "agreed before a session", err, shequ.ECONFLICT)
		wantCode(t, "a follow-up before the outcome", st.AddMediationFollowUp(ctx, w.tj, m.ID, &assoc.MediationCheck{Question: "电梯修好了吗？"}), shequ.ECONFLICT)
		mustState(t, st, w.tj, m.ID, assoc.MediationOpen, 2, 0, 0)
		wantCode(t, "a session with a stranger", st.AddMediationSession(ctx, w.tj, m.ID, &assoc.MediationSession{HeldAt: clock.Now(), Place: "社区会议室", Attendees: []int64{owner.ID, 999999}}), shequ.EINVALID)
		mustState(t, st, w.tj, m.ID, assoc.MediationOpen, 2, 0, 0)

		for i := range 3 {
			s := assoc.MediationSession{HeldAt: clock.Now().Add(-time.Duration(3-i) * 24 * time.Hour), Place: "社区会议室", Attendees: []int64{owner.ID, company.ID}, OtherAttendees: "调解员两名", Notes: "协商维修费用分担"}
			mustOK(t, st.AddMediationSession(ctx, w.tj, m.ID, &s))
		}
		mustState(t, st, w.tj, m.ID, assoc.MediationInSession, 2, 3, 0)
		_, err = st.RecordMediationOutcome(ctx, w.tj, m.ID, assoc.MediationResult{Outcome: assoc.MediationAgreed})
		wantCode(t, "an agreement without its text", err, shequ.EINVALID)
		got, err := st.RecordMediationOutcome(ctx, w.tj, m.ID, assoc.MediationResult{Outcome: assoc.MediationAgreed, Agreement: "物业公司承担维修费用，两周内修复电梯", Signed: true})
		mustOK(t, err)
		if got.Status != assoc.MediationAgreed || got.Outcome != assoc.MediationAgreed || !got.Signed || got.ConcludedAt == nil {
			t.Errorf("agreed %+v", got)
		}
		// A concluded case takes no more parties, sessions or outcomes.
		wantCode(t, "a party after the outcome", st.AddMediationParty(ctx, w.tj, m.ID, &assoc.MediationParty{PersonID: w.tr.bob.ID, Side: "owners"}), shequ.ECONFLICT)
		wantCode(t, "a session after the outcome", st.AddMediationSession(ctx, w.tj, m.ID, &assoc.MediationSession{HeldAt: clock.Now(), Place: "x", OtherAttendees: "y"}), shequ.ECONFLICT)
		_, err = st.RecordMediationOutcome(ctx, w.tj, m.ID, assoc.MediationResult{Outcome: assoc.MediationFailed, Note: "反悔"})
		wantCode(t, "a second outcome", err, shequ.ECONFLICT)
		mustState(t, st, w.tj, m.ID, assoc.MediationAgreed, 2, 3, 0)
		if n := auditCount(t, st, "mediation."+assoc.StepAddParty); n != audits {
			t.Errorf("refused steps were audited: %d → %d", audits, n)
		}

		clock.Advance(14 * 24 * time.Hour)
		check := assoc.MediationCheck{Question: "电梯修好了吗？", Resolved: true, Note: "电梯已恢复运行"}
		mustOK(t, st.AddMediationFollowUp(ctx, w.tj, m.ID, &check))
		if check.CheckedOn != "2026-12-12" {
			t.Errorf("check day %q", check.CheckedOn)
		}
		mustState(t, st, w.tj, m.ID, assoc.MediationFollowedUp, 2, 3, 1)
		mustOK(t, st.AddMediationFollowUp(ctx, w.tj, m.ID, &assoc.MediationCheck{Question: "一个月后电梯运行正常吗？", Resolved: true, Close: true}))
		mustState(t, st, w.tj, m.ID, assoc.MediationClosed, 2, 3, 2)
		wantCode(t, "a follow-up on a closed case", st.AddMediationFollowUp(ctx, w.tj, m.ID, &assoc.MediationCheck{Question: "还好吗？"}), shequ.ECONFLICT)
		if n := auditCount(t, st, "mediation."+assoc.MediationAgreed); n != 1 {
			t.Errorf("%d agreements audited", n)
		}

		full, err := st.Mediation(ctx, w.admin, m.ID)
		mustOK(t, err)
		if full.Parties[0].PersonName != w.tr.alice.Name || full.Parties[0].Represents != 19 || full.Parties[1].Organisation == "" || len(full.Sessions[0].Attendees) != 2 {
			t.Errorf("mediation as read %+v", full)
		}
	})
}

func TestMediationScope(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		w := makeMediation(t, st, "ms1")
		m := assoc.Mediation{AssociationID: w.tiaojie.ID, Subject: "楼上漏水"}
		mustOK(t, st.CreateMediation(ctx, w.tj, &m))
		wantCode(t, "open a case for another association", st.CreateMediation(ctx, w.bf, &assoc.Mediation{AssociationID: w.tiaojie.ID, Subject: "x"}), shequ.EINVALID)
		for name, acc := range map[string]assoc.Access{"another association": w.bf, "no association": w.noSeat, "another community": w.outsider} {
			_, err := st.Mediation(ctx, acc, m.ID)
			wantCode(t, name+" reads", err, shequ.ENOTFOUND)
			wantCode(t, name+" adds a session", st.AddMediationSession(ctx, acc, m.ID, &assoc.MediationSession{HeldAt: clock.Now(), Place: "x", OtherAttendees: "y"}), shequ.ENOTFOUND)
			l, err := st.ListMediations(ctx, acc, assoc.MediationFilter{})
			mustOK(t, err)
			if l.Total != 0 {
				t.Errorf("%s lists %+v", name, l)
			}
		}
		mustState(t, st, w.admin, m.ID, assoc.MediationOpen, 0, 0, 0)
		l, err := st.ListMediations(ctx, w.tj, assoc.MediationFilter{Status: assoc.MediationOpen, Query: "漏水"})
		mustOK(t, err)
		if l.Total != 1 || l.Items[0].ID != m.ID {
			t.Errorf("filtered list %+v", l)
		}
	})
}

// The statistics of a hand-counted fixture: cases opened in the period,
// and concluded in it by outcome, whenever they were opened.
func TestMediationStats(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		w := makeMediation(t, st, "mt1")
		open := func(as int64, subject string) assoc.Mediation {
			m := assoc.Mediation{AssociationID: as, Subject: subject}
			mustOK(t, st.CreateMediation(ctx, w.admin, &m))
			return m
		}
		session := func(m assoc.Mediation) {
			mustOK(t, st.AddMediationSession(ctx, w.admin, m.ID, &assoc.MediationSession{HeldAt: clock.Now(), Place: "会议室", OtherAttendees: "双方"}))
		}
		conclude := func(m assoc.Mediation, outcome string) {
			r := assoc.MediationResult{Outcome: outcome, Note: "说明"}
			if outcome == assoc.MediationAgreed {
				r = assoc.MediationResult{Outcome: outcome, Agreement: "协议"}
			}
			_, err := st.RecordMediationOutcome(ctx, w.admin, m.ID, r)
			mustOK(t, err)
		}
		// Before the period: one opened (concluded inside it), one opened
		// and concluded.
		early := open(w.tiaojie.ID, "早")
		session(early)
		old := open(w.tiaojie.ID, "旧")
		session(old)
		conclude(old, assoc.MediationFailed)
		clock.Advance(2 * 24 * time.Hour)
		from := clock.Now().Add(-time.Hour)
		conclude(early, assoc.MediationAgreed)
		a1, a2 := open(w.tiaojie.ID, "一"), open(w.tiaojie.ID, "二")
		open(w.tiaojie.ID, "三")
		b1 := open(w.bangfu.ID, "四")
		session(a1)
		session(a2)
		conclude(a1, assoc.MediationAgreed)
		conclude(a2, assoc.MediationFailed)
		conclude(b1, assoc.MediationWithdrawn)
		to := clock.Now().Add(time.Hour)
		clock.Advance(2 * 24 * time.Hour)
		conclude(open(w.tiaojie.ID, "后"), assoc.MediationWithdrawn)

		stats, err := st.MediationStats(ctx, w.admin, w.c, from, to)
		mustOK(t, err)
		want := []assoc.MediationCount{
			{AssociationID: w.tiaojie.ID, Name: "调解协会", Opened: 3, Agreed: 2, Failed: 1, Concluded: 3, SuccessRate: 2.0 / 3},
			{AssociationID: w.bangfu.ID, Name: "帮扶协会", Opened: 1, Withdrawn: 1, Concluded: 1},
		}
		if len(stats.Associations) != 2 || stats.Associations[0] != want[0] || stats.Associations[1] != want[1] {
			t.Errorf("per association:\n got %+v\nwant %+v", stats.Associations, want)
		}
		if total := (assoc.MediationCount{Name: "all", Opened: 4, Agreed: 2, Failed: 1, Withdrawn: 1, Concluded: 4, SuccessRate: 0.5}); stats.Total != total {
			t.Errorf("total %+v, want %+v", stats.Total, total)
		}
		// A member counts their own association's cases.
		mine, err := st.MediationStats(ctx, w.bf, w.c, from, to)
		mustOK(t, err)
		if len(mine.Associations) != 1 || mine.Total.Opened != 1 {
			t.Errorf("the assistance association's stats %+v", mine)
		}
		_, err = st.MediationStats(ctx, w.outsider, w.c, from, to)
		wantCode(t, "another community's stats", err, shequ.EFORBIDDEN)
	})
}
