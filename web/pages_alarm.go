package web

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/device"
)

// The alarm pages: the monitoring centre's console (/console) and the
// resident's alarm page (/my/alarm). Both are server-rendered; htmx swaps
// their live parts, and console.js and resident.js listen to the live
// stream and ask for those parts again when something changes. Every
// button is a form that also works without JavaScript.

// registerAlarmPages is called from registerPages.
func (s *Server) registerAlarmPages() {
	s.pageRoute("GET /console", "/console", auth.PermAlarmRead, s.consolePage)
	s.alarmRoute("GET /console/queue", "/console", auth.PermAlarmRead, false, s.consoleQueue)
	s.alarmRoute("GET /console/incidents/{id}", "/console", auth.PermAlarmRead, false, s.consoleDetail)
	s.alarmRoute("GET /console/incidents/{id}/state", "/console", auth.PermAlarmRead, false, s.consoleState)
	s.alarmRoute("GET /console/incidents/{id}/cameras", "/console", auth.PermAlarmRead, false, s.consoleCameras)
	s.alarmRoute("POST /console/incidents/{id}/{action}", "/console", auth.PermIncidentHandle, true, s.consoleStep)

	s.pageRoute("GET /my/alarm", "/my/alarm", auth.PermAlarmArm, s.myAlarmPage)
	s.alarmRoute("GET /my/alarm/state", "/my/alarm", auth.PermAlarmArm, false, s.myAlarmState)
	s.alarmRoute("POST /my/alarm/arm", "/my/alarm", auth.PermAlarmArm, true, s.myAlarmArm)
	s.alarmRoute("POST /my/alarm/disarm", "/my/alarm", auth.PermAlarmArm, true, s.myAlarmDisarm)
	s.alarmRoute("POST /my/alarm/sos", "/my/alarm", auth.PermSOS, true, s.myAlarmSOS)
	s.alarmRoute("POST /my/alarm/mistake", "/my/alarm", auth.PermSOS, true, s.myAlarmMistake)
}

// alarmHandler answers as it needs to: a page, a fragment or a redirect.
// An error it returns becomes an error page.
type alarmHandler func(w http.ResponseWriter, r *http.Request, p *pageData) error

// alarmRoute is pageRoute for fragments and form posts: it needs a session
// and perm, and for a post the session's CSRF token (in the form, or in
// the X-CSRF-Token header that htmx sends) from this site.
func (s *Server) alarmRoute(pattern, navHref string, perm auth.Permission, post bool, h alarmHandler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		p := s.newPage(r)
		if p.Actor == nil {
			if isHTMX(r) {
				w.Header().Set("HX-Redirect", "/login?next="+navHref)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login?next="+navHref, http.StatusSeeOther)
			return
		}
		s.withCommunity(r, p)
		p.Nav = navFor(p.Actor, navHref)
		if !p.Actor.Can(perm) {
			s.renderError(w, r, p, http.StatusForbidden, "error.forbidden")
			return
		}
		if post && !s.checkForm(w, r, p) {
			return
		}
		if err := h(w, r, p); err != nil {
			s.renderErr(w, r, p, err)
		}
	})
}

// checkForm refuses a post from another site or without the session's
// CSRF token, as the sign-out form does, and parses the form.
func (s *Server) checkForm(w http.ResponseWriter, r *http.Request, p *pageData) bool {
	if err := crossOrigin.Check(r); err != nil {
		s.renderError(w, r, p, http.StatusForbidden, "error.crossorigin")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, p, http.StatusBadRequest, "error.invalid")
		return false
	}
	token := r.PostForm.Get("csrf_token")
	if token == "" {
		token = r.Header.Get("X-CSRF-Token")
	}
	if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(p.Actor.Session.CSRFToken)) != 1 {
		s.renderError(w, r, p, http.StatusForbidden, "error.csrf")
		return false
	}
	return true
}

