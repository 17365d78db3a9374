package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/matter"
)

// The staff's pages for matters: the queue, with each matter's time left
// against its category's service level (overdue ones stand out by a word
// and a mark, not by colour alone), and the matter's page with the steps
// that fit its status, one click each.

func (s *Server) registerStaffPages() {
	s.pageRoute("GET /matters", "/matters", auth.PermMatterRead, s.queuePage)
	s.pageRoute("GET /matters/{id}", "/matters", auth.PermMatterRead, s.staffMatterPage)
	s.formRoute("POST /matters/{id}/{action}", "/matters", auth.PermMatterHandle, 64<<10, s.staffMatterStep)
}

// seesQueue reports whether a reads matters beyond one household: the
// queue is for staff (and association members, who read it); a resident's
// list is /my/matters.
func seesQueue(a *auth.Actor) bool {
	for _, r := range a.Scope(auth.PermMatterRead) {
		if r.HouseholdID == 0 {
			return true
		}
	}
	return false
}

// staffScope is the part of a's matter reach beyond their own household.
func staffScope(a *auth.Actor, perm auth.Permission) auth.Scope {
	var out auth.Scope
	for _, r := range a.Scope(perm) {
		if r.HouseholdID == 0 {
			out = append(out, r)
		}
	}
	return out
}

// queueStatuses are the status filter's choices, "open" first.
var queueStatuses = []string{"open", matter.Submitted, matter.Accepted, matter.Assigned, matter.InProgress, matter.Returned, matter.Resolved, matter.Closed, matter.Rejected, "all"}

type queueBody struct {
	Status, Category string
	Overdue, Mine    bool
	Statuses         []string
	Categories       []categoryOption
	Rows             []matterRow
	Pager            pager
	OverdueCount     int
	CanHandle        bool
}

type categoryOption struct {
	Code, Name string
	SLA        string
}

func (s *Server) queuePage(r *http.Request, p *pageData) (string, error) {
	if !seesQueue(p.Actor) {
		return "", shequ.Errorf(shequ.EFORBIDDEN, "the queue is for staff")
	}
	ctx, q, a := r.Context(), r.URL.Query(), p.Actor
	p.Title = p.L.T("queue.title")
	b := queueBody{Status: q.Get("status"), Category: q.Get("category"), Overdue: q.Get("overdue") == "1", Mine: q.Get("mine") == "1",
		Statuses: queueStatuses, CanHandle: a.Can(auth.PermMatterHandle)}
	if !slices.Contains(queueStatuses, b.Status) {
		b.Status = "open"
	}
	list, cats, err := s.categories(ctx, a)
	if err != nil {
		return "", err
	}
	for _, c := range list {
		b.Categories = append(b.Categories, categoryOption{Code: c.Code, Name: categoryName(p.L, c), SLA: durationWords(p.L, hours(c.SLAHours))})
	}
	if _, ok := cats[b.Category]; !ok {
		b.Category = ""
	}
	f := matter.Filter{Status: b.Status, Category: b.Category, Overdue: b.Overdue}
	if f.Status == "all" {
		f.Status = ""
	}
	if b.Mine {
		f.AssigneeID = a.User.ID
	}
	sc := staffScope(a, auth.PermMatterRead)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[matter.Matter], error) {
		f.Page = pg
		return s.store.ListMatters(ctx, sc, f)
	})
	if err != nil {
		return "", err
	}
	od, err := s.store.ListMatters(ctx, sc, matter.Filter{Overdue: true, Page: shequ.Page{Limit: 1}})
	if err != nil {
		return "", err
	}
	b.OverdueCount = od.Total
	staff, err := s.matterStaff(ctx, a, l.Items)
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	for _, m := range l.Items {
		b.Rows = append(b.Rows, s.matterRow(p, m, cats, staff, now))
	}
	b.Pager = newPager("/matters", q, []string{"status", "category", "overdue", "mine"}, n, l.Total)
	p.Body = b
	return "staff/matters", nil
}

// matterStaff names the staff of the communities of ms.
func (s *Server) matterStaff(ctx context.Context, a *auth.Actor, ms []matter.Matter) (map[int64]auth.User, error) {
	out := map[int64]auth.User{}
	seen := map[int64]bool{}
	for _, m := range ms {
		if seen[m.CommunityID] {
			continue
		}
		seen[m.CommunityID] = true
		staff, err := s.communityStaff(ctx, m.CommunityID)
		if err != nil {
			return nil, err
		}
		for id, u := range staff {
			out[id] = u
		}
	}
	return out, nil
}

// --- one matter, for staff ---

type staffMatterBody struct {
	Row         matterRow
	Description string
	Person      string
	Phone       string
	Answers     []answer
	Photos      []string
	Timeline    []timelineItem
	Staff       []staffOption
	Suggested   int64
	Error       string
	Done        string // what the last step did, said once
	CanHandle   bool
	CanAccept   bool
	CanAssign   bool
	CanStart    bool
	CanResolve  bool
	CanReject   bool
	CanReturn   bool
	CanComment  bool
}

