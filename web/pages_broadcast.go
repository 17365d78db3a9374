package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/broadcast"
)

// The loudspeaker programme (/broadcast): the next slot and what it
// carries on top, the week at a glance, the zones with a player each
// (what the loudspeakers play, live), the as-run log, and the emergency
// button: two steps, the second naming the zones that will hear it.

func (s *Server) registerBroadcastPages() {
	s.pageRoute("GET /broadcast", "/broadcast", auth.PermBroadcastRead, s.broadcastPage)
	s.alarmRoute("POST /broadcast/emergency", "/broadcast", auth.PermBroadcastEmergency, true, s.broadcastEmergency)
}

type airingView struct {
	Start time.Time
	Slot  broadcast.Slot
	Items []broadcast.Item
	Zones []string
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
	// Confirm is the emergency awaiting its second step; Sent the one
	// that went out.
	Confirm *broadcast.Emergency
	Sent    *broadcast.Emergency
	Problem string
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
			a.Items = r.Items
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