func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// renderFragment executes one named template of a view: the part of a
// page that htmx swaps.
func (s *Server) renderFragment(w http.ResponseWriter, p *pageData, view, name string, status int) {
	t, ok := views.get(view)
	if !ok || t.Lookup(name) == nil {
		s.log.Error("no such fragment", "view", view, "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, p); err != nil {
		s.log.Error("render fragment", "view", view, "name", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, shequ.Errorf(shequ.ENOTFOUND, "no such incident")
	}
	return id, nil
}

// errorStatus is the status a refused step answers with: the API's for the
// refusals a page explains beside its form (the state no longer allows the
// step, the input is at fault), 0 for an error that is no such refusal.
func errorStatus(err error) int {
	switch code := shequ.ErrorCode(err); code {
	case shequ.ECONFLICT, shequ.EINVALID:
		return statusOf[code]
	}
	return 0
}

// --- what both pages show of alarms ---

// prioClass names an incident's colour: life red, intrusion orange,
// tamper and trouble amber, resolved grey. The pages always put an icon
// and a word beside it.
func prioClass(inc alarm.Incident) string {
	if !inc.Open() {
		return "resolved"
	}
	switch inc.Priority {
	case alarm.PriorityLife:
		return "life"
	case alarm.PriorityIntrusion:
		return "intrusion"
	case alarm.PriorityTamper:
		return "tamper"
	}
	return "trouble"
}

// Ageing limits: an alarm nobody has acknowledged turns stronger after one
// minute and strongest after three; one being handled after ten and thirty.
var (
	ageLimitsNew     = [2]time.Duration{time.Minute, 3 * time.Minute}
	ageLimitsHandled = [2]time.Duration{10 * time.Minute, 30 * time.Minute}
)

// ageClass says how overdue an open incident is: "" for fresh, "age-1",
// "age-2". It is computed here, on each refresh of the queue, so that the
// server's clock decides, not the wall screen's.
func ageClass(inc alarm.Incident, now time.Time) string {
	if !inc.Open() {
		return ""
	}
	limits := ageLimitsHandled
	if inc.Status == alarm.StatusNew {
		limits = ageLimitsNew
	}
	switch age := now.Sub(inc.OpenedAt); {
	case age >= limits[1]:
		return "age-2"
	case age >= limits[0]:
		return "age-1"
	}
	return ""
}

// ageText is how long ago t was, in words.
func ageText(l *locale, t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return l.T("alarm.age.now")
	case d < time.Hour:
		return l.T("alarm.age.min", int(d/time.Minute))
	case d < 48*time.Hour:
		return l.T("alarm.age.hour", int(d/time.Hour))
	}
	return l.T("alarm.age.day", int(d/(24*time.Hour)))
}

// incidentRow is an incident as the queue shows it.
type incidentRow struct {
	alarm.Incident
	Class    string
	AgeClass string
	Age      string
	Selected bool
	// where says, in the reader's language, where an incident of no home
	// is when its title has a known form (devices offline).
	where string
}

func (s *Server) incidentRow(p *pageData, inc alarm.Incident, now time.Time) incidentRow {
	return incidentRow{Incident: inc, Class: prioClass(inc), AgeClass: ageClass(inc, now), Age: ageText(p.L, inc.OpenedAt, now), where: noHomePlace(p.L, inc)}
}

// noHomePlace says a device trouble's headline in the reader's language;
// "" for any other incident.
func noHomePlace(l *locale, inc alarm.Incident) string {
	if inc.BuildingName != "" || inc.Door != "" {
		return ""
	}
	// The alarm path titles a system report "kind [code]: its text"; the
	// text is the device headline.
	text := inc.Title
	if _, after, found := strings.Cut(text, "]: "); found {
		text = after
	}
	place, total, names, ok := device.ParseTroubleHeadline(text)
	if !ok {
		return ""
	}
	if place != "" {
		place += " "
	}
	return l.T("console.devices.offline", place, l.Num(total), strings.Join(names, l.T("console.devices.sep")))
}

// Place is where the incident is, in one line.
func (r incidentRow) Place() string {
	if r.BuildingName == "" && r.Door == "" {
		if r.where != "" {
			return r.where
		}
		return r.Title // an incident of no home (a door controller's) says where in its title
	}
	return strings.TrimSpace(r.BuildingName + " " + r.Door)
}

// staffNames maps the community's staff to their names, for timelines and
// for telling a resident who is coming. Names of staff are not personal
// data the way residents' numbers are.
func (s *Server) staffNames(ctx context.Context, sc auth.Scope) (map[int64]auth.User, error) {
	l, err := s.store.ListStaff(ctx, sc, shequ.Page{Limit: shequ.MaxLimit})
	if err != nil {
		return nil, err
	}
	out := make(map[int64]auth.User, len(l.Items))
	for _, u := range l.Items {
		out[u.ID] = u
	}
	return out, nil
}

func displayName(u auth.User) string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Username
}

// --- the console ---

// canWatch reports whether a reaches alarms beyond one household: the
// console is for the monitoring centre and those who watch with it, not
// for a resident, whose page is /my/alarm.
func canWatch(a *auth.Actor) bool {
	for _, r := range a.Scope(auth.PermAlarmRead) {
		if r.HouseholdID == 0 {
			return true
		}
	}
	return false
}

type consoleBody struct {
	Queue []incidentRow
	// New counts the incidents nobody has acknowledged yet.
	New      int
	Selected *incidentView
	// LiveFrom is the stream position the page was rendered at: the
	// stream starts there, so nothing between is missed.
	LiveFrom  int64
	CanHandle bool
	// DocTitle is the whole title, for console.js to set after a refresh.
	DocTitle string
}

// incidentView is the selected incident with what the operator needs.
type incidentView struct {
	incidentRow
	Home        *community.Home
	People      []personView
	Timeline    []timelineRow
	Staff       []staffOption
	Recommended *staffOption
	Resolutions []string
	CanHandle   bool
	Error       string
	// DispatchedName names whom the incident was sent to.
	DispatchedName string
	// Photos are the addresses of the photos reported from the home.
	Photos []string
	// Cameras cover the entrances of the home's building.
	Cameras cameraBlock
}

// CanAck and friends say which buttons are live.
func (v *incidentView) CanAck() bool { return v.CanHandle && v.Status == alarm.StatusNew }
func (v *incidentView) CanDispatch() bool {
	return v.CanHandle && v.Open() && v.Status != alarm.StatusOnSite && len(v.Staff) > 0
}
func (v *incidentView) CanResolve() bool { return v.CanHandle && v.Open() }

