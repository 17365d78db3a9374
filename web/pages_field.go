package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/media"
)

// The field staff's side of the alarm centre: a grid worker or building
// head on the stairs sees their dispatches first — where, who lives there,
// what happened —, accepts with one button, says "arrived" with another
// and leaves a short report with a photo for the operator who closes the
// incident. Every button is a plain form that works without JavaScript;
// a small poll says when a new dispatch has come, without redrawing a
// report being typed.

// fieldStore is what the field staff's pages and API need beyond alarmStore.
type fieldStore interface {
	ReportOnIncident(ctx context.Context, scope auth.Scope, id int64, step alarm.Step, photo *media.Media) (alarm.Incident, int64, error)
	IncidentPhotoIDs(ctx context.Context, scope auth.Scope, user, id int64) ([]int64, error)
	IncidentPhoto(ctx context.Context, scope auth.Scope, user, id, photo int64) (media.Media, error)
	DispatchReach(ctx context.Context, user, id int64) (auth.Scope, error)
}

// registerFieldAPI is called from registerAPI.
func (s *Server) registerFieldAPI() {
	handle(s, get("/api/v1/staff/me/dispatches", auth.PermIncidentAttend), "my-dispatches", "The open incidents I am sent to, the most urgent first", "alarm",
		func(ctx context.Context, in *PageParams) (*listBody[alarm.Incident], error) {
			return list(s.myDispatches(ctx, auth.ActorFrom(ctx), in.page()))
		})
	s.mediaDownload(Route{Method: http.MethodGet, Path: "/api/v1/incidents/{id}/photos/{photo}", Permission: auth.PermIncidentAttend}, "photo",
		func(ctx context.Context, a *auth.Actor, id, photo int64) (media.Media, error) {
			return s.store.IncidentPhoto(ctx, a.Scope(auth.PermAlarmRead), a.User.ID, id, photo)
		}, nil)
}

// myDispatches lists the open incidents a is sent to. They are found by
// the dispatch, wherever they are: the nearest staff member may be sent
// outside their own grid.
func (s *Server) myDispatches(ctx context.Context, a *auth.Actor, page shequ.Page) (shequ.List[alarm.Incident], error) {
	return s.store.ListIncidents(ctx, auth.Scope{{}}, alarm.IncidentFilter{Status: "open", DispatchedTo: a.User.ID, Page: page})
}

// registerFieldPages is called from registerPages.
func (s *Server) registerFieldPages() {
	s.pageRoute("GET /my/dispatches", "/my/dispatches", auth.PermIncidentAttend, s.dispatchesPage)
	s.alarmRoute("GET /my/dispatches/news", "/my/dispatches", auth.PermIncidentAttend, false, s.dispatchNews)
	s.alarmRoute("POST /my/dispatches/{id}/{action}", "/my/dispatches", auth.PermIncidentAttend, true, s.dispatchStep)
	s.formRoute("POST /my/dispatches/{id}/report", "/my/dispatches", auth.PermIncidentAttend, maxPhoto+64<<10, s.dispatchReport)
}

type dispatchesBody struct {
	Items []dispatchView
	// Shown lists the ids on the page, for the poll that says when the
	// dispatches have changed.
	Shown string
	// Changed is set on the poll's answer when they have.
	Changed bool
	// Reported is the dispatch whose report was just sent; Gone says that
	// the one acted on is no longer theirs.
	Reported int64
	Gone     string
}

// dispatchView is one dispatch as the staff member sent sees it.
type dispatchView struct {
	incidentRow
	People   []personView
	Timeline []timelineRow
	Photos   []string
	// Error says why the last step was refused; Notes keeps the report
	// typed, so that nothing is lost.
	Error string
	Notes string
}

func (v dispatchView) Accepted() bool { return v.AcceptedAt != nil }
func (v dispatchView) OnSite() bool   { return v.Status == alarm.StatusOnSite }
func (v dispatchView) CanAccept() bool {
	return v.Status == alarm.StatusDispatched && v.AcceptedAt == nil
}
func (v dispatchView) CanArrive() bool { return v.Status == alarm.StatusDispatched }

// ShowReport says whether the report form is shown: on site, and
// whenever a report typed was refused, so that its words are not lost.
func (v dispatchView) ShowReport() bool { return v.OnSite() || v.Notes != "" }

func (s *Server) dispatchesPage(r *http.Request, p *pageData) (string, error) {
	p.Title = p.L.T("dispatch.title")
	b, err := s.dispatches(r.Context(), p, 0, nil)
	if err != nil {
		return "", err
	}
	b.Reported, _ = strconv.ParseInt(r.URL.Query().Get("reported"), 10, 64)
	p.Body = b
	return "field/dispatches", nil
}

