package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/evidence"
	"github.com/shequ/shequ/media"
)

// cameraBlock is the console's block of an incident's cameras.
type cameraBlock struct {
	Items       []cameraShot
	From, Until time.Time
	// Pending is true while snapshots are still being taken.
	Pending bool
}

type cameraShot struct {
	evidence.IncidentCamera
	// Snapshot is where the picture is served; Link the live view when
	// the browser opens it (a gateway's http(s) page; RTSP is shown to
	// copy into a player).
	Snapshot string
	Link     template.URL
}

// incidentCameras gathers the cameras of an incident for the console.
func (s *Server) incidentCameras(ctx context.Context, sc auth.Scope, id int64) (cameraBlock, error) {
	cams, err := s.store.IncidentCameras(ctx, sc, id)
	if err != nil {
		return cameraBlock{}, err
	}
	var b cameraBlock
	for _, c := range cams {
		shot := cameraShot{IncidentCamera: c}
		if c.SnapshotMediaID != 0 {
			shot.Snapshot = fmt.Sprintf("/api/v1/incidents/%d/snapshots/%d", id, c.SnapshotMediaID)
		} else if c.SnapshotError == "" && s.clock.Now().Before(c.BookmarkUntil) {
			b.Pending = true // after the window a snapshot says nothing of the moment
		}
		if l := strings.ToLower(c.LiveURL); strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") {
			shot.Link = template.URL(c.LiveURL)
		}
		b.Items = append(b.Items, shot)
		b.From, b.Until = c.BookmarkFrom, c.BookmarkUntil
	}
	return b, nil
}

