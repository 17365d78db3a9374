package web

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/transfer"
)

// The associations' pages: the workspace of a member (the ledgers, the
// entries of their association, an entry with its history and
// follow-ups, the phone-sized form that enters a resident, generated from
// the ledger's field definitions), the partner's view of the same pages
// (what its grants share: masked names, granted fields, its own
// follow-ups) and the statistics dashboard. The store decides who sees
// what (assoc.View); the pages only show it. One entry's pages are in
// pages_entry.go, the dashboard in pages_stats.go.

func (s *Server) registerAssocPages() {
	s.pageRoute("GET /ledgers", "/ledgers", auth.PermLedgerRead, s.ledgersPage)
	s.pageRoute("GET /ledgers/{type}", "/ledgers", auth.PermLedgerRead, s.entriesPage)
	s.downloadRoute("GET /ledgers/{type}/export", "/ledgers", auth.PermLedgerRead, s.entriesExport)
	s.pageRoute("GET /ledgers/{type}/new", "/ledgers", auth.PermLedgerWrite, s.entryFormPage)
	s.formRoute("POST /ledgers/{type}", "/ledgers", auth.PermLedgerWrite, 64<<10, s.entrySubmit)
	s.formRoute("POST /ledgers/{type}/check", "/ledgers", auth.PermLedgerWrite, 64<<10, s.entryFieldCheck)
	s.pageRoute("GET /ledgers/{type}/{id}", "/ledgers", auth.PermLedgerRead, s.entryPage)
	s.pageRoute("GET /ledgers/{type}/{id}/edit", "/ledgers", auth.PermLedgerWrite, s.entryEditPage)
	s.formRoute("POST /ledgers/{type}/{id}", "/ledgers", auth.PermLedgerWrite, 64<<10, s.entryEditSubmit)
	s.formRoute("POST /ledgers/{type}/{id}/followups", "/ledgers", auth.PermFollowUp, 16<<10, s.followUpSubmit)
	s.formRoute("POST /ledgers/{type}/{id}/consent", "/ledgers", auth.PermLedgerWrite, 16<<10, s.consentSubmit)
	s.formRoute("POST /intakes/{id}/{action}", "/ledgers", auth.PermIntakeHandle, 16<<10, s.intakeStep)
	s.registerMediationPages()
	s.registerCasePages()
	s.pageRoute("GET /stats", "/stats", auth.PermStatsRead, s.statsPage)
}

// --- words for ledger data ---

func ledgerName(l *locale, t assoc.LedgerType) string {
	if l.Tag == langEn && t.NameEn != "" {
		return t.NameEn
	}
	return t.Name
}

func fieldLabel(l *locale, f assoc.Field) string {
	if l.Tag == langEn && f.LabelEn != "" {
		return f.LabelEn
	}
	return f.Label
}

// choiceWord names a choice in the page's language. Choices are data an
// administrator adds; those without a translation show as stored.
func choiceWord(l *locale, value string) string { return l.Or("choice."+value, value) }

// valueText shows a stored value as the page's reader reads it.
func valueText(l *locale, f assoc.Field, v any) string {
	if v == nil {
		return ""
	}
	switch f.Type {
	case assoc.FieldBool:
		if b, ok := v.(bool); ok {
			return l.T("yesno." + strconv.FormatBool(b))
		}
	case assoc.FieldChoice:
		return choiceWord(l, assoc.Canonical(v))
	}
	return assoc.Canonical(v)
}

// problemText explains a field's problem in the page's language.
func problemText(l *locale, f assoc.Field, p assoc.Problem) string {
	switch p.Code {
	case assoc.ProblemTooLong, assoc.ProblemTooShort, assoc.ProblemTooSmall, assoc.ProblemTooBig:
		return l.T("ledgerform.problem."+p.Code, p.Limit)
	case assoc.ProblemChoice:
		words := make([]string, len(f.Choices))
		for i, c := range f.Choices {
			words[i] = choiceWord(l, c)
		}
		return l.T("ledgerform.problem.choice", strings.Join(words, l.T("list.sep")))
	}
	return l.Or("ledgerform.problem."+p.Code, l.T("ledgerform.problem.type"))
}

