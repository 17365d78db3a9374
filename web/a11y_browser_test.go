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
	"github.com/chromedp/chromedp/kb"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/sqlstore"
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

// runAxe checks the page shown in ctx — or only the part within, a CSS
// selector, when it is not empty — with every rule of WCAG 2.x A and AA and
// axe's best practices.
func runAxe(ctx context.Context, within string) ([]axeViolation, error) {
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
	context := "document"
	if within != "" {
		context = "{include: [" + jsString(within) + "]}"
	}
	js, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(`+context+`, {
		resultTypes: ["violations"], preload: false, iframes: false, performanceTimer: false, selectors: true, ancestry: false, xpath: false,
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

// check runs axe on the page in ctx (within: see runAxe) and fails the
// test on a serious or critical violation.
// Its failures go to t, the test that shows the page.
func (r *axeReport) check(t *testing.T, ctx context.Context, who, screen, path, within string) {
	t.Helper()
	began := time.Now()
	v, err := runAxe(ctx, within)
	r.mu.Lock()
	r.spent += time.Since(began)
	r.mu.Unlock()
	if err != nil {
		t.Errorf("%s %s: axe: %v", screen, path, err)
		return
	}
	r.mu.Lock()
	r.Pages = append(r.Pages, axePage{Who: who, Screen: screen, Path: path, Violations: v})
	r.mu.Unlock()
	for _, x := range v {
		if x.blocking() {
			t.Errorf("%s %s: %s", screen, path, x)
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

// tabTo presses Tab until the focus is on an element matching sel,
// at most max times, and fails the test if it never gets there. Each stop
// on the way must show where the focus is.
func (b *browserTab) tabTo(sel string, max int) {
	b.t.Helper()
	for i := 0; i < max; i++ {
		b.run("press Tab", chromedp.KeyEvent(kb.Tab))
		got := b.eval(`(() => {
			const el = document.activeElement;
			if (!el || el === document.body) return "";
			const st = getComputedStyle(el);
			const shown = st.outlineStyle !== "none" && parseFloat(st.outlineWidth) >= 2 || st.boxShadow !== "none";
			return (el.matches(` + jsString(sel) + `) ? "yes" : "no") + (shown ? "" : " unseen " + el.outerHTML.slice(0, 120));
		})()`)
		if strings.Contains(got, "unseen") {
			b.t.Errorf("%s: the focus cannot be seen on %s", b.name, strings.TrimPrefix(got[3:], " unseen "))
		}
		if strings.HasPrefix(got, "yes") {
			return
		}
	}
	b.t.Fatalf("%s: %s not reached in %d presses of Tab", b.name, sel, max)
}

// TestBrowserKeyboard uses the two pages where a person must never be
// stuck with the keyboard alone. The resident: from the home page to the
// SOS button, which Enter does not fire at once (it asks again, so that it
// cannot go off by accident), and the second, confirming press sends it.
// The operator: the console's queue by Tab and Enter, then A acknowledges,
// D sends the recommended person, R goes to the outcome, the arrow keys
// choose one and Enter resolves. Every stop of the focus on the way shows
// where it is; axe checks the console with an incident open and the
// resident's page with the alarm raised.
func TestBrowserKeyboard(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	e := newTestEnv(t, sqlstore.SQLite)
	t.Cleanup(e.server.StopStreams)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	began := time.Now()
	report := newAxeReport(t)
	resCtx := newBrowser(t, ctx)
	res := &browserTab{t: t, name: "resident", ctx: resCtx, log: watchConsole(resCtx)}
	opCtx, cancelOp := chromedp.NewContext(resCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelOp)
	if err := chromedp.Do(opCtx); err != nil {
		t.Fatalf("second browser context: %v", err)
	}
	op := &browserTab{t: t, name: "operator", ctx: opCtx, log: watchConsole(opCtx)}
	for _, b := range []*browserTab{res, op} {
		b.run("a desk, in Chinese", chromedp.EmulateViewport(1366, 768), acceptLanguage("zh-CN,zh;q=0.9"))
	}

	// --- the resident raises an SOS with the keyboard ---
	res.signIn(e.http.URL, "resident01", "/")
	res.tabTo("#home-sos", 40)
	res.navigate("Enter on SOS", chromedp.KeyEvent(kb.Enter))
	if p := res.eval(`location.pathname`); p != "/my/alarm" {
		t.Fatalf("the home's SOS went to %s", p)
	}
	res.tabTo("#sos-button", 40)
	res.navigate("Enter on the SOS button", chromedp.KeyEvent(kb.Enter))
	// Enter alone asks once more; nothing is raised yet.
	if res.eval(`String(!!document.querySelector("#sos-yes"))`) != "true" {
		t.Fatal("Enter on the SOS button did not ask to confirm")
	}
	if l, err := e.store.ListIncidents(t.Context(), auth.Scope{{}}, alarm.IncidentFilter{}); err != nil || l.Total != 0 {
		t.Fatalf("an incident before the confirmation: %v %+v", err, l.Items)
	}
	report.check(t, res.ctx, "resident", "1366", "SOS confirmation", "")
	res.tabTo("#sos-yes", 20)
	res.navigate("Enter on 确认", chromedp.KeyEvent(kb.Enter))
	l, err := e.store.ListIncidents(t.Context(), auth.Scope{{}}, alarm.IncidentFilter{})
	if err != nil || l.Total != 1 || l.Items[0].Kind != alarm.KindPanic {
		t.Fatalf("after the confirmation: %v %+v", err, l.Items)
	}
	report.check(t, res.ctx, "resident", "1366", "/my/alarm with the SOS sent", "")

	// --- the operator handles it with the keyboard ---
	op.signIn(e.http.URL, "operator", "/console")
	op.waitSwaps("the queue has it", `!!document.querySelector("#queue a.inc")`, 5*time.Second)
	op.tabTo("#queue a.inc", 60)
	op.run("Enter on it", chromedp.KeyEvent(kb.Enter))
	op.waitSwaps("it opens", `!!document.querySelector('#detail[data-id] #btn-ack:not([disabled])')`, 5*time.Second)
	report.check(t, op.ctx, "operator", "1366", "/console with an incident open", "")
	// A key must never send the plain form and reload the page: the next
	// key would fall on a page whose script has not run yet.
	op.eval(`window.shequMark = "kept"; ""`)
	op.run("press A", chromedp.KeyEvent("a"))
	op.waitSwaps("acknowledged", `document.querySelector("#incident-state").dataset.status === "acknowledged" && !!document.querySelector("#btn-dispatch:not([disabled])")`, 5*time.Second)
	op.run("press D", chromedp.KeyEvent("d"))
	op.waitSwaps("dispatched", `document.querySelector("#incident-state").dataset.status === "dispatched"`, 5*time.Second)
	op.run("press R", chromedp.KeyEvent("r"))
	op.waitSwaps("the outcome has the focus", `document.activeElement && document.activeElement.id === "resolution"`, 5*time.Second)
	// The dispatch's live event comes meanwhile, and its refresh — or an
	// older one still on its way — must neither take the focus nor bring
	// back an older state.
	time.Sleep(time.Second)
	if got := op.eval(`[String(window.shequMark), document.activeElement.id, document.querySelector("#incident-state").dataset.status].join(" ")`); got != "kept resolution dispatched" {
		t.Fatalf("a second after R: page mark, focus, status = %q, want \"kept resolution dispatched\"", got)
	}
	op.run("choose an outcome with the arrow key", chromedp.KeyEvent(kb.ArrowDown))
	op.waitSwaps("an outcome is chosen and the focus on 处理完毕", `document.querySelector("#resolution").value !== "" && document.activeElement.id === "btn-resolve"`, 5*time.Second)
	op.run("Enter resolves", chromedp.KeyEvent(kb.Enter))
	op.waitSwaps("resolved", `document.querySelector("#incident-state").dataset.status === "resolved"`, 5*time.Second)

	for _, b := range []*browserTab{res, op} {
		if p := b.log.problems(); len(p) > 0 {
			t.Errorf("%s browser console:\n%s", b.name, strings.Join(p, "\n"))
		}
	}
	t.Logf("the keyboard walk took %v", time.Since(began).Round(100*time.Millisecond))
}

// waitSwaps is wait for a page whose parts htmx and the live stream swap
// while the condition is polled: a poll that loses its page to a swap is
// asked again.
func (b *browserTab) waitSwaps(step, cond string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: %s: not within %v (%v)", b.name, step, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
