package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

// The pages of one ledger entry: the phone-sized form that enters a
// resident (its questions made from the ledger's field definitions), the
// form that changes an entry, the entry's own page with its values,
// follow-ups, consents and history, and the forms posted from it.

// --- entering a resident ---

// formField is one question of the entry form, made from a field
// definition.
type formField struct {
	Key, ID, Name, Label string
	Type                 string
	Required             bool
	Value                string
	Options              []option
	Min, Max             string
	MaxLength            int
	Long                 bool
	Error                string
}

// ErrorPart is the field's problem line, which htmx replaces.
func (f formField) ErrorPart() fieldErrorPart {
	return fieldErrorPart{ID: f.ID + "-error", Error: f.Error}
}

type personOption struct {
	ID           int64
	Name, Detail string
	Checked      bool
}

type entryForm struct {
	Ledger ledgerHead
	personPick
	Fields   []formField
	Partners []option
	Method   string
	Methods  []option
	Errors   map[string]string
	Error    string
}

// personPick is the part of a form that finds a resident by name and
// chooses one (templates/parts/ledger.html: person-search, person-choice).
type personPick struct {
	// Search is the page the search asks, with q.
	Search   string
	Q        string
	Searched bool
	People   []personOption
	PersonID int64
}

// pickPerson finds the residents whose names hold the form's q, keeping
// the one chosen (person_id) offered when a form comes back.
func (s *Server) pickPerson(r *http.Request, p *pageData, values url.Values, search string) (personPick, error) {
	ctx := r.Context()
	f := personPick{Search: search, Q: strings.TrimSpace(values.Get("q"))}
	f.PersonID, _ = strconv.ParseInt(values.Get("person_id"), 10, 64)
	sc := p.Actor.Scope(auth.PermPeopleRead)
	if len(sc) == 0 {
		return f, nil
	}
	now := s.clock.Now()
	if f.PersonID != 0 {
		if person, err := s.store.Person(ctx, sc, f.PersonID); err == nil {
			f.People = append(f.People, personOptionOf(p, person, true, now))
		} else if shequ.ErrorCode(err) != shequ.ENOTFOUND {
			return f, err
		}
	}
	if f.Q != "" {
		f.Searched = true
		l, err := s.store.ListPeople(ctx, sc, community.Filter{CommunityID: p.communityID, Query: f.Q, Page: shequ.Page{Limit: searchLimit}})
		if err != nil {
			return f, err
		}
		for _, person := range l.Items {
			if person.ID != f.PersonID {
				f.People = append(f.People, personOptionOf(p, person, false, now))
			}
		}
	}
	return f, nil
}

// searchLimit is how many residents a name search offers.
const searchLimit = 8

func formFields(l *locale, t assoc.LedgerType, values url.Values, found map[string]assoc.Problem) []formField {
	var out []formField
	for _, f := range t.Fields {
		ff := formField{Key: f.Key, ID: "v-" + f.Key, Name: "v." + f.Key, Label: fieldLabel(l, f), Type: f.Type, Required: f.Required, Value: strings.TrimSpace(values.Get("v." + f.Key))}
		switch f.Type {
		case assoc.FieldChoice:
			for _, c := range f.Choices {
				ff.Options = append(ff.Options, option{Value: c, Label: choiceWord(l, c), Checked: c == ff.Value})
			}
		case assoc.FieldBool:
			for _, c := range []string{"true", "false"} {
				ff.Options = append(ff.Options, option{Value: c, Label: l.T("yesno." + c), Checked: c == ff.Value})
			}
		case assoc.FieldNumber:
			if f.Min != nil {
				ff.Min = assoc.Canonical(*f.Min)
			}
			if f.Max != nil {
				ff.Max = assoc.Canonical(*f.Max)
			}
		case assoc.FieldText:
			ff.MaxLength = assoc.MaxTextLength
			if f.Max != nil {
				ff.MaxLength = int(*f.Max)
			}
			ff.Long = ff.MaxLength > 200
		}
		if pr, ok := found[f.Key]; ok {
			ff.Error = problemText(l, f, pr)
		}
		out = append(out, ff)
	}
	return out
}

