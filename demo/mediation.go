package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/community"
)

// Demo names the tests and pages find the stories by.
const (
	LiftMediationSubject = "A栋电梯停运两个月：二十户业主与物业公司调解"
	PropertyCompany      = "宝圣物业服务有限公司（演示）"
	ReliefPolicyName     = "定点救助政策"
	ReliefPension        = 1130.0
)

// mediationAndRelief tells two of the mission's stories with the demo's
// invented residents. The mediation association brings twenty owners of
// one compound and the property company to an agreement over a broken
// lift: the owners elect three representatives, the parties meet three
// times, sign, and a follow-up finds the lift repaired. The assistance
// association keeps a targeted relief policy (定点救助政策) for the elderly
// living alone on a monthly pension under 1,500 yuan; a man on 1,130 yuan
// is matched to it and granted, so he is covered, and the others who
// qualify still appear eligible and uncovered.
func (b *builder) mediationAndRelief(ctx context.Context) error {
	owner, err := b.associationIDs(ctx)
	if err != nil {
		return err
	}
	if err := b.liftMediation(ctx, owner["tiaojie"]); err != nil {
		return fmt.Errorf("lift mediation: %w", err)
	}
	if err := b.reliefPolicy(ctx, owner["bangfu"]); err != nil {
		return fmt.Errorf("relief policy: %w", err)
	}
	return nil
}

// associationIDs returns the demo's associations' ids by key.
func (b *builder) associationIDs(ctx context.Context) (map[string]int64, error) {
	as, err := b.st.ListAssociations(ctx, b.everyone, community.Filter{CommunityID: b.community.ID})
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, a := range as.Items {
		out[a.Key] = a.ID
	}
	return out, nil
}

// owners returns one adult of each household in the first grid's
// buildings, up to n: the flat owners of one compound.
func (b *builder) owners(ctx context.Context, n int) ([]community.Person, error) {
	var out []community.Person
	seen := map[int64]bool{}
	for _, bd := range b.buildings {
		if bd.GridID != b.grids[0].ID {
			continue
		}
		ps, err := b.st.ListPeople(ctx, b.everyone, community.Filter{CommunityID: b.community.ID, BuildingID: bd.ID, Page: pageAll})
		if err != nil {
			return nil, err
		}
		for _, p := range ps.Items {
			if p.Relation != "户主" || seen[p.HouseholdID] {
				continue
			}
			seen[p.HouseholdID] = true
			out = append(out, p)
			if len(out) == n {
				return out, nil
			}
		}
	}
	return nil, fmt.Errorf("the first grid has %d households, not %d", len(out), n)
}

func (b *builder) liftMediation(ctx context.Context, tiaojie int64) error {
	acc := assoc.Everything
	m := assoc.Mediation{AssociationID: tiaojie, Subject: LiftMediationSubject,
		Description: "A栋电梯故障停运两个月，业主多次报修未果，经居民向调解协会反映，协会组织业主与物业公司调解。"}
	// Opened a week before the first session, which is six weeks ago.
	now := b.st.Now()
	if err := b.st.AsOf(now.AddDate(0, 0, -49)).CreateMediation(ctx, acc, &m); err != nil {
		return err
	}
	owners, err := b.owners(ctx, 20)
	if err != nil {
		return err
	}
	// Three elected representatives speak for the other seventeen owners.
	represents := []int{6, 6, 5}
	var reps []int64
	for i, p := range owners {
		x := assoc.MediationParty{PersonID: p.ID, Side: "owners"}
		if i < len(represents) {
			x.Representative, x.Represents = true, represents[i]
		}
		if err := b.st.AddMediationParty(ctx, acc, m.ID, &x); err != nil {
			return err
		}
		if x.Representative {
			reps = append(reps, x.ID)
		}
	}
	company := assoc.MediationParty{Organisation: PropertyCompany, Side: "property_company"}
	if err := b.st.AddMediationParty(ctx, acc, m.ID, &company); err != nil {
		return err
	}
	for i, s := range []assoc.MediationSession{
		{Place: "社区议事厅", Notes: "业主代表陈述电梯停运对老人出行的影响；物业公司称维修资金不足。"},
		{Place: "社区议事厅", Notes: "核对维修报价，商议维修资金分担：物业先行垫付，专项维修资金补足。"},
		{Place: "A栋楼下", Notes: "双方确认维修方案和工期，当场签订调解协议。"},
	} {
		s.HeldAt = now.AddDate(0, 0, -42+14*i)
		s.Attendees = append(append([]int64{}, reps...), company.ID)
		s.OtherAttendees = "调解协会调解员两名、社区居委会一名"
		if err := b.st.AddMediationSession(ctx, acc, m.ID, &s); err != nil {
			return err
		}
	}
	if _, err := b.st.RecordMediationOutcome(ctx, acc, m.ID, assoc.MediationResult{Outcome: assoc.MediationAgreed, Signed: true,
		Agreement: "物业公司于十五日内完成电梯维修并承担人工费用，配件费用由专项维修资金列支；维修期间物业安排人员协助老人上下楼。"}); err != nil {
		return err
	}
	return b.st.AddMediationFollowUp(ctx, acc, m.ID, &assoc.MediationCheck{Question: "电梯修好了吗？", Resolved: true, Note: "电梯已修复并通过检验，恢复运行。"})
}

func (b *builder) reliefPolicy(ctx context.Context, bangfu int64) error {
	acc := assoc.Everything
	p := assoc.AssistancePolicy{CommunityID: b.community.ID, AssociationID: bangfu, Name: ReliefPolicyName, ValidFrom: "2026-01-01",
		Description: "面向本社区独居老人中养老金偏低者的定点救助（演示）。",
		Benefit:     "入住定点养老院的费用减免",
		Rules: []assoc.Condition{
			{Field: assoc.ResidentAge, Op: assoc.OpGe, Value: 60.0},
			{Field: assoc.ResidentTag, Op: assoc.OpEq, Value: community.TagLivingAlone},
			{Ledger: assoc.HouseholdsInDifficulty, Field: "pension", Op: assoc.OpLt, Value: 1500.0},
		}}
	if err := b.st.CreateAssistancePolicy(ctx, acc, &p); err != nil {
		return err
	}
	eligible, err := b.st.Eligible(ctx, acc, p.ID, time.Time{}, pageAll)
	if err != nil {
		return err
	}
	for _, r := range eligible.Items {
		if r.Sex != "male" || r.Values[assoc.HouseholdsInDifficulty+".pension"] != ReliefPension {
			continue
		}
		app := assoc.Application{PolicyID: p.ID, PersonID: r.PersonID, Note: "养老金每月1130元，本人希望入住养老院，由帮扶协会会员代为申请。"}
		if err := b.st.CreateApplication(ctx, acc, &app); err != nil {
			return err
		}
		_, err := b.st.DecideApplication(ctx, acc, app.ID, assoc.ApplicationGranted, "符合定点救助条件，已协助入住养老院。", "")
		return err
	}
	return fmt.Errorf("no man on a %v yuan pension among the %d eligible", ReliefPension, eligible.Total)
}

// pageAll is one page as large as a page may be.
var pageAll = shequ.Page{Limit: shequ.MaxLimit}
