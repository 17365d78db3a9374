package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

func TestJobsPageAndAPI(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			e := newTestEnv(t, dialect)
			ctx := t.Context()
			all := auth.Scope{{}}
			// The outbox serves every community: a deployment-wide admin.
			if err := e.store.CreateUser(ctx, all, &auth.User{Username: "root", Grants: []auth.Grant{{Role: auth.RoleAdmin}}}, demoPassword); err != nil {
				t.Fatal(err)
			}
			// The demo's own jobs, done, so that only these are left.
			old, err := e.store.ClaimJobs(ctx, 10000, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range old {
				if err := e.store.CompleteJob(ctx, j, nil); err != nil {
					t.Fatal(err)
				}
			}
			sms := func(k string) jobs.New {
				return jobs.New{Key: k, Payload: jobs.SMS{Key: k, To: "19900000001", Body: "x"}}
			}
			if err := e.store.Enqueue(ctx, sms("t:failed"), sms("t:stuck"), sms("t:fine")); err != nil {
				t.Fatal(err)
			}
			claimed, err := e.store.ClaimJobs(ctx, 3, time.Minute)
			if err != nil || len(claimed) != 3 {
				t.Fatalf("claim: %v %d", err, len(claimed))
			}
			ids, held := map[string]int64{}, map[string]jobs.Job{}
			for _, j := range claimed {
				ids[j.Key], held[j.Key] = j.ID, j
			}
			if err := e.store.RetryJob(ctx, held["t:failed"], "permanent: smpp: not a phone number", e.clock.Now(), true); err != nil {
				t.Fatal(err)
			}
			if err := e.store.CompleteJob(ctx, held["t:fine"], nil); err != nil {
				t.Fatal(err)
			}
			// t:stuck's worker died: its lease runs out.
			e.clock.Advance(2 * time.Minute)

			tests := []struct {
				user, query string
				status      int
				keys        []string
			}{
				{"root", "", http.StatusOK, []string{"t:stuck", "t:failed"}},
				{"root", "?state=failed", http.StatusOK, []string{"t:failed"}},
				{"root", "?state=stuck", http.StatusOK, []string{"t:stuck"}},
				{"root", "?state=done", http.StatusUnprocessableEntity, nil},
				{"director", "", http.StatusForbidden, nil}, // an admin of one community
				{"operator", "", http.StatusForbidden, nil},
			}
			for _, tt := range tests {
				var out shequ.List[jobs.Info]
				status := e.do(tt.user, http.MethodGet, "/api/v1/jobs"+tt.query, nil, &out)
				if status != tt.status {
					t.Errorf("%s %s: status %d, want %d", tt.user, tt.query, status, tt.status)
					continue
				}
				var keys []string
				for _, j := range out.Items {
					keys = append(keys, j.Key)
				}
				if fmt.Sprint(keys) != fmt.Sprint(tt.keys) || (status == http.StatusOK && out.Total != len(tt.keys)) {
					t.Errorf("%s %s: %v (total %d), want %v", tt.user, tt.query, keys, out.Total, tt.keys)
				}
			}

			// A retry over the API, audited; a done job is not retried.
			var retried struct{ jobs.Info }
			if status := e.do("root", http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/retry", ids["t:failed"]), nil, &retried); status != http.StatusOK || retried.Status != "pending" || retried.Attempts != 0 {
				t.Errorf("retry: %d %+v", status, retried)
			}
			if status, code := e.problemCode("root", http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/retry", ids["t:fine"]), nil); status != http.StatusConflict || code != shequ.ECONFLICT {
				t.Errorf("retry a done job: %d %s", status, code)
			}
			if status, _ := e.problemCode("director", http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/retry", ids["t:stuck"]), nil); status != http.StatusForbidden {
				t.Errorf("a community admin retried: %d", status)
			}
			entries, err := e.store.ListAudit(ctx, all, audit.Filter{Action: "job.retry"})
			if err != nil || entries.Total != 1 || entries.Items[0].Username != "root" || entries.Items[0].EntityID != ids["t:failed"] {
				t.Errorf("audit %+v %v", entries, err)
			}
			claimed, err = e.store.ClaimJobs(ctx, 5, time.Minute)
			if err != nil || len(claimed) != 2 {
				t.Errorf("after the retry, %d jobs due (%v), want the retried and the stuck one", len(claimed), err)
			}
			e.clock.Advance(2 * time.Minute)

			// The page lists them and retries with the session's token.
			r := e.pageAs("root", "/jobs")
			if r.status != http.StatusOK || !strings.Contains(r.body, "t:stuck") || strings.Contains(r.body, "t:fine") {
				t.Fatalf("jobs page: %d\n%s", r.status, r.body)
			}
			if r := e.pageAs("operator", "/jobs"); r.status != http.StatusForbidden {
				t.Errorf("operator sees the jobs page: %d", r.status)
			}
			form := url.Values{"csrf_token": {csrfOf(t, r.body)}}
			resp := e.pageRequest(http.MethodPost, fmt.Sprintf("/jobs/%d/retry", ids["t:stuck"]), form, http.Header{"Origin": {e.http.URL}}, e.cookies["root"])
			if resp.status != http.StatusSeeOther {
				t.Errorf("retry from the page: %d %s", resp.status, resp.body)
			}
			if entries, _ := e.store.ListAudit(ctx, all, audit.Filter{Action: "job.retry"}); entries.Total != 2 {
				t.Errorf("%d retries audited, want 2", entries.Total)
			}
		})
	}
}
