package web

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/sqlstore"
)

// TestBrowserAssociationPlacement is issue 5's "done when" for the pages:
// the employment association's chair, on a phone-sized touch screen, adds
// a job seeker — finding the resident by name, the form checking a field
// as it is typed and saying what is wrong in Chinese, the resident's
// consent to the HR company ticked on the same form; the HR partner, at a
// desktop, finds the entry in what is shared with it (masked name, the
// granted fields only) and records a placement; the chair's dashboard
// then counts one more resident placed this year.
func TestBrowserAssociationPlacement(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	e := newTestEnv(t, sqlstore.SQLite)
	t.Cleanup(e.server.StopStreams)
	person := e.notSeeker()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	began := time.Now()

	chairCtx := newBrowser(t, ctx)
	chair := &browserTab{t: t, name: "chair", ctx: chairCtx, log: watchConsole(chairCtx)}
	hrCtx, cancelHR := chromedp.NewContext(chairCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelHR)
	if err := chromedp.Do(hrCtx); err != nil {
		t.Fatalf("second browser context: %v", err)
	}
	hr := &browserTab{t: t, name: "hr-partner", ctx: hrCtx, log: watchConsole(hrCtx)}
	dir := os.Getenv("SHEQU_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	chair.run("emulate a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait),
		acceptLanguage("zh-CN,zh;q=0.9"))
	hr.run("emulate a desktop", chromedp.EmulateViewport(1280, 900), acceptLanguage("zh-CN,zh;q=0.9"))
	fits := func(b *browserTab, where string) {
		t.Helper()
		if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
			t.Errorf("%s is %s px wide on a 390 px phone", where, w)
		}
	}
	tall := func(b *browserTab, where string, selectors ...string) {
		t.Helper()
		for _, sel := range selectors {
			h, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](`document.querySelector(`+jsString(sel)+`).getBoundingClientRect().height`))
			if err != nil || h < 48 {
				t.Errorf("%s: %s is %.0f px tall (%v), want at least 48", where, sel, h, err)
			}
		}
	}
	placed := func() int {
		t.Helper()
		chair.navigate("open the dashboard", chromedp.Navigate(e.http.URL+"/stats"))
		n, err := strconv.Atoi(strings.ReplaceAll(chair.eval(`document.querySelector("#placed-count").textContent`), ",", ""))
		if err != nil {
			t.Fatalf("placed count: %v", err)
		}
		return n
	}

	// --- the chair, on the phone: the dashboard, then a new job seeker ---
	chair.signIn(e.http.URL, "assoc-jiuye", "/stats")
	before := placed()
	fits(chair, "the dashboard")
	chair.shoot(dir, "assoc-1-chair-dashboard")

	chair.navigate("open the workspace", chromedp.Navigate(e.http.URL+"/ledgers"))
	fits(chair, "the workspace")
	tall(chair, "the workspace", "#add-job_seekers")
	chair.navigate("add a job seeker", chromedp.Tap(chromedp.ID("add-job_seekers")))
	chair.wait("htmx is ready", `!!window.htmx`, 3*time.Second)
	fits(chair, "the entry form")
	tall(chair, "the entry form", "#q", "#find-person", "#save-entry", "#v-desired_work", "#v-status", `#consent label.tile`)
	chair.shoot(dir, "assoc-2-chair-form")

	chair.run("type the resident's name", chromedp.SendKeys(chromedp.ID("q"), person.Name))
	chair.run("find", chromedp.Tap(chromedp.ID("find-person")))
	pick := fmt.Sprintf(`input[name="person_id"][value="%d"]`, person.ID)
	chair.wait("the resident is offered", `!!document.querySelector(`+jsString(pick)+`)`, 3*time.Second)
	if loc := chair.eval(`location.pathname`); loc != "/ledgers/job_seekers/new" {
		t.Errorf("the search left the form: at %s", loc)
	}
	chair.run("choose the resident", chromedp.Tap(chromedp.CSS(`label.tile:has(`+pick+`)`)))

	// Too much pay: the field says so while it is being typed.
	chair.run("type a pay too high", chromedp.SendKeys(chromedp.ID("v-expected_salary"), "200000"))
	chair.wait("the pay's problem shows", `!document.querySelector("#v-expected_salary-error").hidden &&
		document.querySelector("#v-expected_salary-error").textContent.includes("不能大于100000") &&
		document.activeElement.id === "v-expected_salary"`, 3*time.Second)
	chair.shoot(dir, "assoc-3-chair-checked")
	chair.run("go on to the next field", chromedp.SendKeys(chromedp.ID("v-desired_work"), "超市收银"))
	chair.eval(`document.querySelector("#v-expected_salary").value = ""`)
	chair.run("fix the pay",
		chromedp.SendKeys(chromedp.ID("v-expected_salary"), "3500"),
		chromedp.SendKeys(chromedp.ID("v-skills"), "收银、电脑操作"),
	)
	chair.wait("the pay is fine now", `document.querySelector("#v-expected_salary-error").hidden`, 3*time.Second)
	chair.run("the status", chromedp.SetValue(chromedp.ID("v-status"), "seeking"))
	chair.run("the resident consents to the HR company", chromedp.Tap(chromedp.CSS(`#consent label.tile:has(input[name="consent"])`)))
	chair.navigate("save", chromedp.Tap(chromedp.ID("save-entry")))
	if done := chair.eval(`(document.querySelector("#done") || {}).textContent || ""`); !strings.Contains(done, "已登记") {
		t.Fatalf("after saving at %s: %q", chair.eval(`location.href`), done)
	}
	fits(chair, "the new entry")
	chair.shoot(dir, "assoc-4-chair-entry")
	id, err := strconv.ParseInt(strings.TrimPrefix(chair.eval(`location.pathname`), "/ledgers/job_seekers/"), 10, 64)
	if err != nil {
		t.Fatalf("the entry's address: %v", err)
	}
	// Doubled text still fits the phone, on the entry and on its form.
	chair.navigate("large text", chromedp.Tap(chromedp.CSS(`#prefs button[name="text"]`)))
	if fs := chair.eval(`getComputedStyle(document.documentElement).fontSize`); fs != "32px" {
		t.Errorf("large text font size %s", fs)
	}
	fits(chair, "the new entry in large text")
	chair.navigate("change the entry", chromedp.Tap(chromedp.ID("edit-entry")))
	fits(chair, "the entry's form in large text")
	chair.shoot(dir, "assoc-4b-chair-edit-large")
	chair.navigate("normal text", chromedp.Tap(chromedp.CSS(`#prefs button[name="text"]`)))
	stored, err := e.store.Entry(t.Context(), assoc.Everything, e.demo.CommunityID, assoc.JobSeekers, id)
	if err != nil || stored.PersonID != person.ID || stored.Values["expected_salary"] != 3500.0 || len(stored.Consents) != 1 {
		t.Fatalf("stored %+v (%v)", stored, err)
	}

	// --- the HR partner, at a desktop, finds the entry and places them ---
	hr.signIn(e.http.URL, "hr-partner", "/ledgers")
	if text := hr.eval(`document.querySelector("main").innerText`); !strings.Contains(text, "共享给我们的台账") || !strings.Contains(text, "用途") {
		t.Errorf("the partner's workspace: %.300q", text)
	}
	hr.navigate("open the shared job seekers", chromedp.Navigate(e.http.URL+"/ledgers/job_seekers"))
	row := fmt.Sprintf(`#entries tr[data-id="%d"]`, id)
	for range 20 {
		if hr.eval(`String(!!document.querySelector(`+jsString(row)+`))`) == "true" {
			break
		}
		if hr.eval(`String(!!document.querySelector('a[rel="next"]'))`) != "true" {
			t.Fatalf("entry %d is not among those shared with the partner", id)
		}
		hr.run("next page", chromedp.Click(chromedp.CSS(`a[rel="next"]`)))
		hr.wait("the next page", `!document.querySelector(".htmx-request")`, 3*time.Second)
		time.Sleep(100 * time.Millisecond)
	}
	rowText := hr.eval(`document.querySelector(` + jsString(row) + `).innerText`)
	if strings.Contains(rowText, person.Name) || !strings.Contains(rowText, assoc.MaskName(person.Name)) || !strings.Contains(rowText, "超市收银") {
		t.Errorf("the partner's row: %q", rowText)
	}
	hr.shoot(dir, "assoc-5-partner-list")
	hr.navigate("open the entry", chromedp.Click(chromedp.CSS(row+` a.entry-link`)))
	main := hr.eval(`document.querySelector("main").innerText`)
	if strings.Contains(main, person.Name) || strings.Contains(main, "修改记录") || !strings.Contains(main, "收银、电脑操作") {
		t.Errorf("the partner's view of the entry: %.500q", main)
	}
	hr.run("placed", chromedp.Click(chromedp.CSS(`label[for="kind-placed"]`)))
	hr.run("a note", chromedp.SendKeys(chromedp.ID("fu-note"), "超市收银，已签劳动合同"))
	hr.navigate("save the placement", chromedp.Click(chromedp.ID("save-followup")))
	if done := hr.eval(`(document.querySelector("#done") || {}).textContent || ""`); !strings.Contains(done, "跟进已记录") {
		t.Errorf("after the placement: %q", done)
	}
	if hr.eval(`String(!!document.querySelector('#followup-list tr[data-kind="placed"]'))`) != "true" {
		t.Error("the entry does not list the placement")
	}
	hr.shoot(dir, "assoc-6-partner-placed")

	// --- the dashboard counts them ---
	if after := placed(); after != before+1 {
		t.Errorf("residents placed this year: %d before, %d after, want one more", before, after)
	}
	if bars := chair.eval(`String(document.querySelectorAll("#chart-months svg rect:not(.track)").length)`); bars != "12" {
		t.Errorf("the month chart has %s bars", bars)
	}
	fits(chair, "the dashboard after")
	chair.shoot(dir, "assoc-7-chair-dashboard-after")
	// The workspace's other pages fit the phone too.
	for i, path := range []string{"/ledgers/job_seekers", "/cases", "/cases/new/group", "/mediations", "/mediations/new", fmt.Sprintf("/ledgers/job_seekers/%d", id)} {
		chair.navigate("open "+path, chromedp.Navigate(e.http.URL+path))
		fits(chair, path)
		chair.shoot(dir, fmt.Sprintf("assoc-%d-chair%s", 8+i, strings.ReplaceAll(path, "/", "-")))
	}
	t.Logf("screenshots in %s", dir)

	for _, b := range []*browserTab{chair, hr} {
		if p := b.log.problems(); len(p) > 0 {
			t.Errorf("%s browser console:\n%s", b.name, strings.Join(p, "\n"))
		}
	}
	if err := ctx.Err(); errors.Is(err, context.DeadlineExceeded) {
		t.Error("the walk took too long")
	}
	t.Logf("the walk took %v", time.Since(began).Round(100*time.Millisecond))
}
