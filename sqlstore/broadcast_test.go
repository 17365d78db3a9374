package sqlstore_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

func TestBroadcastProgramme(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "bc")
		other := makeTree(t, st, "bc-other")
		c := tr.community.ID
		admin := auth.Scope{{CommunityID: c}}
		speaker := community.Device{CommunityID: c, Kind: community.DeviceSpeaker, Name: "广播01", GridID: tr.grid1.ID}
		camera := community.Device{CommunityID: c, Kind: community.DeviceCamera, Name: "摄像机01"}
		foreign := community.Device{CommunityID: other.community.ID, Kind: community.DeviceSpeaker, Name: "广播X"}
		for _, d := range []*community.Device{&speaker, &camera, &foreign} {
			mustOK(t, st.CreateDevice(ctx, everywhere, d))
		}

		// Zones take only the community's speakers.
		wantCode(t, "", st.CreateZone(ctx, admin, &broadcast.Zone{CommunityID: c, Code: "g1", Name: "第1网格", SpeakerIDs: []int64{camera.ID}}), shequ.EINVALID)
		wantCode(t, "", st.CreateZone(ctx, admin, &broadcast.Zone{CommunityID: c, Code: "g1", Name: "第1网格", SpeakerIDs: []int64{foreign.ID}}), shequ.EINVALID)
		wantCode(t, "", st.CreateZone(ctx, auth.Scope{{CommunityID: other.community.ID}}, &broadcast.Zone{CommunityID: c, Code: "g1", Name: "x"}), shequ.EFORBIDDEN)
		z := broadcast.Zone{CommunityID: c, Code: "g1", Name: "第1网格", SpeakerIDs: []int64{speaker.ID}}
		mustOK(t, st.CreateZone(ctx, admin, &z))
		wantCode(t, "", st.CreateZone(ctx, admin, &broadcast.Zone{CommunityID: c, Code: "g1", Name: "again"}), shequ.ECONFLICT)
		got, err := st.ZoneByCode(ctx, 0, "g1")
		mustOK(t, err)
		if got.ID != z.ID || len(got.SpeakerIDs) != 1 || got.SpeakerIDs[0] != speaker.ID {
			t.Fatalf("zone by code: %+v", got)
		}
		if l, err := st.ListZones(ctx, auth.Scope{{CommunityID: other.community.ID}}, 0, shequ.Page{}); err != nil || l.Total != 0 {
			t.Fatalf("another community's zones: %+v %v", l, err)
		}

		// Slots on the community's zones.
		wantCode(t, "", st.CreateSlot(ctx, admin, &broadcast.Slot{CommunityID: c, ZoneIDs: []int64{z.ID + 1000}, Days: []int{1}, Start: "07:00", Minutes: 20}), shequ.EINVALID)
		slot := broadcast.Slot{CommunityID: c, Name: "早间", ZoneIDs: []int64{z.ID}, Days: []int{1, 2, 3, 4, 5, 6, 7}, Start: "07:00", Minutes: 20,
			Exceptions: []broadcast.Exception{{Date: "2026-12-25", Skip: true}}}
		mustOK(t, st.CreateSlot(ctx, admin, &slot))
		s2, err := st.Slot(ctx, admin, slot.ID)
		mustOK(t, err)
		if s2.Start != "07:00" || len(s2.Days) != 7 || len(s2.Exceptions) != 1 || !s2.Exceptions[0].Skip {
			t.Fatalf("slot read back: %+v", s2)
		}

		// The library: audio in the media store.
		sha := strings.Repeat("ab", 32)
		track := broadcast.Track{CommunityID: c, Title: "茉莉花", Artist: "演示", Seconds: 62.5, LUFS: -17.2}
		wantCode(t, "", st.AddTrack(ctx, admin, &track, media.Media{Kind: media.Photo.Name, SHA256: sha, ContentType: "image/png", Size: 10}), shequ.EINVALID)
		mustOK(t, st.AddTrack(ctx, admin, &track, media.Media{Kind: media.Audio.Name, SHA256: sha, ContentType: "audio/mpeg", Size: 1000}))
		tracks, err := st.ListTracks(ctx, admin, c, shequ.Page{})
		mustOK(t, err)
		if tracks.Total != 1 || tracks.Items[0].SHA256 != sha || tracks.Items[0].Seconds != 62.5 || tracks.Items[0].MediaID == 0 {
			t.Fatalf("tracks: %+v", tracks)
		}
		if m, err := st.AudioMedia(ctx, c, track.MediaID); err != nil || m.SHA256 != sha {
			t.Fatalf("audio media: %+v %v", m, err)
		}

		// Rundowns name the community's tracks only.
		bad := broadcast.Rundown{SlotID: slot.ID, Items: []broadcast.Item{{Kind: broadcast.ItemMusic, TrackID: track.ID + 99}}}
		wantCode(t, "", st.SetRundown(ctx, admin, &bad), shequ.EINVALID)
		r := broadcast.Rundown{SlotID: slot.ID, Items: []broadcast.Item{{Kind: broadcast.ItemChime}, {Kind: broadcast.ItemSpeech, Text: "12月2日9:30停水"}, {Kind: broadcast.ItemMusic, TrackID: track.ID}}}
		mustOK(t, st.SetRundown(ctx, admin, &r))
		wantCode(t, "", st.SetRundown(ctx, auth.Scope{{CommunityID: other.community.ID}}, &r), shequ.ENOTFOUND)
		r2, err := st.Rundown(ctx, admin, slot.ID)
		mustOK(t, err)
		if len(r2.Items) != 3 || r2.Items[1].Voice != "cmn" || r2.UpdatedAt.IsZero() {
			t.Fatalf("rundown: %+v", r2)
		}

		// The scheduler's reading.
		ps, err := st.Programmes(ctx)
		mustOK(t, err)
		if len(ps) != 1 || ps[0].CommunityID != c || len(ps[0].Zones) != 1 || len(ps[0].Slots) != 1 || len(ps[0].Rundowns[slot.ID]) != 3 || ps[0].Location.String() != "Asia/Shanghai" {
			t.Fatalf("programmes: %+v", ps)
		}

		// Flags, renders, as-run, emergencies.
		mustOK(t, st.FlagSlot(ctx, slot.ID, "espeak-ng is not installed"))
		if s3, _ := st.Slot(ctx, admin, slot.ID); s3.Flag != "espeak-ng is not installed" {
			t.Fatalf("flag: %q", s3.Flag)
		}
		_, err = st.Render(ctx, c, "h1")
		wantCode(t, "", err, shequ.ENOTFOUND)
		a := broadcast.Audio{SHA256: strings.Repeat("cd", 32), Seconds: 31.2, Marks: []float64{2.1, 12.5}}
		mustOK(t, st.SaveRender(ctx, c, "h1", a, media.Media{SHA256: a.SHA256, ContentType: "audio/mpeg", Size: 250000}))
		mustOK(t, st.SaveRender(ctx, c, "h1", a, media.Media{SHA256: a.SHA256, ContentType: "audio/mpeg", Size: 250000}))
		if got, err := st.Render(ctx, c, "h1"); err != nil || !reflect.DeepEqual(got, a) {
			t.Fatalf("render: %+v %v", got, err)
		}
		at := clock.Now()
		mustOK(t, st.RecordAsRun(ctx, &broadcast.AsRun{CommunityID: c, ZoneID: z.ID, SlotID: slot.ID, Kind: broadcast.RunSlot, Status: broadcast.RunPlayed, StartedAt: at, Seconds: 31.2}))
		mustOK(t, st.RecordAsRun(ctx, &broadcast.AsRun{CommunityID: c, ZoneID: z.ID, Kind: broadcast.RunEmergency, Status: broadcast.RunPlayed, StartedAt: at.Add(time.Hour), Seconds: 9, Listeners: 3}))
		runs, err := st.ListAsRun(ctx, admin, broadcast.AsRunFilter{ZoneID: z.ID})
		mustOK(t, err)
		if runs.Total != 2 || runs.Items[0].Kind != broadcast.RunEmergency || runs.Items[0].Listeners != 3 || runs.Items[1].SlotID != slot.ID {
			t.Fatalf("as-run: %+v", runs)
		}
		e := broadcast.Emergency{CommunityID: c, ZoneIDs: []int64{z.ID}, Text: "燃气泄漏，请撤离", Level: broadcast.LevelUrgent}
		mustOK(t, st.CreateEmergency(ctx, admin, &e))
		if e.Status != broadcast.StatusActual || e.Repeat != 2 {
			t.Fatalf("emergency defaults: %+v", e)
		}

		for _, action := range []string{"broadcast_zone.create", "broadcast_slot.create", "broadcast_track.create", "broadcast_rundown.update", "broadcast_slot.flag", "broadcast_emergency.create"} {
			if auditCount(t, st, action) == 0 {
				t.Errorf("%s not audited", action)
			}
		}
	})
}

