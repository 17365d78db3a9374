package web

import (
	"context"
	"net/http"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/jobs"
)

// jobsStore is what the jobs page and API need: the background jobs that
// are stuck or failed, a retry, and who leads each periodic chore.
type jobsStore interface {
	ListJobs(ctx context.Context, scope auth.Scope, f jobs.Filter) (shequ.List[jobs.Info], error)
	RetryJobNow(ctx context.Context, scope auth.Scope, id int64) (jobs.Info, error)
	Leases(ctx context.Context) ([]jobs.Lease, error)
}

type jobsFilter struct {
	PageParams
	State string `query:"state" enum:"stuck,failed" doc:"stuck (lease run out, retried often, or overdue) or failed; both when empty"`
	Kind  string `query:"kind" doc:"e.g. sms, notice, escalate"`
}

func (s *Server) registerJobsAPI() {
	handle(s, get("/api/v1/jobs", auth.PermJobsManage), "list-jobs", "List stuck and failed background jobs, newest first", "admin",
		func(ctx context.Context, in *jobsFilter) (*listBody[jobs.Info], error) {
			return list(s.store.ListJobs(ctx, scope(ctx, auth.PermJobsManage), jobs.Filter{State: in.State, Kind: in.Kind, Page: in.page()}))
		})
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/jobs/{id}/retry", Permission: auth.PermJobsManage, OK: true}, "retry-job", "Queue a stuck or failed job again, due now (audited)", "admin",
		func(ctx context.Context, in *IDParam) (*itemBody[jobs.Info], error) {
			return item(s.store.RetryJobNow(ctx, scope(ctx, auth.PermJobsManage), in.ID))
		})
}
