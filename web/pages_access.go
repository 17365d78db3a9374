package web

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ"
	acs "github.com/shequ/shequ/access"
	"github.com/shequ/shequ/auth"
)

// Access control's pages. A resident on the phone: my keys (the phone
// key's QR code, cards, reporting one lost), inviting a visitor in three
// taps (who, how long, send) and the passes with their uses. Staff: the
// doors and their state, a household's credentials (lost cards, move-out)
// and the access log.

func (s *Server) registerAccessPages() {
	s.pageRoute("GET /my/keys", "/my/keys", auth.PermAccessOwn, s.myKeysPage)
	s.formRoute("POST /my/keys/{id}/lost", "/my/keys", auth.PermAccessOwn, 64<<10, s.myKeyLost)
	s.formRoute("POST /my/welfare/off", "/my/keys", auth.PermAccessOwn, 64<<10, s.myWelfareOff)
	s.pageRoute("GET /my/visitors", "/my/keys", auth.PermAccessOwn, s.myVisitorsPage)
	s.formRoute("POST /my/visitors", "/my/keys", auth.PermAccessOwn, 64<<10, s.inviteSubmit)
	s.pageRoute("GET /my/visitors/{id}", "/my/keys", auth.PermAccessOwn, s.myPassPage)
	s.formRoute("POST /my/visitors/{id}/revoke", "/my/keys", auth.PermAccessOwn, 64<<10, s.myPassRevoke)
	s.mux.HandleFunc("GET /pass", s.sharedPassPage)

	s.pageRoute("GET /access", "/access", auth.PermAccessRead, s.doorsPage)
	s.pageRoute("GET /access/log", "/access/log", auth.PermAccessRead, s.accessLogPage)
	s.pageRoute("GET /access/households/{id}", "/access", auth.PermAccessManage, s.householdKeysPage)
	s.formRoute("POST /access/credentials/{id}/revoke", "/access", auth.PermAccessManage, 64<<10, s.staffRevoke)
	s.formRoute("POST /access/households/{id}/move-out", "/access", auth.PermAccessManage, 64<<10, s.staffMoveOut)
}

// qrImage is a token as a QR code an <img> can show without another
// request (and without a session, when the page is saved offline).
func qrImage(token string) (template.URL, error) {
	png, err := QRPNG(token, 320)
	if err != nil {
		return "", fmt.Errorf("qr code: %w", err)
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), nil
}

// --- the resident's pages ---

type myKeysBody struct {
	Welfare  acs.WelfareWatch
	PhoneQR  template.URL
	PhoneKey acs.Credential
	Until    time.Time
	Cards    []acs.Credential
	Notice   string
}

func (s *Server) myKeysPage(r *http.Request, p *pageData) (string, error) {
	ctx := r.Context()
	p.Title = p.L.T("access.keys.title")
	b := &myKeysBody{}
	if r.URL.Query().Get("lost") == "1" {
		b.Notice = p.L.T("access.keys.lost.done")
	}
	key, err := s.myPhoneKey(ctx)
	if err != nil && shequ.ErrorCode(err) != shequ.ECONFLICT {
		return "", err
	}
	if err == nil {
		b.PhoneKey, b.Until = key.Credential, s.clock.Now().Add(7*24*time.Hour)
		if b.PhoneQR, err = qrImage(key.Token); err != nil {
			return "", err
		}
	}
	l, err := s.store.ListCredentials(ctx, p.Actor.Scope(auth.PermAccessOwn), acs.CredentialFilter{Page: shequ.Page{Limit: 50}})
	if err != nil {
		return "", err
	}
	for _, c := range l.Items {
		if c.Kind != acs.KindPhone {
			b.Cards = append(b.Cards, c)
		}
	}
	if person := p.Actor.User.PersonID; person != 0 {
		if b.Welfare, err = s.store.WelfareWatch(ctx, p.Actor.Scope(auth.PermAccessRead), person); err != nil {
			return "", err
		}
	}
	if r.URL.Query().Get("welfare") == "off" {
		b.Notice = p.L.T("access.welfare.off.done")
	}
	p.Body = b
	return "resident/access_keys", nil
}

