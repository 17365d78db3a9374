package web

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The accessibility checks of the browser tests: axe-core, vendored for
// the tests only under testdata/axe (scripts/vendor-axe.sh), is loaded into
// the page a test shows and run there. A serious or critical violation
// fails the test; every finding goes into a JSON report kept as the test's
// artifact.

// axeSource is testdata/axe/axe.min.js, read once.
var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	return string(b), err
})

// axeViolation is one rule a page breaks, as axe reports it.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// blocking reports whether v must fail the test.
func (v axeViolation) blocking() bool { return v.Impact == "serious" || v.Impact == "critical" }

func (v axeViolation) String() string {
	var where []string
	for i, n := range v.Nodes {
		if i == 3 {
			where = append(where, "…")
			break
		}
		b, _ := json.Marshal(n.Target)
		where = append(where, string(b))
	}
	return v.Impact + " " + v.ID + " (" + v.Help + ") at " + strings.Join(where, ", ")
}

// runAxe checks the page shown in tab with every rule of WCAG 2.x A and
// AA and axe's best practices.
func runAxe(ctx context.Context) ([]axeViolation, error) {
	src, err := axeSource()
	if err != nil {
		return nil, err
	}
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		return nil, err
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](src+"\n;true")); err != nil {
			return nil, err
		}
	}
	js, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {
		resultTypes: ["violations"],
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}
	}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, err
	}
	var out []axeViolation
	err = json.Unmarshal([]byte(js), &out)
	return out, err
}

// axeReport collects what axe found on the pages of a test and writes it
// as the test's artifact: into $SHEQU_TEST_ARTIFACTS when set (CI keeps
// it), else into the test's temporary directory.
type axeReport struct {
	t     *testing.T
	dir   string
	spent time.Duration // running axe
	mu    sync.Mutex
	Pages []axePage `json:"pages"`
}

type axePage struct {
	Who        string         `json:"who"`
	Screen     string         `json:"screen"`
	Path       string         `json:"path"`
	Violations []axeViolation `json:"violations"`
}

func newAxeReport(t *testing.T) *axeReport {
	r := &axeReport{t: t, dir: os.Getenv("SHEQU_TEST_ARTIFACTS")}
	if r.dir == "" {
		r.dir = t.TempDir()
	}
	t.Cleanup(r.write)
	return r
}

// check runs axe on the page in ctx and fails the test on a serious or
// critical violation.
func (r *axeReport) check(ctx context.Context, who, screen, path string) {
	r.t.Helper()
	began := time.Now()
	v, err := runAxe(ctx)
	r.mu.Lock()
	r.spent += time.Since(began)
	r.mu.Unlock()
	if err != nil {
		r.t.Errorf("%s %s %s: axe: %v", who, screen, path, err)
		return
	}
	r.mu.Lock()
	r.Pages = append(r.Pages, axePage{Who: who, Screen: screen, Path: path, Violations: v})
	r.mu.Unlock()
	for _, x := range v {
		if x.blocking() {
			r.t.Errorf("%s %s %s: %s", who, screen, path, x)
		}
	}
}

func (r *axeReport) write() {
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		r.t.Error(err)
		return
	}
	name := filepath.Join(r.dir, "axe-"+strings.ReplaceAll(r.t.Name(), "/", "-")+".json")
	b, err := json.MarshalIndent(struct {
		Test    string    `json:"test"`
		Written time.Time `json:"written"`
		Pages   []axePage `json:"pages"`
	}{r.t.Name(), time.Now().UTC(), r.Pages}, "", "  ")
	if err == nil {
		err = os.WriteFile(name, b, 0o644)
	}
	if err != nil {
		r.t.Error(err)
		return
	}
	r.t.Logf("axe report: %s (%d pages, axe ran for %v)", name, len(r.Pages), r.spent.Round(100*time.Millisecond))
}
