package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/broadcast"
)

// The resident's loudspeaker pages: "今天大喇叭播什么" (today's slots on
// the zones of their grid's loudspeaker and what each carries), the live
// stream of their grid's zone to listen to on the phone, their song
// requests with where each stands, and the form that asks for one. The
// broadcaster moderates the requests on /broadcast.

func (s *Server) registerListenerPages() {
	s.pageRoute("GET /my/broadcast", "/my/broadcast", auth.PermBroadcastDedicate, s.listenerPage)
	s.pageRoute("GET /my/broadcast/request", "/my/broadcast", auth.PermBroadcastDedicate, s.requestFormPage)
	s.formRoute("POST /my/broadcast/request", "/my/broadcast", auth.PermBroadcastDedicate, 64<<10, s.requestSubmit)
}

// itemLine is a rundown item as a resident reads it.
type itemLine struct {
	Kind, Text string
}

type listenerAiring struct {
	Start, End time.Time
	Name       string
	OnAir      bool
	Items      []itemLine
}

type requestLine struct {
	broadcast.Dedication
	SongTitle string
	// When is the airing an approved request is put in.
	When     *time.Time
	SlotName string
}

type listenerBody struct {
	// Zone is the zone of the resident's grid, whose stream they hear.
	Zone    *broadcast.Zone
	Today   []listenerAiring
	Mine    []requestLine
	Asked   bool
	NoHome  bool
	Stream  string
	Zones   []string
	Refresh bool
}

// listenerCommunity is the one community the resident requests songs in.
func listenerCommunity(a *auth.Actor) (int64, error) {
	cs := a.Scope(auth.PermBroadcastDedicate).Communities()
	if len(cs) != 1 {
		return 0, shequ.Errorf(shequ.EINVALID, "say which community")
	}
	return cs[0], nil
}

// libraryTitles are the titles of the community's songs by id. Residents
// choose from the library, so they read its titles.
func (s *Server) libraryTitles(ctx context.Context, c int64) (map[int64]string, []broadcast.Track, error) {
	l, err := s.store.ListTracks(ctx, auth.Scope{{CommunityID: c}}, c, shequ.Page{Limit: shequ.MaxLimit})
	if err != nil {
		return nil, nil, err
	}
	titles := map[int64]string{}
	for _, t := range l.Items {
		titles[t.ID] = t.Title
	}
	return titles, l.Items, nil
}

func (s *Server) listenerPage(r *http.Request, p *pageData) (string, error) {
	ctx := r.Context()
	a := p.Actor
	p.Title = p.L.T("listen.title")
	b := &listenerBody{Asked: r.URL.Query().Get("asked") == "1"}
	p.Body = b
	c, err := listenerCommunity(a)
	if err != nil {
		return "", err
	}
	titles, _, err := s.libraryTitles(ctx, c)
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	var prog broadcast.Programme
	if a.HouseholdID == 0 {
		b.NoHome = true
	} else if prog, err = s.store.ListenerProgramme(ctx, a.HouseholdID); err != nil {
		return "", err
	}
	loc := p.zone
	if prog.Location != nil {
		loc = prog.Location
	}
	if len(prog.Zones) > 0 {
		b.Zone = &prog.Zones[0]
		b.Stream = "/broadcast/zones/" + b.Zone.Code + "/stream?community=" + strconv.FormatInt(prog.CommunityID, 10)
		for _, z := range prog.Zones {
			b.Zones = append(b.Zones, z.Name)
		}
	}
	names := map[int64]string{}
	for _, x := range prog.Slots {
		names[x.ID] = x.Name
	}
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	for _, o := range broadcast.Between(prog.Slots, loc, today, today.AddDate(0, 0, 1)) {
		air := listenerAiring{Start: o.Start, End: o.End, Name: names[o.SlotID], OnAir: !now.Before(o.Start) && now.Before(o.End)}
		for _, it := range broadcast.ItemsOn(prog.Rundowns[o.SlotID], today.Format(time.DateOnly)) {
			line := itemLine{Kind: it.Kind, Text: it.Text}
			if it.Kind == broadcast.ItemMusic || it.Kind == broadcast.ItemDedication {
				if t := titles[it.TrackID]; t != "" {
					line.Text = strings.TrimSpace(line.Text + " 《" + t + "》")
				}
			}
			air.Items = append(air.Items, line)
		}
		b.Today = append(b.Today, air)
	}
	mine, err := s.store.ListDedications(ctx, a.Scope(auth.PermBroadcastDedicate), a.User.ID, c, "", shequ.Page{Limit: 20})
	if err != nil {
		return "", err
	}
	slots, err := s.store.ListSlots(ctx, auth.Scope{{CommunityID: c}}, c, shequ.Page{Limit: shequ.MaxLimit})
	if err != nil {
		return "", err
	}
	for _, d := range mine.Items {
		if d.RequestedBy != a.User.ID {
			continue
		}
		line := requestLine{Dedication: d, SongTitle: d.Song}
		if t := titles[d.TrackID]; t != "" {
			line.SongTitle = t
		}
		if d.Status == broadcast.DedicationApproved {
			for _, x := range slots.Items {
				if x.ID != d.SlotID {
					continue
				}
				line.SlotName = x.Name
				from := now.Add(-time.Duration(x.Minutes) * time.Minute)
				if d.Day != "" {
					if day, err := time.ParseInLocation(time.DateOnly, d.Day, loc); err == nil && day.After(from) {
						from = day
					}
				}
				if os := broadcast.Between([]broadcast.Slot{x}, loc, from, from.AddDate(0, 0, 8)); len(os) > 0 {
					line.When = &os[0].Start
				}
			}
			b.Refresh = true
		}
		b.Mine = append(b.Mine, line)
	}
	return "resident/broadcast", nil
}

