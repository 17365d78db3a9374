package web

import (
	"bytes"
	"cmp"
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/community"
)

// The loudspeaker programme (/broadcast): the next slot and what it
// carries on top, the week at a glance, the zones with a player each
// (what the loudspeakers play, live), the as-run log, and the emergency
// button: two steps, the second naming the zones that will hear it.

func (s *Server) registerBroadcastPages() {
	s.pageRoute("GET /broadcast", "/broadcast", auth.PermBroadcastRead, s.broadcastPage)
	s.alarmRoute("POST /broadcast/emergency", "/broadcast", auth.PermBroadcastEmergency, true, s.broadcastEmergency)
	s.formRoute("POST /broadcast/dedications/{id}/{action}", "/broadcast", auth.PermBroadcastWrite, 64<<10, s.broadcastModerate)
	s.mux.HandleFunc("GET /broadcast/slots/{id}/preview", s.slotPreview)
	s.registerListenerPages()
	s.registerBroadcastEditPages()
}

type airingView struct {
	Start time.Time
	Slot  broadcast.Slot
	Items []broadcast.Item
	Zones []string
}

type offlineSpeaker struct {
	Name, Zone string
	Since      time.Time
}

type dayView struct {
	Day     time.Time
	Airings []airingView
}

type broadcastBody struct {
	Next      *airingView
	Week      []dayView
	Zones     []broadcast.Zone
	Flagged   []broadcast.Slot
	AsRun     []broadcast.AsRun
	ZoneNames map[int64]string
	CanAlert  bool
	// The moderation queue: pending song requests, the slots and songs
	// they may be approved into.
	CanModerate bool
	Pending     []broadcast.Dedication
	Slots       []broadcast.Slot
	Tracks      []broadcast.Track
	TrackTitles map[int64]string
	SlotNames   map[int64]string
	// Offline are the loudspeakers that missed a whole slot and have not
	// listened since.
	Offline []offlineSpeaker
	// Confirm is the emergency awaiting its second step; Sent the one
	// that went out.
	Confirm *broadcast.Emergency
	Sent    *broadcast.Emergency
	Problem string
	// The programme's edit forms, for those who may change it; EditFor
	// names the one whose change failed (kept open), EditProblem why.
	ZoneEdits   []zoneEdit
	SlotEdits   []slotEdit
	EditFor     string
	EditProblem string
}

