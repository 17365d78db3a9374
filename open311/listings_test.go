package open311

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// encoder returns an encode function writing body and counting its calls.
func encoder(body string, calls *int) func() ([]byte, error) {
	return func() ([]byte, error) {
		*calls++
		return []byte(body), nil
	}
}

func TestListingsKeepByKeyAndVersion(t *testing.T) {
	ctx := t.Context()
	c := NewListings(1 << 20)
	calls := 0
	get := func(key string, version int64, body string) Listing {
		t.Helper()
		l, err := c.Get(ctx, key, version, encoder(body, &calls))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a1 := get("a", 1, "[1]")
	if string(a1.Body) != "[1]" || calls != 1 || !strings.HasPrefix(a1.ETag, `"`) || len(a1.ETag) != 34 {
		t.Fatalf("first: %q %s, %d calls", a1.Body, a1.ETag, calls)
	}
	if l := get("a", 1, "[other]"); string(l.Body) != "[1]" || l.ETag != a1.ETag || calls != 1 {
		t.Errorf("same key and version: %q, %d calls", l.Body, calls)
	}
	if l := get("b", 1, "[b]"); string(l.Body) != "[b]" || calls != 2 {
		t.Errorf("another key: %q, %d calls", l.Body, calls)
	}
	a2 := get("a", 2, "[2]")
	if string(a2.Body) != "[2]" || calls != 3 || a2.ETag == a1.ETag {
		t.Errorf("version moved: %q %s, %d calls", a2.Body, a2.ETag, calls)
	}
	// A build of an older version (begun before the change, ended after)
	// does not replace the later one.
	if l := get("a", 1, "[1 again]"); string(l.Body) != "[1 again]" || calls != 4 {
		t.Errorf("older version: %q, %d calls", l.Body, calls)
	}
	if l := get("a", 2, "[not read]"); string(l.Body) != "[2]" || calls != 4 {
		t.Errorf("the later version was replaced: %q, %d calls", l.Body, calls)
	}
	// Equal bytes, equal tag, whatever the key.
	if l := get("c", 7, "[2]"); l.ETag != a2.ETag {
		t.Errorf("tags of equal bytes %s %s", l.ETag, a2.ETag)
	}
}

func TestListingsBounded(t *testing.T) {
	ctx := t.Context()
	body := strings.Repeat("x", 1000)
	per := keptOverhead + 3 + len(body)
	c := NewListings(10 * per)
	calls := 0
	get := func(i int) {
		t.Helper()
		if _, err := c.Get(ctx, fmt.Sprintf("k%02d", i), 1, encoder(body, &calls)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		get(i)
	}
	get(0)  // used again: k01 is the least recently used now
	get(10) // one over the bound: k01 goes
	if n, size := c.Len(); n != 10 || size != 10*per || calls != 11 {
		t.Errorf("kept %d listings, %d bytes, %d encodes; want 10, %d, 11", n, size, calls, 10*per)
	}
	calls = 0
	get(0)
	for i := 2; i <= 10; i++ {
		get(i)
	}
	if calls != 0 {
		t.Errorf("%d of the 10 most recently used were not kept", calls)
	}
	get(1)
	if calls != 1 {
		t.Errorf("the least recently used was kept past the bound")
	}
	// Larger than a quarter of the bound: sent, not kept.
	big := strings.Repeat("y", 3*per)
	calls = 0
	for range 2 {
		l, _ := c.Get(ctx, "big", 1, encoder(big, &calls))
		if len(l.Body) != len(big) {
			t.Fatalf("big: %d bytes", len(l.Body))
		}
	}
	if calls != 2 {
		t.Errorf("a listing over a quarter of the bound was kept (%d encodes)", calls)
	}
	none := NewListings(0)
	calls = 0
	none.Get(ctx, "a", 1, encoder("[]", &calls))
	none.Get(ctx, "a", 1, encoder("[]", &calls))
	if n, _ := none.Len(); calls != 2 || n != 0 {
		t.Errorf("a cache of 0 bytes kept %d (%d encodes)", n, calls)
	}
}

// Callers asking for the same listing at once share one encoding; when it
// fails, each encodes on its own.
func TestListingsOneBuildAtATime(t *testing.T) {
	ctx := t.Context()
	for _, fail := range []bool{false, true} {
		c := NewListings(1 << 20)
		var calls atomic.Int32
		release := make(chan struct{})
		started := make(chan struct{})
		var wg sync.WaitGroup
		bodies := make([]string, 8)
		errs := make([]error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := c.Get(ctx, "k", 1, func() ([]byte, error) {
					if calls.Add(1) == 1 {
						close(started)
						<-release
						if fail {
							return nil, errors.New("read failed")
						}
					}
					return []byte("[k]"), nil
				})
				bodies[i], errs[i] = string(l.Body), err
			}()
			if i == 0 {
				<-started
			}
		}
		time.Sleep(50 * time.Millisecond) // the others are waiting for the first
		close(release)
		wg.Wait()
		failed := 0
		for i := range bodies {
			if errs[i] != nil {
				failed++
			} else if bodies[i] != "[k]" {
				t.Errorf("fail=%t: caller %d got %q", fail, i, bodies[i])
			}
		}
		wantCalls, wantFailed := int32(1), 0
		if fail {
			wantCalls, wantFailed = 8, 1
		}
		if calls.Load() != wantCalls || failed != wantFailed {
			t.Errorf("fail=%t: %d encodes, %d failed; want %d, %d", fail, calls.Load(), failed, wantCalls, wantFailed)
		}
	}
	// A waiter whose client leaves stops waiting.
	c := NewListings(1 << 20)
	release := make(chan struct{})
	started := make(chan struct{})
	go c.Get(ctx, "k", 1, func() ([]byte, error) { close(started); <-release; return nil, nil })
	<-started
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Get(gone, "k", 1, func() ([]byte, error) { return nil, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("a waiter whose context ended: %v", err)
	}
	close(release)
}

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
