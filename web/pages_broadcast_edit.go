package web

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/community"
)

// Editing the programme on the broadcaster's page: a zone's name and
// loudspeakers, a slot's days, time, length, dates and exceptions, and
// deleting either once the broadcaster has ticked that they mean it. A
// change that cannot be made shows the page again saying why, with the
// form open.

func (s *Server) registerBroadcastEditPages() {
	s.formRoute("POST /broadcast/zones/{id}/{action}", "/broadcast", auth.PermBroadcastWrite, 64<<10, s.broadcastZoneEdit)
	s.formRoute("POST /broadcast/slots/{id}/{action}", "/broadcast", auth.PermBroadcastWrite, 64<<10, s.broadcastSlotEdit)
}

// zoneEdit is a zone's edit form.
type zoneEdit struct {
	Zone     broadcast.Zone
	Speakers []targetOption
}

// dayOption is a weekday box of a slot's form: ISO 1 Monday … 7 Sunday,
// Key the word's catalogue key.
type dayOption struct {
	ISO     int
	Key     string
	Checked bool
}

// slotEdit is a slot's edit form; Exceptions one a line.
type slotEdit struct {
	Slot       broadcast.Slot
	Days       []dayOption
	Exceptions string
}

// editForms fills the zones' and slots' edit forms.
func (s *Server) editForms(ctx context.Context, p *pageData, b *broadcastBody) error {
	ds, err := s.store.ListDevices(ctx, p.Actor.Scope(auth.PermBroadcastRead), community.Filter{CommunityID: p.communityID, Kind: community.DeviceSpeaker, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil && shequ.ErrorCode(err) != shequ.EFORBIDDEN {
		return err
	}
	for _, z := range b.Zones {
		e := zoneEdit{Zone: z}
		for _, d := range ds.Items {
			e.Speakers = append(e.Speakers, targetOption{ID: d.ID, Name: d.Name, Checked: slices.Contains(z.SpeakerIDs, d.ID)})
		}
		// A speaker the registry no longer lists stays on the form.
		for _, id := range z.SpeakerIDs {
			if !slices.ContainsFunc(e.Speakers, func(o targetOption) bool { return o.ID == id }) {
				e.Speakers = append(e.Speakers, targetOption{ID: id, Name: "#" + strconv.FormatInt(id, 10), Checked: true})
			}
		}
		b.ZoneEdits = append(b.ZoneEdits, e)
	}
	for _, x := range b.Slots {
		e := slotEdit{Slot: x, Exceptions: exceptionLines(x.Exceptions)}
		for d := 1; d <= 7; d++ {
			e.Days = append(e.Days, dayOption{ISO: d, Key: fmt.Sprintf("broadcast.weekday.%d", d%7), Checked: slices.Contains(x.Days, d)})
		}
		b.SlotEdits = append(b.SlotEdits, e)
	}
	return nil
}

// exceptionLines writes exceptions one a line: "2026-10-01 skip" or
// "2026-10-02 08:00".
func exceptionLines(es []broadcast.Exception) string {
	var lines []string
	for _, e := range es {
		if e.Skip {
			lines = append(lines, e.Date+" skip")
		} else {
			lines = append(lines, e.Date+" "+e.Start)
		}
	}
	return strings.Join(lines, "\n")
}

// parseExceptions reads the lines exceptionLines writes: a date, then a
// time it moves to, or anything else (不播, skip) to skip it.
func parseExceptions(text string) []broadcast.Exception {
	out := []broadcast.Exception{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		e := broadcast.Exception{Date: f[0], Skip: true}
		if len(f) > 1 && strings.Contains(f[1], ":") {
			e.Skip, e.Start = false, f[1]
		}
		out = append(out, e)
	}
	return out
}

// editFailed shows the page again with the form of what failed open and
// why it failed; other errors go to the error page.
func (s *Server) editFailed(w http.ResponseWriter, r *http.Request, p *pageData, what string, err error) error {
	var key string
	status := http.StatusUnprocessableEntity
	switch shequ.ErrorCode(err) {
	case shequ.EINVALID:
		key = "broadcast.edit.invalid"
	case shequ.ECONFLICT:
		// A zone conflicts when slots still play on it; a slot when it
		// would play over another slot of its zones.
		key, status = "broadcast.edit.inuse", http.StatusConflict
		if strings.HasPrefix(what, "slot-") {
			key = "broadcast.edit.overlap"
		}
	default:
		return err
	}
	b, berr := s.broadcastBody(r.Context(), p)
	if berr != nil {
		return berr
	}
	b.EditFor, b.EditProblem = what, p.L.T(key)
	var se *shequ.Error
	if errors.As(err, &se) && len(se.Fields) > 0 {
		var words []string
		for _, k := range slices.Sorted(maps.Keys(se.Fields)) {
			words = append(words, p.L.Or("broadcast.edit.field."+k, k))
		}
		b.EditProblem += " " + strings.Join(words, "、")
	}
	p.Title, p.Body = p.L.T("broadcast.title"), b
	s.render(w, r, p, "staff/broadcast", status)
	return nil
}

func (s *Server) broadcastZoneEdit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return shequ.Errorf(shequ.ENOTFOUND, "no such zone")
	}
	ctx, sc, what := r.Context(), p.Actor.Scope(auth.PermBroadcastWrite), "zone-"+strconv.FormatInt(id, 10)
	switch r.PathValue("action") {
	case "edit":
		z, err := s.store.Zone(ctx, sc, id)
		if err != nil {
			return err
		}
		z.Name, z.SpeakerIDs = r.PostFormValue("name"), formIDs(r, "speaker")
		if err := s.store.UpdateZone(ctx, sc, &z); err != nil {
			return s.editFailed(w, r, p, what, err)
		}
	case "delete":
		if r.PostFormValue("confirm") != "yes" {
			return s.editFailed(w, r, p, what, shequ.Invalid(map[string]string{"confirm": "tick to confirm"}))
		}
		if err := s.store.DeleteZone(ctx, sc, id); err != nil {
			return s.editFailed(w, r, p, what, err)
		}
	default:
		return shequ.Errorf(shequ.ENOTFOUND, "no such step")
	}
	s.changed()
	http.Redirect(w, r, "/broadcast#manage", http.StatusSeeOther)
	return nil
}

