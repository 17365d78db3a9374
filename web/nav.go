package web

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/shequ/shequ/auth"
)

// The menu each person gets, built from navItems: on a phone a bottom bar
// of at most navBarMax destinations chosen for the person's roles and a
// "更多" panel with the rest under their headings; on a desk the same bar
// across the top, with the panel opening below it (layout.html, nav.css).
// The bar is the same on both, so that a person finds the same things in
// the same order wherever they sign in.

// navBarMax is how many destinations the bar has beside "更多": five in
// all fit a 390 px phone at 200 % text with two-character labels.
const navBarMax = 4

// navMenu is one person's menu. Menus are shared by everyone with the
// same roles (navFor): nothing may change one once built.
type navMenu struct {
	Bar    []navItem
	Groups []navGroup
	// MoreActive is set when the page shown is one of the panel's, so
	// that "更多" says where the reader is.
	MoreActive bool

	// html holds the menu rendered, by language (HTML).
	html sync.Map
}

// navMenus are the menus built, by navKey and page. A menu depends only on
// the roles a person holds, whether a grant reaches every community, and
// whether they live somewhere (what navShows asks), so there are few; the
// menu was built and rendered anew on every page (issue 13).
var navMenus sync.Map

// navKey names what a's menu depends on.
func navKey(a *auth.Actor, current string) string {
	var parts []string
	for _, g := range a.User.Grants {
		parts = append(parts, string(g.Role)+"/"+strconv.FormatBool(g.CommunityID == 0))
	}
	slices.Sort(parts)
	parts = slices.Compact(parts)
	// navItems' address: a menu built from other items is another menu.
	return fmt.Sprintf("%p %d ", navItems, len(navItems)) + strconv.FormatBool(a.HouseholdID != 0) + " " + strings.Join(parts, ",") + " " + current
}

// navFor returns a's menu; current is the menu address of the page shown.
func navFor(a *auth.Actor, current string) *navMenu {
	key := navKey(a, current)
	if m, ok := navMenus.Load(key); ok {
		return m.(*navMenu)
	}
	m, _ := navMenus.LoadOrStore(key, buildNav(a, current))
	return m.(*navMenu)
}

// navData is what the "nav-menu" template gets.
type navData struct {
	*navMenu
	L *locale
}

// HTML is the menu in l up to the account's own part, which layout.html
// adds (the name and the session's token differ by person). It is
// rendered once per menu and language.
func (m *navMenu) HTML(l *locale) (template.HTML, error) {
	if h, ok := m.html.Load(l.Tag); ok {
		return h.(template.HTML), nil
	}
	var buf bytes.Buffer
	if err := navTemplate.Execute(&buf, navData{m, l}); err != nil {
		return "", err
	}
	h := template.HTML(buf.String()) // #nosec G203 -- rendered by html/template
	m.html.Store(l.Tag, h)
	return h, nil
}

// navTemplate is the menu's part of the layout, which every view shares.
var navTemplate = mustNavTemplate()

func mustNavTemplate() *template.Template {
	// A copy of its own: a template that has run cannot be cloned, and
	// the pages are clones of views.base.
	n := template.Must(views.base.Clone()).Lookup("nav-menu")
	if n == nil {
		panic("layout.html defines no nav-menu")
	}
	return n
}

type navGroup struct {
	Key   string
	Items []navItem
}

type navItem struct {
	Key    string
	Short  string // the bar's label
	Href   string
	Active bool
}

// buildNav builds a's menu; current is the menu address of the page shown.
func buildNav(a *auth.Actor, current string) *navMenu {
	type seen struct {
		e    navEntry
		slot int // the bar's order, 0 when not on a's bar
		at   int // the order in navItems
	}
	var mine []seen
	hrefs := map[string]bool{}
	for i, e := range navItems {
		if !navShows(a, e) || hrefs[e.href] {
			continue
		}
		hrefs[e.href] = true
		slot := 0
		for _, r := range a.Roles() {
			if n, ok := e.bar[r]; ok && (slot == 0 || n < slot) {
				slot = n
			}
		}
		mine = append(mine, seen{e, slot, i})
	}

	bar := slices.DeleteFunc(slices.Clone(mine), func(s seen) bool { return s.slot == 0 })
	slices.SortStableFunc(bar, func(x, y seen) int { return cmp.Compare(x.slot, y.slot) })
	bar = bar[:min(len(bar), navBarMax)]

	m := &navMenu{}
	onBar := map[string]bool{}
	for _, s := range bar {
		m.Bar = append(m.Bar, navItemOf(s.e, current))
		onBar[s.e.href] = true
	}
	// An entry without a known group still shows, under "其他"
	// (TestNavItemsDeclared asks for a group).
	for _, g := range append(slices.Clone(navGroups), "other") {
		grp := navGroup{Key: "nav.group." + g}
		for _, s := range mine {
			in := s.e.group == g || g == "other" && !slices.Contains(navGroups, s.e.group)
			if in && !onBar[s.e.href] {
				it := navItemOf(s.e, current)
				m.MoreActive = m.MoreActive || it.Active
				grp.Items = append(grp.Items, it)
			}
		}
		if len(grp.Items) > 0 {
			m.Groups = append(m.Groups, grp)
		}
	}
	return m
}

func navItemOf(e navEntry, current string) navItem {
	short := e.short
	if short == "" {
		short = e.key
	}
	return navItem{Key: e.key, Short: short, Href: e.href, Active: e.href == current}
}

// navShows reports whether a's menu has e.
func navShows(a *auth.Actor, e navEntry) bool {
	if len(e.roles) > 0 {
		a = actorAs(a, e.roles)
	}
	if e.perm != "" && !a.Can(e.perm) || e.everywhere && !a.Scope(e.perm).All() {
		return false
	}
	if len(e.roles) > 0 && len(a.User.Grants) == 0 {
		return false
	}
	return e.unless == "" || !a.Can(e.unless)
}

// actorAs returns a with only its grants of these roles.
func actorAs(a *auth.Actor, roles []auth.Role) *auth.Actor {
	b := *a
	b.User.Grants = slices.DeleteFunc(slices.Clone(a.User.Grants), func(g auth.Grant) bool { return !slices.Contains(roles, g.Role) })
	return &b
}
