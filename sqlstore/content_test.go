package sqlstore_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// contentTree is a community of two grids with a resident household in
// each, and the scopes of the people who read and write its notices.
type contentTree struct {
	tree
	admin, worker1, worker2, resident1, resident2 auth.Scope
}

func makeContentTree(t *testing.T, st *sqlstore.Store, code string) contentTree {
	return contentTreeOf(makeTree(t, st, code))
}

func contentTreeOf(tr tree) contentTree {
	c := tr.community.ID
	return contentTree{tree: tr,
		admin:     auth.Scope{{CommunityID: c}},
		worker1:   auth.Scope{{CommunityID: c, GridID: tr.grid1.ID}},
		worker2:   auth.Scope{{CommunityID: c, GridID: tr.grid2.ID}},
		resident1: auth.Scope{{CommunityID: c, HouseholdID: tr.household1.ID}},
		resident2: auth.Scope{{CommunityID: c, HouseholdID: tr.household2.ID}},
	}
}

func (ct contentTree) notice(t *testing.T, st *sqlstore.Store, title string, a content.Audience, mod func(*content.Notice)) content.Notice {
	t.Helper()
	n := content.Notice{CommunityID: ct.community.ID, Title: title, Body: title + " 的内容", Audience: a}
	if mod != nil {
		mod(&n)
	}
	mustOK(t, st.CreateNotice(t.Context(), ct.admin, &n))
	return n
}

func feedTitles(t *testing.T, st *sqlstore.Store, read, write auth.Scope, status string) []string {
	t.Helper()
	l, err := st.ListNotices(t.Context(), read, write, content.NoticeFilter{Status: status})
	mustOK(t, err)
	var out []string
	for _, n := range l.Items {
		out = append(out, n.Title)
	}
	if l.Total != len(out) {
		t.Errorf("total %d, %d items", l.Total, len(out))
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestNoticeAudience(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		ct := makeContentTree(t, st, "na")
		other := makeContentTree(t, st, "nb")
		ct.notice(t, st, "全体居民", content.Community(), nil)
		ct.notice(t, st, "第1网格", content.Grids(ct.grid1.ID), nil)
		g2 := ct.notice(t, st, "第2网格", content.Grids(ct.grid2.ID), nil)
		ct.notice(t, st, "A栋", content.Buildings(ct.building1.ID), nil)
		ct.notice(t, st, "B栋", content.Buildings(ct.building2.ID), nil)
		other.notice(t, st, "别的社区", content.Community(), nil)
		tests := []struct {
			name        string
			read, write auth.Scope
			want        []string
		}{
			{"resident of grid 1", ct.resident1, nil, []string{"全体居民", "第1网格", "A栋"}},
			{"resident of grid 2", ct.resident2, nil, []string{"全体居民", "第2网格", "B栋"}},
			{"grid worker of grid 1", ct.worker1, ct.worker1, []string{"全体居民", "第1网格", "A栋"}},
			{"admin", ct.admin, ct.admin, []string{"全体居民", "第1网格", "第2网格", "A栋", "B栋"}},
			{"nobody", nil, nil, nil},
		}
		for _, tt := range tests {
			if got := feedTitles(t, st, tt.read, tt.write, ""); !sameSet(got, tt.want) {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			}
		}
		if _, err := st.Notice(ctx, ct.resident1, nil, g2.ID); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("resident of grid 1 reads a grid 2 notice: %v", err)
		}
		n, err := st.Notice(ctx, ct.resident2, nil, g2.ID)
		mustOK(t, err)
		if n.Audience.Scope != content.AudienceGrids || !slices.Equal(n.Audience.GridIDs, []int64{ct.grid2.ID}) || n.Confirmations != nil {
			t.Errorf("notice as read by a resident: %+v", n)
		}
		// The audience must be of the notice's community.
		bad := content.Notice{CommunityID: ct.community.ID, Title: "x", Body: "x", Audience: content.Grids(other.grid1.ID)}
		if err := st.CreateNotice(ctx, ct.admin, &bad); shequ.ErrorCode(err) != shequ.EINVALID {
			t.Errorf("notice to another community's grid: %v", err)
		}
	})
}

