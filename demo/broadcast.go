package demo

import (
	"context"
	"fmt"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/community"
)

// broadcastOf sets up the loudspeakers' programme as the report tells it:
// a zone for each grid's speaker and one for all 14, and three slots a day
// (morning, noon, evening) of 20 minutes on every zone, each with a
// rundown of a chime and the kinds of item the community broadcasts.
func (b *builder) broadcastOf(ctx context.Context) error {
	c := b.community.ID
	speakers, err := b.st.ListDevices(ctx, b.everyone, community.Filter{CommunityID: c, Kind: community.DeviceSpeaker, Page: shequ.Page{Limit: 100}})
	if err != nil {
		return err
	}
	byGrid := map[int64]int64{}
	var all []int64
	for _, d := range speakers.Items {
		byGrid[d.GridID] = d.ID
		all = append(all, d.ID)
	}
	var zones []int64
	for _, g := range b.grids {
		z := broadcast.Zone{CommunityID: c, Code: fmt.Sprintf("g%02d", len(zones)+1), Name: g.Name + "广播", SpeakerIDs: []int64{byGrid[g.ID]}}
		if err := b.st.CreateZone(ctx, b.everyone, &z); err != nil {
			return fmt.Errorf("zone %s: %w", z.Code, err)
		}
		zones = append(zones, z.ID)
	}
	z := broadcast.Zone{CommunityID: c, Code: "all", Name: "全社区广播", SpeakerIDs: all}
	if err := b.st.CreateZone(ctx, b.everyone, &z); err != nil {
		return fmt.Errorf("zone all: %w", err)
	}
	zones = append(zones, z.ID)

	slots := []struct {
		name, start string
		items       []broadcast.Item
	}{
		{"早间广播", "07:00", []broadcast.Item{
			{Kind: broadcast.ItemChime},
			{Kind: broadcast.ItemSpeech, Text: "各位居民早上好。政策通知：10月至12月，居民可持身份证和户口簿到社区办公室办理城乡居民合作医疗保险；已参加职工医保的，请带上相关材料。"},
			{Kind: broadcast.ItemSpeech, Text: "温馨提示：今天气温较低，老年人出门请注意保暖。"},
		}},
		{"午间广播", "12:00", []broadcast.Item{
			{Kind: broadcast.ItemChime},
			{Kind: broadcast.ItemSpeech, Text: "警情通报：近日B栋楼下车棚发生两起摩托车被盗案件，嫌疑人已被抓获。请大家锁好车辆，发现可疑情况请拨打110。"},
			{Kind: broadcast.ItemSpeech, Text: "好人好事：网格员及时上门，帮助一位独居老人脱离险情。"},
		}},
		{"晚间广播", "18:30", []broadcast.Item{
			{Kind: broadcast.ItemChime},
			{Kind: broadcast.ItemSpeech, Text: "社区通知：12月2日9:30至11:30，A栋、B栋停水检修，请提前储水。咨询电话023-00000000。"},
			{Kind: broadcast.ItemSpeech, Text: "温馨提示：出门请关好门窗，离家时家中报警器会自动布防。"},
		}},
	}
	for _, s := range slots {
		x := broadcast.Slot{CommunityID: c, Name: s.name, ZoneIDs: zones, Days: []int{1, 2, 3, 4, 5, 6, 7}, Start: s.start, Minutes: 20}
		if err := b.st.CreateSlot(ctx, b.everyone, &x); err != nil {
			return fmt.Errorf("slot %s: %w", s.name, err)
		}
		r := broadcast.Rundown{SlotID: x.ID, Items: s.items}
		if err := b.st.SetRundown(ctx, b.everyone, &r); err != nil {
			return fmt.Errorf("rundown %s: %w", s.name, err)
		}
	}
	return nil
}
