package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/shequ/shequ/content"
)

// The demo's content is dated around its "now", late November 2026, in
// the community's own time zone.
var shanghai = time.FixedZone("CST", 8*3600)

func demoTime(month time.Month, day, hour int) time.Time {
	year := 2026
	if month < time.June {
		year = 2027
	}
	return time.Date(year, month, day, hour, 0, 0, 0, shanghai)
}

// contentOf writes the demo's service guides, policies and notices: the
// October–December medical insurance enrolment of the report, a few
// guides residents ask about, and the kinds of notice the community
// sends, one of them important for grid 1 and one for grid 5. All
// invented.
func (b *builder) contentOf(ctx context.Context) error {
	c := b.community.ID
	office := "宝圣东路社区便民服务中心（社区居委会一楼）"
	hours := "周一至周五 9:00–12:00，14:00–17:30；周六上午 9:00–12:00"
	phone := content.ServiceContact{Name: "社区便民服务中心", Phone: "023-00000000", Note: "演示号码"}
	guides := []content.Guide{
		{Name: "城乡居民医疗保险参保登记", Category: "medical_insurance",
			Summary:   "每年10月至12月集中办理下一年度城乡居民合作医疗保险参保登记与缴费。",
			Steps:     []string{"携带材料到社区便民服务中心窗口", "工作人员核对身份并录入参保信息", "选择缴费档次并缴费（可微信、银行卡）", "领取缴费凭证"},
			Documents: []string{"居民身份证", "户口簿", "已参加职工医保的，带职工医保相关证明"},
			Office:    office, Hours: hours, Fees: "按当年个人缴费标准；低保、特困等人员由政府资助", Duration: "当场办结，约15分钟",
			Contacts: []content.ServiceContact{phone}},
		{Name: "办理居住证", Category: "household",
			Summary:   "在本地居住满半年、有合法稳定就业或住所的外来人员可申领居住证 (residence permit)。",
			Steps:     []string{"到社区登记居住信息", "到派出所户籍窗口提交申请", "采集照片和指纹", "约15个工作日后领证"},
			Documents: []string{"居民身份证", "租房合同或房产证明", "就业或就读证明", "近期免冠照片"},
			Office:    "宝圣东路派出所户籍窗口（社区先登记）", Hours: "周一至周五 9:00–17:00", Fees: "首次申领免费", Duration: "15个工作日",
			Contacts: []content.ServiceContact{phone, {Name: "派出所户籍室", Phone: "023-00000001", Note: "演示号码"}}},
		{Name: "申请低保（最低生活保障）", Category: "civil_affairs",
			Summary:   "家庭人均收入低于当地低保标准、家庭财产符合规定的居民，可以申请最低生活保障 (subsistence allowance)。",
			Steps:     []string{"向社区提出书面申请", "社区入户调查家庭收入和财产", "民主评议并张榜公示7天", "街道审核、区民政局审批", "批准后按月发放低保金"},
			Documents: []string{"户口簿", "家庭成员身份证", "收入证明", "残疾证或病历（如有）", "银行卡"},
			Office:    office, Hours: hours, Fees: "免费", Duration: "约30个工作日",
			Contacts: []content.ServiceContact{phone}, Body: "低保实行**动态管理**，家庭情况变化时请及时告知社区。"},
		{Name: "办理老年人优待证", Category: "elderly",
			Summary:   "60周岁以上老年人可办理优待证，乘坐公交、游览公园等享受优惠。",
			Steps:     []string{"到社区便民服务中心填写申请表", "交近期照片", "约7个工作日后到社区领取"},
			Documents: []string{"居民身份证", "一寸免冠照片一张"},
			Office:    office, Hours: hours, Fees: "免费", Duration: "7个工作日",
			Contacts: []content.ServiceContact{phone}},
	}
	for i := range guides {
		guides[i].CommunityID = c
		if err := b.st.CreateGuide(ctx, b.everyone, &guides[i]); err != nil {
			return fmt.Errorf("guide %s: %w", guides[i].Name, err)
		}
	}

	enrolEnd := demoTime(time.January, 1, 0)
	summerEnd := demoTime(time.September, 1, 0)
	policies := []content.Policy{
		{Title: "城乡居民医疗保险参保登记（10月–12月）", Category: "medical_insurance",
			Summary:     "10月至12月，居民可携带身份证和户口簿到社区办公室办理城乡居民合作医疗保险参保登记；已参加职工医保的，带上相关资料。",
			Body:        "## 办理时间\n\n每年 **10月1日至12月31日**。\n\n## 办理地点\n\n社区便民服务中心。\n\n## 带什么\n\n- 身份证\n- 户口簿\n- 已参加职工医保的，带职工医保相关资料",
			Eligibility: "本社区户籍、未参加职工基本医疗保险的城乡居民。",
			HowToApply:  "携带身份证和户口簿到社区便民服务中心窗口办理，也可以请网格员上门协助。",
			Documents:   []string{"身份证", "户口簿", "职工医保资料（如已参加）"},
			ValidFrom:   demoTime(time.October, 1, 0), ValidUntil: &enrolEnd, GuideIDs: []int64{guides[0].ID}},
		{Title: "高龄老人生活补贴", Category: "elderly",
			Summary:     "80周岁以上老人每月可领取高龄生活补贴。",
			Eligibility: "本社区户籍、年满80周岁的老人。",
			HowToApply:  "本人或家属携带身份证、户口簿和银行卡到社区申请，满80周岁次月起发放。",
			Documents:   []string{"身份证", "户口簿", "银行卡"},
			ValidFrom:   demoTime(time.January, 1, 0).AddDate(-1, 0, 0), GuideIDs: []int64{guides[3].ID}},
		{Title: "夏季防暑降温补贴（已结束）", Category: "employment",
			Summary:   "6月至8月，户外作业的困难居民可申领防暑降温补贴。",
			ValidFrom: demoTime(time.June, 1, 0), ValidUntil: &summerEnd},
	}
	for i := range policies {
		policies[i].CommunityID = c
		if err := b.st.CreatePolicy(ctx, b.everyone, &policies[i]); err != nil {
			return fmt.Errorf("policy %s: %w", policies[i].Title, err)
		}
	}

	grid1, grid5 := b.grids[0].ID, b.grids[4].ID
	ends := demoTime(time.December, 1, 0)
	notices := []content.Notice{
		{Title: "“智慧东路”居民服务平台上线", Category: content.CategoryNews, Pinned: true, PublishAt: demoTime(time.November, 2, 9),
			Body: "社区居民服务平台“智慧东路”正式上线。\n\n在这里可以：\n\n- 查看社区大事小情\n- 查询办事流程和便民政策\n- 提交事项并跟踪办理进度\n- 遇到紧急情况一键报警"},
		{Title: "【重要】第1网格11月30日停水通知", Category: content.CategoryNotice, Important: true, Audience: content.Grids(grid1),
			PublishAt: demoTime(time.November, 27, 10), ExpiresAt: &ends,
			Body: "因供水管道维修，**11月30日 8:00–18:00** 第1网格各楼栋停水。\n\n请提前储水，关好水龙头。阅读后请点击“已读确认”，网格员将上门告知未确认的住户。"},
		{Title: "第5网格消防通道清理", Category: content.CategoryNotice, Important: true, Audience: content.Grids(grid5),
			PublishAt: demoTime(time.November, 25, 9),
			Body:      "本周六上午清理第5网格楼道和消防通道内堆放的杂物，请各户提前将自家物品移走。阅读后请确认。"},
		{Title: "A栋电梯年检", Category: content.CategoryReminder, Audience: content.Buildings(b.buildings[0].ID),
			PublishAt: demoTime(time.November, 26, 15), Body: "12月2日上午A栋电梯年检，停运约两小时，请错峰出行。"},
		{Title: "警情通报：电动车被盗", Category: content.CategoryPoliceAlert, PublishAt: demoTime(time.November, 20, 18),
			Body: "近期B栋楼下车棚发生电动车被盗案件，民警调取监控后已抓获嫌疑人。请居民锁好车辆，发现可疑人员及时报告。"},
		{Title: "好人好事：网格员深夜送医", Category: content.CategoryGoodDeed, PublishAt: demoTime(time.November, 18, 10),
			Body: "独居老人按下报警按钮后，网格员十分钟内赶到，及时将老人送医。感谢每一位守护邻里的人！"},
		{Title: "温馨提示：冬季用火用电安全", Category: content.CategoryReminder, PublishAt: demoTime(time.November, 15, 8),
			Body: "天气转冷，请勿在楼道给电动车充电；使用取暖器时远离易燃物，外出前关好煤气。"},
		{Title: "社区清洁日", Category: content.CategoryEvent, PublishAt: demoTime(time.November, 10, 9),
			Body: "周六上午9点在广场集合，志愿者和居民一起清扫楼道和绿地，欢迎参加。"},
		{Title: "元旦文艺汇演报名", Category: content.CategoryEvent, PublishAt: demoTime(time.December, 15, 9),
			Body: "元旦文艺汇演开始报名，欢迎各协会和居民踊跃参加。"},
	}
	for i := range notices {
		notices[i].CommunityID, notices[i].AuthorName = c, "宝圣东路社区居委会"
		if err := b.st.CreateNotice(ctx, b.everyone, &notices[i]); err != nil {
			return fmt.Errorf("notice %s: %w", notices[i].Title, err)
		}
	}
	return nil
}