// formValues reads the answers of the form: blank ones are not given.
func formValues(t assoc.LedgerType, form url.Values) map[string]any {
	values := map[string]any{}
	for _, f := range t.Fields {
		if v := strings.TrimSpace(form.Get("v." + f.Key)); v != "" {
			values[f.Key] = v
		}
	}
	return values
}

// newEntryForm fills the form for ledger t: the residents found by name,
// the partners one may record consent to, the fields.
func (s *Server) newEntryForm(r *http.Request, p *pageData, t assoc.LedgerType, values url.Values, found map[string]assoc.Problem) (*entryForm, error) {
	ctx := r.Context()
	f := &entryForm{Ledger: headOf(p.L, t), Errors: map[string]string{}, Method: values.Get("consent_method")}
	if !slices.Contains(assoc.ConsentMethods, f.Method) {
		f.Method = assoc.ConsentMethods[0]
	}
	for _, m := range assoc.ConsentMethods {
		f.Methods = append(f.Methods, option{Value: m, Label: p.L.T("consent.method." + m), Checked: m == f.Method})
	}
	pick, err := s.pickPerson(r, p, values, "/ledgers/"+t.Key+"/new")
	if err != nil {
		return nil, err
	}
	f.personPick = pick
	if !t.Sensitive && p.Actor.Can(auth.PermAssociationsRead) {
		ps, err := s.store.ListPartners(ctx, p.Actor.Scope(auth.PermAssociationsRead), community.Filter{CommunityID: t.CommunityID, Page: shequ.Page{Limit: shequ.MaxLimit}})
		if err != nil {
			return nil, err
		}
		for _, x := range ps.Items {
			id := strconv.FormatInt(x.ID, 10)
			f.Partners = append(f.Partners, option{Value: id, Label: x.Name, Checked: slices.Contains(values["consent"], id)})
		}
	}
	f.Fields = formFields(p.L, t, values, found)
	return f, nil
}

func personOptionOf(p *pageData, person community.Person, checked bool, now time.Time) personOption {
	m := person.Mask()
	var detail []string
	if m.Gender != "" {
		detail = append(detail, p.L.Or("gender."+m.Gender, m.Gender))
	}
	if age := person.Age(now); age >= 0 {
		detail = append(detail, p.L.T("ledgerform.age", age))
	}
	if m.Phone != "" {
		detail = append(detail, m.Phone)
	}
	return personOption{ID: person.ID, Name: m.Name, Detail: strings.Join(detail, " · "), Checked: checked}
}

func (s *Server) entryFormPage(r *http.Request, p *pageData) (string, error) {
	write := access(r.Context(), auth.PermLedgerWrite)
	t, err := s.ledgerOf(r, p, write)
	if err != nil {
		return "", err
	}
	if !canAdd(write, t) {
		return "", shequ.Errorf(shequ.EFORBIDDEN, "you may not enter residents in this ledger")
	}
	f, err := s.newEntryForm(r, p, t, r.URL.Query(), nil)
	if err != nil {
		return "", err
	}
	p.Title = p.L.T("ledgerform.title", f.Ledger.Name)
	p.Body = f
	return "assoc/entry_new", nil
}

