package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/community"
)

// The report's figures: the eight associations gave 514 individual and
// 127 group services this year.
const (
	IndividualServices = 514
	GroupServices      = 127
)

// serviceShare says how many of the year's services each association
// gave, individual and group; the columns add up to the report's figures.
var serviceShare = map[string][2]int{
	"jiuye":    {120, 15},
	"tiaojie":  {45, 8},
	"jiazheng": {60, 12},
	"wenti":    {30, 40},
	"weiji":    {80, 20},
	"bangfu":   {95, 14},
	"bangjiao": {40, 8},
	"qunfang":  {44, 10},
}

// serviceTexts are synthetic needs and events, by association: an
// individual need, its outcome, and a group service's topic and place.
var serviceTexts = map[string]struct{ needs, outcomes, topics []string }{
	"jiuye":    {[]string{"登记求职，想找离家近的工作", "咨询职业技能培训补贴", "失业登记与再就业指导"}, []string{"已推荐岗位并面试", "已报名培训班"}, []string{"社区招聘会", "职业技能培训"}},
	"tiaojie":  {[]string{"邻里噪音纠纷", "楼上漏水引起的纠纷", "停车位争议"}, []string{"双方达成口头协议", "已协调物业维修"}, []string{"人民调解知识讲座", "邻里和睦茶话会"}},
	"jiazheng": {[]string{"需要钟点工照顾老人", "想学习家政服务技能", "寻找月嫂"}, []string{"已对接家政服务人员", "已参加家政培训"}, []string{"家政服务技能培训", "家政供需对接会"}},
	"wenti":    {[]string{"想加入社区合唱队", "借用活动室排练"}, []string{"已加入文体队伍", "已安排活动室"}, []string{"广场舞展演", "社区读书会", "政策宣传进楼栋"}},
	"weiji":    {[]string{"慢性病随访", "预约免费体检", "咨询计划生育奖励政策"}, []string{"已完成随访", "已安排体检"}, []string{"义诊活动", "健康知识讲座"}},
	"bangfu":   {[]string{"困难家庭申请临时救助", "独居老人上门探访", "申请高龄津贴"}, []string{"已协助提交救助申请", "已纳入定期探访"}, []string{"困难群众慰问", "政策帮扶宣讲"}},
	"bangjiao": {[]string{"定期谈话与思想帮教", "协助联系就业", "社区矫正报到提醒"}, []string{"按期完成谈话", "已推荐就业岗位"}, []string{"法治教育讲座", "帮教对象座谈会"}},
	"qunfang":  {[]string{"反映楼道安全隐患", "夜间巡逻发现可疑情况", "电动车违规充电劝导"}, []string{"隐患已整改", "已报告派出所"}, []string{"消防安全演练", "防诈骗宣传"}},
}

// services records this year's services of the eight associations, spread
// over the months from January to now: individual services for residents
// (most of them closed with an outcome, some with actions logged) and
// group services with their attendance and some named attendees.
func (b *builder) services(ctx context.Context) error {
	c := b.community.ID
	rng := rand.New(rand.NewPCG(514, 127))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	loc, err := time.LoadLocation(b.community.Timezone)
	if err != nil {
		return err
	}
	now := b.st.Now()
	yearStart := time.Date(now.In(loc).Year(), 1, 1, 0, 0, 0, 0, loc)
	span := now.Sub(yearStart)
	as, err := b.st.ListAssociations(ctx, b.everyone, community.Filter{CommunityID: c})
	if err != nil {
		return err
	}
	if len(b.residents) == 0 {
		return fmt.Errorf("services: no residents")
	}
	for _, a := range as.Items {
		share, texts := serviceShare[a.Key], serviceTexts[a.Key]
		for i := 0; i < share[0]; i++ {
			cs := assoc.Case{AssociationID: a.ID, Kind: assoc.KindIndividual, PersonID: b.residents[rng.IntN(len(b.residents))].ID,
				Summary: pick(texts.needs) + "（演示）", OpenedAt: yearStart.Add(time.Duration(rng.Int64N(int64(span))))}
			if err := b.st.CreateCase(ctx, assoc.Everything, &cs); err != nil {
				return fmt.Errorf("%s individual service: %w", a.Key, err)
			}
			if rng.IntN(3) == 0 {
				x := assoc.CaseAction{Note: "电话回访（演示）", At: cs.OpenedAt.Add(time.Duration(rng.Int64N(int64(now.Sub(cs.OpenedAt)) + 1)))}
				if err := b.st.AddCaseAction(ctx, assoc.Everything, cs.ID, &x); err != nil {
					return fmt.Errorf("%s case action: %w", a.Key, err)
				}
			}
			if rng.IntN(10) < 6 {
				if _, err := b.st.CloseCase(ctx, assoc.Everything, cs.ID, pick(texts.outcomes)+"（演示）"); err != nil {
					return fmt.Errorf("%s close: %w", a.Key, err)
				}
			}
		}
		for i := 0; i < share[1]; i++ {
			day := yearStart.Add(time.Duration(rng.Int64N(int64(span)))).In(loc).Format(time.DateOnly)
			var named []int64
			for k, n := 0, rng.IntN(8); k < n; k++ {
				if p := b.residents[rng.IntN(len(b.residents))].ID; !slices.Contains(named, p) {
					named = append(named, p)
				}
			}
			topic := pick(texts.topics)
			cs := assoc.Case{AssociationID: a.ID, Kind: assoc.KindGroup, Day: day, Place: pick([]string{"社区活动室", "宝圣东路广场", "社区会议室", "党群服务中心"}),
				Topic: topic, Summary: topic + "（演示）", Attendance: len(named) + 8 + rng.IntN(50), Attendees: named}
			if err := b.st.CreateCase(ctx, assoc.Everything, &cs); err != nil {
				return fmt.Errorf("%s group service: %w", a.Key, err)
			}
		}
	}
	return nil
}