func (s *Server) broadcastSlotEdit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return shequ.Errorf(shequ.ENOTFOUND, "no such slot")
	}
	ctx, sc, what := r.Context(), p.Actor.Scope(auth.PermBroadcastWrite), "slot-"+strconv.FormatInt(id, 10)
	switch r.PathValue("action") {
	case "edit":
		x, err := s.store.Slot(ctx, sc, id)
		if err != nil {
			return err
		}
		f := r.PostForm
		x.Name, x.Start, x.From, x.Until = strings.TrimSpace(f.Get("name")), f.Get("start"), f.Get("from"), f.Get("until")
		x.Minutes, _ = strconv.Atoi(f.Get("minutes"))
		x.Days = nil
		for _, v := range f["day"] {
			if d, err := strconv.Atoi(v); err == nil {
				x.Days = append(x.Days, d)
			}
		}
		x.Exceptions = parseExceptions(f.Get("exceptions"))
		if err := s.store.UpdateSlot(ctx, sc, &x); err != nil {
			return s.editFailed(w, r, p, what, err)
		}
	case "delete":
		if r.PostFormValue("confirm") != "yes" {
			return s.editFailed(w, r, p, what, shequ.Invalid(map[string]string{"confirm": "tick to confirm"}))
		}
		if err := s.store.DeleteSlot(ctx, sc, id); err != nil {
			return s.editFailed(w, r, p, what, err)
		}
	default:
		return shequ.Errorf(shequ.ENOTFOUND, "no such step")
	}
	s.changed()
	http.Redirect(w, r, "/broadcast#manage", http.StatusSeeOther)
	return nil
}

// formIDs reads the ids posted under name.
func formIDs(r *http.Request, name string) []int64 {
	out := []int64{}
	for _, v := range r.PostForm[name] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}
