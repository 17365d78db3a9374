package web

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
)

// The assistance pages: the relief and subsidy policies of the community,
// for each who appears eligible today and is not covered (with the ledger
// values that made them so: the man on a 1,130 yuan pension is found
// here), and the applications with their outcomes. A member files an
// application for an eligible resident in one click and the policy's
// association records the outcome. The store decides who may do what.

func (s *Server) registerAssistancePages() {
	s.pageRoute("GET /assistance", "/assistance", auth.PermAssistanceRead, s.assistancePage)
	s.pageRoute("GET /assistance/{id}", "/assistance", auth.PermAssistanceRead, s.assistancePolicyPage)
	s.formRoute("POST /assistance/{id}/applications", "/assistance", auth.PermAssistanceWrite, 16<<10, s.applicationSubmit)
	s.formRoute("POST /assistance/applications/{id}/outcome", "/assistance", auth.PermAssistanceWrite, 16<<10, s.applicationOutcomeSubmit)
}

type reliefRow struct {
	ID                          int64
	Name, Benefit, Valid, Rules string
	Uncovered                   string
}

type applicationRow struct {
	ID                     int64
	PolicyID               int64
	Policy, Person, Note   string
	Status, StatusWord     string
	Reason, Decided, Filed string
	// CanDecide: the outcome form is shown (pending, and one may write).
	CanDecide bool
}

type assistanceBody struct {
	Policies     []reliefRow
	Status       string
	Statuses     []string
	Applications []applicationRow
	Pager        pager
	Done         string
}

// applicationStatuses are the states an application is filtered by.
var applicationStatuses = []string{"pending", "granted", "refused"}

func (s *Server) assistancePage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	acc := access(ctx, auth.PermAssistanceRead)
	p.Title = p.L.T("assistance.title")
	b := assistanceBody{Statuses: applicationStatuses, Done: doneWord(r, p, "assistance.done.")}
	if st := q.Get("status"); slices.Contains(applicationStatuses, st) {
		b.Status = st
	}
	pl, err := s.store.ListAssistancePolicies(ctx, acc, assoc.AssistancePolicyFilter{CommunityID: p.communityID, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		return "", err
	}
	counts, err := s.store.EligibleUncovered(ctx, acc, p.communityID)
	if err != nil {
		return "", err
	}
	uncovered := map[int64]int{}
	for _, c := range counts {
		uncovered[c.PolicyID] = c.Uncovered
	}
	names := s.fieldNamer(r, p)
	for _, x := range pl.Items {
		b.Policies = append(b.Policies, reliefRow{ID: x.ID, Name: x.Name, Benefit: x.Benefit, Valid: validWords(p, x),
			Rules: names.rules(x.Rules), Uncovered: p.L.Num(uncovered[x.ID])})
	}
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[assoc.Application], error) {
		return s.store.ListApplications(ctx, acc, assoc.ApplicationFilter{CommunityID: p.communityID, Status: b.Status, Page: pg})
	})
	if err != nil {
		return "", err
	}
	b.Applications = applicationRows(p, l.Items)
	b.Pager = newPager("/assistance", q, []string{"status"}, n, l.Total)
	p.Body = b
	return "assoc/assistance", nil
}

func applicationRows(p *pageData, as []assoc.Application) []applicationRow {
	out := make([]applicationRow, 0, len(as))
	for _, a := range as {
		out = append(out, applicationRow{ID: a.ID, PolicyID: a.PolicyID, Policy: a.PolicyName, Person: a.PersonName, Note: a.Note,
			Status: a.Status, StatusWord: p.L.T("assistance.status." + a.Status), Reason: a.Reason, Decided: a.DecidedOn, Filed: p.Date(a.CreatedAt),
			CanDecide: a.Status == assoc.ApplicationPending && p.Actor.Can(auth.PermAssistanceWrite)})
	}
	return out
}

// validWords says from when to when a policy holds.
func validWords(p *pageData, x assoc.AssistancePolicy) string {
	if x.ValidTo == "" {
		return p.L.T("assistance.valid.open", x.ValidFrom)
	}
	return p.L.T("assistance.valid.range", x.ValidFrom, x.ValidTo)
}