func TestNoticeWritersScope(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		ct := makeContentTree(t, st, "nw")
		all := ct.notice(t, st, "全体", content.Community(), nil)
		mine := content.Notice{CommunityID: ct.community.ID, Title: "我的网格", Body: "x", Audience: content.Buildings(ct.building1.ID)}
		tests := []struct {
			name string
			err  error
			want string
		}{
			{"grid worker to a building of their grid", st.CreateNotice(ctx, ct.worker1, &mine), ""},
			{"grid worker to their grid", st.CreateNotice(ctx, ct.worker1, &content.Notice{CommunityID: ct.community.ID, Title: "x", Body: "x", Audience: content.Grids(ct.grid1.ID)}), ""},
			{"grid worker to another grid", st.CreateNotice(ctx, ct.worker1, &content.Notice{CommunityID: ct.community.ID, Title: "x", Body: "x", Audience: content.Grids(ct.grid2.ID)}), shequ.EFORBIDDEN},
			{"grid worker to two grids", st.CreateNotice(ctx, ct.worker1, &content.Notice{CommunityID: ct.community.ID, Title: "x", Body: "x", Audience: content.Grids(ct.grid1.ID, ct.grid2.ID)}), shequ.EFORBIDDEN},
			{"grid worker to everyone", st.CreateNotice(ctx, ct.worker1, &content.Notice{CommunityID: ct.community.ID, Title: "x", Body: "x"}), shequ.EFORBIDDEN},
			{"grid worker edits a community notice", st.UpdateNotice(ctx, ct.worker1, &content.Notice{ID: all.ID, Title: "x", Body: "x", Audience: content.Grids(ct.grid1.ID)}), shequ.EFORBIDDEN},
			{"other grid's worker edits it", st.UpdateNotice(ctx, ct.worker2, &content.Notice{ID: mine.ID, Title: "x", Body: "x", Audience: content.Grids(ct.grid2.ID)}), shequ.ENOTFOUND},
			{"resident writes", st.CreateNotice(ctx, ct.resident1, &content.Notice{CommunityID: ct.community.ID, Title: "x", Body: "x", Audience: content.Buildings(ct.building1.ID)}), shequ.EFORBIDDEN},
			{"grid worker deletes a community notice", st.DeleteNotice(ctx, ct.worker1, all.ID), shequ.EFORBIDDEN},
			{"grid worker edits their own", st.UpdateNotice(ctx, ct.worker1, &content.Notice{ID: mine.ID, Title: "改过", Body: "y", Audience: content.Grids(ct.grid1.ID)}), ""},
			{"guide by a grid worker", st.CreateGuide(ctx, ct.worker1, &content.Guide{CommunityID: ct.community.ID, Name: "x"}), shequ.EFORBIDDEN},
			{"policy by a grid worker", st.CreatePolicy(ctx, ct.worker1, &content.Policy{CommunityID: ct.community.ID, Title: "x"}), shequ.EFORBIDDEN},
		}
		for _, tt := range tests {
			if got := shequ.ErrorCode(tt.err); got != tt.want {
				t.Errorf("%s: got %v, want %q", tt.name, tt.err, tt.want)
			}
		}
		if got := feedTitles(t, st, ct.resident1, nil, ""); !sameSet(got, []string{"全体", "改过", "x"}) {
			t.Errorf("feed %v", got)
		}
	})
}