// ledgerHead is what every ledger page shows of the ledger.
type ledgerHead struct {
	Key, Name string
	Sensitive bool
}

func headOf(l *locale, t assoc.LedgerType) ledgerHead {
	return ledgerHead{Key: t.Key, Name: ledgerName(l, t), Sensitive: t.Sensitive}
}

// canAdd reports whether acc may enter residents in t: for the ledger's
// owner, or for one of acc's associations (the store picks which).
func canAdd(acc assoc.Access, t assoc.LedgerType) bool {
	if acc.CanWrite(t, t.AssociationID) {
		return true
	}
	return slices.ContainsFunc(acc.AssociationsIn(t.CommunityID), func(a int64) bool { return acc.CanWrite(t, a) })
}

// formMessages is what a page says once after a form (the "messages"
// part): what was done, what to fix, and a problem no field explains.
type formMessages struct {
	Done, Error, Other string
}

func (f *entryForm) Messages() formMessages { return formMessages{Error: f.Error, Other: f.Errors[""]} }
func (f *entryEditForm) Messages() formMessages {
	return formMessages{Error: f.Error, Other: f.Errors[""]}
}
func (b *entryPageBody) Messages() formMessages { return formMessages{Done: b.Done, Error: b.Error} }
func (f *caseForm) Messages() formMessages      { return formMessages{Error: f.Error, Other: f.Errors[""]} }
func (b *caseView) Messages() formMessages {
	return formMessages{Done: b.Done, Error: b.Error, Other: b.Errors[""]}
}
func (f *mediationForm) Messages() formMessages {
	return formMessages{Error: f.Error, Other: f.Errors[""]}
}
func (b *mediationBodyView) Messages() formMessages {
	return formMessages{Done: b.Done, Error: b.Error, Other: b.Forms.Errors[""]}
}

// doneWord says once, after a redirect, what a form did: the message
// prefix+done of the address's done=, if the catalogs have one.
func doneWord(r *http.Request, p *pageData, prefix string) string {
	if done := r.URL.Query().Get("done"); done != "" && p.L.Has(prefix+done) {
		return p.L.T(prefix + done)
	}
	return ""
}

// afterStep answers a form's step once the store has taken it: done, it
// redirects to next and reports true; a refusal the form can explain goes
// into errs in the page's language (prefix+field; prefix+"state" for a
// step the record's state no longer allows); anything else is returned
// for the error page.
func (s *Server) afterStep(w http.ResponseWriter, r *http.Request, p *pageData, err error, next, prefix string, errs map[string]string) (bool, error) {
	switch shequ.ErrorCode(err) {
	case "":
		s.changed()
		http.Redirect(w, r, next, http.StatusSeeOther)
		return true, nil
	case shequ.EINVALID:
		for field := range invalidFields(err) {
			errs[field] = p.L.Or(prefix+field, p.L.T("ledgerform.error.other"))
		}
	case shequ.ECONFLICT:
		errs[""] = p.L.Or(prefix+"state", p.L.T("ledgerform.error.other"))
	default:
		return false, err
	}
	return false, nil
}

// invalidFields returns the fields an EINVALID error names.
func invalidFields(err error) map[string]string {
	var se *shequ.Error
	if errors.As(err, &se) {
		return se.Fields
	}
	return nil
}

func (s *Server) ledgerOf(r *http.Request, p *pageData, acc assoc.Access) (assoc.LedgerType, error) {
	t, err := s.store.LedgerType(r.Context(), acc, p.communityID, r.PathValue("type"))
	if shequ.ErrorCode(err) == shequ.EFORBIDDEN {
		// A ledger one may not open is as absent as one that is not.
		return t, shequ.Errorf(shequ.ENOTFOUND, "no such ledger")
	}
	return t, err
}

