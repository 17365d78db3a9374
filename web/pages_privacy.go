package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/privacy"
)

// The personal-data pages (PIPL): a resident's "my data" — everything held
// about them and their household, downloads in JSON and XLSX, consents to
// withdraw, a request for erasure and the outcomes — the same page for an
// office worker acting on a resident's behalf (audited by the store), and
// the administrator's review of erasure requests.

func (s *Server) registerPrivacyPages() {
	s.pageRoute("GET /my/data", "/my/data", auth.PermPrivacyOwn, s.myDataPage)
	s.downloadRoute("GET /my/data/export/{format}", "/my/data", auth.PermPrivacyOwn, s.myDataExport)
	s.formRoute("POST /my/data/{action}", "/my/data", auth.PermPrivacyOwn, 16<<10, s.myDataAction)
	s.pageRoute("GET /people/{id}/data", "/people", auth.PermPrivacyAssist, s.personDataPage)
	s.downloadRoute("GET /people/{id}/data/export/{format}", "/people", auth.PermPrivacyAssist, s.personDataExport)
	s.formRoute("POST /people/{id}/data/{action}", "/people", auth.PermPrivacyAssist, 16<<10, s.personDataAction)
	s.pageRoute("GET /privacy/requests", "/privacy/requests", auth.PermPrivacyReview, s.privacyRequestsPage)
	s.formRoute("POST /privacy/requests/{id}/decide", "/privacy/requests", auth.PermPrivacyReview, 16<<10, s.privacyDecide)
}

type sectionView struct {
	Table   string
	Columns []string
	Rows    [][]string
}

type consentView struct {
	EntryID, PartnerID int64
	Partner            string
	Given              bool
	At                 string
}

type privacyBody struct {
	Base     string
	OnBehalf bool
	Export   privacy.Export
	Sections []sectionView
	Consents []consentView
	Requests []privacy.Request
	Pending  bool
	Done     string
}

func (s *Server) privacyBody(r *http.Request, person int64, base string, onBehalf bool) (privacyBody, error) {
	ctx := r.Context()
	b := privacyBody{Base: base, OnBehalf: onBehalf, Done: r.URL.Query().Get("done")}
	var err error
	if b.Export, err = s.store.PersonalData(ctx, person); err != nil {
		return b, err
	}
	for _, sec := range b.Export.Sections {
		v := sectionView{Table: sec.Table, Columns: sec.Columns()}
		for _, row := range sec.Rows {
			cells := make([]string, len(v.Columns))
			for i, c := range v.Columns {
				cells[i] = privacy.Cell(row[c])
			}
			v.Rows = append(v.Rows, cells)
		}
		b.Sections = append(b.Sections, v)
		if sec.Table == "ledger_consents" {
			for _, row := range sec.Rows {
				c := consentView{Partner: privacy.Cell(row["partner_name"]), At: privacy.Cell(row["at"])}
				c.EntryID, _ = strconv.ParseInt(privacy.Cell(row["entry_id"]), 10, 64)
				c.PartnerID, _ = strconv.ParseInt(privacy.Cell(row["partner_id"]), 10, 64)
				c.Given = isTrue(row["given"])
				b.Consents = append(b.Consents, c)
			}
		}
	}
	if b.Requests, err = s.store.PrivacyRequests(ctx, person); err != nil {
		return b, err
	}
	for _, q := range b.Requests {
		if q.Kind == privacy.KindErase && q.Status == privacy.StatusPending {
			b.Pending = true
		}
	}
	return b, nil
}

// isTrue reads a boolean column as either dialect returns it.
func isTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	case string:
		return x == "1" || x == "true"
	}
	return false
}

func myPerson(p *pageData) (int64, error) {
	if p.Actor.User.PersonID == 0 {
		return 0, shequ.Errorf(shequ.ENOTFOUND, "your account is not linked to a resident's record; ask the community office")
	}
	return p.Actor.User.PersonID, nil
}

