package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/community"
)

func num(x float64) *float64 { return &x }

// ledgerTypes are the demo's ledgers (台账): the five the mission names,
// each owned by the association whose work it is. Help-education is
// sensitive; health fields are sensitive wherever they appear.
func ledgerTypes(owner map[string]int64) []assoc.LedgerType {
	return []assoc.LedgerType{
		{Key: assoc.JobSeekers, Name: "求职人员台账", NameEn: "Job seekers", AssociationID: owner["jiuye"], Fields: []assoc.Field{
			{Key: "skills", Label: "技能", LabelEn: "Skills", Type: assoc.FieldText, Max: num(200)},
			{Key: "desired_work", Label: "意向工作", LabelEn: "Desired work", Type: assoc.FieldText, Required: true, Max: num(50)},
			{Key: "status", Label: "求职状态", LabelEn: "Status", Type: assoc.FieldChoice, Required: true, Choices: []string{"seeking", "interviewing", "placed", "paused"}},
			{Key: "education", Label: "学历", LabelEn: "Education", Type: assoc.FieldChoice, Choices: []string{"primary", "junior_high", "senior_high", "vocational", "college"}},
			{Key: "expected_salary", Label: "期望月薪（元）", LabelEn: "Expected monthly pay (yuan)", Type: assoc.FieldNumber, Min: num(0), Max: num(100000)},
			{Key: "registered_on", Label: "登记日期", LabelEn: "Registered on", Type: assoc.FieldDate},
			{Key: "notes", Label: "备注", LabelEn: "Notes", Type: assoc.FieldText, Max: num(500)},
		}},
		{Key: assoc.ElderlyAlone, Name: "独居老人台账", NameEn: "Elderly living alone", AssociationID: owner["bangfu"], Fields: []assoc.Field{
			{Key: "health", Label: "健康状况", LabelEn: "Health", Type: assoc.FieldText, Max: num(200), Sensitive: true},
			{Key: "checkin_frequency", Label: "探访频次", LabelEn: "Check-in frequency", Type: assoc.FieldChoice, Required: true, Choices: []string{"daily", "twice_weekly", "weekly"}},
			{Key: "last_checkin", Label: "最近探访", LabelEn: "Last check-in", Type: assoc.FieldDate},
			{Key: "emergency_button", Label: "有紧急呼叫器", LabelEn: "Has an emergency button", Type: assoc.FieldBool},
			{Key: "children_nearby", Label: "子女在本市", LabelEn: "Children in the city", Type: assoc.FieldBool},
		}},
		{Key: assoc.HouseholdsInDifficulty, Name: "困难家庭台账", NameEn: "Households in difficulty", AssociationID: owner["bangfu"], Fields: []assoc.Field{
			{Key: "difficulty", Label: "困难类型", LabelEn: "Kind of difficulty", Type: assoc.FieldChoice, Required: true, Choices: []string{"illness", "disability", "unemployment", "elderly", "other"}},
			{Key: "monthly_income", Label: "家庭月收入（元）", LabelEn: "Household monthly income (yuan)", Type: assoc.FieldNumber, Required: true, Min: num(0)},
			{Key: "pension", Label: "养老金（元/月）", LabelEn: "Pension (yuan a month)", Type: assoc.FieldNumber, Min: num(0)},
			{Key: "subsidies", Label: "已享受补贴", LabelEn: "Subsidies received", Type: assoc.FieldText, Max: num(200)},
			{Key: "household_size", Label: "家庭人口", LabelEn: "People in the household", Type: assoc.FieldNumber, Min: num(1), Max: num(20)},
			{Key: "low_income_certified", Label: "低保户", LabelEn: "Certified low income", Type: assoc.FieldBool},
		}},
		{Key: assoc.Disabilities, Name: "残疾人台账", NameEn: "People with disabilities", AssociationID: owner["weiji"], Fields: []assoc.Field{
			{Key: "kind", Label: "残疾类别", LabelEn: "Kind", Type: assoc.FieldChoice, Required: true, Choices: []string{"physical", "visual", "hearing", "speech", "intellectual", "mental", "multiple"}},
			{Key: "grade", Label: "残疾等级", LabelEn: "Grade", Type: assoc.FieldChoice, Choices: []string{"1", "2", "3", "4"}},
			{Key: "needs", Label: "需求", LabelEn: "Needs", Type: assoc.FieldText, Max: num(200)},
			{Key: "health", Label: "健康状况", LabelEn: "Health", Type: assoc.FieldText, Max: num(200), Sensitive: true},
		}},
		{Key: assoc.HelpEducation, Name: "帮教对象台账", NameEn: "Help-education subjects", AssociationID: owner["bangjiao"], Sensitive: true, Fields: []assoc.Field{
			{Key: "category", Label: "类别", LabelEn: "Category", Type: assoc.FieldChoice, Required: true, Choices: []string{"released", "community_correction"}},
			{Key: "since", Label: "起始日期", LabelEn: "Since", Type: assoc.FieldDate},
			{Key: "measures", Label: "帮教措施", LabelEn: "Measures", Type: assoc.FieldText, Max: num(500)},
			{Key: "risk", Label: "风险等级", LabelEn: "Risk", Type: assoc.FieldChoice, Choices: []string{"low", "medium", "high"}},
			{Key: "employment", Label: "就业情况", LabelEn: "Employment", Type: assoc.FieldText, Max: num(200)},
		}},
	}
}