// --- the workspace: the ledgers one works in ---

type ledgerCard struct {
	ledgerHead
	Entries, Mine int
	CanAdd        bool
	Shared        []grantView
}

// grantView is what a grant shares, as its partner reads it.
type grantView struct {
	Fields  string
	Purpose string
	Until   string
	Filter  string
}

type ledgersBody struct {
	Partner bool
	Ledgers []ledgerCard
	// Intakes are the problems residents brought to the actor's
	// associations that wait for an answer.
	Intakes      []intakeRow
	IntakesTotal int
	CanHandle    bool
	Done         string
	// Work links the association's other work: its mediations (and the
	// like), with how many are under way.
	Work []workLink
}

// workLink is a way from the workspace to a list of the association's
// work, with a count.
type workLink struct {
	ID, Href, Label string
}

type intakeRow struct {
	ID                   int64
	Description, Person  string
	Association, Channel string
	Status, StatusWord   string
	At                   string
	Note                 string
}

// workspaceIntakes is how many waiting problems the workspace lists.
const workspaceIntakes = 10

func (s *Server) ledgersPage(r *http.Request, p *pageData) (string, error) {
	ctx := r.Context()
	read, write := access(ctx, auth.PermLedgerRead), access(ctx, auth.PermLedgerWrite)
	ts, err := s.store.ListLedgerTypes(ctx, read, p.communityID)
	if err != nil {
		return "", err
	}
	b := ledgersBody{Partner: len(read.Admin) == 0 && len(read.Associations) == 0}
	for _, t := range ts.Items {
		c := ledgerCard{ledgerHead: headOf(p.L, t), CanAdd: canAdd(write, t)}
		for _, g := range t.Shared {
			c.Shared = append(c.Shared, grantViewOf(p, t, g))
		}
		if !b.Partner {
			// Counting a partner's entries would read (and audit) them:
			// the partner sees them on the ledger's page.
			all, err := s.store.ListEntries(ctx, read, assoc.EntryFilter{CommunityID: t.CommunityID, Ledger: t.Key, Page: shequ.Page{Limit: 1}})
			if err != nil {
				return "", err
			}
			c.Entries = all.Total
			for _, a := range read.AssociationsIn(t.CommunityID) {
				mine, err := s.store.ListEntries(ctx, read, assoc.EntryFilter{CommunityID: t.CommunityID, Ledger: t.Key, AssociationID: a, Page: shequ.Page{Limit: 1}})
				if err != nil {
					return "", err
				}
				c.Mine += mine.Total
			}
		}
		b.Ledgers = append(b.Ledgers, c)
	}
	if !b.Partner {
		if err := s.workspaceIntakes(r, p, &b); err != nil {
			return "", err
		}
		if err := s.workspaceWork(r, p, &b); err != nil {
			return "", err
		}
	}
	b.Done = doneWord(r, p, "intake.done.")
	p.Title = p.L.T("ledgers.title")
	if b.Partner {
		p.Title = p.L.T("shared.title")
	}
	p.Body = b
	return "assoc/ledgers", nil
}