func (s *Server) myDataPage(r *http.Request, p *pageData) (string, error) {
	person, err := myPerson(p)
	if err != nil {
		return "", err
	}
	p.Title = p.L.T("privacy.title")
	b, err := s.privacyBody(r, person, "/my/data", false)
	if err != nil {
		return "", err
	}
	p.Body = b
	return "resident/mydata", nil
}

func (s *Server) personDataPage(r *http.Request, p *pageData) (string, error) {
	id, err := idOf(r, "id")
	if err != nil {
		return "", err
	}
	p.Title = p.L.T("privacy.title.staff")
	b, err := s.privacyBody(r, id, fmt.Sprintf("/people/%d/data", id), true)
	if err != nil {
		return "", err
	}
	p.Body = b
	return "staff/privacy", nil
}

func (s *Server) myDataExport(w http.ResponseWriter, r *http.Request, p *pageData) error {
	person, err := myPerson(p)
	if err != nil {
		return err
	}
	return s.writeExport(w, r, person)
}

func (s *Server) personDataExport(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := idOf(r, "id")
	if err != nil {
		return err
	}
	return s.writeExport(w, r, id)
}

func (s *Server) writeExport(w http.ResponseWriter, r *http.Request, person int64) error {
	format := r.PathValue("format")
	if format != "json" && format != "xlsx" {
		return shequ.Errorf(shequ.ENOTFOUND, "no export as %q", format)
	}
	e, err := s.store.PersonalData(r.Context(), person)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("shequ-personal-data-%d-%s.%s", person, e.GeneratedAt.Format("20060102"), format)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	if format == "json" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		return privacy.WriteJSON(w, e)
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	return privacy.WriteXLSX(w, e)
}

func (s *Server) myDataAction(w http.ResponseWriter, r *http.Request, p *pageData) error {
	person, err := myPerson(p)
	if err != nil {
		return err
	}
	return s.dataAction(w, r, person, "/my/data")
}

func (s *Server) personDataAction(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := idOf(r, "id")
	if err != nil {
		return err
	}
	return s.dataAction(w, r, id, fmt.Sprintf("/people/%d/data", id))
}

func (s *Server) dataAction(w http.ResponseWriter, r *http.Request, person int64, base string) error {
	ctx := r.Context()
	switch r.PathValue("action") {
	case "withdraw":
		entry, _ := strconv.ParseInt(r.PostFormValue("entry_id"), 10, 64)
		partner, _ := strconv.ParseInt(r.PostFormValue("partner_id"), 10, 64)
		if err := s.store.WithdrawConsent(ctx, person, entry, partner); err != nil {
			return err
		}
		http.Redirect(w, r, base+"?done=withdrawn#consents", http.StatusSeeOther)
	case "phone":
		if err := s.store.CorrectPhone(ctx, person, r.PostFormValue("phone")); err != nil {
			return err
		}
		http.Redirect(w, r, base+"?done=corrected#correct", http.StatusSeeOther)
	case "erase":
		if _, err := s.store.RequestErasure(ctx, person, strings.TrimSpace(r.PostFormValue("reason"))); err != nil {
			return err
		}
		http.Redirect(w, r, base+"?done=requested#erase", http.StatusSeeOther)
	default:
		return shequ.Errorf(shequ.ENOTFOUND, "no such action")
	}
	return nil
}

type privacyRequestsBody struct {
	Rows []privacy.Request
}

func (s *Server) privacyRequestsPage(r *http.Request, p *pageData) (string, error) {
	p.Title = p.L.T("privacy.review.title")
	rows, err := s.store.PendingErasures(r.Context(), p.Actor.Scope(auth.PermPrivacyReview))
	if err != nil {
		return "", err
	}
	p.Body = privacyRequestsBody{Rows: rows}
	return "staff/privacy_requests", nil
}

func (s *Server) privacyDecide(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := idOf(r, "id")
	if err != nil {
		return err
	}
	approve := r.PostFormValue("decision") == "approve"
	if _, err := s.store.DecideErasure(r.Context(), p.Actor.Scope(auth.PermPrivacyReview), id, approve, strings.TrimSpace(r.PostFormValue("note"))); err != nil {
		return err
	}
	http.Redirect(w, r, "/privacy/requests", http.StatusSeeOther)
	return nil
}