// entrySubmit enters the resident, with the consents given on the form,
// and goes to the new entry; or shows the form again with what to fix,
// each problem beside its field.
func (s *Server) entrySubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx := r.Context()
	write := access(ctx, auth.PermLedgerWrite)
	t, err := s.ledgerOf(r, p, write)
	if err != nil {
		return err
	}
	form := r.PostForm
	values := formValues(t, form)
	_, found := t.Check(values)
	f, err := s.newEntryForm(r, p, t, form, found)
	if err != nil {
		return err
	}
	fail := func(status int) error {
		p.Title, p.Self = p.L.T("ledgerform.title", f.Ledger.Name), "/ledgers/"+t.Key+"/new"
		f.Error = p.L.T("ledgerform.fix")
		p.Body = f
		s.render(w, r, p, "assoc/entry_new", status)
		return nil
	}
	if f.PersonID == 0 {
		f.Errors["person"] = p.L.T("ledgerform.error.person")
	}
	for _, ff := range f.Fields {
		if ff.Error != "" {
			f.Errors[ff.Key] = ff.Error
		}
	}
	if len(f.Errors) > 0 {
		return fail(http.StatusUnprocessableEntity)
	}
	e := assoc.LedgerEntry{PersonID: f.PersonID, Values: values}
	for _, o := range f.Partners {
		if o.Checked {
			id, _ := strconv.ParseInt(o.Value, 10, 64)
			e.Consents = append(e.Consents, assoc.Consent{PartnerID: id, Given: true, Method: f.Method, RecordedBy: p.Actor.User.DisplayName})
		}
	}
	if err := s.store.CreateEntry(ctx, write, t.CommunityID, t.Key, &e); err != nil {
		switch shequ.ErrorCode(err) {
		case shequ.ECONFLICT:
			f.Errors["person"] = p.L.T("ledgerform.error.twice")
		case shequ.EINVALID:
			// What the page's own check did not catch: the resident is
			// not of the community, or a partner is gone.
			for field := range invalidFields(err) {
				switch {
				case field == "person_id":
					f.Errors["person"] = p.L.T("ledgerform.error.person")
				case strings.HasPrefix(field, "partner"):
					f.Errors["consent"] = p.L.T("ledgerform.error.consent")
				default:
					f.Errors[""] = p.L.T("ledgerform.error.other")
				}
			}
		default:
			return err
		}
		return fail(errorStatus(err))
	}
	s.changed()
	http.Redirect(w, r, fmt.Sprintf("/ledgers/%s/%d?done=created", t.Key, e.ID), http.StatusSeeOther)
	return nil
}

// --- changing an entry ---

// entryEditForm changes an entry: the entry form's questions, filled with
// what is stored, and whether the entry is still active.
type entryEditForm struct {
	Ledger   ledgerHead
	ID       int64
	Name     string
	Fields   []formField
	Statuses []option
	Errors   map[string]string
	Error    string
}

// writableEntry reads the entry of the request's path for one who may
// change it: the owner association or an administrator.
func (s *Server) writableEntry(r *http.Request, p *pageData) (assoc.LedgerType, assoc.LedgerEntry, error) {
	ctx := r.Context()
	write := access(ctx, auth.PermLedgerWrite)
	t, id, err := s.entryOfPath(r, p)
	if err != nil {
		return t, assoc.LedgerEntry{}, err
	}
	e, err := s.store.Entry(ctx, access(ctx, auth.PermLedgerRead), t.CommunityID, t.Key, id)
	if err != nil {
		return t, e, err
	}
	if e.Masked || !write.CanWrite(t, e.AssociationID) {
		return t, e, shequ.Errorf(shequ.EFORBIDDEN, "the entry is its association's to change")
	}
	return t, e, nil
}

func (s *Server) newEditForm(p *pageData, t assoc.LedgerType, e assoc.LedgerEntry, values url.Values, found map[string]assoc.Problem) *entryEditForm {
	status := values.Get("status")
	if status != assoc.EntryActive && status != assoc.EntryClosed {
		status = e.Status
	}
	f := &entryEditForm{Ledger: headOf(p.L, t), ID: e.ID, Name: e.PersonName, Errors: map[string]string{}, Fields: formFields(p.L, t, values, found)}
	for _, st := range []string{assoc.EntryActive, assoc.EntryClosed} {
		f.Statuses = append(f.Statuses, option{Value: st, Label: p.L.T("entry.status." + st), Checked: st == status})
	}
	for _, ff := range f.Fields {
		if ff.Error != "" {
			f.Errors[ff.Key] = ff.Error
		}
	}
	return f
}