// consoleCameras answers the cameras block alone, which fetches itself
// again while snapshots are being taken.
func (s *Server) consoleCameras(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if !canWatch(p.Actor) {
		return shequ.Errorf(shequ.EFORBIDDEN, "the console is for the monitoring centre")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	b, err := s.incidentCameras(r.Context(), p.Actor.Scope(auth.PermAlarmRead), id)
	if err != nil {
		return err
	}
	if _, err := s.store.Incident(r.Context(), p.Actor.Scope(auth.PermAlarmRead), id); err != nil {
		return err
	}
	v := &incidentView{Cameras: b}
	v.ID = id
	p.Body = &consoleBody{Selected: v}
	s.renderFragment(w, p, "staff/console", "incident-cameras", http.StatusOK)
	return nil
}

// The pages of footage requests (the police's and staff's requests and
// downloads, the director's approval queue) and of warning notices (asked
// for by staff and the police, decided by the director, read by the
// community's residents while they are up).

func (s *Server) registerEvidencePages() {
	s.pageRoute("GET /footage", "/footage", auth.PermFootageRequest, s.footagePage)
	s.formRoute("POST /footage", "/footage", auth.PermFootageRequest, 16<<10, s.footageSubmit)
	s.formRoute("POST /footage/{id}/decide", "/footage", auth.PermFootageApprove, 16<<10, s.footageDecide)
	s.pageRoute("GET /footage/warnings", "/footage/warnings", auth.PermWarningRequest, s.warningsStaffPage)
	s.pageRoute("GET /footage/warnings/{id}", "/footage/warnings", auth.PermWarningRequest, s.warningStaffPage)
	s.formRoute("POST /footage/warnings", "/footage/warnings", auth.PermWarningRequest, maxPhoto+64<<10, s.warningSubmit)
	s.formRoute("POST /footage/warnings/{id}/decide", "/footage/warnings", auth.PermFootageApprove, 16<<10, s.warningDecide)
	s.pageRoute("GET /warnings", "/warnings", auth.PermWarningRead, s.warningsPage)
	s.pageRoute("GET /warnings/{id}", "/warnings", auth.PermWarningRead, s.warningPage)
}

type footageRow struct {
	evidence.FootageRequest
	StatusWord, Window, Cameras string
	CanDecide, CanDownload      bool
}

type cameraOption struct {
	ID      int64
	Name    string
	Checked bool
}

type footageBodyView struct {
	Pending, Rows []footageRow
	Cameras       []cameraOption
	CanDecide     bool
	Error         string
	Reason, Case  string
	From, Until   string
}

func (s *Server) footagePage(r *http.Request, p *pageData) (string, error) {
	b, err := s.footageView(r.Context(), p)
	if err != nil {
		return "", err
	}
	now := s.clock.Now().In(p.zone)
	b.From, b.Until = now.Add(-time.Hour).Format(formStamp), now.Add(-50*time.Minute).Format(formStamp)
	p.Title, p.Body = p.L.T("footage.title"), b
	return "staff/footage", nil
}

// formStamp is how datetime-local fields write times.
const formStamp = "2006-01-02T15:04"

func (s *Server) footageView(ctx context.Context, p *pageData) (*footageBodyView, error) {
	sc, mine := footageScope(ctx)
	b := &footageBodyView{CanDecide: mine == 0 && p.Actor.Can(auth.PermFootageApprove)}
	reqs, err := s.store.ListFootageRequests(ctx, sc, evidence.FootageFilter{RequestedBy: mine, Page: shequ.Page{Limit: 100}})
	if err != nil {
		return nil, err
	}
	cams, err := s.store.ListCameras(ctx, p.Actor.Scope(auth.PermFootageRequest), evidence.CameraFilter{Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		return nil, err
	}
	names := map[int64]string{}
	for _, c := range cams.Items {
		names[c.DeviceID] = c.Name
		b.Cameras = append(b.Cameras, cameraOption{ID: c.DeviceID, Name: c.Name})
	}
	for _, x := range reqs.Items {
		row := footageRow{FootageRequest: x, StatusWord: p.L.Or("footage.status."+x.Status, x.Status),
			Window: p.L.T("footage.window", p.Date(x.From), p.Clock(x.Until))}
		var cs []string
		for _, id := range x.CameraIDs {
			cs = append(cs, names[id])
		}
		row.Cameras = strings.Join(cs, "、")
		row.CanDecide = b.CanDecide && x.Status == evidence.StatusRequested && x.RequestedBy != p.Actor.User.ID
		row.CanDownload = x.Status == evidence.StatusExported && (x.RequestedBy == p.Actor.User.ID || b.CanDecide)
		if row.CanDecide {
			b.Pending = append(b.Pending, row)
		} else {
			b.Rows = append(b.Rows, row)
		}
	}
	return b, nil
}

func (s *Server) footageSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx := r.Context()
	form := r.PostForm
	x := evidence.FootageRequest{Reason: strings.TrimSpace(form.Get("reason")), CaseNumber: strings.TrimSpace(form.Get("case_number"))}
	for _, v := range form["camera"] {
		var id int64
		if _, err := fmt.Sscan(v, &id); err == nil {
			x.CameraIDs = append(x.CameraIDs, id)
		}
	}
	x.From, _ = time.ParseInLocation(formStamp, form.Get("from"), p.zone)
	x.Until, _ = time.ParseInLocation(formStamp, form.Get("until"), p.zone)
	err := s.store.CreateFootageRequest(ctx, p.Actor.Scope(auth.PermFootageRequest), &x)
	if err == nil {
		http.Redirect(w, r, "/footage", http.StatusSeeOther)
		return nil
	}
	if shequ.ErrorCode(err) != shequ.EINVALID {
		return err
	}
	b, verr := s.footageView(ctx, p)
	if verr != nil {
		return verr
	}
	b.Error = problemWords(p, err, "footage.field.")
	b.Reason, b.Case, b.From, b.Until = x.Reason, x.CaseNumber, form.Get("from"), form.Get("until")
	for i := range b.Cameras {
		for _, id := range x.CameraIDs {
			b.Cameras[i].Checked = b.Cameras[i].Checked || b.Cameras[i].ID == id
		}
	}
	p.Title, p.Body = p.L.T("footage.title"), b
	s.render(w, r, p, "staff/footage", http.StatusUnprocessableEntity)
	return nil
}

// problemWords puts a validation error in the page's words: each field
// named, then what is wrong (the store's English message).
func problemWords(p *pageData, err error, prefix string) string {
	var e *shequ.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return shequ.ErrorMessage(err)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, p.L.Or(prefix+k, k)+": "+e.Fields[k])
	}
	return strings.Join(parts, "; ")
}