func (s *Server) staffMatterPage(r *http.Request, p *pageData) (string, error) {
	b, err := s.staffMatter(r, p, "")
	if err != nil {
		return "", err
	}
	if done := r.URL.Query().Get("done"); done != "" && p.L.Has("staffmatter.done."+done) {
		b.Done = p.L.T("staffmatter.done." + done)
	}
	p.Body = b
	return "staff/matter", nil
}

func (s *Server) staffMatter(r *http.Request, p *pageData, msg string) (*staffMatterBody, error) {
	ctx, a := r.Context(), p.Actor
	if !seesQueue(a) {
		return nil, shequ.Errorf(shequ.EFORBIDDEN, "the queue is for staff")
	}
	id, err := idOf(r, "id")
	if err != nil {
		return nil, err
	}
	m, err := s.store.Matter(ctx, staffScope(a, auth.PermMatterRead), id)
	if err != nil {
		return nil, err
	}
	_, cats, err := s.categories(ctx, a)
	if err != nil {
		return nil, err
	}
	staff, err := s.communityStaff(ctx, m.CommunityID)
	if err != nil {
		return nil, err
	}
	b := &staffMatterBody{Description: m.Description, Error: msg, CanHandle: a.Can(auth.PermMatterHandle)}
	if b.Row, b.Answers, b.Photos, b.Timeline, err = s.matterDetails(ctx, p, m, cats, staff, a.User.ID); err != nil {
		return nil, err
	}
	if m.PersonID != 0 && a.Can(auth.PermPeopleRead) {
		if person, err := s.store.Person(ctx, a.Scope(auth.PermPeopleRead), m.PersonID); err == nil {
			person = person.Mask()
			b.Person, b.Phone = person.Name, person.Phone
		} else if shequ.ErrorCode(err) != shequ.ENOTFOUND {
			return nil, err
		}
	}
	if b.CanHandle {
		can := func(action string) bool {
			_, _, err := m.Apply(matter.Step{Action: action, Note: "x", AssigneeUserID: 1})
			return err == nil
		}
		b.CanAccept, b.CanAssign, b.CanStart = can("accept"), can("assign"), can("start")
		b.CanResolve, b.CanReject, b.CanReturn, b.CanComment = can("resolve"), can("reject"), can("return"), can("comment")
	}
	if b.CanAssign {
		// The grid worker of the home's grid is suggested first.
		var worker int64
		if m.GridID != 0 {
			if g, err := s.store.Grid(ctx, auth.Scope{{CommunityID: m.CommunityID}}, m.GridID); err == nil {
				worker = g.WorkerUserID
			}
		}
		b.Staff = recommend(p.L, staff, 0, worker, 0)
		// Residents are not staff; one who is also staff stays.
		if len(b.Staff) > 0 {
			b.Suggested = b.Staff[0].ID
		}
		if m.AssigneeUserID != 0 {
			b.Suggested = m.AssigneeUserID
		}
	}
	p.Title = p.L.T("staffmatter.title", m.Tracking)
	return b, nil
}

// staffMatterStep takes one step on a matter and comes back to its page,
// which says what was done; a step the matter's status does not allow, or
// one without the reason it needs, comes back with why.
func (s *Server) staffMatterStep(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx, a := r.Context(), p.Actor
	if !seesQueue(a) {
		return shequ.Errorf(shequ.EFORBIDDEN, "the queue is for staff")
	}
	id, err := idOf(r, "id")
	if err != nil {
		return err
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	if utf8.RuneCountInString(note) > 2000 {
		note = string([]rune(note)[:2000])
	}
	step := matter.Step{Action: r.PathValue("action"), By: a.User.ID, Note: note}
	switch step.Action {
	case "accept", "start", "resolve", "reject", "return", "comment":
	case "assign":
		step.AssigneeUserID, _ = strconv.ParseInt(r.PostFormValue("user_id"), 10, 64)
		if step.AssigneeUserID <= 0 {
			return s.staffRefused(w, r, p, id, shequ.Invalid(map[string]string{"assignee": "say whom"}), step.Action)
		}
	default:
		return shequ.Errorf(shequ.ENOTFOUND, "no such action")
	}
	if _, err := s.store.StepMatter(ctx, staffScope(a, auth.PermMatterHandle), id, step); err != nil {
		if errorStatus(err) == 0 {
			return err
		}
		return s.staffRefused(w, r, p, id, err, step.Action)
	}
	s.changed()
	next := fmt.Sprintf("/matters/%d?done=%s", id, step.Action)
	if r.PostFormValue("back") == "queue" {
		next = "/matters"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) staffRefused(w http.ResponseWriter, r *http.Request, p *pageData, id int64, cause error, action string) error {
	msg := p.L.T("staffmatter.refused.conflict")
	if shequ.ErrorCode(cause) == shequ.EINVALID {
		msg = p.L.Or("staffmatter.refused."+action, p.L.T("staffmatter.refused.invalid"))
	}
	b, err := s.staffMatter(r, p, msg)
	if err != nil {
		return err
	}
	p.Body, p.Self = b, fmt.Sprintf("/matters/%d", id)
	s.render(w, r, p, "staff/matter", errorStatus(cause))
	return nil
}

func hours(n int) time.Duration { return time.Duration(n) * time.Hour }