func TestNoticeScheduleAndPinning(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		ct := makeContentTree(t, st, "ns")
		now := clock.Now()
		at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
		ct.notice(t, st, "旧的置顶", content.Community(), func(n *content.Notice) { n.PublishAt, n.Pinned = now.Add(-48*time.Hour), true })
		ct.notice(t, st, "昨天", content.Community(), func(n *content.Notice) { n.PublishAt = now.Add(-24 * time.Hour) })
		ct.notice(t, st, "刚才", content.Community(), func(n *content.Notice) { n.PublishAt = now.Add(-time.Minute) })
		sched := ct.notice(t, st, "定时发布", content.Community(), func(n *content.Notice) {
			n.PublishAt, n.ExpiresAt = now.Add(time.Hour), at(2*time.Hour)
		})
		if got := feedTitles(t, st, ct.resident1, nil, ""); !slices.Equal(got, []string{"旧的置顶", "刚才", "昨天"}) {
			t.Errorf("feed order %v", got)
		}
		if _, err := st.Notice(ctx, ct.resident1, nil, sched.ID); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("a scheduled notice is read before its time: %v", err)
		}
		if got := feedTitles(t, st, ct.resident1, nil, content.StatusScheduled); len(got) != 0 {
			t.Errorf("a resident lists scheduled notices: %v", got)
		}
		if got := feedTitles(t, st, ct.admin, ct.admin, content.StatusScheduled); !slices.Equal(got, []string{"定时发布"}) {
			t.Errorf("staff's scheduled list %v", got)
		}
		if got := feedTitles(t, st, ct.admin, nil, content.StatusScheduled); len(got) != 0 {
			t.Errorf("a reader who does not write lists scheduled notices: %v", got)
		}
		clock.Advance(time.Hour)
		if got := feedTitles(t, st, ct.resident1, nil, ""); !slices.Equal(got, []string{"旧的置顶", "定时发布", "刚才", "昨天"}) {
			t.Errorf("feed once published %v", got)
		}
		n, err := st.Notice(ctx, ct.resident1, nil, sched.ID)
		mustOK(t, err)
		if n.Status != content.StatusLive {
			t.Errorf("status %q", n.Status)
		}
		clock.Advance(time.Hour)
		if got := feedTitles(t, st, ct.resident1, nil, ""); slices.Contains(got, "定时发布") {
			t.Errorf("an expired notice is in the feed: %v", got)
		}
		if got := feedTitles(t, st, ct.admin, ct.admin, content.StatusExpired); !slices.Equal(got, []string{"定时发布"}) {
			t.Errorf("staff's expired list %v", got)
		}
		n, err = st.Notice(ctx, ct.admin, ct.admin, sched.ID)
		mustOK(t, err)
		if n.Status != content.StatusExpired {
			t.Errorf("status %q", n.Status)
		}
	})
}

