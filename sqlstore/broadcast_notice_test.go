package sqlstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// A notice ticked "also read on the loudspeakers" goes into the next
// airing of the zones its audience hears, is read once, and shows on the
// as-run log; an unticked one stays off the air.
func TestBroadcastNoticeOnAir(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "bn")
		c := tr.community.ID
		admin := auth.Scope{{CommunityID: c}}
		s1 := community.Device{CommunityID: c, Kind: community.DeviceSpeaker, Name: "广播01", GridID: tr.grid1.ID}
		s2 := community.Device{CommunityID: c, Kind: community.DeviceSpeaker, Name: "广播02", GridID: tr.grid2.ID}
		for _, d := range []*community.Device{&s1, &s2} {
			mustOK(t, st.CreateDevice(ctx, everywhere, d))
		}
		g1 := broadcast.Zone{CommunityID: c, Code: "g1", Name: "第1网格", SpeakerIDs: []int64{s1.ID}}
		g2 := broadcast.Zone{CommunityID: c, Code: "g2", Name: "第2网格", SpeakerIDs: []int64{s2.ID}}
		all := broadcast.Zone{CommunityID: c, Code: "all", Name: "全社区", SpeakerIDs: []int64{s1.ID, s2.ID}}
		for _, z := range []*broadcast.Zone{&g1, &g2, &all} {
			mustOK(t, st.CreateZone(ctx, admin, z))
		}
		zones := []int64{g1.ID, g2.ID, all.ID}
		// The clock reads 17:00 in Shanghai: the evening slot is next.
		morning := broadcast.Slot{CommunityID: c, Name: "早间", ZoneIDs: zones, Days: []int{1, 2, 3, 4, 5, 6, 7}, Start: "07:00", Minutes: 20}
		evening := broadcast.Slot{CommunityID: c, Name: "晚间", ZoneIDs: zones, Days: []int{1, 2, 3, 4, 5, 6, 7}, Start: "18:30", Minutes: 20}
		for _, x := range []*broadcast.Slot{&morning, &evening} {
			mustOK(t, st.CreateSlot(ctx, admin, x))
		}
		mustOK(t, st.SetRundown(ctx, admin, &broadcast.Rundown{SlotID: evening.ID, Items: []broadcast.Item{{Kind: broadcast.ItemChime}}}))

		everyone := content.Notice{CommunityID: c, Title: "停水通知", Body: "12月2日**9:30**停水。", Audience: content.Community(), Broadcast: true}
		quiet := content.Notice{CommunityID: c, Title: "不读的通知", Body: "只在网上看。", Audience: content.Community()}
		grid1 := content.Notice{CommunityID: c, Title: "第1网格通知", Body: "清理楼道。", Audience: content.Grids(tr.grid1.ID), Broadcast: true}
		building2 := content.Notice{CommunityID: c, Title: "B栋通知", Body: "电梯检修。", Audience: content.Buildings(tr.building2.ID), Broadcast: true}
		later := content.Notice{CommunityID: c, Title: "明天的通知", Body: "明天发布。", Audience: content.Community(), Broadcast: true,
			PublishAt: clock.Now().Add(26 * time.Hour)} // tomorrow 19:00: after the evening slot
		for _, n := range []*content.Notice{&everyone, &quiet, &grid1, &building2, &later} {
			mustOK(t, st.CreateNotice(ctx, admin, n))
		}
		got, err := st.Notice(ctx, nil, admin, everyone.ID)
		mustOK(t, err)
		if !got.Broadcast {
			t.Error("the tick is not kept")
		}

		r, err := st.Rundown(ctx, admin, evening.ID)
		mustOK(t, err)
		byNotice := map[int64]broadcast.Item{}
		for _, it := range r.Items {
			if it.NoticeID != 0 {
				byNotice[it.NoticeID] = it
			}
		}
		if len(byNotice) != 3 {
			t.Fatalf("evening rundown %+v: want the three notices ticked for today", r.Items)
		}
		if it := byNotice[everyone.ID]; it.Kind != broadcast.ItemSpeech || it.Text != "停水通知。12月2日9:30停水。" || len(it.ZoneIDs) != 0 || it.From != "2026-11-28" {
			t.Errorf("community notice item %+v: want the title and plain body on every zone, from today", it)
		}
		if it := byNotice[grid1.ID]; !slices.Equal(it.ZoneIDs, []int64{g1.ID}) {
			t.Errorf("grid notice on zones %v: want its grid's zone only", it.ZoneIDs)
		}
		if it := byNotice[building2.ID]; !slices.Equal(it.ZoneIDs, []int64{g2.ID}) {
			t.Errorf("building notice on zones %v: want its grid's zone only", it.ZoneIDs)
		}
		if _, ok := byNotice[quiet.ID]; ok {
			t.Error("an unticked notice is on the air")
		}
		m, err := st.Rundown(ctx, admin, morning.ID)
		mustOK(t, err)
		if len(m.Items) != 1 || m.Items[0].NoticeID != later.ID || m.Items[0].From != "2026-11-30" {
			// Tomorrow's slots are before it is published: the morning after.
			t.Fatalf("morning rundown %+v: want the notice published tomorrow evening, from the morning after", m.Items)
		}
		g2Items := broadcast.ItemsFor(r.Items, g2.ID)
		if slices.ContainsFunc(g2Items, func(it broadcast.Item) bool { return it.NoticeID == grid1.ID }) {
			t.Error("the first grid's notice plays on the second grid's zone")
		}

		// A household hears its grid's notice, not the other grid's.
		hears := func(h int64, id int64) bool {
			t.Helper()
			p, err := st.ListenerProgramme(ctx, h)
			mustOK(t, err)
			return slices.ContainsFunc(p.Rundowns[evening.ID], func(it broadcast.Item) bool { return it.NoticeID == id })
		}
		if !hears(tr.household1.ID, grid1.ID) || hears(tr.household2.ID, grid1.ID) || !hears(tr.household2.ID, everyone.ID) {
			t.Error("the programme a household hears is not its zones'")
		}

		// The evening goes out on the first grid's zone: what it carried
		// leaves the rundown and is on the as-run log, once.
		at := time.Date(2026, 11, 28, 10, 30, 0, 0, time.UTC)
		g1Items := broadcast.ItemsFor(r.Items, g1.ID)
		mustOK(t, st.Aired(ctx, evening.ID, g1Items, at))
		mustOK(t, st.Aired(ctx, evening.ID, g1Items, at.Add(time.Second)))
		mustOK(t, st.Aired(ctx, evening.ID, g2Items, at.Add(time.Second)))
		after, err := st.Rundown(ctx, admin, evening.ID)
		mustOK(t, err)
		if len(after.Items) != 1 || after.Items[0].Kind != broadcast.ItemChime {
			t.Fatalf("after airing: %+v: want the notices gone", after.Items)
		}
		airings, err := st.NoticeAirings(ctx, admin, everyone.ID)
		mustOK(t, err)
		if len(airings) != 1 || airings[0].AiredAt == nil || !airings[0].AiredAt.Equal(at) || airings[0].SlotID != evening.ID {
			t.Fatalf("airings %+v: want one, aired at %v", airings, at)
		}
		if ls, err := st.NoticeAirings(ctx, admin, quiet.ID); err != nil || len(ls) != 0 {
			t.Fatalf("unticked notice airings %+v %v", ls, err)
		}
		for _, z := range []int64{g1.ID, g2.ID} {
			mustOK(t, st.RecordAsRun(ctx, &broadcast.AsRun{CommunityID: c, ZoneID: z, SlotID: evening.ID, Kind: broadcast.RunSlot, Status: broadcast.RunPlayed, StartedAt: at, Seconds: 1200}))
		}
		runs, err := st.ListAsRun(ctx, admin, broadcast.AsRunFilter{CommunityID: c})
		mustOK(t, err)
		read := map[int64][]string{}
		for _, x := range runs.Items {
			read[x.ZoneID] = x.Notices
		}
		if !slices.Equal(read[g1.ID], []string{"停水通知", "第1网格通知"}) || !slices.Equal(read[g2.ID], []string{"停水通知", "B栋通知"}) {
			t.Errorf("as-run notices %v: want each grid's own", read)
		}

		// A notice deleted before it is read leaves the rundown.
		gone := content.Notice{CommunityID: c, Title: "撤回的通知", Body: "写错了。", Audience: content.Community(), Broadcast: true}
		mustOK(t, st.CreateNotice(ctx, admin, &gone))
		mustOK(t, st.DeleteNotice(ctx, admin, gone.ID))
		for _, x := range []int64{morning.ID, evening.ID} {
			r, err := st.Rundown(ctx, admin, x)
			mustOK(t, err)
			if slices.ContainsFunc(r.Items, func(it broadcast.Item) bool { return it.NoticeID == gone.ID }) {
				t.Errorf("a deleted notice is still to be read in slot %d", x)
			}
		}

		// Nothing plays to an audience no zone covers: a clear error, and
		// no notice.
		other := makeTree(t, st, "bn-none")
		n := content.Notice{CommunityID: other.community.ID, Title: "无喇叭", Body: "x", Broadcast: true}
		wantCode(t, "", st.CreateNotice(ctx, auth.Scope{{CommunityID: other.community.ID}}, &n), shequ.EINVALID)
		if l, err := st.ListNotices(ctx, nil, auth.Scope{{CommunityID: other.community.ID}}, content.NoticeFilter{Status: content.StatusAll}); err != nil || l.Total != 0 {
			t.Errorf("a notice that could not go on the air was kept: %+v %v", l, err)
		}
	})
}