// fieldNamer names the fields rules look at: a resident's (age, tag, sex)
// from the catalogs, a ledger's by its label, "困难家庭·养老金". It reads
// each ledger once per page.
type fieldNamer struct {
	s      *Server
	r      *http.Request
	p      *pageData
	ledger map[string]assoc.LedgerType
}

func (s *Server) fieldNamer(r *http.Request, p *pageData) *fieldNamer {
	return &fieldNamer{s: s, r: r, p: p, ledger: map[string]assoc.LedgerType{}}
}

func (n *fieldNamer) name(ledger, field string) string {
	if ledger == "" {
		return n.p.L.Or("assistance.field."+field, field)
	}
	t, ok := n.ledger[ledger]
	if !ok {
		// A ledger one may not open still names the rule by its key.
		t, _ = n.s.store.LedgerType(n.r.Context(), access(n.r.Context(), auth.PermLedgerRead), n.p.communityID, ledger)
		n.ledger[ledger] = t
	}
	if t.Key == "" {
		return ledger + "·" + field
	}
	for _, f := range t.Fields {
		if f.Key == field {
			return ledgerName(n.p.L, t) + "·" + fieldLabel(n.p.L, f)
		}
	}
	return ledgerName(n.p.L, t) + "·" + field
}

// rules writes a policy's conditions as a reader reads them: "年龄 ≥ 60；
// 标签 = 独居；困难家庭·养老金 < 1500".
func (n *fieldNamer) rules(rules []assoc.Condition) string {
	parts := make([]string, 0, len(rules))
	for _, c := range rules {
		parts = append(parts, n.name(c.Ledger, c.Field)+" "+n.p.L.Or("assistance.op."+c.Op, c.Op)+" "+valueWords(n.p, c.Value))
	}
	return strings.Join(parts, n.p.L.T("assistance.rules.sep"))
}

// valueWords writes a rule's or a ledger's value: words for choices and
// tags, numbers as numbers.
func valueWords(p *pageData, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		return p.L.T("yesno." + strconv.FormatBool(x))
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return p.L.Or("tag."+x, choiceWord(p.L, x))
	case []any:
		words := make([]string, len(x))
		for i, e := range x {
			words[i] = valueWords(p, e)
		}
		return strings.Join(words, p.L.T("list.sep"))
	}
	return fmt.Sprint(v)
}

// --- one policy ---

type eligibleRow struct {
	PersonID  int64
	Name, Age string
	Values    string
}

type policyPageBody struct {
	reliefRow
	Description string
	Eligible    []eligibleRow
	Pager       pager
	// Applications are the policy's, newest first: those granted are the
	// residents it covers.
	Applications []applicationRow
	CanApply     bool
	Done, Error  string
}

func (b *policyPageBody) Messages() formMessages { return formMessages{Done: b.Done, Error: b.Error} }

func (s *Server) assistancePolicyPage(r *http.Request, p *pageData) (string, error) {
	return s.policyView(r, p, "")
}

func (s *Server) policyView(r *http.Request, p *pageData, problem string) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return "", shequ.Errorf(shequ.ENOTFOUND, "no such policy")
	}
	acc := access(ctx, auth.PermAssistanceRead)
	x, err := s.store.AssistancePolicy(ctx, acc, id)
	if err != nil {
		return "", err
	}
	p.Title = x.Name
	b := policyPageBody{Description: x.Description, Done: doneWord(r, p, "assistance.done."), Error: problem,
		CanApply: p.Actor.Can(auth.PermAssistanceWrite)}
	names := s.fieldNamer(r, p)
	b.reliefRow = reliefRow{ID: x.ID, Name: x.Name, Benefit: x.Benefit, Valid: validWords(p, x), Rules: names.rules(x.Rules)}
	el, n, err := listPage(q, func(pg shequ.Page) (shequ.List[assoc.EligibleResident], error) {
		return s.store.Eligible(ctx, acc, id, s.clock.Now().In(p.zone), pg)
	})
	if err != nil {
		return "", err
	}
	b.Uncovered = p.L.Num(el.Total)
	for _, e := range el.Items {
		row := eligibleRow{PersonID: e.PersonID, Name: e.Name}
		if e.Age > 0 {
			row.Age = p.L.T("assistance.age", e.Age)
		}
		keys := make([]string, 0, len(e.Values))
		for k := range e.Values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var vals []string
		for _, k := range keys {
			ledger, field, ok := strings.Cut(k, ".")
			if !ok {
				ledger, field = "", k
			}
			vals = append(vals, names.name(ledger, field)+" "+valueWords(p, e.Values[k]))
		}
		row.Values = strings.Join(vals, p.L.T("assistance.rules.sep"))
		b.Eligible = append(b.Eligible, row)
	}
	b.Pager = newPager(fmt.Sprintf("/assistance/%d", id), q, nil, n, el.Total)
	al, err := s.store.ListApplications(ctx, acc, assoc.ApplicationFilter{PolicyID: id, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		return "", err
	}
	b.Applications = applicationRows(p, al.Items)
	p.Body = &b
	return "assoc/assistance_policy", nil
}