func TestBroadcastDedications(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "ded")
		c := tr.community.ID
		admin := auth.Scope{{CommunityID: c}}
		resident := auth.Scope{{CommunityID: c, HouseholdID: tr.household1.ID}}
		z := broadcast.Zone{CommunityID: c, Code: "all", Name: "全社区"}
		mustOK(t, st.CreateZone(ctx, admin, &z))
		slot := broadcast.Slot{CommunityID: c, ZoneIDs: []int64{z.ID}, Days: []int{1, 2, 3, 4, 5, 6, 7}, Start: "18:30", Minutes: 20}
		mustOK(t, st.CreateSlot(ctx, admin, &slot))
		track := broadcast.Track{CommunityID: c, Title: "月亮代表我的心"}
		mustOK(t, st.AddTrack(ctx, admin, &track, media.Media{Kind: media.Audio.Name, SHA256: strings.Repeat("ef", 32), ContentType: "audio/mpeg", Size: 10}))

		wantCode(t, "", st.RequestDedication(ctx, resident, &broadcast.Dedication{CommunityID: c, For: "妻子"}), shequ.EINVALID)
		d := broadcast.Dedication{CommunityID: c, Song: "月亮代表我的心", For: "我的妻子", Message: "祝你早日康复"}
		mustOK(t, st.RequestDedication(ctx, resident, &d))
		other := broadcast.Dedication{CommunityID: c, TrackID: track.ID, For: "邻居"}
		mustOK(t, st.RequestDedication(ctx, admin, &other))

		// The broadcaster sees every request; a resident theirs only
		// (both were filed without an actor here: requested_by is 0).
		all, err := st.ListDedications(ctx, admin, 0, c, broadcast.DedicationPending, shequ.Page{})
		mustOK(t, err)
		if all.Total != 2 {
			t.Fatalf("pending: %+v", all)
		}
		mine, err := st.ListDedications(ctx, resident, 999, c, "", shequ.Page{})
		mustOK(t, err)
		if mine.Total != 0 {
			t.Fatalf("someone else's requests: %+v", mine)
		}

		_, err = st.DecideDedication(ctx, resident, d.ID, true, slot.ID, track.ID, "")
		wantCode(t, "", err, shequ.EFORBIDDEN)
		_, err = st.DecideDedication(ctx, admin, d.ID, true, slot.ID, 0, "")
		wantCode(t, "", err, shequ.EINVALID) // no track in the library named
		got, err := st.DecideDedication(ctx, admin, d.ID, true, slot.ID, track.ID, "")
		mustOK(t, err)
		if got.Status != broadcast.DedicationApproved || got.SlotID != slot.ID || got.DecidedAt == nil {
			t.Fatalf("approved: %+v", got)
		}
		r, err := st.Rundown(ctx, admin, slot.ID)
		mustOK(t, err)
		if len(r.Items) != 1 || r.Items[0].Kind != broadcast.ItemDedication || r.Items[0].TrackID != track.ID || r.Items[0].Text != "送给我的妻子：祝你早日康复" {
			t.Fatalf("rundown: %+v", r)
		}
		_, err = st.DecideDedication(ctx, admin, d.ID, false, 0, 0, "")
		wantCode(t, "", err, shequ.ECONFLICT)
		rej, err := st.DecideDedication(ctx, admin, other.ID, false, 0, 0, "本周点歌已满")
		mustOK(t, err)
		if rej.Status != broadcast.DedicationRejected || rej.Note != "本周点歌已满" {
			t.Fatalf("rejected: %+v", rej)
		}
		if auditCount(t, st, "broadcast_dedication.approved") != 1 || auditCount(t, st, "broadcast_dedication.rejected") != 1 {
			t.Error("decisions not audited")
		}
	})
}