func TestNoticeConfirmations(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		ct := makeContentTree(t, st, "nc")
		imp := ct.notice(t, st, "停电通知", content.Community(), func(n *content.Notice) { n.Important = true })
		g1 := ct.notice(t, st, "一网格", content.Grids(ct.grid1.ID), func(n *content.Notice) { n.Important = true })
		unconfirmed := func(scope auth.Scope, id int64) []string {
			t.Helper()
			l, err := st.UnconfirmedHouseholds(ctx, scope, id, shequ.Page{})
			mustOK(t, err)
			var out []string
			for _, h := range l.Items {
				out = append(out, h.BuildingName+" "+h.Door)
				for _, r := range h.Residents {
					if !strings.Contains(r.Phone, "*") {
						t.Errorf("phone %q is not masked", r.Phone)
					}
				}
			}
			return out
		}
		if got := unconfirmed(ct.admin, imp.ID); !slices.Equal(got, []string{"A栋 1-101", "B栋 1-201"}) {
			t.Errorf("unconfirmed before anyone confirmed: %v", got)
		}
		if got := unconfirmed(ct.worker1, imp.ID); !slices.Equal(got, []string{"A栋 1-101"}) {
			t.Errorf("grid worker 1's unconfirmed: %v", got)
		}
		if got := unconfirmed(ct.admin, g1.ID); !slices.Equal(got, []string{"A栋 1-101"}) {
			t.Errorf("unconfirmed of a grid 1 notice: %v", got)
		}
		first, err := st.ConfirmNotice(ctx, ct.resident1, imp.ID)
		mustOK(t, err)
		clock.Advance(time.Minute)
		again, err := st.ConfirmNotice(ctx, ct.resident1, imp.ID)
		mustOK(t, err)
		if !again.Equal(first) {
			t.Errorf("confirming again moved the time: %v, %v", first, again)
		}
		if _, err := st.ConfirmNotice(ctx, ct.resident2, g1.ID); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("confirming a notice of another grid: %v", err)
		}
		if _, err := st.ConfirmNotice(ctx, ct.admin, imp.ID); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("staff confirm: %v", err)
		}
		if got := unconfirmed(ct.admin, imp.ID); !slices.Equal(got, []string{"B栋 1-201"}) {
			t.Errorf("unconfirmed after household 1 confirmed: %v", got)
		}
		if got := unconfirmed(ct.worker1, imp.ID); len(got) != 0 {
			t.Errorf("grid worker 1's unconfirmed: %v", got)
		}
		if _, err := st.UnconfirmedHouseholds(ctx, ct.worker2, g1.ID, shequ.Page{}); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("grid worker 2 tracks a grid 1 notice: %v", err)
		}
		if _, err := st.UnconfirmedHouseholds(ctx, ct.resident1, imp.ID, shequ.Page{}); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("a resident tracks: %v", err)
		}
		n, err := st.Notice(ctx, ct.resident1, nil, imp.ID)
		mustOK(t, err)
		if n.ConfirmedAt == nil || !n.ConfirmedAt.Equal(first) {
			t.Errorf("the resident's notice shows confirmed at %v", n.ConfirmedAt)
		}
		n, err = st.Notice(ctx, ct.admin, ct.admin, imp.ID)
		mustOK(t, err)
		if n.Confirmations == nil || *n.Confirmations != 1 || n.ConfirmedAt != nil {
			t.Errorf("staff's notice: confirmations %v, confirmed at %v", n.Confirmations, n.ConfirmedAt)
		}
		// Each new important notice queued one notification job.
		jobs, err := st.JobStatus(ctx)
		mustOK(t, err)
		if jobs["notice_published.pending"] != 2 {
			t.Errorf("outbox %v", jobs)
		}
	})
}

func TestNoticeMarkdownIsSanitised(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ct := makeContentTree(t, st, "nm")
		n := ct.notice(t, st, "x", content.Community(), func(n *content.Notice) {
			n.Body = "**注意**\n\n<script>alert(1)</script>\n\n[点我](javascript:alert(2)) <img src=x onerror=alert(3)> <a href=\"/x\" onclick=\"alert(4)\">y</a>"
		})
		got, err := st.Notice(t.Context(), ct.resident1, nil, n.ID)
		mustOK(t, err)
		for _, bad := range []string{"<script", "javascript:", "onerror", "onclick", "alert("} {
			if strings.Contains(got.BodyHTML, bad) {
				t.Errorf("body_html keeps %q: %s", bad, got.BodyHTML)
			}
		}
		if !strings.Contains(got.BodyHTML, "<strong>注意</strong>") || got.Body != n.Body {
			t.Errorf("body %q, html %s", got.Body, got.BodyHTML)
		}
	})
}