func (s *Server) broadcastBody(ctx context.Context, p *pageData) (*broadcastBody, error) {
	sc := p.Actor.Scope(auth.PermBroadcastRead)
	zones, err := s.store.ListZones(ctx, sc, p.communityID, shequ.Page{Limit: shequ.MaxLimit})
	if err != nil {
		return nil, err
	}
	slots, err := s.store.ListSlots(ctx, sc, p.communityID, shequ.Page{Limit: shequ.MaxLimit})
	if err != nil {
		return nil, err
	}
	runs, err := s.store.ListAsRun(ctx, sc, broadcast.AsRunFilter{CommunityID: p.communityID, Page: shequ.Page{Limit: 20}})
	if err != nil {
		return nil, err
	}
	b := &broadcastBody{Zones: zones.Items, AsRun: runs.Items, ZoneNames: map[int64]string{}, CanAlert: p.Actor.Can(auth.PermBroadcastEmergency)}
	for _, z := range zones.Items {
		b.ZoneNames[z.ID] = z.Name
	}
	b.Slots, b.SlotNames = slots.Items, map[int64]string{}
	for _, x := range slots.Items {
		b.SlotNames[x.ID] = x.Name
	}
	tracks, err := s.store.ListTracks(ctx, sc, p.communityID, shequ.Page{Limit: shequ.MaxLimit})
	if err != nil {
		return nil, err
	}
	b.Tracks, b.TrackTitles = tracks.Items, map[int64]string{}
	for _, t := range tracks.Items {
		b.TrackTitles[t.ID] = t.Title
	}
	troubles, err := s.store.SpeakerTroubles(ctx, sc, p.communityID)
	if err != nil && shequ.ErrorCode(err) != shequ.EFORBIDDEN {
		return nil, err
	}
	if len(troubles) > 0 {
		names := map[int64]string{}
		if ds, err := s.store.ListDevices(ctx, sc, community.Filter{CommunityID: p.communityID, Kind: community.DeviceSpeaker, Page: shequ.Page{Limit: shequ.MaxLimit}}); err == nil {
			for _, d := range ds.Items {
				names[d.ID] = d.Name
			}
		}
		for _, t := range troubles {
			if t.ClearedAt == nil {
				b.Offline = append(b.Offline, offlineSpeaker{Name: cmp.Or(names[t.SpeakerID], "#"+strconv.FormatInt(t.SpeakerID, 10)), Zone: b.ZoneNames[t.ZoneID], Since: t.RaisedAt})
			}
		}
	}
	if b.CanModerate = p.Actor.Can(auth.PermBroadcastWrite); b.CanModerate {
		pending, err := s.store.ListDedications(ctx, p.Actor.Scope(auth.PermBroadcastDedicate), p.Actor.User.ID, p.communityID, broadcast.DedicationPending, shequ.Page{Limit: 50})
		if err != nil {
			return nil, err
		}
		b.Pending = pending.Items
		if err := s.editForms(ctx, p, b); err != nil {
			return nil, err
		}
	}
	byID := map[int64]broadcast.Slot{}
	for _, x := range slots.Items {
		byID[x.ID] = x
		if x.Flag != "" {
			b.Flagged = append(b.Flagged, x)
		}
	}
	now := s.clock.Now().In(p.zone)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, p.zone)
	for d := range 7 {
		b.Week = append(b.Week, dayView{Day: today.AddDate(0, 0, d)})
	}
	for _, o := range broadcast.Between(slots.Items, p.zone, today, today.AddDate(0, 0, 7)) {
		a := airingView{Start: o.Start, Slot: byID[o.SlotID]}
		for _, z := range o.ZoneIDs {
			a.Zones = append(a.Zones, b.ZoneNames[z])
		}
		day := int(o.Start.In(p.zone).Sub(today).Hours() / 24)
		if day >= 0 && day < 7 {
			b.Week[day].Airings = append(b.Week[day].Airings, a)
		}
		if b.Next == nil && o.End.After(now) {
			r, err := s.store.Rundown(ctx, sc, o.SlotID)
			if err != nil {
				return nil, err
			}
			a.Items = broadcast.ItemsOn(r.Items, o.Start.In(p.zone).Format(time.DateOnly))
			b.Next = &a
		}
	}
	return b, nil
}

func (s *Server) broadcastPage(r *http.Request, p *pageData) (string, error) {
	p.Title = p.L.T("broadcast.title")
	b, err := s.broadcastBody(r.Context(), p)
	if err != nil {
		return "", err
	}
	p.Body = b
	return "staff/broadcast", nil
}

// broadcastEmergency is the emergency form: the first post asks to
// confirm and names the zones; the second (confirm=yes) sends it.
func (s *Server) broadcastEmergency(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx := r.Context()
	p.Title = p.L.T("broadcast.title")
	f := r.PostForm
	e := broadcast.Emergency{CommunityID: p.communityID, Text: f.Get("text"), Level: f.Get("level"), Status: f.Get("status"), WarningLevel: f.Get("warning_level"), Repeat: 2}
	for _, v := range f["zone"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && !slices.Contains(e.ZoneIDs, id) {
			e.ZoneIDs = append(e.ZoneIDs, id)
		}
	}
	b, err := s.broadcastBody(ctx, p)
	if err != nil {
		return err
	}
	p.Body = b
	check := e
	if err := check.Validate(); err != nil {
		b.Problem = p.L.T("broadcast.emergency.incomplete")
		s.render(w, r, p, "staff/broadcast", http.StatusUnprocessableEntity)
		return nil
	}
	if f.Get("confirm") != "yes" {
		b.Confirm = &check
		s.render(w, r, p, "staff/broadcast", http.StatusOK)
		return nil
	}
	if s.broadcast == nil {
		return errNoBroadcast
	}
	if err := s.store.CreateEmergency(ctx, p.Actor.Scope(auth.PermBroadcastEmergency), &e); err != nil {
		return err
	}
	if err := s.broadcast.Announce(ctx, e); err != nil {
		return err
	}
	b.Sent = &e
	s.render(w, r, p, "staff/broadcast", http.StatusOK)
	return nil
}

