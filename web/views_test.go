package web

import "testing"

// TestEveryViewBuilds builds every page's template, as its first visit
// would (viewSet.get): pages are no longer parsed at start, so a template
// that does not parse must fail here.
func TestEveryViewBuilds(t *testing.T) {
	v := mustParseViews()
	names := v.names()
	if len(names) < 50 {
		t.Fatalf("%d views found; the templates folders were not read", len(names))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			tmpl, ok := v.get(name)
			if !ok {
				t.Fatal("not found")
			}
			if tmpl.Lookup("layout") == nil {
				t.Error("no layout: the view was not built on the layout and parts")
			}
			again, _ := v.get(name)
			if again != tmpl {
				t.Error("built twice: the second visit must reuse the first build")
			}
		})
	}
	if _, ok := v.get("common/no-such-page"); ok {
		t.Error("a name that is no view was found")
	}
}