func TestPolicyValidity(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		ct := makeContentTree(t, st, "pv")
		shanghai := time.FixedZone("CST", 8*3600)
		until := time.Date(2027, 1, 1, 0, 0, 0, 0, shanghai)
		later := time.Date(2027, 6, 30, 0, 0, 0, 0, shanghai)
		enrol := content.Policy{CommunityID: ct.community.ID, Title: "城乡居民医疗保险参保登记", Category: "medical_insurance",
			ValidFrom: time.Date(2026, 10, 1, 0, 0, 0, 0, shanghai), ValidUntil: &until}
		next := content.Policy{CommunityID: ct.community.ID, Title: "2027年上半年补贴", ValidFrom: until, ValidUntil: &later}
		mustOK(t, st.CreatePolicy(ctx, ct.admin, &enrol))
		mustOK(t, st.CreatePolicy(ctx, ct.admin, &next))
		titles := func(read, write auth.Scope, status string) []string {
			l, err := st.ListPolicies(ctx, read, write, content.ListFilter{Status: status})
			mustOK(t, err)
			var out []string
			for _, p := range l.Items {
				out = append(out, p.Title)
			}
			return out
		}
		if got := titles(ct.resident1, nil, ""); !slices.Equal(got, []string{enrol.Title}) {
			t.Errorf("in November: %v", got)
		}
		if got := titles(ct.resident1, nil, content.StatusAll); !slices.Equal(got, []string{enrol.Title}) {
			t.Errorf("a resident asking for all: %v", got)
		}
		if got := titles(ct.admin, ct.admin, content.StatusAll); len(got) != 2 {
			t.Errorf("staff asking for all: %v", got)
		}
		if _, err := st.Policy(ctx, ct.resident1, nil, next.ID); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("a policy not yet valid is read: %v", err)
		}
		// 2027-01-01 00:00 in Shanghai is 2026-12-31 16:00 UTC.
		clock.Advance(time.Date(2026, 12, 31, 15, 59, 0, 0, time.UTC).Sub(clock.Now()))
		if got := titles(ct.resident1, nil, ""); !slices.Equal(got, []string{enrol.Title}) {
			t.Errorf("on the last minute of December: %v", got)
		}
		clock.Advance(time.Minute)
		if got := titles(ct.resident1, nil, ""); !slices.Equal(got, []string{next.Title}) {
			t.Errorf("in January: %v", got)
		}
		p, err := st.Policy(ctx, ct.admin, ct.admin, enrol.ID)
		mustOK(t, err)
		if p.Status != content.StatusExpired {
			t.Errorf("status %q", p.Status)
		}
	})
}

