package open311

import (
	"net/url"
	"testing"
	"time"
)

// Two filters that select differently never share a key.
func TestListingKeyDistinct(t *testing.T) {
	since := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	until := since.Add(90 * 24 * time.Hour)
	base := Filter{CommunityID: 1, Since: since, Until: until, Limit: 1000}
	with := func(change func(*Filter)) Filter {
		f := base
		change(&f)
		return f
	}
	keys := map[string]string{}
	for name, k := range map[string]string{
		"base":                 ListingKey(base, JSON, "社区", "Asia/Shanghai"),
		"xml":                  ListingKey(base, XML, "社区", "Asia/Shanghai"),
		"other community":      ListingKey(with(func(f *Filter) { f.CommunityID = 2 }), JSON, "社区", "Asia/Shanghai"),
		"other agency":         ListingKey(base, JSON, "社区2", "Asia/Shanghai"),
		"other zone":           ListingKey(base, JSON, "社区", "UTC"),
		"agency and zone swap": ListingKey(base, JSON, "社区|3:UTC", ""),
		"open":                 ListingKey(with(func(f *Filter) { f.Status = "open" }), JSON, "社区", "Asia/Shanghai"),
		"since a second later": ListingKey(with(func(f *Filter) { f.Since = since.Add(time.Second) }), JSON, "社区", "Asia/Shanghai"),
		"until a ns later":     ListingKey(with(func(f *Filter) { f.Until = until.Add(1) }), JSON, "社区", "Asia/Shanghai"),
		"no dates":             ListingKey(with(func(f *Filter) { f.Since, f.Until = time.Time{}, time.Time{} }), JSON, "社区", "Asia/Shanghai"),
		"limit":                ListingKey(with(func(f *Filter) { f.Limit = 10 }), JSON, "社区", "Asia/Shanghai"),
		"codes a,b":            ListingKey(with(func(f *Filter) { f.Categories = []string{"a", "b"} }), JSON, "社区", "Asia/Shanghai"),
		"code a|1:b":           ListingKey(with(func(f *Filter) { f.Categories = []string{"a|1:b"} }), JSON, "社区", "Asia/Shanghai"),
		"tracking a,b":         ListingKey(with(func(f *Filter) { f.Tracking = []string{"a", "b"} }), JSON, "社区", "Asia/Shanghai"),
		"code a, tracking b":   ListingKey(with(func(f *Filter) { f.Categories, f.Tracking = []string{"a"}, []string{"b"} }), JSON, "社区", "Asia/Shanghai"),
	} {
		if other, ok := keys[k]; ok {
			t.Errorf("%s and %s share the key %q", name, other, k)
		}
		keys[k] = name
	}
	if ListingKey(base, JSON, "社区", "Asia/Shanghai") != ListingKey(with(func(f *Filter) { f.Since = since.In(time.FixedZone("", 8*3600)) }), JSON, "社区", "Asia/Shanghai") {
		t.Error("the same instant in another zone is another key")
	}
}

// The default window ends at now rounded up to the step, so it stays put
// for a step; dates given are kept as they are.
func TestReadQueryWindowStep(t *testing.T) {
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	span := MaxDays * 24 * time.Hour
	for _, tc := range []struct {
		now, end time.Time
	}{
		{at, at},
		{at.Add(time.Nanosecond), at.Add(WindowStep)},
		{at.Add(WindowStep/2 + 123), at.Add(WindowStep)},
		{at.Add(WindowStep), at.Add(WindowStep)},
	} {
		q, err := ReadQuery(url.Values{}, tc.now, cst)
		if err != nil || !q.End.Equal(tc.end) || !q.Start.Equal(tc.end.Add(-span)) {
			t.Errorf("at %s: window %s – %s, %v; want the 90 days up to %s", tc.now, q.Start, q.End, err, tc.end)
		}
	}
	q, err := ReadQuery(url.Values{"start_date": {"2026-10-01T00:00:00.5Z"}}, at.Add(7), cst)
	if err != nil || q.Start.Nanosecond() != 5e8 {
		t.Errorf("a start_date given moved: %s %v", q.Start, err)
	}
}