// myWelfareOff is the resident switching their welfare watch off: theirs
// to decide, at any time, in one tap.
func (s *Server) myWelfareOff(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if p.Actor.User.PersonID == 0 {
		return shequ.Errorf(shequ.ENOTFOUND, "no resident")
	}
	if err := s.store.StopWelfareWatch(r.Context(), p.Actor.Scope(auth.PermAccessOwn), p.Actor.User.PersonID); err != nil {
		return err
	}
	http.Redirect(w, r, "/my/keys?welfare=off", http.StatusSeeOther)
	return nil
}

func (s *Server) myKeyLost(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return shequ.Errorf(shequ.ENOTFOUND, "credential not found")
	}
	if err := s.store.RevokeCredential(r.Context(), p.Actor.Scope(auth.PermAccessOwn), id, "lost"); err != nil && shequ.ErrorCode(err) != shequ.ECONFLICT {
		return err
	}
	s.changed()
	http.Redirect(w, r, "/my/keys?lost=1", http.StatusSeeOther)
	return nil
}

type passRow struct {
	acs.Pass
	Active bool
	State  string
}

type myVisitorsBody struct {
	Rows   []passRow
	Errors map[string]string
}

func (s *Server) passRows(p *pageData, ps []acs.Pass) []passRow {
	now := s.clock.Now()
	out := make([]passRow, 0, len(ps))
	for _, x := range ps {
		row := passRow{Pass: x, Active: x.Active(now)}
		switch {
		case x.RevokedAt != nil:
			row.State = p.L.T("access.pass.revoked")
		case x.Used >= x.Uses:
			row.State = p.L.T("access.pass.usedup")
		case !now.Before(x.ValidUntil):
			row.State = p.L.T("access.pass.expired")
		case now.Before(x.ValidFrom):
			row.State = p.L.T("access.pass.notyet")
		default:
			row.State = p.L.T("access.pass.valid")
		}
		out = append(out, row)
	}
	return out
}

func (s *Server) myVisitorsPage(r *http.Request, p *pageData) (string, error) {
	p.Title = p.L.T("access.invite.title")
	l, err := s.store.ListPasses(r.Context(), p.Actor.Scope(auth.PermAccessOwn), acs.PassFilter{Page: shequ.Page{Limit: 20}})
	if err != nil {
		return "", err
	}
	p.Body = &myVisitorsBody{Rows: s.passRows(p, l.Items), Errors: map[string]string{}}
	return "resident/access_visitors", nil
}

// invitation lengths the form offers, by the value posted.
var invitationLengths = map[string]time.Duration{"2h": 2 * time.Hour, "day": 24 * time.Hour, "3d": 3 * 24 * time.Hour}

func (s *Server) inviteSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	kind := r.PostFormValue("kind")
	if kind != acs.PassCourier {
		kind = acs.PassVisitor
	}
	b := passBody{Kind: kind, VisitorName: strings.TrimSpace(r.PostFormValue("visitor_name"))}
	if d, ok := invitationLengths[r.PostFormValue("length")]; ok && kind == acs.PassVisitor {
		b.ValidFrom = s.clock.Now()
		b.ValidUntil = b.ValidFrom.Add(d)
	}
	created, err := s.createPass(r.Context(), b)
	if err != nil {
		if shequ.ErrorCode(err) != shequ.EINVALID {
			return err
		}
		p.Title, p.Self = p.L.T("access.invite.title"), "/my/visitors"
		l, _ := s.store.ListPasses(r.Context(), p.Actor.Scope(auth.PermAccessOwn), acs.PassFilter{Page: shequ.Page{Limit: 20}})
		p.Body = &myVisitorsBody{Rows: s.passRows(p, l.Items), Errors: map[string]string{"form": p.L.T("access.invite.bad")}}
		s.render(w, r, p, "resident/access_visitors", http.StatusUnprocessableEntity)
		return nil
	}
	s.changed()
	http.Redirect(w, r, fmt.Sprintf("/my/visitors/%d", created.ID), http.StatusSeeOther)
	return nil
}

type myPassBody struct {
	Row   passRow
	QR    template.URL
	Link  string
	Doors []string
	Log   []acs.LogEntry
}