type personView struct {
	ID                   int64
	Name, Relation       string
	Phone                string
	Tel                  template.URL // "" when the number is masked
	Age                  int
	LivingAlone, Elderly bool
	Other                []string
	Contacts             []contactView
	Masked               bool
}

type contactView struct {
	Name, Relation, Phone string
	Tel                   template.URL
}

// telURL makes a number something a phone or softphone dials with one
// click; a masked number gets no link.
func telURL(phone string) template.URL {
	var b strings.Builder
	for _, r := range phone {
		switch {
		case r >= '0' && r <= '9', r == '+' && b.Len() == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-':
		default:
			return ""
		}
	}
	if b.Len() < 3 {
		return ""
	}
	return template.URL("tel:" + b.String())
}

type timelineRow struct {
	At     time.Time
	Clock  string // the time of day, to the second
	Action string
	Who    string
	Detail string
	// Code is the event's codes (SIA code, zone number, the panel's own
	// text), for the operator: a detail beside the words, never instead.
	Code string
}

type staffOption struct {
	ID   int64
	Name string
	Role auth.Role
	// Why says why this person is recommended: their grid or building.
	Why string
}

func (s *Server) consolePage(r *http.Request, p *pageData) (string, error) {
	if !canWatch(p.Actor) {
		return "", shequ.Errorf(shequ.EFORBIDDEN, "the console is for the monitoring centre")
	}
	b, err := s.console(r.Context(), p, queryID(r.URL.Query(), "id"), true)
	if err != nil {
		return "", err
	}
	p.Body = b
	return "staff/console", nil
}

// consoleTitle is "(2) Alarm console" while two alarms wait.
func consoleTitle(l *locale, waiting int) string {
	if waiting > 0 {
		return l.T("console.title.waiting", waiting)
	}
	return l.T("console.title")
}