// workspaceIntakes lists the open problems brought to the actor's
// associations (an administrator: all of the community's), oldest first
// in the page the store gives, with who brought them.
func (s *Server) workspaceIntakes(r *http.Request, p *pageData, b *ledgersBody) error {
	ctx := r.Context()
	acc := access(ctx, auth.PermIntakeHandle)
	if acc.Empty() {
		return nil
	}
	b.CanHandle = true
	l, err := s.store.ListIntakes(ctx, acc, assoc.IntakeFilter{CommunityID: p.communityID, Status: assoc.IntakeOpen, Page: shequ.Page{Limit: workspaceIntakes}})
	if err != nil {
		return err
	}
	b.IntakesTotal = l.Total
	names := map[int64]string{}
	if p.Actor.Can(auth.PermAssociationsRead) {
		as, err := s.store.ListAssociations(ctx, p.Actor.Scope(auth.PermAssociationsRead), community.Filter{CommunityID: p.communityID, Page: shequ.Page{Limit: shequ.MaxLimit}})
		if err != nil {
			return err
		}
		for _, a := range as.Items {
			names[a.ID] = a.Name
			if p.L.Tag == langEn && a.NameEn != "" {
				names[a.ID] = a.NameEn
			}
		}
	}
	people := p.Actor.Scope(auth.PermPeopleRead)
	for _, in := range l.Items {
		row := intakeRow{ID: in.ID, Description: in.Description, Association: names[in.AssociationID], Channel: p.L.Or("intake.channel."+in.Channel, in.Channel),
			Status: in.Status, StatusWord: p.L.Or("intake.status."+in.Status, in.Status), At: p.Date(in.CreatedAt), Note: in.Note}
		if in.PersonID != 0 && len(people) > 0 {
			person, err := s.store.Person(ctx, people, in.PersonID)
			switch {
			case err == nil:
				row.Person = person.Mask().Name
			case shequ.ErrorCode(err) != shequ.ENOTFOUND:
				return err
			}
		}
		b.Intakes = append(b.Intakes, row)
	}
	return nil
}

// workspaceWork links the association's services, saying how many are
// open, and its mediations, when it has any, saying how many are under
// way.
func (s *Server) workspaceWork(r *http.Request, p *pageData, b *ledgersBody) error {
	ctx := r.Context()
	acc := access(ctx, auth.PermCaseRead)
	if acc.Empty() {
		return nil
	}
	one := shequ.Page{Limit: 1}
	open, err := s.store.ListCases(ctx, acc, assoc.CaseFilter{CommunityID: p.communityID, Kind: assoc.KindIndividual, Status: assoc.CaseOpen, Page: one})
	if err != nil {
		return err
	}
	b.Work = append(b.Work, workLink{ID: "work-cases", Href: "/cases", Label: p.L.T("ledgers.work.cases", p.L.Num(open.Total))})
	all, err := s.store.ListMediations(ctx, acc, assoc.MediationFilter{CommunityID: p.communityID, Page: one})
	if err != nil || all.Total == 0 {
		return err
	}
	going := 0
	for _, st := range []string{assoc.MediationOpen, assoc.MediationInSession} {
		l, err := s.store.ListMediations(ctx, acc, assoc.MediationFilter{CommunityID: p.communityID, Status: st, Page: one})
		if err != nil {
			return err
		}
		going += l.Total
	}
	b.Work = append(b.Work, workLink{ID: "work-mediations", Href: "/mediations", Label: p.L.T("ledgers.work.mediations", p.L.Num(all.Total), p.L.Num(going))})
	return nil
}

