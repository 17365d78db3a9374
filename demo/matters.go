package demo

import (
	"context"
	"fmt"

	"github.com/shequ/shequ/matter"
)

// matterCategories are the kinds of matter the demo community takes, with
// service levels an office could keep.
func (b *builder) matterCategories(ctx context.Context) error {
	cats := []matter.Category{
		{Code: "repair", Name: "公共设施维修", NameEn: "Repair of shared facilities", Group: "物业", SLAHours: 72,
			Description: "楼道灯、门禁、下水道等公共设施损坏"},
		{Code: "lift", Name: "电梯故障", NameEn: "Lift out of order", Group: "物业", SLAHours: 24,
			Attributes: []matter.Attribute{
				{Code: "floor", Description: "停在几楼 / Stuck at which floor", Datatype: "number", Required: false, Order: 1},
				{Code: "trapped", Description: "有人被困吗 / Is anyone trapped", Datatype: "singlevaluelist", Required: true, Values: []string{"yes", "no"}, Order: 2},
			}},
		{Code: "sanitation", Name: "环境卫生", NameEn: "Rubbish and cleanliness", Group: "环境", SLAHours: 48},
		{Code: "dispute", Name: "邻里纠纷", NameEn: "Dispute between neighbours", Group: "调解", SLAHours: 168},
		{Code: "insurance", Name: "社保医保咨询", NameEn: "Social and medical insurance", Group: "办事", SLAHours: 72},
		{Code: "assistance", Name: "困难帮扶", NameEn: "Help for a household in difficulty", Group: "帮扶", SLAHours: 120},
		{Code: "other", Name: "其他事项", NameEn: "Something else", Group: "其他", SLAHours: 120},
	}
	for i := range cats {
		cats[i].CommunityID = b.community.ID
		if err := b.st.CreateCategory(ctx, b.everyone, &cats[i]); err != nil {
			return fmt.Errorf("matter category %s: %w", cats[i].Code, err)
		}
	}
	return nil
}