// applicationSubmit files an application for an eligible resident.
func (s *Server) applicationSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return shequ.Errorf(shequ.ENOTFOUND, "no such policy")
	}
	person, _ := strconv.ParseInt(r.PostFormValue("person_id"), 10, 64)
	a := assoc.Application{PolicyID: id, PersonID: person, Note: strings.TrimSpace(r.PostFormValue("note"))}
	err = s.store.CreateApplication(r.Context(), access(r.Context(), auth.PermAssistanceWrite), &a)
	return s.assistanceAfter(w, r, p, err, fmt.Sprintf("/assistance/%d?done=filed", id))
}

// applicationOutcomeSubmit records granted or refused (with a reason).
func (s *Server) applicationOutcomeSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return shequ.Errorf(shequ.ENOTFOUND, "no such application")
	}
	status := r.PostFormValue("status")
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	a, err := s.store.DecideApplication(r.Context(), access(r.Context(), auth.PermAssistanceWrite), id, status, reason, "")
	next := "/assistance?done=decided"
	if err == nil {
		next = fmt.Sprintf("/assistance/%d?done=decided", a.PolicyID)
	} else if back, ok := localBack(r); ok {
		next = back
	}
	return s.assistanceAfter(w, r, p, err, next)
}

// localBack is the policy page a form came from, to show a refusal there.
func localBack(r *http.Request) (string, bool) {
	back := r.PostFormValue("back")
	if strings.HasPrefix(back, "/assistance/") && localPath(back) == back {
		return back, true
	}
	return "", false
}

// assistanceAfter redirects once the store took a step; a step it refused
// for a reason the reader can fix shows the policy page again with the
// reason.
func (s *Server) assistanceAfter(w http.ResponseWriter, r *http.Request, p *pageData, err error, next string) error {
	code := shequ.ErrorCode(err)
	switch code {
	case "":
		s.changed()
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	case shequ.EINVALID, shequ.ECONFLICT:
	default:
		return err
	}
	problem := p.L.T("assistance.error.state")
	if code == shequ.EINVALID {
		var words []string
		for f := range invalidFields(err) {
			words = append(words, p.L.Or("assistance.error."+f, p.L.T("ledgerform.error.other")))
		}
		sort.Strings(words)
		problem = strings.Join(words, " ")
	}
	back := "/assistance"
	if b, ok := localBack(r); ok {
		back = b
	} else if r.PathValue("id") != "" && strings.HasSuffix(r.URL.Path, "/applications") {
		back = "/assistance/" + r.PathValue("id")
	}
	if pid := strings.TrimPrefix(back, "/assistance/"); pid != back {
		r.SetPathValue("id", strings.SplitN(pid, "?", 2)[0])
		r.URL.RawQuery = ""
		p.Self = back
		view, err := s.policyView(r, p, problem)
		if err != nil {
			return err
		}
		s.render(w, r, p, view, http.StatusUnprocessableEntity)
		return nil
	}
	s.renderError(w, r, p, http.StatusUnprocessableEntity, "error.invalid")
	return nil
}
