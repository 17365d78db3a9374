package kept

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

// reader returns a read function returning body and counting its calls.
func reader(body string, calls *int) func(context.Context) (Page, time.Time, error) {
	return func(context.Context) (Page, time.Time, error) {
		*calls++
		return NewPage([]byte(body)), time.Time{}, nil
	}
}

func newPages(bytes int) *Cache[string, Page] {
	return New(Limits{Bytes: bytes}, StringPageCost)
}

func TestKeepByKeyAndVersion(t *testing.T) {
	ctx := t.Context()
	c := newPages(1 << 20)
	calls := 0
	get := func(key string, version int64, body string) Page {
		t.Helper()
		p, err := c.Get(ctx, key, version, t0, reader(body, &calls))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a1 := get("a", 1, "[1]")
	if string(a1.Body) != "[1]" || calls != 1 || !strings.HasPrefix(a1.ETag, `"`) || len(a1.ETag) != 34 {
		t.Fatalf("first: %q %s, %d calls", a1.Body, a1.ETag, calls)
	}
	if p := get("a", 1, "[other]"); string(p.Body) != "[1]" || p.ETag != a1.ETag || calls != 1 {
		t.Errorf("same key and version: %q, %d calls", p.Body, calls)
	}
	if p := get("b", 1, "[b]"); string(p.Body) != "[b]" || calls != 2 {
		t.Errorf("another key: %q, %d calls", p.Body, calls)
	}
	a2 := get("a", 2, "[2]")
	if string(a2.Body) != "[2]" || calls != 3 || a2.ETag == a1.ETag {
		t.Errorf("version moved: %q %s, %d calls", a2.Body, a2.ETag, calls)
	}
	// A read of an older version (begun before the change, ended after)
	// does not replace the later one.
	if p := get("a", 1, "[1 again]"); string(p.Body) != "[1 again]" || calls != 4 {
		t.Errorf("older version: %q, %d calls", p.Body, calls)
	}
	if p := get("a", 2, "[not read]"); string(p.Body) != "[2]" || calls != 4 {
		t.Errorf("the later version was replaced: %q, %d calls", p.Body, calls)
	}
	// Equal bytes, equal tag, whatever the key.
	if p := get("c", 7, "[2]"); p.ETag != a2.ETag {
		t.Errorf("tags of equal bytes %s %s", p.ETag, a2.ETag)
	}
}

// An entry with a time bound holds from when it was read until then, and
// not for a clock set back before it was read.
func TestKeepUntil(t *testing.T) {
	ctx := t.Context()
	c := New[int, string](Limits{Entries: 10}, nil)
	calls := 0
	get := func(now time.Time) string {
		t.Helper()
		v, err := c.Get(ctx, 1, 5, now, func(context.Context) (string, time.Time, error) {
			calls++
			return fmt.Sprint("read ", calls), t0.Add(time.Minute), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, step := range []struct {
		now   time.Time
		want  string
		peeks bool
	}{
		{t0, "read 1", false}, // nothing kept yet
		{t0.Add(59 * time.Second), "read 1", true},
		{t0.Add(-time.Second), "read 2", false}, // kept again, read at t0-1s
		{t0, "read 2", true},
		{t0.Add(time.Minute), "read 3", false}, // until is t0+1m whatever the read
	} {
		if _, ok := c.Peek(1, step.now); ok != step.peeks {
			t.Errorf("at %s: Peek %t, want %t", step.now.Sub(t0), ok, step.peeks)
		}
		if got := get(step.now); got != step.want {
			t.Errorf("at %s: %q, want %q", step.now.Sub(t0), got, step.want)
		}
	}
	if e, ok := c.Peek(1, t0.Add(-time.Second)); ok {
		t.Errorf("an entry read at t0+1m holds at t0-1s: %+v", e)
	}
	c.Put(2, Entry[string]{Value: "put", Version: 9, Read: t0, Until: t0.Add(time.Second)})
	if e, ok := c.Peek(2, t0); !ok || e.Value != "put" || e.Version != 9 {
		t.Errorf("Peek after Put: %+v %t", e, ok)
	}
	// Put replaces whatever was kept: a home page's version is a sum over
	// the counters of the home it was read for, and a household that
	// moved may sum lower.
	c.Put(2, Entry[string]{Value: "moved", Version: 3, Read: t0, Until: t0.Add(time.Second)})
	if e, ok := c.Peek(2, t0); !ok || e.Value != "moved" || e.Version != 3 {
		t.Errorf("Put of a lower version: %+v %t", e, ok)
	}
}

func TestKeepBounded(t *testing.T) {
	ctx := t.Context()
	body := strings.Repeat("x", 1000)
	per := pageOverhead + 3 + len(body)
	c := newPages(10 * per)
	calls := 0
	get := func(i int) {
		t.Helper()
		if _, err := c.Get(ctx, fmt.Sprintf("k%02d", i), 1, t0, reader(body, &calls)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		get(i)
	}
	get(0)  // used again: k01 is the least recently used now
	get(10) // one over the bound: k01 goes
	if n, size := c.Len(); n != 10 || size != 10*per || calls != 11 {
		t.Errorf("kept %d pages, %d bytes, %d reads; want 10, %d, 11", n, size, calls, 10*per)
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
	// Larger than a quarter of the bound: given, not kept.
	big := strings.Repeat("y", 3*per)
	calls = 0
	for range 2 {
		p, _ := c.Get(ctx, "big", 1, t0, reader(big, &calls))
		if len(p.Body) != len(big) {
			t.Fatalf("big: %d bytes", len(p.Body))
		}
	}
	if calls != 2 {
		t.Errorf("a page over a quarter of the bound was kept (%d reads)", calls)
	}
	none := New[string, Page](Limits{}, StringPageCost)
	calls = 0
	none.Get(ctx, "a", 1, t0, reader("[]", &calls))
	none.Get(ctx, "a", 1, t0, reader("[]", &calls))
	if n, _ := none.Len(); calls != 2 || n != 0 {
		t.Errorf("a cache without limits kept %d (%d reads)", n, calls)
	}

	// Bounded by count: the least recently used goes.
	byCount := New[int, int](Limits{Entries: 3}, nil)
	for k := range 4 {
		byCount.Put(k, Entry[int]{Value: k, Version: 1})
		if k == 2 {
			byCount.Peek(0, t0) // 1 is the least recently used now
		}
	}
	for k, want := range []bool{true, false, true, true} {
		if _, ok := byCount.Peek(k, t0); ok != want {
			t.Errorf("bounded by count: %d kept %t, want %t", k, ok, want)
		}
	}
}

// Callers asking for the same key at the same version at once share one
// read; when it fails, each reads on its own.
func TestKeepOneReadAtATime(t *testing.T) {
	ctx := t.Context()
	for _, fail := range []bool{false, true} {
		c := newPages(1 << 20)
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
				p, err := c.Get(ctx, "k", 1, t0, func(context.Context) (Page, time.Time, error) {
					if calls.Add(1) == 1 {
						close(started)
						<-release
						if fail {
							return Page{}, time.Time{}, errors.New("read failed")
						}
					}
					return NewPage([]byte("[k]")), time.Time{}, nil
				})
				bodies[i], errs[i] = string(p.Body), err
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
			t.Errorf("fail=%t: %d reads, %d failed; want %d, %d", fail, calls.Load(), failed, wantCalls, wantFailed)
		}
	}
	// A waiter whose client leaves stops waiting.
	c := newPages(1 << 20)
	release := make(chan struct{})
	started := make(chan struct{})
	go c.Get(ctx, "k", 1, t0, func(context.Context) (Page, time.Time, error) {
		close(started)
		<-release
		return Page{}, time.Time{}, nil
	})
	<-started
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Get(gone, "k", 1, t0, func(context.Context) (Page, time.Time, error) { return Page{}, time.Time{}, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("a waiter whose context ended: %v", err)
	}
	close(release)
}

func TestNotModified(t *testing.T) {
	etag := ETag([]byte("[1]"))
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{etag, true},
		{"W/" + etag, true},
		{`"other", ` + etag, true},
		{`"other"`, false},
		{"*", true},
		{etag[:len(etag)-1], false},
	} {
		if got := NotModified(tc.header, etag); got != tc.want {
			t.Errorf("If-None-Match %q: %t, want %t", tc.header, got, tc.want)
		}
	}
	if NotModified("*", "") {
		t.Error("no tag, yet not modified")
	}
}

// BenchmarkGetKept is the cost of a kept answer, the path of every kept
// request: two goroutines a core asking for a few keys.
func BenchmarkGetKept(b *testing.B) {
	c := newPages(1 << 20)
	keys := []string{"homes\x00a", "incidents\x00b", "notices\x00c", "notices\x00d"}
	for _, k := range keys {
		c.Put(k, Entry[Page]{Value: NewPage([]byte(k)), Version: 1, Read: t0, Until: t0.Add(time.Minute)})
	}
	read := func(context.Context) (Page, time.Time, error) { return Page{}, time.Time{}, errors.New("not kept") }
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for i := 0; pb.Next(); i++ {
			if _, err := c.Get(ctx, keys[i%len(keys)], 1, t0, read); err != nil {
				b.Fatal(err)
			}
		}
	})
}