// dispatches gathers the page; refused, when not nil, is shown on the
// dispatch it was about.
func (s *Server) dispatches(ctx context.Context, p *pageData, about int64, refused *dispatchView) (*dispatchesBody, error) {
	a := p.Actor
	l, err := s.myDispatches(ctx, a, shequ.Page{Limit: shequ.MaxLimit})
	if err != nil {
		return nil, err
	}
	var staff map[int64]auth.User
	if a.Can(auth.PermStaffRead) {
		if staff, err = s.staffNames(ctx, a.Scope(auth.PermStaffRead)); err != nil {
			return nil, err
		}
	}
	now := s.clock.Now()
	b := &dispatchesBody{Shown: shownIDs(l.Items)}
	for _, inc := range l.Items {
		v := dispatchView{incidentRow: s.incidentRow(p, inc, now)}
		if inc.HomeID != 0 {
			reach, err := s.store.DispatchReach(ctx, a.User.ID, inc.ID)
			if shequ.ErrorCode(err) == shequ.ENOTFOUND {
				// Resolved or given to someone else since the list was read.
				continue
			} else if err != nil {
				return nil, err
			}
			if v.People, err = s.peopleOfHome(ctx, reach, a.Can(auth.PermPeoplePII), inc.HomeID, now); err != nil {
				return nil, err
			}
		}
		tl, err := s.store.IncidentTimeline(ctx, auth.Scope{{}}, inc.ID)
		if err != nil {
			return nil, err
		}
		zones, err := s.store.ZoneNames(ctx, auth.Scope{{}}, inc.HomeID)
		if err != nil && inc.HomeID != 0 {
			return nil, err
		}
		v.Timeline = timelineRows(p, tl, staff, zones)
		if v.Photos, err = s.incidentPhotos(ctx, nil, a.User.ID, inc.ID); shequ.ErrorCode(err) == shequ.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		if refused != nil && inc.ID == about {
			v.Error, v.Notes = refused.Error, refused.Notes
		}
		b.Items = append(b.Items, v)
	}
	return b, nil
}

// shownIDs is the set of dispatches and their statuses, in one word.
func shownIDs(l []alarm.Incident) string {
	parts := make([]string, 0, len(l))
	for _, inc := range l {
		parts = append(parts, strconv.FormatInt(inc.ID, 10)+":"+inc.Status)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// dispatchNews answers the page's poll: a notice with a link when the
// dispatches are not those shown, nothing otherwise.
func (s *Server) dispatchNews(w http.ResponseWriter, r *http.Request, p *pageData) error {
	l, err := s.myDispatches(r.Context(), p.Actor, shequ.Page{Limit: shequ.MaxLimit})
	if err != nil {
		return err
	}
	p.Body = &dispatchesBody{Changed: shownIDs(l.Items) != r.URL.Query().Get("shown")}
	s.renderFragment(w, p, "field/dispatches", "news", http.StatusOK)
	return nil
}

// dispatchStep accepts a dispatch or says "arrived".
func (s *Server) dispatchStep(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	action := r.PathValue("action")
	if action != "accept" && action != "arrive" {
		return shequ.Errorf(shequ.ENOTFOUND, "no such action")
	}
	step := alarm.Step{Action: action, By: p.Actor.User.ID, OnlyAssignee: true}
	if _, err := s.store.StepIncident(r.Context(), auth.Scope{{}}, id, step); err != nil {
		return s.stepFailed(w, r, p, id, "", err)
	}
	s.changed()
	http.Redirect(w, r, fmt.Sprintf("/my/dispatches#incident-%d", id), http.StatusSeeOther)
	return nil
}

// dispatchReport leaves the report and its photo.
func (s *Server) dispatchReport(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := idOf(r, "id")
	if err != nil {
		return err
	}
	notes := strings.TrimSpace(r.PostFormValue("notes"))
	photo, err := formPhoto(r)
	switch {
	case err != nil:
		return s.dispatchRefused(w, r, p, id, notes, http.StatusUnprocessableEntity, p.L.T("form.photo.bad"))
	case notes == "":
		return s.dispatchRefused(w, r, p, id, notes, http.StatusUnprocessableEntity, p.L.T("dispatch.refused.notes"))
	case utf8.RuneCountInString(notes) > alarm.MaxNotes:
		return s.dispatchRefused(w, r, p, id, notes, http.StatusUnprocessableEntity, p.L.T("dispatch.refused.long", alarm.MaxNotes))
	}
	step := alarm.Step{Action: "report", By: p.Actor.User.ID, Notes: notes, OnlyAssignee: true}
	var put *media.Media
	if photo != nil {
		m, err := s.putFormFile(r.Context(), photo)
		if err != nil {
			return err
		}
		put = &m
	}
	if _, _, err := s.store.ReportOnIncident(r.Context(), auth.Scope{{}}, id, step, put); err != nil {
		if put != nil {
			s.releaseMedia(r.Context(), *put)
		}
		return s.stepFailed(w, r, p, id, notes, err)
	}
	s.changed()
	http.Redirect(w, r, fmt.Sprintf("/my/dispatches?reported=%d#incident-%d", id, id), http.StatusSeeOther)
	return nil
}

// stepFailed shows why the store refused a step; other errors are errors.
func (s *Server) stepFailed(w http.ResponseWriter, r *http.Request, p *pageData, id int64, notes string, cause error) error {
	switch shequ.ErrorCode(cause) {
	case shequ.ECONFLICT:
		return s.dispatchRefused(w, r, p, id, notes, http.StatusConflict, p.L.T("dispatch.refused.conflict"))
	case shequ.EINVALID:
		return s.dispatchRefused(w, r, p, id, notes, http.StatusUnprocessableEntity, p.L.T("dispatch.refused.notes"))
	case shequ.ENOTFOUND:
		// No longer theirs (sent to someone else, or resolved).
		return s.dispatchRefused(w, r, p, id, notes, http.StatusNotFound, p.L.T("dispatch.refused.gone"))
	}
	return cause
}

// dispatchRefused shows the page again with msg beside the dispatch, and
// the report as it was typed, so that nothing is lost; a dispatch no
// longer theirs is said to be gone at the top.
func (s *Server) dispatchRefused(w http.ResponseWriter, r *http.Request, p *pageData, id int64, notes string, status int, msg string) error {
	p.Title = p.L.T("dispatch.title")
	b, err := s.dispatches(r.Context(), p, id, &dispatchView{Error: msg, Notes: notes})
	if err != nil {
		return err
	}
	if status == http.StatusNotFound {
		b.Gone = msg
	}
	p.Body, p.Self = b, "/my/dispatches"
	s.render(w, r, p, "field/dispatches", status)
	return nil
}