func (s *Server) myPassPage(r *http.Request, p *pageData) (string, error) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return "", shequ.Errorf(shequ.ENOTFOUND, "pass not found")
	}
	sc := p.Actor.Scope(auth.PermAccessOwn)
	x, err := s.store.Pass(ctx, sc, id)
	if err != nil {
		return "", err
	}
	tok, err := s.store.PassToken(ctx, sc, id)
	if err != nil {
		return "", err
	}
	b := &myPassBody{Row: s.passRows(p, []acs.Pass{x})[0], Link: "/pass?t=" + url.QueryEscape(tok)}
	if b.QR, err = qrImage(tok); err != nil {
		return "", err
	}
	doors, err := s.store.ListDoors(ctx, p.Actor.Scope(auth.PermAccessRead), acs.DoorFilter{CommunityID: x.CommunityID, Page: shequ.Page{Limit: 500}})
	if err != nil {
		return "", err
	}
	byID := doorsByID(doors.Items)
	for _, d := range x.DoorIDs {
		b.Doors = append(b.Doors, doorName(byID[d]))
	}
	// The pass's uses: the household reads its own part of the log.
	log, err := s.store.ListAccessLog(ctx, p.Actor.Scope(auth.PermAccessRead), acs.LogFilter{HouseholdID: x.HouseholdID, From: x.ValidFrom.Add(-time.Minute), Page: shequ.Page{Limit: 50}})
	if err != nil {
		return "", err
	}
	for _, e := range log.Items {
		if e.PassID == x.ID {
			b.Log = append(b.Log, e)
		}
	}
	p.Title = p.L.T("access.pass.title")
	p.Body = b
	return "resident/access_pass", nil
}

func doorName(d acs.Door) string {
	if d.Kind == acs.DoorEntrance && d.BuildingName != "" && !strings.HasPrefix(d.Name, d.BuildingName) {
		return d.BuildingName + " " + d.Name
	}
	return d.Name
}

func (s *Server) myPassRevoke(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return shequ.Errorf(shequ.ENOTFOUND, "pass not found")
	}
	if err := s.store.RevokePass(r.Context(), p.Actor.Scope(auth.PermAccessOwn), id); err != nil && shequ.ErrorCode(err) != shequ.ECONFLICT {
		return err
	}
	s.changed()
	http.Redirect(w, r, fmt.Sprintf("/my/visitors/%d", id), http.StatusSeeOther)
	return nil
}

// sharedPassPage is the link a resident sends the visitor: the QR code of
// the token in the link, and its window, to show at the gate. It needs no
// account: whoever has the link has the pass, as with the QR image.
func (s *Server) sharedPassPage(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	p := s.newPage(r)
	tok := r.URL.Query().Get("t")
	serial, _, ok := acs.PeekSerial(tok)
	if !ok || serial == 0 || len(tok) > 400 {
		s.renderError(w, r, p, http.StatusNotFound, "error.notfound")
		return
	}
	qr, err := qrImage(tok)
	if err != nil {
		s.renderError(w, r, p, http.StatusInternalServerError, "error.internal")
		return
	}
	p.Title = p.L.T("access.shared.title")
	p.Body = struct{ QR template.URL }{qr}
	s.render(w, r, p, "resident/access_shared", http.StatusOK)
}

// --- staff pages ---

type doorsBody struct {
	Rows []acs.Door
}

func (s *Server) doorsPage(r *http.Request, p *pageData) (string, error) {
	p.Title = p.L.T("access.doors.title")
	l, err := s.store.ListDoors(r.Context(), p.Actor.Scope(auth.PermAccessRead), acs.DoorFilter{Page: shequ.Page{Limit: 500}})
	if err != nil {
		return "", err
	}
	// Doors that need someone first: forced, held open, tampered, offline.
	slices.SortStableFunc(l.Items, func(a, b acs.Door) int { return doorUrgency(a) - doorUrgency(b) })
	p.Body = &doorsBody{Rows: l.Items}
	return "staff/access_doors", nil
}

func doorUrgency(d acs.Door) int {
	switch d.State {
	case acs.StateTamper, acs.StateForced:
		return 0
	case acs.StateHeldOpen, acs.StateReleased:
		return 1
	}
	if !d.Online {
		return 2
	}
	return 3
}

