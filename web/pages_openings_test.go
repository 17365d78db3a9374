package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/sqlstore"
)

// TestOpeningPages: the HR partner posts an opening (a missing title is
// explained and nothing is saved), edits it, sees the seekers who fit
// with the shared fields and never a phone number, asks the association to
// get in touch (a "job offered" follow-up on the seeker's entry, which the
// association sees), and closes the opening. A resident may not post.
func TestOpeningPages(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	ctx := t.Context()
	list := e.pageAs("hr-partner", "/openings")
	if list.status != http.StatusOK || !strings.Contains(list.body, "物业保洁员") || !strings.Contains(list.body, `href="/openings/new"`) {
		t.Fatalf("the openings page: status %d", list.status)
	}
	if !strings.Contains(list.body, `href="/openings"`) {
		t.Errorf("the partner's menu has no openings")
	}
	form := e.pageAs("hr-partner", "/openings/new")
	if form.status != http.StatusOK {
		t.Fatalf("the new opening form: status %d %s", form.status, form.body)
	}
	csrf := csrfOf(t, form.body)
	post := func(path string, f url.Values) pageResponse {
		f.Set("csrf_token", csrf)
		return e.pageRequest(http.MethodPost, path, f, nil, e.cookies["hr-partner"])
	}
	before, err := e.store.ListOpenings(ctx, assoc.Everything, assoc.OpeningFilter{CommunityID: e.demo.CommunityID})
	if err != nil {
		t.Fatal(err)
	}
	if r := post("/openings/new", url.Values{"skills": {"收银"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请填写岗位名称") {
		t.Errorf("an opening without a title: status %d", r.status)
	}
	if after, _ := e.store.ListOpenings(ctx, assoc.Everything, assoc.OpeningFilter{CommunityID: e.demo.CommunityID}); after.Total != before.Total {
		t.Errorf("a refused opening was saved")
	}
	r := post("/openings/new", url.Values{"title": {"超市收银员"}, "skills": {"收银、电脑操作"}, "location": {"宝圣东路超市"}, "salary": {"3200元/月"}, "positions": {"2"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("posting: status %d %.500s", r.status, r.body)
	}
	loc := r.header.Get("Location")
	path := strings.TrimSuffix(loc, "?done=created")
	id, _ := strconv.ParseInt(strings.TrimPrefix(path, "/openings/"), 10, 64)
	page := e.pageAs("hr-partner", loc)
	if !strings.Contains(page.body, "岗位已发布。") || !strings.Contains(page.body, "宝圣东路超市") {
		t.Errorf("the new opening's page")
	}
	cands, err := e.store.OpeningCandidates(ctx, assoc.Everything, id, 20)
	if err != nil || len(cands) == 0 {
		t.Fatalf("no candidates for a cashier in the demo: %v", err)
	}
	entry := cands[0].Entry
	if !strings.Contains(page.body, fmt.Sprintf(`id="contact-%d"`, entry.ID)) {
		t.Fatalf("the candidate %d has no way to be contacted", entry.ID)
	}
	for _, c := range cands {
		person, err := e.store.Person(ctx, everyoneScope, c.Entry.PersonID)
		if err != nil {
			t.Fatal(err)
		}
		if person.Phone != "" && strings.Contains(page.body, person.Phone) {
			t.Errorf("the partner sees the phone number of %s", person.Name)
		}
		if strings.Contains(page.body, person.Name) && len([]rune(person.Name)) > 1 {
			t.Errorf("the partner sees the unmasked name of %s", person.Name)
		}
	}
	if r := post(path, url.Values{"title": {"超市收银员（早班）"}, "skills": {"收银"}, "positions": {"0"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "招聘人数应为1到10000") {
		t.Errorf("editing with no positions: status %d", r.status)
	}
	if r := post(path, url.Values{"title": {"超市收银员（早班）"}, "skills": {"收银"}, "positions": {"3"}, "closes_at": {"2027-01-31"}}); r.status != http.StatusSeeOther {
		t.Errorf("editing: status %d %.300s", r.status, r.body)
	}
	o, err := e.store.Opening(ctx, assoc.Everything, id)
	if err != nil || o.Title != "超市收银员（早班）" || o.Positions != 3 || o.ClosesAt.IsZero() {
		t.Errorf("the edited opening: %+v %v", o, err)
	}
	if r := post(path+"/contact", url.Values{"entry_id": {strconv.FormatInt(entry.ID, 10)}, "note": {"早班，周一面试"}}); r.status != http.StatusSeeOther {
		t.Fatalf("asking to get in touch: status %d %.300s", r.status, r.body)
	}
	fs, err := e.store.ListFollowUps(ctx, assoc.Everything, e.demo.CommunityID, assoc.JobSeekers, entry.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fs {
		found = found || (f.OpeningID == id && f.Kind == assoc.JobOffered && f.Note == "早班，周一面试")
	}
	if !found {
		t.Errorf("no job-offered follow-up for the association: %+v", fs)
	}
	if n := regexp.MustCompile(`id="opening-progress">推荐 1 人`).FindString(e.pageAs("hr-partner", path).body); n == "" {
		t.Errorf("the opening does not count the offer")
	}
	if r := post(path+"/status", url.Values{"status": {"closed"}}); r.status != http.StatusSeeOther {
		t.Errorf("closing: status %d", r.status)
	}
	if o, _ := e.store.Opening(ctx, assoc.Everything, id); o.Status != assoc.OpeningClosed {
		t.Errorf("the opening is %s after closing", o.Status)
	}
	if r := e.pageAs("resident01", "/openings/new"); r.status != http.StatusForbidden {
		t.Errorf("a resident posting an opening: status %d", r.status)
	}
}