func TestSearch(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		ct := makeContentTree(t, st, "se")
		other := makeContentTree(t, st, "sf")
		now := clock.Now()
		until := now.Add(30 * 24 * time.Hour)
		enrol := content.Policy{CommunityID: ct.community.ID, Title: "城乡居民医疗保险参保登记", Category: "medical_insurance",
			Summary: "10月至12月，居民可携带身份证和户口簿到社区办公室办理城乡居民合作医疗保险参保登记。", ValidFrom: now.Add(-time.Hour), ValidUntil: &until}
		mustOK(t, st.CreatePolicy(ctx, ct.admin, &enrol))
		old := content.Policy{CommunityID: ct.community.ID, Title: "过期的医疗保险补贴", ValidFrom: now.Add(-48 * time.Hour), ValidUntil: ptr(now.Add(-24 * time.Hour))}
		mustOK(t, st.CreatePolicy(ctx, ct.admin, &old))
		dibao := content.Guide{CommunityID: ct.community.ID, Name: "申请低保", Category: "civil_affairs",
			Steps: []string{"提交申请", "入户调查", "公示"}, Documents: []string{"身份证", "户口簿", "收入证明"}}
		mustOK(t, st.CreateGuide(ctx, ct.admin, &dibao))
		english := ct.notice(t, st, "Community Cleanup Day", content.Community(), func(n *content.Notice) { n.Body = "Volunteers meet at the **square** on Saturday." })
		water := ct.notice(t, st, "停水通知", content.Grids(ct.grid2.ID), func(n *content.Notice) { n.Body = "B栋周六停水维修。" })
		ct.notice(t, st, "明天的停水安排", content.Community(), func(n *content.Notice) { n.PublishAt = now.Add(time.Hour) })
		other.notice(t, st, "别处停水", content.Community(), nil)
		otherPolicy := content.Policy{CommunityID: other.community.ID, Title: "别处的医疗保险", ValidFrom: now.Add(-time.Hour)}
		mustOK(t, st.CreatePolicy(ctx, other.admin, &otherPolicy))

		search := func(scope auth.Scope, q string) []string {
			t.Helper()
			scopes := map[string]auth.Scope{content.KindNotice: scope, content.KindGuide: scope, content.KindPolicy: scope}
			l, err := st.Search(ctx, scopes, q, 0, shequ.Page{})
			mustOK(t, err)
			var out []string
			for _, r := range l.Items {
				out = append(out, r.Kind+":"+r.Title)
				if r.ID == 0 {
					t.Errorf("result %+v", r)
				}
			}
			if l.Total != len(out) {
				t.Errorf("%q: total %d, %d items", q, l.Total, len(out))
			}
			return out
		}
		tests := []struct {
			name  string
			scope auth.Scope
			q     string
			want  []string
		}{
			{"Chinese words in a policy", ct.resident1, "医疗保险", []string{"policy:城乡居民医疗保险参保登记"}},
			{"words from its summary", ct.resident1, "户口簿 身份证", []string{"policy:城乡居民医疗保险参保登记", "guide:申请低保"}},
			{"two characters", ct.resident1, "低保", []string{"guide:申请低保"}},
			{"one character", ct.resident1, "低", []string{"guide:申请低保"}},
			{"a guide's step", ct.resident1, "入户调查", []string{"guide:申请低保"}},
			{"English, any case", ct.resident1, "cleanup", []string{"notice:Community Cleanup Day"}},
			{"English prefix", ct.resident1, "volunt", []string{"notice:Community Cleanup Day"}},
			{"English in Markdown", ct.resident1, "square saturday", []string{"notice:Community Cleanup Day"}},
			{"a notice of another grid", ct.resident1, "停水", nil},
			{"a notice of one's grid", ct.resident2, "停水", []string{"notice:停水通知"}},
			{"its grid worker", ct.worker2, "停水", []string{"notice:停水通知"}},
			{"another grid's worker", ct.worker1, "停水", nil},
			{"no match", ct.resident1, "不存在的词", nil},
			{"only punctuation", ct.resident1, "！？ ,", nil},
			{"nobody", nil, "医疗保险", nil},
			{"everywhere", everywhere, "医疗保险", []string{"policy:城乡居民医疗保险参保登记", "policy:别处的医疗保险"}},
		}
		for _, tt := range tests {
			if got := search(tt.scope, tt.q); !sameSet(got, tt.want) {
				t.Errorf("%s: search %q = %v, want %v", tt.name, tt.q, got, tt.want)
			}
		}
		// The title weighs more than the text.
		if got := search(ct.resident1, "身份证"); len(got) != 2 {
			t.Errorf("身份证: %v", got)
		}
		// Kinds are searched within their own scopes.
		l, err := st.Search(ctx, map[string]auth.Scope{content.KindGuide: ct.resident1}, "身份证", 0, shequ.Page{})
		mustOK(t, err)
		if l.Total != 1 || l.Items[0].Kind != content.KindGuide {
			t.Errorf("guides only: %+v", l)
		}
		// A change is found at once; a deleted notice is not.
		mustOK(t, st.UpdateNotice(ctx, ct.admin, &content.Notice{ID: water.ID, Title: "停电通知", Body: "检修线路", Audience: content.Grids(ct.grid2.ID)}))
		if got := search(ct.resident2, "停水"); len(got) != 0 {
			t.Errorf("old words still found: %v", got)
		}
		if got := search(ct.resident2, "检修"); !slices.Equal(got, []string{"notice:停电通知"}) {
			t.Errorf("new words: %v", got)
		}
		mustOK(t, st.DeleteNotice(ctx, ct.admin, english.ID))
		if got := search(ct.resident1, "cleanup"); len(got) != 0 {
			t.Errorf("a deleted notice is found: %v", got)
		}
		// A scheduled notice is found once published; a policy no more
		// once it lapsed.
		clock.Advance(time.Hour)
		if got := search(ct.resident1, "停水"); !slices.Equal(got, []string{"notice:明天的停水安排"}) {
			t.Errorf("after publishing: %v", got)
		}
		clock.Advance(31 * 24 * time.Hour)
		if got := search(ct.resident1, "医疗保险"); len(got) != 0 {
			t.Errorf("a lapsed policy is found: %v", got)
		}
		// The snippet shows where the match is.
		clock.Advance(-31 * 24 * time.Hour)
		l, err = st.Search(ctx, map[string]auth.Scope{content.KindPolicy: ct.resident1}, "户口簿", 0, shequ.Page{})
		mustOK(t, err)
		if l.Total != 1 || !strings.Contains(l.Items[0].Snippet, "户口簿") {
			t.Errorf("snippet %+v", l)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestAttachments(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		ct := makeContentTree(t, st, "at")
		n := ct.notice(t, st, "带图", content.Grids(ct.grid1.ID), nil)
		png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
		add := func(scope auth.Scope, name, ct string, data []byte) (content.Attachment, error) {
			x := content.Attachment{Name: name, ContentType: ct}
			err := st.AddAttachment(ctx, scope, content.KindNotice, n.ID, &x, blobOf(data))
			return x, err
		}
		x, err := add(ct.admin, "照片.png", "image/png", png)
		mustOK(t, err)
		if x.N != 1 || x.URL != "/api/v1/notices/"+itoa(int(n.ID))+"/attachments/1" {
			t.Errorf("attachment %+v", x)
		}
		if _, err := add(ct.admin, "a.png", "image/png", []byte("<html><script>alert(1)</script>")); shequ.ErrorCode(err) != shequ.EINVALID {
			t.Errorf("a page labelled an image: %v", err)
		}
		if _, err := add(ct.worker2, "a.png", "image/png", png); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("another grid's worker attaches: %v", err)
		}
		got, err := st.Attachment(ctx, ct.resident1, nil, content.KindNotice, n.ID, 1)
		mustOK(t, err)
		if got.SHA256 != blobOf(png).SHA256 || got.Size != len(png) || got.ContentType != "image/png" || got.Name != "照片.png" {
			t.Errorf("got %+v", got)
		}
		if _, err := st.Attachment(ctx, ct.resident2, nil, content.KindNotice, n.ID, 1); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("a resident of another grid fetches it: %v", err)
		}
		one, err := st.Notice(ctx, ct.resident1, nil, n.ID)
		mustOK(t, err)
		if len(one.Attachments) != 1 || one.Attachments[0].Size != len(png) {
			t.Errorf("notice attachments %+v", one.Attachments)
		}
		mustOK(t, st.DeleteAttachment(ctx, ct.admin, content.KindNotice, n.ID, 1))
		if _, err := st.Attachment(ctx, ct.resident1, nil, content.KindNotice, n.ID, 1); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("a deleted attachment: %v", err)
		}
	})
}

