package web

import (
	"net/http"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/jobs"
)

// The jobs page: the background jobs an operator of the deployment should
// look at (stuck or failed), with a retry for each, and which node leads
// each periodic chore.

func (s *Server) registerJobsPages() {
	s.pageRoute("GET /jobs", "/jobs", auth.PermJobsManage, s.jobsPage)
	s.formRoute("POST /jobs/{id}/retry", "/jobs", auth.PermJobsManage, 4<<10, s.jobRetry)
}

type jobsBody struct {
	State, Kind string
	States      []string
	Rows        []jobs.Info
	Leases      []jobs.Lease
	Pager       pager
}

func (s *Server) jobsPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("jobs.title")
	b := jobsBody{State: q.Get("state"), Kind: strings.TrimSpace(q.Get("kind")), States: []string{"", jobs.Stuck, jobs.Failed}}
	sc := p.Actor.Scope(auth.PermJobsManage)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[jobs.Info], error) {
		return s.store.ListJobs(ctx, sc, jobs.Filter{State: b.State, Kind: b.Kind, Page: pg})
	})
	if err != nil {
		return "", err
	}
	if b.Leases, err = s.store.Leases(ctx); err != nil {
		return "", err
	}
	b.Rows = l.Items
	b.Pager = newPager("/jobs", q, []string{"state", "kind"}, n, l.Total)
	p.Body = b
	return "staff/jobs", nil
}

func (s *Server) jobRetry(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := idOf(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.store.RetryJobNow(r.Context(), p.Actor.Scope(auth.PermJobsManage), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/jobs", http.StatusSeeOther)
	return nil
}
