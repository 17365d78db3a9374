package web

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/sqlstore"
)

// TestNavBars: each demo account's phone bar is the one made for its
// work, in that order, and "更多" holds the rest of what it may use.
func TestNavBars(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	tests := []struct {
		user string
		bar  []string
		more []string // nil: not checked
	}{
		{"resident01", []string{"/", "/my/alarm", "/my/matters", "/news"}, []string{"/my/keys", "/my/autoarm", "/lostfound", "/guides", "/policies", "/warnings", "/my/broadcast"}},
		{"grid01", []string{"/my/dispatches", "/matters", "/"}, nil},
		{"operator", []string{"/console", "/matters", "/homes", "/"}, nil},
		{"police", []string{"/console", "/", "/homes", "/people"}, []string{"/alarms", "/footage", "/footage/warnings", "/lostfound", "/devices", "/map", "/news", "/guides", "/policies"}},
		{"director", []string{"/", "/console", "/matters", "/stats"}, nil},
		{"broadcaster", []string{"/broadcast", "/notices", "/"}, nil},
		{"hr-partner", []string{"/ledgers", "/"}, []string{"/openings"}},
		{"assoc-jiuye", []string{"/ledgers", "/cases", "/mediations", "/"}, nil},
	}
	barLink := regexp.MustCompile(`<a class="bar-link" href="([^"]+)"`)
	moreLink := regexp.MustCompile(`<li><a href="([^"]+)"`)
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			r := e.page("/", e.webLogin(tt.user))
			nav := r.body[strings.Index(r.body, `<nav class="menu"`):]
			nav = nav[:strings.Index(nav, "</nav>")]
			bar, more, _ := strings.Cut(nav, `<details class="more"`)
			var got []string
			for _, m := range barLink.FindAllStringSubmatch(bar, -1) {
				got = append(got, m[1])
			}
			if !slices.Equal(got, tt.bar) {
				t.Errorf("bar %v, want %v", got, tt.bar)
			}
			got = []string{}
			for _, m := range moreLink.FindAllStringSubmatch(more, -1) {
				got = append(got, m[1])
			}
			if tt.more != nil && !slices.Equal(got, tt.more) {
				t.Errorf("更多 %v, want %v", got, tt.more)
			}
			if !strings.Contains(more, `<summary class="bar-link">更多</summary>`) || !strings.Contains(more, "退出登录") {
				t.Error("no 更多 with the way to sign out")
			}
		})
	}
}

// TestNavFor: the rules of navFor on actors made up for the purpose.
func TestNavFor(t *testing.T) {
	const c = 1
	actor := func(household int64, roles ...auth.Role) *auth.Actor {
		a := &auth.Actor{HouseholdID: household}
		for _, r := range roles {
			a.User.Grants = append(a.User.Grants, auth.Grant{Role: r, CommunityID: c})
		}
		return a
	}
	hrefs := func(m *navMenu) (bar, all []string) {
		for _, it := range m.Bar {
			bar = append(bar, it.Href)
		}
		all = slices.Clone(bar)
		for _, g := range m.Groups {
			for _, it := range g.Items {
				all = append(all, it.Href)
			}
		}
		return bar, all
	}
	tests := []struct {
		name       string
		a          *auth.Actor
		bar        []string
		has, hasnt []string
	}{
		{"a resident sees no staff page", actor(7, auth.RoleResident), []string{"/", "/my/alarm", "/my/matters", "/news"},
			nil, []string{"/homes", "/people", "/associations", "/console", "/devices"}},
		// The staff role brings its pages; the resident's bar comes first
		// where both place an item (lower slot wins).
		{"a resident who is a building head", actor(7, auth.RoleResident, auth.RoleBuildingHead), []string{"/", "/my/dispatches", "/my/alarm", "/my/matters"},
			[]string{"/homes", "/people", "/news"}, nil},
		{"a resident who lives nowhere has no home pages", actor(0, auth.RoleResident), []string{"/"},
			nil, []string{"/my/alarm", "/my/matters", "/homes"}},
		// The jobs queue needs a grant over every community.
		{"an admin of one community", actor(0, auth.RoleAdmin), []string{"/", "/console", "/matters", "/stats"},
			[]string{"/audit", "/users"}, []string{"/jobs"}},
		{"a partner", actor(0, auth.RolePartner), []string{"/ledgers", "/"}, nil, []string{"/stats", "/news"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := navFor(tt.a, "/")
			bar, all := hrefs(m)
			if !slices.Equal(bar, tt.bar) {
				t.Errorf("bar %v, want %v", bar, tt.bar)
			}
			for _, h := range tt.has {
				if !slices.Contains(all, h) {
					t.Errorf("menu %v lacks %s", all, h)
				}
			}
			for _, h := range tt.hasnt {
				if slices.Contains(all, h) {
					t.Errorf("menu %v has %s", all, h)
				}
			}
			seen := map[string]bool{}
			for _, h := range all {
				if seen[h] {
					t.Errorf("%s twice in %v", h, all)
				}
				seen[h] = true
			}
		})
	}

	admin := actor(0)
	admin.User.Grants = []auth.Grant{{Role: auth.RoleAdmin}}
	if _, all := hrefs(navFor(admin, "/")); !slices.Contains(all, "/jobs") {
		t.Error("an admin of every community has no /jobs")
	}
	// An entry someone added without a group is not lost.
	saved := navItems
	t.Cleanup(func() { navItems = saved })
	navItems = append(slices.Clone(saved), navEntry{key: "nav.audit", href: "/new-page", perm: auth.PermAuditRead})
	if g := navFor(actor(0, auth.RoleAdmin), "/").Groups; g[len(g)-1].Key != "nav.group.other" || g[len(g)-1].Items[0].Href != "/new-page" {
		t.Errorf("an entry without a group: groups %+v", g)
	}
	navItems = saved

	m := navFor(actor(0, auth.RoleAdmin), "/audit")
	if !m.MoreActive {
		t.Error("on /audit 更多 is not marked as holding the page shown")
	}
}

// TestNavItemsDeclared: every entry of the menu is complete — a group
// among navGroups, words in the catalogs, bar slots for real roles, one
// entry per slot of a role's bar — so that a page added with one entry
// shows up where it should.
func TestNavItemsDeclared(t *testing.T) {
	base := locales[langHans]
	for _, g := range append(slices.Clone(navGroups), "other") {
		if !base.Has("nav.group." + g) {
			t.Errorf("group %s has no words (nav.group.%s)", g, g)
		}
	}
	slots := map[auth.Role]map[int]string{}
	for _, n := range navItems {
		if !slices.Contains(navGroups, n.group) {
			t.Errorf("%s: group %q is not one of %v", n.href, n.group, navGroups)
		}
		for _, k := range []string{n.key, n.short} {
			if k != "" && !base.Has(k) {
				t.Errorf("%s: %q is not in the catalogs", n.href, k)
			}
		}
		for r, slot := range n.bar {
			if !r.Valid() || slot < 1 {
				t.Errorf("%s: bar slot %d for %q", n.href, slot, r)
			}
			if slots[r] == nil {
				slots[r] = map[int]string{}
			}
			// Two entries to one page may share a slot: one of them shows.
			if other, ok := slots[r][slot]; ok && other != n.href {
				t.Errorf("%s and %s are both in slot %d of the %s bar", other, n.href, slot, r)
			}
			slots[r][slot] = n.href
		}
		if n.everywhere && n.perm == "" {
			t.Errorf("%s: everywhere needs a permission", n.href)
		}
	}
}