func (s *Server) entryEditPage(r *http.Request, p *pageData) (string, error) {
	t, e, err := s.writableEntry(r, p)
	if err != nil {
		return "", err
	}
	stored := url.Values{}
	for k, v := range e.Values {
		stored.Set("v."+k, assoc.Canonical(v))
	}
	p.Title = p.L.T("entryedit.title", e.PersonName)
	p.Body = s.newEditForm(p, t, e, stored, nil)
	return "assoc/entry_edit", nil
}

// entryEditSubmit changes the entry: a field left blank is cleared, the
// rest are set, and the store keeps the before and after in its history.
func (s *Server) entryEditSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	t, e, err := s.writableEntry(r, p)
	if err != nil {
		return err
	}
	values := formValues(t, r.PostForm)
	_, found := t.Check(values)
	f := s.newEditForm(p, t, e, r.PostForm, found)
	ch := assoc.EntryChange{Values: map[string]any{}}
	for _, o := range f.Statuses {
		if o.Checked {
			ch.Status = o.Value
		}
	}
	for _, fd := range t.Fields {
		if v, ok := values[fd.Key]; ok {
			ch.Values[fd.Key] = v
		} else if _, had := e.Values[fd.Key]; had {
			ch.Values[fd.Key] = nil
		}
	}
	if len(f.Errors) == 0 {
		_, err = s.store.UpdateEntry(r.Context(), access(r.Context(), auth.PermLedgerWrite), t.CommunityID, t.Key, e.ID, ch)
		problems := map[string]string{}
		if done, err := s.afterStep(w, r, p, err, fmt.Sprintf("/ledgers/%s/%d?done=changed", t.Key, e.ID), "entryedit.error.", problems); done || err != nil {
			return err
		}
		if len(problems) > 0 {
			// The page's own check found nothing: say it plainly.
			f.Errors[""] = p.L.T("ledgerform.error.other")
		}
	}
	p.Title, p.Self = p.L.T("entryedit.title", e.PersonName), fmt.Sprintf("/ledgers/%s/%d/edit", t.Key, e.ID)
	f.Error = p.L.T("ledgerform.fix")
	p.Body = f
	s.render(w, r, p, "assoc/entry_edit", http.StatusUnprocessableEntity)
	return nil
}

// fieldErrorPart is one field's problem, swapped in by htmx while the
// form is being filled.
type fieldErrorPart struct {
	ID, Error string
}

// entryFieldCheck checks the field htmx names (HX-Trigger-Name) as the
// person leaves it, and answers with its problem in the page's language,
// or with nothing to show.
func (s *Server) entryFieldCheck(w http.ResponseWriter, r *http.Request, p *pageData) error {
	t, err := s.ledgerOf(r, p, access(r.Context(), auth.PermLedgerWrite))
	if err != nil {
		return err
	}
	key := strings.TrimPrefix(r.Header.Get("HX-Trigger-Name"), "v.")
	fd, ok := t.Field(key)
	if !ok {
		return shequ.Errorf(shequ.ENOTFOUND, "no such field")
	}
	part := fieldErrorPart{ID: "v-" + key + "-error"}
	v := strings.TrimSpace(r.PostForm.Get("v." + key))
	switch {
	case v == "" && fd.Required:
		part.Error = problemText(p.L, fd, assoc.Problem{Code: assoc.ProblemRequired})
	case v != "":
		if _, pr := fd.Normalise(v); pr != nil {
			part.Error = problemText(p.L, fd, *pr)
		}
	}
	return s.renderPart(w, "assoc/entry_new", "field-error", part)
}