type accessLogBody struct {
	Doors                   []acs.Door
	Door, Person, Household int64
	From, Until             string
	Rows                    []acs.LogEntry
	Pager                   pager
}

func (s *Server) accessLogPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("access.log.title")
	b := &accessLogBody{From: q.Get("from"), Until: q.Get("until")}
	b.Door, _ = strconv.ParseInt(q.Get("door"), 10, 64)
	b.Person, _ = strconv.ParseInt(q.Get("person"), 10, 64)
	b.Household, _ = strconv.ParseInt(q.Get("household"), 10, 64)
	f := acs.LogFilter{DoorID: b.Door, PersonID: b.Person, HouseholdID: b.Household}
	if t, err := time.ParseInLocation("2006-01-02", b.From, p.zone); err == nil {
		f.From = t
	}
	if t, err := time.ParseInLocation("2006-01-02", b.Until, p.zone); err == nil {
		f.Until = t.AddDate(0, 0, 1)
	}
	sc := p.Actor.Scope(auth.PermAccessRead)
	doors, err := s.store.ListDoors(ctx, sc, acs.DoorFilter{Page: shequ.Page{Limit: 500}})
	if err != nil {
		return "", err
	}
	b.Doors = doors.Items
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[acs.LogEntry], error) {
		f.Page = pg
		return s.store.ListAccessLog(ctx, sc, f)
	})
	if err != nil {
		return "", err
	}
	b.Rows = l.Items
	b.Pager = newPager("/access/log", q, []string{"door", "person", "household", "from", "until"}, n, l.Total)
	p.Body = b
	return "staff/access_log", nil
}

type householdKeysBody struct {
	HouseholdID int64
	Name        string
	Credentials []acs.Credential
	Passes      []passRow
	Notice      string
}

func (s *Server) householdKeysPage(r *http.Request, p *pageData) (string, error) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return "", shequ.Errorf(shequ.ENOTFOUND, "household not found")
	}
	sc := p.Actor.Scope(auth.PermAccessManage)
	hh, err := s.store.Household(ctx, sc, id)
	if err != nil {
		return "", err
	}
	creds, err := s.store.ListCredentials(ctx, sc, acs.CredentialFilter{HouseholdID: id, All: true, Page: shequ.Page{Limit: 100}})
	if err != nil {
		return "", err
	}
	passes, err := s.store.ListPasses(ctx, sc, acs.PassFilter{HouseholdID: id, Page: shequ.Page{Limit: 20}})
	if err != nil {
		return "", err
	}
	p.Title = p.L.T("access.household.title")
	b := &householdKeysBody{HouseholdID: id, Name: hh.Name, Credentials: creds.Items, Passes: s.passRows(p, passes.Items)}
	switch r.URL.Query().Get("done") {
	case "revoked":
		b.Notice = p.L.T("access.household.revoked")
	case "moved":
		b.Notice = p.L.T("access.household.moved")
	}
	p.Body = b
	return "staff/access_household", nil
}

func (s *Server) staffRevoke(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return shequ.Errorf(shequ.ENOTFOUND, "credential not found")
	}
	sc := p.Actor.Scope(auth.PermAccessManage)
	c, err := s.store.Credential(ctx, sc, id)
	if err != nil {
		return err
	}
	reason := "revoked"
	if r.PostFormValue("reason") == "lost" {
		reason = "lost"
	}
	if err := s.store.RevokeCredential(ctx, sc, id, reason); err != nil && shequ.ErrorCode(err) != shequ.ECONFLICT {
		return err
	}
	s.changed()
	http.Redirect(w, r, fmt.Sprintf("/access/households/%d?done=revoked", c.HouseholdID), http.StatusSeeOther)
	return nil
}

func (s *Server) staffMoveOut(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return shequ.Errorf(shequ.ENOTFOUND, "household not found")
	}
	if _, err := s.store.MoveOutHousehold(r.Context(), p.Actor.Scope(auth.PermAccessManage), id); err != nil {
		return err
	}
	s.changed()
	http.Redirect(w, r, fmt.Sprintf("/access/households/%d?done=moved", id), http.StatusSeeOther)
	return nil
}