func (s *Server) footageDecide(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := idOf(r, "id")
	if err != nil {
		return err
	}
	d := evidence.Decision{Approve: r.PostForm.Get("decision") == "approve", Reason: strings.TrimSpace(r.PostForm.Get("reason"))}
	if _, err := s.store.DecideFootageRequest(r.Context(), p.Actor.Scope(auth.PermFootageApprove), id, d); err != nil {
		if shequ.ErrorCode(err) != shequ.EINVALID {
			return err
		}
		b, verr := s.footageView(r.Context(), p)
		if verr != nil {
			return verr
		}
		b.Error = p.L.T("footage.refuse.why")
		p.Title, p.Body = p.L.T("footage.title"), b
		s.render(w, r, p, "staff/footage", http.StatusUnprocessableEntity)
		return nil
	}
	http.Redirect(w, r, "/footage", http.StatusSeeOther)
	return nil
}

type warningRow struct {
	evidence.Warning
	StatusWord, Requested, Expires string
}

type warningsView struct {
	Rows      []warningRow
	CanDecide bool
	Error     string
	Title     string
	Text      string
	Reason    string
	Case      string
	Expires   string
}

func (s *Server) warningRows(ctx context.Context, p *pageData, sc auth.Scope, live bool) ([]warningRow, error) {
	l, err := s.store.ListWarnings(ctx, sc, evidence.WarningFilter{Live: live, Page: shequ.Page{Limit: 100}})
	if err != nil {
		return nil, err
	}
	var out []warningRow
	for _, w := range l.Items {
		out = append(out, warningRow{Warning: w, StatusWord: p.L.Or("warning.status."+w.Status, w.Status), Requested: p.Date(w.RequestedAt), Expires: p.Date(w.ExpiresAt)})
	}
	return out, nil
}

func (s *Server) warningsStaffPage(r *http.Request, p *pageData) (string, error) {
	sc, _ := warningStaff(p.Actor)
	rows, err := s.warningRows(r.Context(), p, sc, false)
	if err != nil {
		return "", err
	}
	p.Title = p.L.T("warning.staff.title")
	p.Body = &warningsView{Rows: rows, CanDecide: p.Actor.Can(auth.PermFootageApprove),
		Expires: s.clock.Now().In(p.zone).AddDate(0, 0, 7).Format("2006-01-02")}
	return "staff/footage_warnings", nil
}

type warningView struct {
	warningRow
	Photo       string
	CanDecide   bool
	CanWithdraw bool
	Decided     string
	Error       string
}

func (s *Server) warningStaffPage(r *http.Request, p *pageData) (string, error) {
	id, err := idOf(r, "id")
	if err != nil {
		return "", err
	}
	sc, _ := warningStaff(p.Actor)
	w, err := s.store.Warning(r.Context(), sc, id, true)
	if err != nil {
		return "", err
	}
	v := &warningView{warningRow: warningRow{Warning: w, StatusWord: p.L.Or("warning.status."+w.Status, w.Status), Requested: p.Date(w.RequestedAt), Expires: p.Date(w.ExpiresAt)},
		CanDecide: p.Actor.Can(auth.PermFootageApprove) && w.Status == evidence.WarningRequested && w.RequestedBy != p.Actor.User.ID,
		Decided:   p.DatePtr(w.DecidedAt)}
	v.CanWithdraw = w.Status == evidence.WarningPublished && p.Actor.Can(auth.PermFootageApprove)
	if r.URL.Query().Get("error") == "reason" {
		v.Error = p.L.T("footage.refuse.why")
	}
	if w.PhotoID != 0 {
		v.Photo = fmt.Sprintf("/api/v1/warnings/%d/photo", w.ID)
	}
	p.Title, p.Body = w.Title, v
	return "staff/footage_warning", nil
}

