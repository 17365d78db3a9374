package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	mochi "github.com/mochi-mqtt/server/v2"
	mauth "github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	acs "github.com/shequ/shequ/access"
	accessmqtt "github.com/shequ/shequ/access/mqtt"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/sqlstore"
)

// TestBrowserVisitorPass is issue 15's browser test: resident01 on a
// phone at 390 px with large text invites a visitor in three taps; the
// QR code on the page carries the pass; a simulated controller at the
// gate presents that token over MQTT and the door opens; the director's
// access log shows the visit.
func TestBrowserVisitorPass(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	e := newTestEnv(t, sqlstore.SQLite)
	t.Cleanup(e.server.StopStreams)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	// The broker and shequ's door adapter, as `shequ serve` runs them.
	srv := mochi.New(&mochi.Options{InlineClient: false})
	if err := srv.AddHook(new(mauth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	ln := listeners.NewTCP(listeners.Config{Type: "tcp", ID: "browser-test", Address: "127.0.0.1:0"})
	if err := srv.AddListener(ln); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	broker := "tcp://" + ln.Address()
	adapter := accessmqtt.New(accessmqtt.Config{URL: broker, ClientID: "shequ-browser-test"}, e.store)
	if err := adapter.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := adapter.AwaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(adapter.Close)

	dir := os.Getenv("SHEQU_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	resCtx := newBrowser(t, ctx)
	res := &browserTab{t: t, name: "resident", ctx: resCtx, log: watchConsole(resCtx)}
	res.run("emulate a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait),
		acceptLanguage("zh-CN,zh;q=0.9"))
	res.signIn(e.http.URL, "resident01", "/")
	res.navigate("open my keys", chromedp.Navigate(e.http.URL+"/my/keys"))
	res.navigate("large text", chromedp.Click(chromedp.CSS(`#prefs button[name="text"]`)))
	if fs := res.eval(`getComputedStyle(document.documentElement).fontSize`); fs != "32px" {
		t.Errorf("large text font size %s", fs)
	}
	fits := func(where string) {
		t.Helper()
		if w := res.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
			t.Errorf("%s is %s px wide on a 390 px phone", where, w)
		}
	}
	fits("my keys")
	res.shoot(dir, "access-1-keys")

	// Three taps: invite, how long, send.
	res.navigate("tap invite", chromedp.Tap(chromedp.ID("invite")))
	fits("the invitation")
	res.run("tap two hours", chromedp.Tap(chromedp.CSS(`label.tile:has(input[value="2h"])`)))
	for _, sel := range []string{"#invite-send", `label.tile:has(input[value="2h"])`} {
		h, err := chromedp.Run(res.ctx, chromedp.Evaluate[float64](`document.querySelector('`+sel+`').getBoundingClientRect().height`))
		if err != nil || h < 48 {
			t.Errorf("%s is %.0f px tall (%v), want at least 48", sel, h, err)
		}
	}
	res.shoot(dir, "access-2-invite")
	res.navigate("tap send", chromedp.Tap(chromedp.ID("invite-send")))
	res.wait("the pass with its QR code", `location.pathname.startsWith("/my/visitors/") && !!document.querySelector("#pass-qr")`, 5*time.Second)
	fits("the pass")
	res.shoot(dir, "access-3-pass")
	href := res.eval(`document.querySelector("#pass-link").getAttribute("href")`)
	u, err := url.Parse(html.UnescapeString(href))
	if err != nil {
		t.Fatal(err)
	}
	token := u.Query().Get("t")
	// The QR image on the page is this token, encoded.
	want, err := qrImage(token)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.eval(`document.querySelector("#pass-qr").getAttribute("src")`); got != string(want) {
		t.Error("the QR image does not carry the shared token")
	}

	// The simulated controller at the route's gate presents the token.
	var pass acs.Pass
	passes, err := e.store.ListPasses(ctx, auth.Scope{{}}, acs.PassFilter{Active: true})
	if err != nil || passes.Total == 0 {
		t.Fatalf("passes: %v", err)
	}
	pass = passes.Items[0]
	door := pass.DoorIDs[0]
	answer := make(chan acs.Answer, 1)
	bu, _ := url.Parse(broker)
	ready := make(chan struct{})
	cm, err := autopaho.NewConnection(ctx, autopaho.ClientConfig{
		ServerUrls: []*url.URL{bu}, KeepAlive: 30, CleanStartOnInitialConnection: true,
		OnConnectionUp: func(c *autopaho.ConnectionManager, _ *paho.Connack) {
			if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: accessmqtt.DoorTopic(door, "decision"), QoS: 1}}}); err == nil {
				close(ready)
			}
		},
		ClientConfig: paho.ClientConfig{ClientID: "sim-gate-browser-test", OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			var a acs.Answer
			if json.Unmarshal(pr.Packet.Payload, &a) == nil && a.ID == "qr-1" {
				answer <- a
			}
			return true, nil
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cm.Disconnect(context.Background()) })
	<-ready
	body, _ := json.Marshal(acs.Request{ID: "qr-1", Credential: acs.Presented{Kind: acs.KindPass, Token: token}})
	if _, err := cm.Publish(ctx, &paho.Publish{Topic: accessmqtt.DoorTopic(door, "request"), QoS: 1, Payload: body}); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-answer:
		if !a.Granted {
			t.Fatalf("the gate refused the pass: %+v", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no decision from shequ")
	}

	res.navigate("the pass again", chromedp.Reload())
	if uses := res.eval(`document.querySelector("#pass-uses").textContent`); uses != "1/2" {
		t.Errorf("the pass shows %s uses", uses)
	}

	// The director's access log shows the visit.
	opCtx, cancelOp := chromedp.NewContext(resCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelOp)
	op := &browserTab{t: t, name: "director", ctx: opCtx, log: watchConsole(opCtx)}
	op.run("emulate a desktop", chromedp.EmulateViewport(1280, 900), acceptLanguage("zh-CN,zh;q=0.9"))
	op.signIn(e.http.URL, "director", "/")
	op.navigate("open the access log", chromedp.Navigate(fmt.Sprintf("%s/access/log?door=%d", e.http.URL, door)))
	log := op.eval(`document.querySelector("#access-log").innerText`)
	if !strings.Contains(log, "访客通行码") || !strings.Contains(log, "已开门") {
		t.Errorf("the access log shows:\n%s", log)
	}
	op.shoot(dir, "access-4-log")
	for _, b := range []*browserTab{res, op} {
		if p := b.log.problems(); len(p) > 0 {
			t.Errorf("%s browser console:\n%s", b.name, strings.Join(p, "\n"))
		}
	}
	t.Logf("screenshots in %s", dir)
}