// console builds the console's data: the queue and, when detail is set,
// the selected incident (id, or the first in the queue).
func (s *Server) console(ctx context.Context, p *pageData, id int64, detail bool) (*consoleBody, error) {
	a := p.Actor
	b := &consoleBody{CanHandle: a.Can(auth.PermIncidentHandle)}
	from, err := s.store.LastLiveID(ctx)
	if err != nil {
		return nil, err
	}
	b.LiveFrom = from
	sc := a.Scope(auth.PermAlarmRead)
	q, err := s.store.ListIncidents(ctx, sc, alarm.IncidentFilter{Status: "open", Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	for _, inc := range q.Items {
		row := s.incidentRow(p, inc, now)
		row.Selected = inc.ID == id
		b.Queue = append(b.Queue, row)
		if inc.Status == alarm.StatusNew {
			b.New++
		}
	}
	if id == 0 && len(b.Queue) > 0 && detail {
		id = b.Queue[0].ID
		b.Queue[0].Selected = true
	}
	if id != 0 && !slices.ContainsFunc(b.Queue, func(r incidentRow) bool { return r.ID == id }) {
		// A resolved incident stays in sight, grey, while it is selected.
		inc, err := s.store.Incident(ctx, sc, id)
		switch {
		case err == nil:
			row := s.incidentRow(p, inc, now)
			row.Selected = true
			b.Queue = append(b.Queue, row)
		case detail || shequ.ErrorCode(err) != shequ.ENOTFOUND:
			return nil, err
		}
	}
	if detail && id != 0 {
		v, err := s.incident(ctx, p, id, true)
		if err != nil {
			return nil, err
		}
		b.Selected = v
	}
	p.Title = consoleTitle(p.L, b.New)
	b.DocTitle = p.Title + " · " + p.L.T("app.name")
	return b, nil
}

// incident gathers what the operator needs to know of one incident. With
// people set it reads the residents of the home whole, for calling them
// and their emergency contacts; every such read is audited.
func (s *Server) incident(ctx context.Context, p *pageData, id int64, people bool) (*incidentView, error) {
	a := p.Actor
	sc := a.Scope(auth.PermAlarmRead)
	inc, err := s.store.Incident(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	v := &incidentView{incidentRow: s.incidentRow(p, inc, now), Resolutions: alarm.Resolutions, CanHandle: a.Can(auth.PermIncidentHandle)}
	v.Selected = true

	var staff map[int64]auth.User
	if a.Can(auth.PermStaffRead) {
		if staff, err = s.staffNames(ctx, a.Scope(auth.PermStaffRead)); err != nil {
			return nil, err
		}
	}
	if u, ok := staff[inc.DispatchedTo]; ok {
		v.DispatchedName = displayName(u)
	}

	tl, err := s.store.IncidentTimeline(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	var zones alarm.ZoneNames
	if inc.HomeID != 0 {
		if zones, err = s.store.ZoneNames(ctx, sc, inc.HomeID); err != nil {
			return nil, err
		}
	}
	v.Timeline = timelineRows(p, tl, staff, zones)
	if v.Photos, err = s.incidentPhotos(ctx, sc, 0, id); err != nil {
		return nil, err
	}
	if v.Cameras, err = s.incidentCameras(ctx, sc, id); err != nil {
		return nil, err
	}

	var workerID, headID int64
	if inc.HomeID != 0 && a.Can(auth.PermHomesRead) {
		h, err := s.store.Home(ctx, a.Scope(auth.PermHomesRead), inc.HomeID)
		if err == nil {
			v.Home = &h
			if a.Can(auth.PermBuildingsRead) {
				if bld, err := s.store.Building(ctx, a.Scope(auth.PermBuildingsRead), h.BuildingID); err == nil {
					headID = bld.HeadUserID
				}
			}
		} else if shequ.ErrorCode(err) != shequ.ENOTFOUND {
			return nil, err
		}
	}
	if inc.GridID != 0 && a.Can(auth.PermGridsRead) {
		g, err := s.store.Grid(ctx, a.Scope(auth.PermGridsRead), inc.GridID)
		if err == nil {
			workerID = g.WorkerUserID
		} else if shequ.ErrorCode(err) != shequ.ENOTFOUND {
			return nil, err
		}
	}
	var cands []alarm.Candidate
	if v.CanHandle && inc.Open() {
		if cands, err = s.store.DispatchCandidates(ctx, a.Scope(auth.PermIncidentHandle), id); err != nil {
			return nil, err
		}
	}
	v.Staff = staffChoices(p.L, cands, staff, a.User.ID, workerID, headID)
	if len(cands) > 0 {
		v.Recommended = &v.Staff[0]
	}

	if people && inc.HomeID != 0 && a.Can(auth.PermPeopleRead) {
		if v.People, err = s.residentsOf(ctx, a, inc.HomeID, now); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// timelineRows puts an incident's timeline in words: events by kind and
// zone name, whom it was sent to by name, resolution codes in the
// reader's language.
func timelineRows(p *pageData, tl []alarm.TimelineEntry, staff map[int64]auth.User, zones alarm.ZoneNames) []timelineRow {
	var out []timelineRow
	for _, e := range tl {
		row := timelineRow{At: e.At, Clock: e.At.In(p.zone).Format("15:04:05"), Action: p.L.Or("alarm.action."+e.Action, e.Action), Detail: e.Detail}
		if e.UserID != 0 {
			row.Who = "#" + strconv.FormatInt(e.UserID, 10)
			if u, ok := staff[e.UserID]; ok {
				row.Who = displayName(u)
			}
		}
		switch e.Action {
		case "opened", "event":
			if n, ok := alarm.ParseNote(e.Detail); ok {
				row.Detail, row.Code = eventWords(p.L, n, zones), n.Codes()
			} else {
				// Written before events were kept as notes: English for
				// the operator's eyes only.
				row.Detail, row.Code = "", e.Detail
			}
		case "escalated", "not_accepted", "no_candidates":
			// The action says it all; older entries carried an English
			// phrase.
			row.Detail = ""
		case "dispatch":
			var to int64
			if _, err := fmt.Sscanf(e.Detail, "user %d", &to); err == nil {
				row.Detail = "→ #" + strconv.FormatInt(to, 10)
				if u, ok := staff[to]; ok {
					row.Detail = "→ " + displayName(u)
				}
			}
		case "resolve":
			code, notes, _ := strings.Cut(e.Detail, " ")
			row.Detail = strings.TrimSpace(p.L.Or("alarm.res."+code, code) + " " + notes)
		case alarm.ActionNotified:
			if n := e.Notification; n != nil {
				row.Who, row.Detail = "", notificationWords(p.L, n)
				if n.Status == alarm.NotificationFailed {
					row.Code = n.LastError
				}
			}
		}
		out = append(out, row)
	}
	return out
}

// notificationWords says in one line whom a message went to and how far
// it got: role, name, masked number, channel and status, and the tries
// when there were more than one.
func notificationWords(l *locale, n *alarm.Notification) string {
	parts := []string{l.Or("alarm.notify.role."+n.RecipientRole, n.RecipientRole)}
	for _, s := range []string{n.Name, n.Phone} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	parts = append(parts, "·", l.Or("alarm.notify.channel."+n.Channel, n.Channel), l.Or("alarm.notify.status."+n.Status, n.Status))
	if n.Attempts > 1 {
		parts = append(parts, "("+l.T("alarm.notify.attempts", n.Attempts)+")")
	}
	return strings.Join(parts, " ")
}

// eventWords says an event in the reader's language: its kind, whether it
// ended, and the zone by the name the residents gave it.
func eventWords(l *locale, n alarm.EventNote, zones alarm.ZoneNames) string {
	s := kindWord(l, n.Kind)
	if n.Restore {
		s = l.T("alarm.restored", s)
	}
	if z := zoneWord(l, zones, n.Zone); z != "" {
		s += " · " + z
	}
	return s
}

// kindWord is an event kind in the reader's language.
func kindWord(l *locale, k alarm.Kind) string {
	return l.Or("alarm.kind."+string(k), l.T("alarm.kind.unknown"))
}

// zoneWord names a zone: by its name, or else by its number.
func zoneWord(l *locale, zones alarm.ZoneNames, zone string) string {
	if zone == "" {
		return ""
	}
	if name := zones.Name(zone); name != "" {
		return name
	}
	return l.T("alarm.zone", zone)
}

// incidentPhotos lists the addresses of the photos reported on an
// incident that sc reaches or that is dispatched to user.
func (s *Server) incidentPhotos(ctx context.Context, sc auth.Scope, user, id int64) ([]string, error) {
	ids, err := s.store.IncidentPhotoIDs(ctx, sc, user, id)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ph := range ids {
		out = append(out, fmt.Sprintf("/api/v1/incidents/%d/photos/%d", id, ph))
	}
	return out, nil
}

// staffChoices lists whom the operator may send: the dispatch candidates
// first, in the store's order (the grid worker of the home's grid, then
// on-duty staff by distance; the first is the one recommended), then the
// rest of the staff.
func staffChoices(l *locale, cands []alarm.Candidate, staff map[int64]auth.User, self, worker, head int64) []staffOption {
	var out []staffOption
	seen := map[int64]bool{self: true}
	for _, c := range cands {
		if seen[c.UserID] {
			continue
		}
		seen[c.UserID] = true
		o := staffOption{ID: c.UserID, Name: c.Name}
		if u, ok := staff[c.UserID]; ok {
			o.Name, o.Role = displayName(u), staffRole(u)
		}
		switch c.Reason {
		case "grid_worker":
			o.Why = l.T("console.why.grid")
		case "nearest":
			o.Why = l.T("console.why.near", int(c.Meters+0.5))
		}
		out = append(out, o)
	}
	for _, o := range recommend(l, staff, self, worker, head) {
		if !seen[o.ID] {
			out = append(out, o)
		}
	}
	return out
}

// staffRole is the role a staff member is sent in.
func staffRole(u auth.User) auth.Role {
	var r auth.Role
	for _, g := range u.Grants {
		if g.Role != auth.RoleResident && (r == "" || g.Role == auth.RoleGridWorker) {
			r = g.Role
		}
	}
	return r
}

// recommend orders the rest of the staff: the grid worker of the home's
// grid, then the building head, then other grid workers and building
// heads, then everyone else. The operator is not sent to themself.
func recommend(l *locale, staff map[int64]auth.User, self, worker, head int64) []staffOption {
	rank := func(o staffOption) int {
		switch {
		case o.ID == worker:
			return 0
		case o.ID == head:
			return 1
		case o.Role == auth.RoleGridWorker:
			return 2
		case o.Role == auth.RoleBuildingHead:
			return 3
		case o.Role == auth.RolePolice:
			return 4
		}
		return 5
	}
	var out []staffOption
	for _, u := range staff {
		if u.ID == self || u.Disabled {
			continue
		}
		o := staffOption{ID: u.ID, Name: displayName(u), Role: staffRole(u)}
		switch u.ID {
		case worker:
			o.Why = l.T("console.why.grid")
		case head:
			o.Why = l.T("console.why.building")
		}
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b staffOption) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// residentsOf lists the people of a home. Operators get whole numbers, to
// call them and their emergency contacts, and the read is audited;
// others get them masked.
func (s *Server) residentsOf(ctx context.Context, a *auth.Actor, home int64, now time.Time) ([]personView, error) {
	if a.Can(auth.PermPeoplePII) {
		return s.peopleOfHome(ctx, a.Scope(auth.PermPeoplePII), true, home, now)
	}
	return s.peopleOfHome(ctx, a.Scope(auth.PermPeopleRead), false, home, now)
}

// peopleOfHome lists the people of a home within sc, with whole numbers
// (an audited read) or masked ones.
func (s *Server) peopleOfHome(ctx context.Context, sc auth.Scope, whole bool, home int64, now time.Time) ([]personView, error) {
	l, err := s.store.ListPeople(ctx, sc, community.Filter{HomeID: home, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		return nil, err
	}
	if whole {
		if err := s.store.RecordPIIRead(ctx, l.Items); err != nil {
			return nil, err
		}
	}
	var out []personView
	for _, person := range l.Items {
		age := person.Age(now)
		if !whole {
			person = person.Mask()
		}
		v := personView{ID: person.ID, Name: person.Name, Relation: person.Relation, Phone: person.Phone, Age: age, Masked: !whole}
		if whole {
			v.Tel = telURL(person.Phone)
		}
		for _, c := range person.Contacts {
			cv := contactView{Name: c.Name, Relation: c.Relation, Phone: c.Phone}
			if whole {
				cv.Tel = telURL(c.Phone)
			}
			v.Contacts = append(v.Contacts, cv)
		}
		for _, t := range person.Tags {
			switch t {
			case community.TagLivingAlone:
				v.LivingAlone = true
			case community.TagElderly:
				v.Elderly = true
			default:
				v.Other = append(v.Other, t)
			}
		}
		out = append(out, v)
	}
	// Who most needs help is read first.
	slices.SortStableFunc(out, func(x, y personView) int {
		score := func(v personView) int {
			n := 0
			if v.LivingAlone {
				n -= 2
			}
			if v.Elderly {
				n--
			}
			return n
		}
		return score(x) - score(y)
	})
	return out, nil
}

// consoleQueue answers the queue alone, for console.js to swap in.
func (s *Server) consoleQueue(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if !canWatch(p.Actor) {
		return shequ.Errorf(shequ.EFORBIDDEN, "the console is for the monitoring centre")
	}
	b, err := s.console(r.Context(), p, queryID(r.URL.Query(), "id"), false)
	if err != nil {
		return err
	}
	p.Body = b
	s.renderFragment(w, p, "staff/console", "queue", http.StatusOK)
	return nil
}

// consoleDetail answers the right-hand side for one incident.
func (s *Server) consoleDetail(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if !canWatch(p.Actor) {
		return shequ.Errorf(shequ.EFORBIDDEN, "the console is for the monitoring centre")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.incident(r.Context(), p, id, true)
	if err != nil {
		return err
	}
	p.Body = &consoleBody{Selected: v, CanHandle: v.CanHandle}
	s.renderFragment(w, p, "staff/console", "detail", http.StatusOK)
	return nil
}

// consoleState answers the incident's state, buttons and timeline: what a
// live update changes. It reads no personal data.
func (s *Server) consoleState(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if !canWatch(p.Actor) {
		return shequ.Errorf(shequ.EFORBIDDEN, "the console is for the monitoring centre")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.incident(r.Context(), p, id, false)
	if err != nil {
		return err
	}
	p.Body = &consoleBody{Selected: v, CanHandle: v.CanHandle}
	s.renderFragment(w, p, "staff/console", "state", http.StatusOK)
	return nil
}

// consoleStep acknowledges, dispatches or resolves. htmx gets the new
// state of the incident and the queue; a plain form goes back to the
// console.
func (s *Server) consoleStep(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx := r.Context()
	if !canWatch(p.Actor) {
		return shequ.Errorf(shequ.EFORBIDDEN, "the console is for the monitoring centre")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	step := alarm.Step{Action: r.PathValue("action"), By: p.Actor.User.ID}
	switch step.Action {
	case "ack":
	case "dispatch":
		to, err := strconv.ParseInt(r.PostForm.Get("user_id"), 10, 64)
		if err != nil || to <= 0 {
			return s.stepRefused(w, r, p, id, shequ.Invalid(map[string]string{"user_id": "say whom to send"}))
		}
		step.To = to
	case "resolve":
		step.Resolution = r.PostForm.Get("resolution")
		step.Notes = strings.TrimSpace(r.PostForm.Get("notes"))
		if len(step.Notes) > 2000 {
			step.Notes = step.Notes[:2000]
		}
	default:
		return shequ.Errorf(shequ.ENOTFOUND, "no such action")
	}
	if _, err := s.store.StepIncident(ctx, p.Actor.Scope(auth.PermIncidentHandle), id, step); err != nil {
		if errorStatus(err) != 0 {
			return s.stepRefused(w, r, p, id, err)
		}
		return err
	}
	s.changed()
	if !isHTMX(r) {
		http.Redirect(w, r, fmt.Sprintf("/console?id=%d", id), http.StatusSeeOther)
		return nil
	}
	return s.stepAnswer(ctx, w, p, id, "", http.StatusOK)
}

// stepRefused shows why a step was refused (someone else acknowledged
// first, no code chosen) beside the incident.
func (s *Server) stepRefused(w http.ResponseWriter, r *http.Request, p *pageData, id int64, cause error) error {
	msg := p.L.T("console.refused.conflict")
	if shequ.ErrorCode(cause) == shequ.EINVALID {
		msg = p.L.T("console.refused.invalid")
	}
	if isHTMX(r) {
		return s.stepAnswer(r.Context(), w, p, id, msg, errorStatus(cause))
	}
	b, err := s.console(r.Context(), p, id, true)
	if err != nil {
		return err
	}
	b.Selected.Error = msg
	p.Body, p.Self = b, fmt.Sprintf("/console?id=%d", id)
	s.render(w, r, p, "staff/console", errorStatus(cause))
	return nil
}

// stepAnswer is the htmx answer to a step: the incident's state, and the
// queue out of band.
func (s *Server) stepAnswer(ctx context.Context, w http.ResponseWriter, p *pageData, id int64, msg string, status int) error {
	b, err := s.console(ctx, p, id, false)
	if err != nil {
		return err
	}
	v, err := s.incident(ctx, p, id, false)
	if err != nil {
		return err
	}
	v.Error = msg
	b.Selected = v
	p.Body, p.OOB = b, true
	s.renderFragment(w, p, "staff/console", "step", status)
	return nil
}

// --- the resident's page ---

type myAlarmBody struct {
	Arm alarm.ArmState
	// Incident is the home's most urgent open incident, if any.
	Incident *alarm.Incident
	// Helper is who is coming: the staff member sent, or else the grid
	// worker of the home's grid.
	Helper     string
	Dispatched bool
	Worker     string
	LiveFrom   int64
	Error      string
	CanSOS     bool
	HoldMS     int
	// Seconds is what is left of the exit or entry delay.
	Seconds int
	// Fired names the door, window or room that set the alarm off.
	Fired string
	// Sensors are the home's sensors with what each last said.
	Sensors []sensorView
	// Handled is the incident the centre closed while the alarm still
	// sounds: the page says so instead of "alarm!".
	Handled *alarm.Incident
	// Mistaken is true once the resident said the call was a mistake.
	Mistaken bool
	Notice   string
}

type sensorView struct {
	Name  string
	State string // a key under myalarm.sensor.
}

// Life reports whether the open incident is a call for help.
func (b *myAlarmBody) Life() bool {
	return b.Incident != nil && b.Incident.Priority == alarm.PriorityLife
}

// HelpTitle is the help card's heading key: help is "coming" only once
// someone is sent, and "here" once they arrived.
func (b *myAlarmBody) HelpTitle() string {
	switch {
	case !b.Life():
		return "myalarm.alert.title"
	case b.Incident.Status == alarm.StatusOnSite:
		return "myalarm.help.here"
	case b.Dispatched:
		return "myalarm.help.title"
	}
	return "myalarm.help.received"
}

// Armed reports whether the alarm is on or turning on.
func (b *myAlarmBody) Armed() bool { return b.Arm.State != alarm.Disarmed && b.Arm.State != "" }

// StateClass is the colour of the state: calm, on, waiting, alarm.
func (b *myAlarmBody) StateClass() string {
	switch b.Arm.State {
	case alarm.ArmedAway, alarm.ArmedHome:
		return "on"
	case alarm.Arming:
		return "arming"
	case alarm.Pending:
		return "pending"
	case alarm.Triggered:
		return "triggered"
	}
	return "off"
}

// sosHold is how long the SOS button must be held.
const sosHold = 2 * time.Second

func (s *Server) myAlarm(ctx context.Context, p *pageData) (*myAlarmBody, error) {
	a := p.Actor
	home, err := s.residentHome(ctx, a)
	if err != nil {
		return nil, err
	}
	b := &myAlarmBody{CanSOS: a.Can(auth.PermSOS), HoldMS: int(sosHold / time.Millisecond)}
	if b.LiveFrom, err = s.store.LastLiveID(ctx); err != nil {
		return nil, err
	}
	sc := a.Scope(auth.PermAlarmRead)
	if b.Arm, err = s.store.ArmState(ctx, sc, home); err != nil {
		return nil, err
	}
	if b.Arm.State == "" {
		b.Arm.State = alarm.Disarmed
	}
	if d := b.Arm.Deadline; d != nil {
		b.Seconds = max(0, int(d.Sub(s.clock.Now()).Round(time.Second)/time.Second))
	}
	l, err := s.store.ListIncidents(ctx, sc, alarm.IncidentFilter{Status: "open", HomeID: home, Page: shequ.Page{Limit: 1}})
	if err != nil {
		return nil, err
	}
	h, err := s.store.Home(ctx, a.Scope(auth.PermHomesRead), home)
	if err != nil {
		return nil, err
	}
	// The names of the staff who look after this home are shown to its
	// residents: the staff list itself is not theirs to read.
	staff, err := s.staffNames(ctx, auth.Scope{{CommunityID: h.CommunityID}})
	if err != nil {
		return nil, err
	}
	if h.GridID != 0 {
		if g, err := s.store.Grid(ctx, a.Scope(auth.PermGridsRead), h.GridID); err == nil {
			if u, ok := staff[g.WorkerUserID]; ok {
				b.Worker = displayName(u)
			}
		}
	}
	if len(l.Items) > 0 {
		inc := l.Items[0]
		b.Incident = &inc
		b.Helper = b.Worker
		if u, ok := staff[inc.DispatchedTo]; ok && inc.DispatchedTo != 0 {
			b.Helper, b.Dispatched = displayName(u), true
		}
		if inc.Has(alarm.PriorityLife) {
			tl, err := s.store.IncidentTimeline(ctx, sc, inc.ID)
			if err != nil {
				return nil, err
			}
			b.Mistaken = slices.ContainsFunc(tl, func(e alarm.TimelineEntry) bool { return e.Action == "mistake" })
		}
	} else if b.Arm.State == alarm.Triggered {
		if b.Handled, err = s.store.LastResolved(ctx, sc, home); err != nil {
			return nil, err
		}
	}
	zones, err := s.store.ZoneNames(ctx, sc, home)
	if err != nil {
		return nil, err
	}
	if b.Arm.State == alarm.Triggered || b.Arm.State == alarm.Pending {
		b.Fired = zoneWord(p.L, zones, b.Arm.Zone)
	}
	sensors, err := s.store.HomeSensors(ctx, sc, home)
	if err != nil {
		return nil, err
	}
	for _, x := range sensors {
		v := sensorView{Name: x.Name, State: x.State}
		if v.Name == "" {
			v.Name = zoneWord(p.L, zones, x.Zone)
		}
		if !x.Online {
			v.State = "offline"
		}
		b.Sensors = append(b.Sensors, v)
	}
	return b, nil
}

func (s *Server) myAlarmPage(r *http.Request, p *pageData) (string, error) {
	b, err := s.myAlarm(r.Context(), p)
	if err != nil {
		return "", err
	}
	p.Title = p.L.T("myalarm.title")
	p.Body = b
	return "resident/alarm", nil
}

// myAlarmState answers the state part alone, for resident.js to swap in.
func (s *Server) myAlarmState(w http.ResponseWriter, r *http.Request, p *pageData) error {
	b, err := s.myAlarm(r.Context(), p)
	if err != nil {
		return err
	}
	p.Body = b
	s.renderFragment(w, p, "resident/alarm", "alarm-state", http.StatusOK)
	return nil
}

// changeArm runs an arm or disarm on the resident's own home: the home is
// never taken from the form, so no other home can be reached from here.
func (s *Server) changeArm(w http.ResponseWriter, r *http.Request, p *pageData, action string, fn func(alarm.ArmState, time.Time) (alarm.ArmState, error)) error {
	ctx := r.Context()
	home, err := s.residentHome(ctx, p.Actor)
	if err != nil {
		return err
	}
	_, err = s.store.ChangeArmState(ctx, p.Actor.Scope(auth.PermAlarmArm), home, action, fn)
	if err != nil && errorStatus(err) == 0 {
		return err
	}
	if err == nil {
		s.changed()
		if !isHTMX(r) {
			http.Redirect(w, r, "/my/alarm", http.StatusSeeOther)
			return nil
		}
	}
	b, berr := s.myAlarm(ctx, p)
	if berr != nil {
		return berr
	}
	status := http.StatusOK
	if err != nil {
		b.Error, status = p.L.T("myalarm.refused"), errorStatus(err)
	}
	p.Body = b
	if isHTMX(r) {
		s.renderFragment(w, p, "resident/alarm", "alarm-state", status)
		return nil
	}
	p.Title, p.Self = p.L.T("myalarm.title"), "/my/alarm"
	s.render(w, r, p, "resident/alarm", status)
	return nil
}

func (s *Server) myAlarmArm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	mode := alarm.Mode(r.PostForm.Get("mode"))
	// Arming away leaves time to go out and lock the door; arming at home
	// is at once, as the person stays in.
	delay := alarm.DefaultExitDelay
	if mode == alarm.ModeHome {
		delay = 0
	}
	by := p.Actor.User.Username
	return s.changeArm(w, r, p, "arm", func(a alarm.ArmState, now time.Time) (alarm.ArmState, error) {
		return a.Arm(mode, delay, now, by)
	})
}

func (s *Server) myAlarmDisarm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	by := p.Actor.User.Username
	return s.changeArm(w, r, p, "disarm", func(a alarm.ArmState, now time.Time) (alarm.ArmState, error) {
		return a.Disarm(now, by), nil
	})
}

// myAlarmSOS calls for help. It fires only with confirm=yes, which the
// hold-to-send button sets after two seconds; a plain press (a tap, the
// keyboard, or no JavaScript) gets a page that asks once more.
func (s *Server) myAlarmSOS(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx := r.Context()
	home, err := s.residentHome(ctx, p.Actor)
	if err != nil {
		return err
	}
	if r.PostForm.Get("confirm") != "yes" {
		p.Title, p.Self = p.L.T("sos.confirm.title"), "/my/alarm"
		p.Body = nil
		s.render(w, r, p, "resident/alarm_sos", http.StatusOK)
		return nil
	}
	if _, err := s.store.RaiseSOS(ctx, p.Actor.Scope(auth.PermSOS), home, "", 0, 0); err != nil {
		return err
	}
	s.changed()
	http.Redirect(w, r, "/my/alarm", http.StatusSeeOther)
	return nil
}

// myAlarmMistake lets a resident say their call for help was a mistake,
// with their password so that a stranger with the phone cannot. It closes
// nothing: the operator sees it on the incident and decides.
func (s *Server) myAlarmMistake(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx := r.Context()
	home, err := s.residentHome(ctx, p.Actor)
	if err != nil {
		return err
	}
	status, msg := http.StatusOK, ""
	err = auth.Reauthenticate(ctx, s.store, s.clock, p.Actor.User.Username, r.PostForm.Get("pin"), audit.OriginFrom(ctx).IP)
	switch code := shequ.ErrorCode(err); {
	case code == shequ.EUNAUTHORIZED || code == shequ.ETOOMANY:
		status, msg = http.StatusUnprocessableEntity, p.L.T("myalarm.mistake.wrong")
	case err != nil:
		return err
	default:
		if _, err := s.store.SayMistake(ctx, p.Actor.Scope(auth.PermSOS), home, p.Actor.User.ID); err != nil && errorStatus(err) == 0 {
			return err
		} else if err != nil {
			status, msg = errorStatus(err), p.L.T("myalarm.refused")
		} else {
			s.changed()
		}
	}
	b, err := s.myAlarm(ctx, p)
	if err != nil {
		return err
	}
	if status == http.StatusOK {
		b.Notice = p.L.T("myalarm.mistake.sent")
	} else {
		b.Error = msg
	}
	p.Body = b
	if isHTMX(r) {
		s.renderFragment(w, p, "resident/alarm", "alarm-state", status)
		return nil
	}
	p.Title, p.Self = p.L.T("myalarm.title"), "/my/alarm"
	s.render(w, r, p, "resident/alarm", status)
	return nil
}

// peopleBlock is what the "people" part shows.
type peopleBlock struct {
	L      *locale
	People []personView
}

// PeopleOf hands the people of a home to the "people" part.
func (p *pageData) PeopleOf(people []personView) peopleBlock {
	return peopleBlock{L: p.L, People: people}
}

// photoBlock is what the "report-photos" part shows.
type photoBlock struct {
	L      *locale
	Photos []string
}

// PhotosOf hands the photos reported on an incident to their part.
func (p *pageData) PhotosOf(photos []string) photoBlock {
	return photoBlock{L: p.L, Photos: photos}
}