// intakeStep takes up, refers or closes a problem brought to one's
// association, and goes back to the workspace.
func (s *Server) intakeStep(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := idOf(r, "id")
	if err != nil {
		return err
	}
	status := map[string]string{"accept": assoc.IntakeAccepted, "refer": assoc.IntakeReferred, "close": assoc.IntakeClosed}[r.PathValue("action")]
	if status == "" {
		return shequ.Errorf(shequ.ENOTFOUND, "no such step")
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	if _, err := s.store.MoveIntake(r.Context(), access(r.Context(), auth.PermIntakeHandle), id, status, note); err != nil {
		return err
	}
	s.changed()
	http.Redirect(w, r, "/ledgers?done="+status, http.StatusSeeOther)
	return nil
}

func grantViewOf(p *pageData, t assoc.LedgerType, g assoc.LedgerGrant) grantView {
	var labels, filter []string
	for _, k := range g.Fields {
		if f, ok := t.Field(k); ok {
			labels = append(labels, fieldLabel(p.L, f))
		}
	}
	keys := make([]string, 0, len(g.Filter))
	for k := range g.Filter {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if f, ok := t.Field(k); ok {
			filter = append(filter, fieldLabel(p.L, f)+": "+valueText(p.L, f, g.Filter[k]))
		}
	}
	return grantView{Fields: strings.Join(labels, p.L.T("list.sep")), Purpose: g.Purpose, Until: p.Date(g.ExpiresAt), Filter: strings.Join(filter, p.L.T("list.sep"))}
}

// --- a ledger's entries ---

// choiceFilter filters a list on one choice (or yes/no) field.
type choiceFilter struct {
	Key, Label string
	Options    []option
}

type entryRow struct {
	ID         int64
	Name       string
	Cells      []string
	Status     string
	StatusWord string
	Updated    string
}

// Number is the entry's number as written, without digit grouping.
func (r entryRow) Number() string { return strconv.FormatInt(r.ID, 10) }

type entriesBody struct {
	Ledger     ledgerHead
	Partner    bool
	Q, Status  string
	Mine       bool
	CanMine    bool
	Filters    []choiceFilter
	Columns    []string
	Rows       []entryRow
	Pager      pager
	CanAdd     bool
	Error      string
	FilterKeys []string
	// The list's downloads, with its filters.
	ExportCSV, ExportXLSX string
}

// listColumns is how many of a ledger's fields its table shows: the
// entry's page has the rest.
const listColumns = 4

// entryList reads the request's ledger and the filters of its list: the
// page and its export show the same entries.
func (s *Server) entryList(r *http.Request, p *pageData) (assoc.LedgerType, *entriesBody, assoc.EntryFilter, error) {
	ctx, q := r.Context(), r.URL.Query()
	read := access(ctx, auth.PermLedgerRead)
	t, err := s.ledgerOf(r, p, read)
	if err != nil {
		return t, nil, assoc.EntryFilter{}, err
	}
	c := t.CommunityID
	mine := read.AssociationsIn(c)
	b := &entriesBody{Ledger: headOf(p.L, t), Partner: len(t.Shared) > 0 && !read.IsAdmin(c) && !read.MemberIn(c),
		Q: strings.TrimSpace(q.Get("q")), Status: q.Get("status"), Mine: q.Get("mine") == "1", CanMine: len(mine) > 0,
		CanAdd: canAdd(access(ctx, auth.PermLedgerWrite), t)}
	if b.Status != assoc.EntryActive && b.Status != assoc.EntryClosed {
		b.Status = ""
	}
	f := assoc.EntryFilter{CommunityID: c, Ledger: t.Key, Status: b.Status}
	if !b.Partner {
		f.Query = b.Q
	}
	if b.Mine && len(mine) == 1 {
		f.AssociationID = mine[0]
	}
	b.FilterKeys = []string{"q", "status", "mine"}
	for _, fd := range t.Fields {
		if fd.Type != assoc.FieldChoice && fd.Type != assoc.FieldBool {
			continue
		}
		name := "f." + fd.Key
		b.FilterKeys = append(b.FilterKeys, name)
		cf := choiceFilter{Key: name, Label: fieldLabel(p.L, fd)}
		choices := fd.Choices
		if fd.Type == assoc.FieldBool {
			choices = []string{"true", "false"}
		}
		want := q.Get(name)
		for _, ch := range choices {
			word := choiceWord(p.L, ch)
			if fd.Type == assoc.FieldBool {
				word = p.L.T("yesno." + ch)
			}
			cf.Options = append(cf.Options, option{Value: ch, Label: word, Checked: ch == want})
			if ch == want {
				if f.Where == nil {
					f.Where = map[string]string{}
				}
				f.Where[fd.Key] = want
			}
		}
		b.Filters = append(b.Filters, cf)
	}
	kept := url.Values{}
	for _, k := range b.FilterKeys {
		if v := q.Get(k); v != "" {
			kept.Set(k, v)
		}
	}
	for _, format := range []transfer.Format{transfer.CSV, transfer.XLSX} {
		kept.Set("format", string(format))
		link := "/ledgers/" + t.Key + "/export?" + kept.Encode()
		if format == transfer.CSV {
			b.ExportCSV = link
		} else {
			b.ExportXLSX = link
		}
	}
	return t, b, f, nil
}

func (s *Server) entriesPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	t, b, f, err := s.entryList(r, p)
	if err != nil {
		return "", err
	}
	shown := t.Fields[:min(listColumns, len(t.Fields))]
	for _, fd := range shown {
		b.Columns = append(b.Columns, fieldLabel(p.L, fd))
	}
	read := access(ctx, auth.PermLedgerRead)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[assoc.LedgerEntry], error) {
		f.Page = pg
		return s.store.ListEntries(ctx, read, f)
	})
	if err != nil {
		return "", err
	}
	for _, e := range l.Items {
		row := entryRow{ID: e.ID, Name: e.PersonName, Status: e.Status, StatusWord: p.L.Or("entry.status."+e.Status, e.Status), Updated: p.Date(e.UpdatedAt)}
		for _, fd := range shown {
			row.Cells = append(row.Cells, valueText(p.L, fd, e.Values[fd.Key]))
		}
		b.Rows = append(b.Rows, row)
	}
	b.Pager = newPager("/ledgers/"+t.Key, q, b.FilterKeys, n, l.Total)
	p.Title = b.Ledger.Name
	p.Body = b
	return "assoc/entries", nil
}

