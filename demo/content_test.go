package demo_test

import (
	"regexp"
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// The demo's notices are Chinese through: a resident reads no English
// system phrases ("now live") or half-translated titles.
func TestDemoNoticesChinese(t *testing.T) {
	d := sqlstoretest.Dialects()[0]
	st, res := loadDemo(t, d)
	all := auth.Scope{{CommunityID: res.CommunityID}}
	l, err := st.ListNotices(t.Context(), all, all, content.NoticeFilter{CommunityID: res.CommunityID, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil || l.Total == 0 {
		t.Fatalf("notices %d %v", l.Total, err)
	}
	english := regexp.MustCompile(`[A-Za-z]{3,}`)
	for _, n := range l.Items {
		if w := english.FindString(n.Title + " " + n.Body); w != "" {
			t.Errorf("notice %q has English: %q", n.Title, w)
		}
	}
}
