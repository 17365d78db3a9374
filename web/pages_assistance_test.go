package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/sqlstore"
)

// TestAssistancePages: the director finds the relief policy with who is
// uncovered and the man on a 1,130 yuan pension among the granted; the
// assistance association files an application for an eligible resident,
// cannot refuse it without a reason, grants it, and the resident leaves
// the uncovered list. A resident may not open the pages.
func TestAssistancePages(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	ctx := t.Context()
	ps, err := e.store.ListAssistancePolicies(ctx, assoc.Everything, assoc.AssistancePolicyFilter{CommunityID: e.demo.CommunityID})
	if err != nil {
		t.Fatal(err)
	}
	var policy assoc.AssistancePolicy
	for _, x := range ps.Items {
		if x.Name == demo.ReliefPolicyName {
			policy = x
		}
	}
	if policy.ID == 0 {
		t.Fatal("no relief policy in the demo")
	}
	granted, err := e.store.ListApplications(ctx, assoc.Everything, assoc.ApplicationFilter{PolicyID: policy.ID, Status: assoc.ApplicationGranted})
	if err != nil || len(granted.Items) == 0 {
		t.Fatalf("no granted application in the demo: %v", err)
	}
	man := granted.Items[0].PersonName

	list := e.pageAs("director", "/assistance")
	if list.status != http.StatusOK || !strings.Contains(list.body, demo.ReliefPolicyName) || !strings.Contains(list.body, `href="/assistance"`) {
		t.Fatalf("the assistance page: status %d", list.status)
	}
	if !strings.Contains(list.body, "养老金（元/月） 低于 1500") {
		t.Errorf("the policy's rules are not in words: %s", list.body[strings.Index(list.body, "<main"):])
	}
	if g := e.pageAs("director", "/assistance?status=granted"); !strings.Contains(g.body, man) || !strings.Contains(g.body, "已批准") {
		t.Errorf("the granted man %s is not on the granted list", man)
	}

	path := fmt.Sprintf("/assistance/%d", policy.ID)
	page := e.pageAs("assoc-bangfu", path)
	if page.status != http.StatusOK || !strings.Contains(page.body, `id="eligible-list"`) || !strings.Contains(page.body, man) {
		t.Fatalf("the policy page: status %d", page.status)
	}
	el, err := e.store.Eligible(ctx, assoc.Everything, policy.ID, e.clock.Now(), shequ.Page{Limit: 1})
	if err != nil || len(el.Items) == 0 {
		t.Fatalf("nobody eligible and uncovered in the demo: %v", err)
	}
	who := el.Items[0]
	if !strings.Contains(page.body, who.Name) || !strings.Contains(page.body, fmt.Sprintf(`id="apply-%d"`, who.PersonID)) {
		t.Fatalf("%s is not on the eligible list with an apply button", who.Name)
	}
	csrf := csrfOf(t, page.body)
	post := func(p string, f url.Values) pageResponse {
		f.Set("csrf_token", csrf)
		return e.pageRequest(http.MethodPost, p, f, nil, e.cookies["assoc-bangfu"])
	}
	if r := post(path+"/applications", url.Values{"person_id": {strconv.FormatInt(who.PersonID, 10)}}); r.status != http.StatusSeeOther {
		t.Fatalf("filing: status %d %.500s", r.status, r.body)
	}
	pending, err := e.store.ListApplications(ctx, assoc.Everything, assoc.ApplicationFilter{PolicyID: policy.ID, PersonID: who.PersonID, Status: assoc.ApplicationPending})
	if err != nil || len(pending.Items) != 1 {
		t.Fatalf("the filed application: %v %d", err, len(pending.Items))
	}
	app := pending.Items[0].ID
	after := e.pageAs("assoc-bangfu", path+"?done=filed")
	if !strings.Contains(after.body, "申请已提交。") || !strings.Contains(after.body, fmt.Sprintf(`id="decide-%d"`, app)) {
		t.Errorf("the page after filing has no outcome form")
	}
	outcome := fmt.Sprintf("/assistance/applications/%d/outcome", app)
	if r := post(outcome, url.Values{"status": {"refused"}, "back": {path}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "不批准时请写明原因。") {
		t.Errorf("refusing without a reason: status %d", r.status)
	}
	if r := post(outcome, url.Values{"status": {"granted"}, "back": {path}}); r.status != http.StatusSeeOther {
		t.Fatalf("granting: status %d %.300s", r.status, r.body)
	}
	if r := post(outcome, url.Values{"status": {"granted"}, "back": {path}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "这一步现在不能做") {
		t.Errorf("granting twice: status %d", r.status)
	}
	if final := e.pageAs("assoc-bangfu", path); strings.Contains(final.body, fmt.Sprintf(`id="apply-%d"`, who.PersonID)) {
		t.Errorf("the granted resident is still listed as uncovered")
	}
	if r := e.pageAs("resident01", "/assistance"); r.status != http.StatusForbidden {
		t.Errorf("a resident on /assistance: status %d", r.status)
	}
	if r := e.pageAs("resident01", "/"); strings.Contains(r.body, `href="/assistance"`) {
		t.Errorf("a resident's menu has the assistance page")
	}
}