// maxExport is the most entries one export holds.
const maxExport = 50000

// entriesExport writes the entries the list shows, with every field one
// may see, as CSV or XLSX. A partner's export is a read like any other:
// masked names, granted fields, each entry audited.
func (s *Server) entriesExport(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx := r.Context()
	format := transfer.Format(r.URL.Query().Get("format"))
	if format != transfer.XLSX {
		format = transfer.CSV
	}
	t, b, f, err := s.entryList(r, p)
	if err != nil {
		return err
	}
	// The columns are keyed by the ledger's field keys; their headers are
	// in the page's language, which Table writes where it writes Chinese.
	// A partner's entries carry no status or dates: its file names them by
	// their numbers instead.
	table := transfer.Table{Sheet: t.Key, Lang: transfer.Chinese}
	column := func(key, header string, numeric bool) {
		table.Columns = append(table.Columns, transfer.Column{Key: key, Zh: header, Numeric: numeric})
	}
	column("name", p.L.T("entries.name"), false)
	if b.Partner {
		column("id", p.L.T("entries.id"), true)
	}
	for _, fd := range t.Fields {
		column("v."+fd.Key, fieldLabel(p.L, fd), fd.Type == assoc.FieldNumber)
	}
	if !b.Partner {
		column("status", p.L.T("entries.status"), false)
		column("updated", p.L.T("entries.updated"), false)
	}
	read := access(ctx, auth.PermLedgerRead)
	for f.Offset = 0; f.Offset < maxExport; f.Offset += shequ.MaxLimit {
		f.Limit = shequ.MaxLimit
		l, err := s.store.ListEntries(ctx, read, f)
		if err != nil {
			return err
		}
		for _, e := range l.Items {
			row := map[string]string{"name": e.PersonName, "id": strconv.FormatInt(e.ID, 10),
				"status": p.L.Or("entry.status."+e.Status, e.Status), "updated": p.Date(e.UpdatedAt)}
			for _, fd := range t.Fields {
				row["v."+fd.Key] = valueText(p.L, fd, e.Values[fd.Key])
			}
			table.Rows = append(table.Rows, transfer.Row{Values: row})
		}
		if f.Offset+len(l.Items) >= l.Total || len(l.Items) == 0 {
			break
		}
	}
	var buf bytes.Buffer
	if err := transfer.WriteTable(&buf, format, table); err != nil {
		return err
	}
	name := fmt.Sprintf("%s-%s.%s", t.Key, s.clock.Now().In(p.zone).Format("20060102"), format)
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	_, err = w.Write(buf.Bytes())
	return err
}