// TestFeedCountsOnlySoFar: a resident's feed of more notices than
// shequ.MaxExactTotal says its total is a lower bound; staff who write
// notices get the exact count; a feed under the cap is exact.
func TestFeedCountsOnlySoFar(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		ct := makeContentTree(t, st, "fc")
		ct.notice(t, st, "第一条", content.Community(), nil)
		l, err := st.ListNotices(ctx, ct.resident1, nil, content.NoticeFilter{})
		mustOK(t, err)
		if l.Total != 1 || l.TotalIsEstimate {
			t.Errorf("one notice: total %d, estimate %v", l.Total, l.TotalIsEstimate)
		}
		mustOK(t, st.Atomic(ctx, func(tx *sqlstore.Store) error {
			for i := range shequ.MaxExactTotal + 1 {
				n := content.Notice{CommunityID: ct.community.ID, Title: "通知", Body: "内容", Audience: content.Community(), PublishAt: clock.Now().Add(-time.Duration(i) * time.Minute)}
				if err := tx.CreateNotice(ctx, ct.admin, &n); err != nil {
					return err
				}
			}
			return nil
		}))
		want := shequ.MaxExactTotal + 2
		l, err = st.ListNotices(ctx, ct.resident1, nil, content.NoticeFilter{Page: shequ.Page{Limit: 20}})
		mustOK(t, err)
		if l.Total != shequ.MaxExactTotal+1 || !l.TotalIsEstimate || len(l.Items) != 20 {
			t.Errorf("resident's feed of %d: total %d, estimate %v, %d items", want, l.Total, l.TotalIsEstimate, len(l.Items))
		}
		l, err = st.ListNotices(ctx, ct.admin, ct.admin, content.NoticeFilter{Page: shequ.Page{Limit: 20}})
		mustOK(t, err)
		if l.Total != want || l.TotalIsEstimate {
			t.Errorf("staff's list of %d: total %d, estimate %v", want, l.Total, l.TotalIsEstimate)
		}
	})
}