// requestForm is the song request form and what to fix in it.
type requestForm struct {
	Tracks                       []broadcast.Track
	TrackID                      int64
	Song, For, Occasion, Message string
	Day, Today                   string
	Error                        string
	Errors                       map[string]string
}

func (s *Server) requestFormPage(r *http.Request, p *pageData) (string, error) {
	c, err := listenerCommunity(p.Actor)
	if err != nil {
		return "", err
	}
	_, tracks, err := s.libraryTitles(r.Context(), c)
	if err != nil {
		return "", err
	}
	p.Title = p.L.T("listen.request.title")
	today := s.clock.Now().In(p.zone).Format(time.DateOnly)
	p.Body = &requestForm{Tracks: tracks, Today: today, Day: today, Errors: map[string]string{}}
	return "resident/broadcast_request", nil
}

func (s *Server) requestSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx := r.Context()
	c, err := listenerCommunity(p.Actor)
	if err != nil {
		return err
	}
	_, tracks, err := s.libraryTitles(ctx, c)
	if err != nil {
		return err
	}
	f := &requestForm{Tracks: tracks, Song: r.PostFormValue("song"), For: r.PostFormValue("for"), Occasion: r.PostFormValue("occasion"),
		Message: r.PostFormValue("message"), Day: r.PostFormValue("day"), Today: s.clock.Now().In(p.zone).Format(time.DateOnly), Errors: map[string]string{}}
	if v := r.PostFormValue("track"); v != "" {
		f.TrackID, _ = strconv.ParseInt(v, 10, 64)
	}
	fail := func() error {
		p.Title, p.Self = p.L.T("listen.request.title"), "/my/broadcast/request"
		f.Error = p.L.T("matterform.fix")
		p.Body = f
		s.render(w, r, p, "resident/broadcast_request", http.StatusUnprocessableEntity)
		return nil
	}
	if f.Day != "" && f.Day < f.Today {
		f.Errors["day"] = p.L.T("listen.request.day.past")
		return fail()
	}
	d := broadcast.Dedication{CommunityID: c, TrackID: f.TrackID, Song: f.Song, For: f.For, Occasion: f.Occasion, Message: f.Message, Day: f.Day}
	if err := s.store.RequestDedication(ctx, p.Actor.Scope(auth.PermBroadcastDedicate), &d); err != nil {
		var e *shequ.Error
		if !errors.As(err, &e) || len(e.Fields) == 0 {
			return err
		}
		for k := range e.Fields {
			f.Errors[k] = p.L.T("listen.request.bad." + k)
		}
		return fail()
	}
	s.changed()
	http.Redirect(w, r, "/my/broadcast?asked=1", http.StatusSeeOther)
	return nil
}