var (
	demoSkills = []string{"电工证", "驾驶证C1", "保洁", "烹饪", "电脑操作", "护理", "搬运", "缝纫", "水电维修", "收银"}
	demoWork   = []string{"物业保洁", "小区保安", "超市收银", "家政服务", "餐饮帮厨", "快递分拣", "维修电工", "养老护理"}
)

// ledgers fills the demo's ledgers from its residents: job seekers from
// the unemployed, the elderly living alone, households in difficulty,
// people with disabilities and a few help-education subjects; the HR
// partner gets the job seekers ledger (skills, desired work, education,
// status, expected pay) for one-to-one job service, with the consent of
// most seekers; it posts openings and has placed some of them this year.
func (b *builder) ledgers(ctx context.Context) error {
	c := b.community.ID
	rng := rand.New(rand.NewPCG(2026, 514))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	owner, err := b.associationIDs(ctx)
	if err != nil {
		return err
	}
	ps, err := b.st.ListPartners(ctx, b.everyone, community.Filter{CommunityID: c})
	if err != nil {
		return err
	}
	var hr int64
	for _, p := range ps.Items {
		if p.Kind == "hr_company" {
			hr = p.ID
		}
	}
	if hr == 0 {
		return fmt.Errorf("ledgers: no HR partner")
	}
	for _, t := range ledgerTypes(owner) {
		t.CommunityID = c
		if err := b.st.CreateLedgerType(ctx, assoc.Everything, &t); err != nil {
			return fmt.Errorf("ledger %s: %w", t.Key, err)
		}
	}
	now := b.st.Now()
	add := func(key string, p community.Person, values map[string]any) (assoc.LedgerEntry, error) {
		e := assoc.LedgerEntry{PersonID: p.ID, Values: values}
		if err := b.st.CreateEntry(ctx, assoc.Everything, c, key, &e); err != nil {
			return e, fmt.Errorf("ledger %s entry for %d: %w", key, p.ID, err)
		}
		return e, nil
	}

	// Job seekers: every unemployed resident; most consent to the HR
	// partner; about one in five was placed this year.
	type seeker struct {
		entry  assoc.LedgerEntry
		placed bool
	}
	var seekers []seeker
	for i, p := range b.unemployed {
		status := "seeking"
		switch r := rng.IntN(10); {
		case r < 2:
			status = "placed"
		case r < 4:
			status = "interviewing"
		case r == 4:
			status = "paused"
		}
		v := map[string]any{"skills": pick(demoSkills) + "、" + pick(demoSkills), "desired_work": pick(demoWork), "status": status,
			"education": pick([]string{"junior_high", "senior_high", "vocational", "college"}), "expected_salary": float64(2500 + 500*rng.IntN(8)),
			"registered_on": now.AddDate(0, 0, -30-rng.IntN(300)).Format(time.DateOnly)}
		if i%4 == 0 {
			v["notes"] = "需照顾家中老人，只能做白班"
		}
		e, err := add(assoc.JobSeekers, p, v)
		if err != nil {
			return err
		}
		if rng.IntN(10) < 8 {
			if err := b.st.RecordConsent(ctx, assoc.Everything, c, assoc.JobSeekers, e.ID, &assoc.Consent{PartnerID: hr, Given: true, Method: pick(assoc.ConsentMethods), RecordedBy: "就业协会会长（演示）"}); err != nil {
				return err
			}
			seekers = append(seekers, seeker{e, status == "placed"})
		}
	}
	g := assoc.LedgerGrant{CommunityID: c, PartnerID: hr, Ledger: assoc.JobSeekers, Fields: []string{"skills", "desired_work", "education", "status", "expected_salary"},
		Purpose: "为登记求职的居民提供一对一就业服务（演示）", ExpiresAt: now.AddDate(1, 0, 0), Consent: true}
	if err := b.st.CreateLedgerGrant(ctx, assoc.Everything, &g, nil); err != nil {
		return fmt.Errorf("job seekers grant: %w", err)
	}
	partner := assoc.Access{Partners: []assoc.Seat{{CommunityID: c, ID: hr}}}
	var openings []assoc.Opening
	for _, o := range []assoc.Opening{
		{Title: "物业保洁员", Skills: "保洁", Location: "宝圣东路小区", Salary: "3000元/月", Positions: 4, Description: "白班，包午餐"},
		{Title: "小区保安", Skills: "保安、驾驶证C1", Location: "宝圣东路小区", Salary: "3500元/月", Positions: 2},
		{Title: "维修电工", Skills: "电工证、水电维修", Location: "本区", Salary: "5000元/月", Positions: 1},
	} {
		o.PartnerID = hr
		if err := b.st.CreateOpening(ctx, partner, &o); err != nil {
			return fmt.Errorf("opening %s: %w", o.Title, err)
		}
		openings = append(openings, o)
	}
	for i, s := range seekers {
		o := openings[i%len(openings)]
		steps := []string{assoc.JobOffered}
		switch {
		case s.placed:
			steps = append(steps, assoc.Interview, assoc.Placed)
		case s.entry.Values["status"] == "interviewing":
			steps = append(steps, assoc.Interview)
		case i%5 == 0:
			steps = append(steps, assoc.Declined)
		}
		at := now.AddDate(0, 0, -20-rng.IntN(200))
		for k, kind := range steps {
			f := assoc.FollowUp{Kind: kind, OpeningID: o.ID, At: at.AddDate(0, 0, 3*k)}
			if err := b.st.AddFollowUp(ctx, partner, c, assoc.JobSeekers, s.entry.ID, &f); err != nil {
				return fmt.Errorf("follow-up: %w", err)
			}
		}
	}

	// The elderly living alone, checked on by the assistance association.
	for _, p := range b.elderly {
		if _, err := add(assoc.ElderlyAlone, p, map[string]any{"health": pick([]string{"良好", "高血压", "糖尿病", "行动不便", "需定期复诊"}),
			"checkin_frequency": pick([]string{"daily", "twice_weekly", "weekly"}), "last_checkin": now.AddDate(0, 0, -rng.IntN(7)).Format(time.DateOnly),
			"emergency_button": rng.IntN(2) == 0, "children_nearby": rng.IntN(3) == 0}); err != nil {
			return err
		}
	}
	// Households in difficulty: some of the elderly and of the unemployed.
	for i, p := range b.elderly {
		if i%3 != 0 {
			continue
		}
		if _, err := add(assoc.HouseholdsInDifficulty, p, map[string]any{"difficulty": "elderly", "monthly_income": float64(1130 + 50*rng.IntN(10)),
			"pension": 1130.0, "subsidies": "高龄津贴", "household_size": 1.0, "low_income_certified": rng.IntN(2) == 0}); err != nil {
			return err
		}
	}
	for i, p := range b.unemployed {
		if i%5 != 1 {
			continue
		}
		if _, err := add(assoc.HouseholdsInDifficulty, p, map[string]any{"difficulty": pick([]string{"unemployment", "illness"}), "monthly_income": float64(800 + 100*rng.IntN(12)),
			"household_size": float64(2 + rng.IntN(3)), "low_income_certified": rng.IntN(3) == 0}); err != nil {
			return err
		}
	}
	// People with disabilities.
	for i, p := range b.elderly {
		if i%4 != 1 {
			continue
		}
		if _, err := add(assoc.Disabilities, p, map[string]any{"kind": pick([]string{"physical", "visual", "hearing"}), "grade": pick([]string{"2", "3", "4"}),
			"needs": pick([]string{"上门理发", "轮椅维修", "助听器验配", "无障碍改造"}), "health": "需定期复诊"}); err != nil {
			return err
		}
	}
	// A few help-education subjects, seen only by their association.
	for i, p := range b.unemployed {
		if i%9 != 2 {
			continue
		}
		if _, err := add(assoc.HelpEducation, p, map[string]any{"category": pick([]string{"released", "community_correction"}),
			"since": now.AddDate(0, -3-rng.IntN(20), 0).Format(time.DateOnly), "measures": "每月谈话一次，协助就业", "risk": "low", "employment": "就业协会已登记"}); err != nil {
			return err
		}
	}

	// Residents bring problems to associations.
	for _, in := range []assoc.Intake{
		{AssociationID: owner["tiaojie"], PersonID: b.residentPerson, Channel: "app", Description: "我们单元的电梯坏了两个月，物业一直不修，二十户业主想请协会出面调解。"},
		{AssociationID: owner["jiuye"], PersonID: b.residentPerson, Channel: "member", Description: "家里孩子中专毕业，想找一份离家近的工作。"},
	} {
		if err := b.st.SubmitIntake(ctx, assoc.Everything, &in); err != nil {
			return fmt.Errorf("intake: %w", err)
		}
	}
	return nil
}