// broadcastModerate approves a song request into the slot chosen, or
// rejects it saying why.
func (s *Server) broadcastModerate(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return shequ.Errorf(shequ.ENOTFOUND, "no such song request")
	}
	sc := p.Actor.Scope(auth.PermBroadcastWrite)
	switch r.PathValue("action") {
	case "approve":
		slot, _ := strconv.ParseInt(r.PostFormValue("slot"), 10, 64)
		track, _ := strconv.ParseInt(r.PostFormValue("track"), 10, 64)
		_, err = s.store.DecideDedication(r.Context(), sc, id, true, slot, track, "")
	case "reject":
		note := strings.TrimSpace(r.PostFormValue("note"))
		if note == "" {
			return shequ.Invalid(map[string]string{"note": "say why, for the resident"})
		}
		_, err = s.store.DecideDedication(r.Context(), sc, id, false, 0, 0, note)
	default:
		return shequ.Errorf(shequ.ENOTFOUND, "no such step")
	}
	if err != nil {
		return err
	}
	s.changed()
	http.Redirect(w, r, "/broadcast#moderation", http.StatusSeeOther)
	return nil
}

// slotPreview sends the rendered audio of a slot as it will go out on a
// date (?date=YYYY-MM-DD, today when not given), rendering it if need be:
// the broadcaster listens before it airs.
func (s *Server) slotPreview(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	p := s.newPage(r)
	if p.Actor == nil || !p.Actor.Can(auth.PermBroadcastRead) {
		writeProblem(w, problemOf(shequ.Errorf(shequ.EFORBIDDEN, "sign in as a broadcaster")))
		return
	}
	err := func() error {
		if s.broadcast == nil {
			return errNoBroadcast
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			return shequ.Errorf(shequ.ENOTFOUND, "no such slot")
		}
		ctx := r.Context()
		sc := p.Actor.Scope(auth.PermBroadcastRead)
		slot, err := s.store.Slot(ctx, sc, id)
		if err != nil {
			return err
		}
		rd, err := s.store.Rundown(ctx, sc, id)
		if err != nil {
			return err
		}
		date := r.URL.Query().Get("date")
		if date == "" {
			date = s.clock.Now().In(p.zone).Format(time.DateOnly)
		}
		a, err := s.broadcast.Render(ctx, slot.CommunityID, broadcast.ItemsOn(rd.Items, date))
		if err != nil {
			return err
		}
		blob, err := s.blobs.Open(ctx, a.SHA256)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(blob)
		blob.Close()
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "audio/mpeg")
		w.Header().Set("Cache-Control", "private, max-age=60")
		http.ServeContent(w, r, "slot.mp3", time.Time{}, bytes.NewReader(data))
		return nil
	}()
	if err != nil {
		p := problemOf(err)
		if p.Status >= 500 {
			s.log.Error("slot preview", "err", err)
		}
		writeProblem(w, p)
	}
}

// Date8 is the date of t in the community's time zone, YYYY-MM-DD.
func (p *pageData) Date8(t time.Time) string { return t.In(p.zone).Format(time.DateOnly) }

// ZoneList names zones for a page.
func (b *broadcastBody) ZoneList(ids []int64) []string {
	var out []string
	for _, id := range ids {
		out = append(out, b.ZoneNames[id])
	}
	return out
}

// Clock shows the time of day of t in the community's time zone.
func (p *pageData) Clock(t time.Time) string { return t.In(p.zone).Format("15:04") }

// Day shows the date of t in the community's time zone.
func (p *pageData) Day(t time.Time) string { return t.In(p.zone).Format("01-02") }