func TestBroadcastSpeakerTroubles(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "spk")
		c := tr.community.ID
		speaker := community.Device{CommunityID: c, Kind: community.DeviceSpeaker, Name: "广播01", GridID: tr.grid1.ID, Address: "10.0.3.21"}
		camera := community.Device{CommunityID: c, Kind: community.DeviceCamera, Name: "摄像机01", Address: "10.0.3.22"}
		for _, d := range []*community.Device{&speaker, &camera} {
			mustOK(t, st.CreateDevice(ctx, everywhere, d))
		}
		addrs, err := st.SpeakerAddresses(ctx, []int64{speaker.ID, camera.ID})
		mustOK(t, err)
		if len(addrs) != 1 || addrs[speaker.ID] != "10.0.3.21" {
			t.Fatalf("addresses %v: want the speaker's only", addrs)
		}
		at := clock.Now()
		tr1 := broadcast.SpeakerTrouble{CommunityID: c, SpeakerID: speaker.ID, ZoneID: 7, SlotID: 3, RaisedAt: at}
		mustOK(t, st.RaiseSpeakerTrouble(ctx, &tr1))
		again := broadcast.SpeakerTrouble{CommunityID: c, SpeakerID: speaker.ID, ZoneID: 7, SlotID: 4, RaisedAt: at.Add(time.Hour)}
		mustOK(t, st.RaiseSpeakerTrouble(ctx, &again))
		open, err := st.OpenSpeakerTroubles(ctx)
		mustOK(t, err)
		if len(open) != 1 || open[speaker.ID].SlotID != 3 || again.ID != 0 {
			t.Fatalf("open %+v (second raise %+v): want one per speaker", open, again)
		}
		mustOK(t, st.ClearSpeakerTrouble(ctx, speaker.ID, at.Add(2*time.Hour)))
		mustOK(t, st.ClearSpeakerTrouble(ctx, speaker.ID, at.Add(3*time.Hour)))
		open, err = st.OpenSpeakerTroubles(ctx)
		mustOK(t, err)
		all, err := st.SpeakerTroubles(ctx, auth.Scope{{CommunityID: c}}, c)
		mustOK(t, err)
		if len(open) != 0 || len(all) != 1 || all[0].ClearedAt == nil || !all[0].ClearedAt.Equal(at.Add(2*time.Hour).UTC().Truncate(time.Microsecond)) {
			t.Fatalf("after clearing: open %v, all %+v", open, all)
		}
		for _, action := range []string{"broadcast_speaker_trouble.raise", "broadcast_speaker_trouble.clear"} {
			if auditCount(t, st, action) == 0 {
				t.Errorf("%s not audited", action)
			}
		}
	})
}