func (s *Server) warningSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx := r.Context()
	form := r.PostForm
	sc := p.Actor.Scope(auth.PermWarningRequest)
	v := &warningsView{Title: strings.TrimSpace(form.Get("title")), Text: form.Get("body"), Reason: strings.TrimSpace(form.Get("reason")),
		Case: strings.TrimSpace(form.Get("case_number")), Expires: form.Get("expires_at"), CanDecide: p.Actor.Can(auth.PermFootageApprove)}
	fail := func(msg string) error {
		sc2, _ := warningStaff(p.Actor)
		rows, err := s.warningRows(ctx, p, sc2, false)
		if err != nil {
			return err
		}
		v.Rows, v.Error = rows, msg
		p.Title, p.Body = p.L.T("warning.staff.title"), v
		s.render(w, r, p, "staff/footage_warnings", http.StatusUnprocessableEntity)
		return nil
	}
	fh, err := formPhoto(r)
	if err != nil || fh == nil {
		return fail(p.L.T("warning.error.photo"))
	}
	cs := sc.Communities()
	if p.communityID != 0 {
		cs = []int64{p.communityID}
	}
	if len(cs) != 1 {
		return fail(p.L.T("warning.error.community"))
	}
	expires, _ := time.ParseInLocation("2006-01-02", v.Expires, p.zone)
	if !expires.IsZero() {
		expires = expires.Add(24*time.Hour - time.Minute) // the end of the day named
	}
	wn := evidence.Warning{CommunityID: cs[0], Title: v.Title, Body: v.Text, Reason: v.Reason, CaseNumber: v.Case, ExpiresAt: expires}
	if err := wn.Validate(s.clock.Now()); err != nil {
		return fail(problemWords(p, err, "warning.field."))
	}
	err = s.keepFormPhoto(ctx, fh, p.Actor.User.ID, func(m media.Media) error {
		return s.store.CreateWarning(ctx, sc, &wn, &m)
	})
	if err != nil {
		if shequ.ErrorCode(err) == shequ.EINVALID {
			return fail(problemWords(p, err, "warning.field."))
		}
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/footage/warnings/%d", wn.ID), http.StatusSeeOther)
	return nil
}

func (s *Server) warningDecide(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := idOf(r, "id")
	if err != nil {
		return err
	}
	form := r.PostForm
	reason := strings.TrimSpace(form.Get("reason"))
	sc := p.Actor.Scope(auth.PermFootageApprove)
	switch form.Get("decision") {
	case "withdraw":
		_, err = s.store.WithdrawWarning(r.Context(), sc, id, reason)
	default:
		_, err = s.store.DecideWarning(r.Context(), sc, id, evidence.Decision{Approve: form.Get("decision") == "approve", Reason: reason})
	}
	if shequ.ErrorCode(err) == shequ.EINVALID {
		http.Redirect(w, r, fmt.Sprintf("/footage/warnings/%d?error=reason", id), http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/footage/warnings/%d", id), http.StatusSeeOther)
	return nil
}

func (s *Server) warningsPage(r *http.Request, p *pageData) (string, error) {
	rows, err := s.warningRows(r.Context(), p, p.Actor.Scope(auth.PermWarningRead), true)
	if err != nil {
		return "", err
	}
	p.Title, p.Body = p.L.T("warning.title"), &warningsView{Rows: rows}
	return "resident/warnings", nil
}

func (s *Server) warningPage(r *http.Request, p *pageData) (string, error) {
	id, err := idOf(r, "id")
	if err != nil {
		return "", err
	}
	w, err := s.store.Warning(r.Context(), p.Actor.Scope(auth.PermWarningRead), id, false)
	if err != nil {
		return "", err
	}
	v := &warningView{warningRow: warningRow{Warning: w, Expires: p.Date(w.ExpiresAt)}}
	if w.PhotoID != 0 {
		v.Photo = fmt.Sprintf("/api/v1/warnings/%d/photo", w.ID)
	}
	p.Title, p.Body = w.Title, v
	return "resident/warning", nil
}