// renderPart answers with one named template of a view, for htmx.
func (s *Server) renderPart(w http.ResponseWriter, view, name string, data any) error {
	var buf strings.Builder
	t, ok := views.get(view)
	if !ok {
		return fmt.Errorf("render %s/%s: no such view", view, name)
	}
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("render %s/%s: %w", view, name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, err := w.Write([]byte(buf.String()))
	return err
}

// --- one entry ---

type valueRow struct {
	Label, Value string
}

type consentRow struct {
	Partner, Says, Method, At string
	Given                     bool
}

type followUpRow struct {
	Kind, KindWord, By, Opening, Note, At string
}

type historyRow struct {
	At, Who, Action, Changes string
}

type followUpForm struct {
	Kinds    []option
	Openings []option
	Date     string
	Note     string
	Errors   map[string]string
}

type entryPageBody struct {
	Ledger     ledgerHead
	ID         int64
	Name       string
	Masked     bool
	Status     string
	StatusWord string
	Owner      string
	Created    string
	Updated    string
	Values     []valueRow
	Consents   []consentRow
	FollowUps  []followUpRow
	History    []historyRow
	Placed     bool
	CanFollow  bool
	FollowUp   followUpForm
	CanConsent bool
	CanEdit    bool
	Partners   []option
	Methods    []option
	Done       string
	Error      string
}

func (s *Server) entryPage(r *http.Request, p *pageData) (string, error) {
	b, err := s.entryView(r, p, nil)
	if err != nil {
		return "", err
	}
	b.Done = doneWord(r, p, "entry.done.")
	p.Body = b
	return "assoc/entry", nil
}

// entryView reads the entry of the request's path as the actor sees it,
// with the follow-up form filled from form (nil: a fresh one).
func (s *Server) entryView(r *http.Request, p *pageData, form url.Values) (*entryPageBody, error) {
	ctx := r.Context()
	read := access(ctx, auth.PermLedgerRead)
	t, err := s.ledgerOf(r, p, read)
	if err != nil {
		return nil, err
	}
	id, err := idOf(r, "id")
	if err != nil {
		return nil, err
	}
	e, err := s.store.Entry(ctx, read, t.CommunityID, t.Key, id)
	if err != nil {
		return nil, err
	}
	b := &entryPageBody{Ledger: headOf(p.L, t), ID: e.ID, Name: e.PersonName, Masked: e.Masked, Status: e.Status, StatusWord: p.L.Or("entry.status."+e.Status, e.Status),
		Created: p.Date(e.CreatedAt), Updated: p.Date(e.UpdatedAt)}
	for _, f := range t.Fields {
		if v, ok := e.Values[f.Key]; ok {
			b.Values = append(b.Values, valueRow{Label: fieldLabel(p.L, f), Value: valueText(p.L, f, v)})
		}
	}
	partners, associations, err := s.assocNames(r, p, t)
	if err != nil {
		return nil, err
	}
	b.Owner = associations[e.AssociationID]
	for _, c := range e.Consents {
		word := p.L.T("consent.given")
		if !c.Given {
			word = p.L.T("consent.withdrawn")
		}
		b.Consents = append(b.Consents, consentRow{Partner: partners[c.PartnerID], Says: word, Given: c.Given, Method: p.L.Or("consent.method."+c.Method, c.Method), At: p.Date(c.At)})
	}
	openings := map[int64]string{}
	ol, err := s.store.ListOpenings(ctx, read, assoc.OpeningFilter{CommunityID: t.CommunityID, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		return nil, err
	}
	for _, o := range ol.Items {
		openings[o.ID] = o.Title
	}
	for _, f := range e.FollowUps {
		by := partners[f.PartnerID]
		if f.PartnerID == 0 {
			by = associations[f.AssociationID]
		}
		b.FollowUps = append(b.FollowUps, followUpRow{Kind: f.Kind, KindWord: p.L.Or("followup."+f.Kind, f.Kind), By: by, Opening: openings[f.OpeningID], Note: f.Note, At: p.Date(f.At)})
		b.Placed = b.Placed || f.Kind == assoc.Placed
	}
	if !e.Masked {
		hs, err := s.store.EntryHistory(ctx, read, t.CommunityID, t.Key, id)
		if err != nil {
			return nil, err
		}
		who, err := s.memberNames(ctx, t.CommunityID)
		if err != nil {
			return nil, err
		}
		for i := len(hs) - 1; i >= 0; i-- {
			row := historyRowOf(p, t, hs[i])
			row.Who = who.of(hs[i].UserID, hs[i].Username)
			b.History = append(b.History, row)
		}
	}
	// Follow-ups are the owner association's and the partners'; the
	// store refuses the others, the page does not offer them the form.
	follow := access(ctx, auth.PermFollowUp)
	b.CanFollow = e.FollowUps != nil && !follow.Empty() && t.Key == assoc.JobSeekers
	if b.CanFollow {
		b.FollowUp = followUpForm{Date: s.clock.Now().In(p.zone).Format(time.DateOnly), Errors: map[string]string{}}
		kind := ""
		if form != nil {
			kind, b.FollowUp.Date, b.FollowUp.Note = form.Get("kind"), form.Get("at"), form.Get("note")
		}
		for _, k := range assoc.FollowUpKinds {
			b.FollowUp.Kinds = append(b.FollowUp.Kinds, option{Value: k, Label: p.L.T("followup." + k), Checked: k == kind})
		}
		for _, o := range ol.Items {
			if o.Status == assoc.OpeningOpen {
				id := strconv.FormatInt(o.ID, 10)
				b.FollowUp.Openings = append(b.FollowUp.Openings, option{Value: id, Label: o.Title, Checked: form != nil && form.Get("opening_id") == id})
			}
		}
	}
	write := access(ctx, auth.PermLedgerWrite)
	b.CanEdit = !e.Masked && write.CanWrite(t, e.AssociationID)
	b.CanConsent = b.CanEdit && !t.Sensitive && len(partners) > 0
	if b.CanConsent {
		for id, name := range partners {
			b.Partners = append(b.Partners, option{Value: strconv.FormatInt(id, 10), Label: name})
		}
		sort.Slice(b.Partners, func(i, j int) bool { return b.Partners[i].Label < b.Partners[j].Label })
		for _, m := range assoc.ConsentMethods {
			b.Methods = append(b.Methods, option{Value: m, Label: p.L.T("consent.method." + m)})
		}
	}
	p.Title = p.L.T("entry.title", b.Name)
	return b, nil
}

// assocNames names the partners and associations of t's community that
// the actor may know of; a partner knows itself through its grants.
func (s *Server) assocNames(r *http.Request, p *pageData, t assoc.LedgerType) (map[int64]string, map[int64]string, error) {
	ctx := r.Context()
	partners, associations := map[int64]string{}, map[int64]string{}
	for _, g := range t.Shared {
		partners[g.PartnerID] = g.PartnerName
	}
	if !p.Actor.Can(auth.PermAssociationsRead) {
		return partners, associations, nil
	}
	sc := p.Actor.Scope(auth.PermAssociationsRead)
	all := shequ.Page{Limit: shequ.MaxLimit}
	ps, err := s.store.ListPartners(ctx, sc, community.Filter{CommunityID: t.CommunityID, Page: all})
	if err != nil {
		return nil, nil, err
	}
	for _, x := range ps.Items {
		partners[x.ID] = x.Name
	}
	as, err := s.store.ListAssociations(ctx, sc, community.Filter{CommunityID: t.CommunityID, Page: all})
	if err != nil {
		return nil, nil, err
	}
	for _, a := range as.Items {
		associations[a.ID] = a.Name
		if p.L.Tag == langEn && a.NameEn != "" {
			associations[a.ID] = a.NameEn
		}
	}
	return partners, associations, nil
}

// historyRowOf says one line of an entry's history: who did what, and
// which fields a change touched.
func historyRowOf(p *pageData, t assoc.LedgerType, h assoc.HistoryLine) historyRow {
	row := historyRow{At: p.Date(h.At), Who: h.Username, Action: p.L.Or("history."+h.Action, h.Action)}
	var changes []string
	switch h.Action {
	case "create", "update":
		after := h.After
		if inner, ok := after["values"].(map[string]any); ok {
			after = inner
		}
		for _, f := range t.Fields {
			if v, ok := after[f.Key]; ok {
				if before, had := h.Before[f.Key]; had && assoc.Canonical(before) == assoc.Canonical(v) {
					continue
				}
				changes = append(changes, fieldLabel(p.L, f)+": "+valueText(p.L, f, v))
			}
		}
	case "followup":
		if k, ok := h.After["kind"].(string); ok {
			changes = append(changes, p.L.Or("followup."+k, k))
		}
	}
	row.Changes = strings.Join(changes, p.L.T("list.sep"))
	return row
}

// followUpSubmit records what was done for the resident: a partner's job
// offer, interview, placement or refusal, or the association's own.
func (s *Server) followUpSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx := r.Context()
	acc := access(ctx, auth.PermFollowUp)
	t, id, err := s.entryOfPath(r, p)
	if err != nil {
		return err
	}
	form := r.PostForm
	errs := map[string]string{}
	f := assoc.FollowUp{Kind: form.Get("kind"), Note: form.Get("note")}
	if !slices.Contains(assoc.FollowUpKinds, f.Kind) {
		errs["kind"] = p.L.T("followup.error.kind")
	}
	if d := strings.TrimSpace(form.Get("at")); d != "" {
		day, err := time.ParseInLocation(time.DateOnly, d, p.zone)
		if err != nil {
			errs["at"] = p.L.T("followup.error.date")
		} else {
			// A day names no hour: the follow-up is at noon of it, or now
			// when that is today.
			now := s.clock.Now()
			f.At = day.Add(12 * time.Hour)
			if y, m, dd := now.In(p.zone).Date(); day.Equal(time.Date(y, m, dd, 0, 0, 0, 0, p.zone)) {
				f.At = now
			}
		}
	}
	f.OpeningID, _ = strconv.ParseInt(form.Get("opening_id"), 10, 64)
	if len(errs) == 0 {
		err = s.store.AddFollowUp(ctx, acc, t.CommunityID, t.Key, id, &f)
		if done, err := s.afterStep(w, r, p, err, fmt.Sprintf("/ledgers/%s/%d?done=followup", t.Key, id), "followup.error.", errs); done || err != nil {
			return err
		}
	}
	return s.entryAgain(w, r, p, t, id, form, func(b *entryPageBody) {
		b.FollowUp.Errors, b.Error = errs, p.L.T("ledgerform.fix")
	})
}

// entryOfPath reads the ledger and the entry id of the request's path.
func (s *Server) entryOfPath(r *http.Request, p *pageData) (assoc.LedgerType, int64, error) {
	t, err := s.ledgerOf(r, p, access(r.Context(), auth.PermLedgerRead))
	if err != nil {
		return t, 0, err
	}
	id, err := idOf(r, "id")
	return t, id, err
}

// entryAgain shows the entry's page again after a form on it failed,
// with what went wrong (fill sets it).
func (s *Server) entryAgain(w http.ResponseWriter, r *http.Request, p *pageData, t assoc.LedgerType, id int64, form url.Values, fill func(*entryPageBody)) error {
	b, err := s.entryView(r, p, form)
	if err != nil {
		return err
	}
	fill(b)
	p.Body, p.Self = b, fmt.Sprintf("/ledgers/%s/%d", t.Key, id)
	s.render(w, r, p, "assoc/entry", http.StatusUnprocessableEntity)
	return nil
}

// consentSubmit records the resident's consent to a partner, or its
// withdrawal, which stops the sharing at once.
func (s *Server) consentSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx := r.Context()
	acc := access(ctx, auth.PermLedgerWrite)
	t, id, err := s.entryOfPath(r, p)
	if err != nil {
		return err
	}
	form := r.PostForm
	c := assoc.Consent{Given: form.Get("given") != "false", Method: form.Get("method"), RecordedBy: p.Actor.User.DisplayName}
	c.PartnerID, _ = strconv.ParseInt(form.Get("partner_id"), 10, 64)
	if err := s.store.RecordConsent(ctx, acc, t.CommunityID, t.Key, id, &c); err != nil {
		if shequ.ErrorCode(err) != shequ.EINVALID {
			return err
		}
		return s.entryAgain(w, r, p, t, id, nil, func(b *entryPageBody) { b.Error = p.L.T("ledgerform.error.consent") })
	}
	s.changed()
	http.Redirect(w, r, fmt.Sprintf("/ledgers/%s/%d?done=consent", t.Key, id), http.StatusSeeOther)
	return nil
}
