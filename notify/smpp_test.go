package notify_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/linxGnu/gosmpp/data"

	"github.com/shequ/shequ/notify"
	"github.com/shequ/shequ/notify/smsc"
)

func testLog() *slog.Logger {
	// gosmpp's goroutines may log after a test ends, so not through t.Log.
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func startSMSC(t *testing.T) *smsc.Server {
	t.Helper()
	srv, err := smsc.Start(smsc.Config{SystemID: "shequ", Password: "s3cret", Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// newSMPP is a sender for srv with timeouts short enough for tests.
func newSMPP(t *testing.T, url string) *notify.SMPP {
	t.Helper()
	s, err := notify.ParseSMPP(url)
	if err != nil {
		t.Fatal(err)
	}
	s.RespTimeout = 400 * time.Millisecond
	s.BindTimeout = 2 * time.Second
	s.EnquireLink = 200 * time.Millisecond
	s.RebindInterval = 100 * time.Millisecond
	s.Log = testLog()
	t.Cleanup(func() { s.Close() })
	return s
}

func isPermanent(err error) bool {
	var p notify.Permanent
	return errors.As(err, &p)
}

func TestParseSMPP(t *testing.T) {
	s, err := notify.ParseSMPP("smpp://shequ:pa%40ss@smsc.example:2776?source=10690000&system_type=alarm&tls=0&timeout=5s&coding=ucs2&src_ton=3")
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != "smsc.example:2776" || s.SystemID != "shequ" || s.Password != "pa@ss" || s.Source != "10690000" ||
		s.SystemType != "alarm" || s.TLS || s.RespTimeout != 5*time.Second || !s.UCS2 || s.SourceTON != 3 || s.SourceNPI != -1 {
		t.Fatalf("parsed %+v", s)
	}
	if strings.Contains(s.String(), "pa@ss") {
		t.Fatalf("String shows the password: %s", s)
	}
	s, err = notify.ParseSMPP("smpps://a:b@host")
	if err != nil || s.Addr != "host:2775" || !s.TLS {
		t.Fatalf("smpps: %+v %v", s, err)
	}
	for _, bad := range []string{
		"http://a:b@host:1",
		"smpp://host:1",
		"smpp://a:b@host:1?sourse=1",
		"smpp://a:b@host:1?tls=maybe",
		"smpp://a:waytoolongpassword@host:1",
		"smpp://a:b@host:1?coding=latin1",
	} {
		if _, err := notify.ParseSMPP(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestSMPPChineseRoundTrip(t *testing.T) {
	srv := startSMSC(t)
	s := newSMPP(t, srv.URL("10690000"))
	ctx := t.Context()

	short, err := notify.Render("intrusion", "zh-Hans", map[string]string{"building": "3栋", "door": "2单元1201", "time": "03:12", "kind": "门磁"})
	if err != nil {
		t.Fatal(err)
	}
	// 160 characters: three UCS2 parts of at most 67.
	long := strings.Repeat("社区报警测试，请勿回复。", 13) + "结束。。。。"
	english := "[Community alarm] Intrusion alarm (door) at B3 1201 at 03:12. The monitoring centre is on it. Reply STOP? No: this number does not read replies, {sorry}. Call the centre instead."

	for _, m := range []notify.Message{
		{Key: "n1:sms:0", To: "13800138000", Body: short},
		{Key: "n1:sms:1", To: "+8613900139000", Body: long},
		{Key: "n1:sms:2", To: "138 0013 8001", Body: english},
	} {
		if err := s.Send(ctx, m); err != nil {
			t.Fatalf("%s: %v", m.Key, err)
		}
	}

	got := srv.Messages()
	if len(got) != 3 {
		t.Fatalf("SMSC has %d messages, want 3: %+v", len(got), got)
	}
	want := []struct {
		to     string
		text   string
		parts  int
		coding byte
	}{
		{"13800138000", short, 1, data.UCS2Coding},
		{"8613900139000", long, 3, data.UCS2Coding},
		{"13800138001", english, 2, data.GSM7BITCoding},
	}
	for i, w := range want {
		g := got[i]
		if g.To != w.to || g.Text != w.text || g.Parts != w.parts || g.DataCoding != w.coding || g.From != "10690000" {
			t.Errorf("message %d: got to=%s parts=%d coding=%#x from=%s text=%q\nwant to=%s parts=%d coding=%#x text=%q",
				i, g.To, g.Parts, g.DataCoding, g.From, g.Text, w.to, w.parts, w.coding, w.text)
		}
	}
	// What fits an SMS beside a 6-octet concatenation header: 134 octets
	// of UCS2, 153 septets of GSM 7-bit (carried unpacked, one an octet).
	for _, p := range srv.Parts() {
		limit := 140
		if p.DataCoding == data.GSM7BITCoding {
			limit = 160
		}
		if p.Total > 1 {
			limit = 134
			if p.DataCoding == data.GSM7BITCoding {
				limit = 153
			}
		}
		if len(p.Data) > limit {
			t.Errorf("part %d/%d of %s is %d octets, over %d", p.Seq, p.Total, p.To, len(p.Data), limit)
		}
	}
}

func TestSMPPSplitKeepsSurrogatePairs(t *testing.T) {
	srv := startSMSC(t)
	s := newSMPP(t, srv.URL("10690000"))
	// 66 characters, then an emoji (a surrogate pair) across the 67-unit
	// boundary of the first part.
	body := strings.Repeat("警", 66) + "🚨" + strings.Repeat("报", 30)
	if err := s.Send(t.Context(), notify.Message{Key: "emoji", To: "13800138000", Body: body}); err != nil {
		t.Fatal(err)
	}
	for _, p := range srv.Parts() {
		text, err := data.UCS2.Decode(p.Data)
		if err != nil || !utf8.ValidString(text) || strings.ContainsRune(text, utf8.RuneError) {
			t.Errorf("part %d does not decode on its own: %q %v", p.Seq, text, err)
		}
	}
	if m := srv.Messages(); len(m) != 1 || m[0].Text != body {
		t.Fatalf("reassembled %+v", m)
	}
}

func TestSMPPWrongPassword(t *testing.T) {
	srv := startSMSC(t)
	s := newSMPP(t, strings.Replace(srv.URL("10690000"), "s3cret", "wrong", 1))
	err := s.Send(t.Context(), notify.Message{Key: "k", To: "13800138000", Body: "hi"})
	if err == nil || !strings.Contains(err.Error(), "ESME_RINVPASWD") || !strings.Contains(err.Error(), "refused the bind") {
		t.Fatalf("want a bind refusal naming ESME_RINVPASWD, got %v", err)
	}
	// Transient: the job waits in the outbox until the account is fixed.
	if isPermanent(err) {
		t.Fatalf("bind refusal marked permanent: %v", err)
	}
	if err := s.Bind(t.Context()); err == nil || !strings.Contains(err.Error(), "Invalid Password") {
		t.Fatalf("Bind: %v", err)
	}
	if len(srv.Parts()) != 0 || srv.Binds() != 0 {
		t.Fatalf("sent %d parts with %d binds", len(srv.Parts()), srv.Binds())
	}
}

func TestSMPPThrottledThenSent(t *testing.T) {
	srv := startSMSC(t)
	s := newSMPP(t, srv.URL("10690000"))
	m := notify.Message{Key: "t1", To: "13800138000", Body: "测试限流"}
	srv.FailNext(1, data.ESME_RTHROTTLED)
	err := s.Send(t.Context(), m)
	if err == nil || isPermanent(err) || !strings.Contains(err.Error(), "ESME_RTHROTTLED") {
		t.Fatalf("throttled: want a transient error, got %v", err)
	}
	srv.FailNext(1, data.ESME_RMSGQFUL)
	if err := s.Send(t.Context(), m); err == nil || isPermanent(err) {
		t.Fatalf("queue full: want a transient error, got %v", err)
	}
	// The worker retries; now the SMSC takes it.
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(); len(got) != 1 || got[0].Text != m.Body {
		t.Fatalf("SMSC has %+v", got)
	}
}

func TestSMPPInvalidAddressesArePermanent(t *testing.T) {
	srv := startSMSC(t)
	s := newSMPP(t, srv.URL("10690000"))
	ctx := t.Context()
	// The SMSC refuses a number too short to route.
	err := s.Send(ctx, notify.Message{Key: "d1", To: "123", Body: "x"})
	if !isPermanent(err) || !strings.Contains(err.Error(), "ESME_RINVDSTADR") {
		t.Fatalf("short number: want permanent ESME_RINVDSTADR, got %v", err)
	}
	// Not a number at all: refused before the SMSC sees it.
	if err := s.Send(ctx, notify.Message{Key: "d2", To: "call me", Body: "x"}); !isPermanent(err) {
		t.Fatalf("letters: want permanent, got %v", err)
	}
	srv.FailNext(1, data.ESME_RINVSRCADR)
	err = s.Send(ctx, notify.Message{Key: "d3", To: "13800138000", Body: "x"})
	if !isPermanent(err) || !strings.Contains(err.Error(), "ESME_RINVSRCADR") {
		t.Fatalf("source: want permanent ESME_RINVSRCADR, got %v", err)
	}
	if n := len(srv.Parts()); n != 0 {
		t.Fatalf("SMSC accepted %d parts", n)
	}
}

func TestSMPPRebindsAfterSMSCRestart(t *testing.T) {
	srv := startSMSC(t)
	s := newSMPP(t, srv.URL("10690000"))
	ctx := t.Context()
	if err := s.Send(ctx, notify.Message{Key: "r1", To: "13800138000", Body: "重启前"}); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	// While the SMSC is down, sends fail and would be retried.
	m := notify.Message{Key: "r2", To: "13800138000", Body: "重启后"}
	if err := s.Send(ctx, m); err == nil || isPermanent(err) {
		t.Fatalf("SMSC down: want a transient error, got %v", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// The worker's retries, compressed: the session rebinds on its own
	// within a few rebind intervals.
	deadline := time.Now().Add(5 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = s.Send(ctx, m); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("no send after restart: %v", err)
	}
	if srv.Binds() < 2 {
		t.Fatalf("binds = %d, want a rebind", srv.Binds())
	}
	got := srv.Messages()
	if len(got) != 2 || got[1].Text != "重启后" {
		t.Fatalf("SMSC has %+v", got)
	}
	if err := s.Send(ctx, notify.Message{Key: "r3", To: "13800138000", Body: "之后"}); err != nil {
		t.Fatalf("later send: %v", err)
	}
}

func TestSMPPReceipts(t *testing.T) {
	srv := startSMSC(t)
	s := newSMPP(t, srv.URL("10690000"))
	receipts := make(chan notify.Receipt, 10)
	s.OnReceipt = func(r notify.Receipt) { receipts <- r }
	body := strings.Repeat("长", 100) // two parts, two receipts
	if err := s.Send(t.Context(), notify.Message{Key: "rc", To: "13800138000", Body: body}); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, p := range srv.Parts() {
		want[p.MessageID] = true
	}
	if len(want) != 2 {
		t.Fatalf("parts %+v", srv.Parts())
	}
	if ids := s.MessageIDs("rc"); len(ids) != 2 || !want[ids[0]] || !want[ids[1]] {
		t.Errorf("MessageIDs = %v, want the two of %v", ids, want)
	}
	for range 2 {
		select {
		case r := <-receipts:
			// The receipt names the message by our key as well as the
			// SMSC's id, so the timeline finds it before the sender
			// has recorded the id.
			if !want[r.MessageID] || r.Status != "DELIVRD" || r.Key != "rc" {
				t.Fatalf("receipt %+v, want one of %v DELIVRD for rc", r, want)
			}
			delete(want, r.MessageID)
		case <-time.After(3 * time.Second):
			t.Fatalf("no receipt for %v", want)
		}
	}
}

func TestSMPPLostResponseIsNotResent(t *testing.T) {
	srv := startSMSC(t)
	s := newSMPP(t, srv.URL("10690000"))
	ctx := t.Context()
	m := notify.Message{Key: "lost", To: "13800138000", Body: "只发一次"}

	// The SMSC takes the submit, but its response does not come.
	srv.HoldResponses(1)
	err := s.Send(ctx, m)
	if err == nil || isPermanent(err) || !strings.Contains(err.Error(), "no submit_sm_resp") {
		t.Fatalf("lost response: want a transient timeout, got %v", err)
	}
	// The worker retries the job: the part is waited for again, not
	// submitted again.
	if err := s.Send(ctx, m); err == nil {
		t.Fatal("retry with the response still missing succeeded")
	}
	if n := len(srv.Parts()); n != 1 {
		t.Fatalf("SMSC got %d submits, want 1", n)
	}

	// The response turns up while a retry waits for it.
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, m) }()
	time.Sleep(100 * time.Millisecond)
	if n := srv.SendHeld(); n != 1 {
		t.Fatalf("released %d responses", n)
	}
	if err := <-done; err != nil {
		t.Fatalf("retry after the late response: %v", err)
	}
	// And later retries (a job completed twice, say) send nothing either.
	if err := s.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Parts()); n != 1 {
		t.Fatalf("SMSC got %d submits, want 1", n)
	}
}

// A response that never comes on a live link is not waited for forever:
// after InDoubt the sender rebinds and submits again, at the price of a
// possible duplicate.
func TestSMPPUnansweredSubmitIsSentAgain(t *testing.T) {
	srv := startSMSC(t)
	s := newSMPP(t, srv.URL("10690000"))
	s.InDoubt = 700 * time.Millisecond
	ctx := t.Context()
	m := notify.Message{Key: "silent", To: "13800138000", Body: "再试"}
	srv.HoldResponses(1)
	if err := s.Send(ctx, m); err == nil {
		t.Fatal("want a timeout")
	}
	if err := s.Send(ctx, m); err == nil {
		t.Fatal("want a timeout while in doubt")
	}
	if n := len(srv.Parts()); n != 1 {
		t.Fatalf("SMSC got %d submits while in doubt, want 1", n)
	}
	// Past InDoubt: the retry drops the bind, the next one sends.
	err := s.Send(ctx, m)
	if err == nil || !strings.Contains(err.Error(), "unanswered") {
		t.Fatalf("want the bind dropped, got %v", err)
	}
	if err := s.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Parts()); n != 2 || srv.Binds() != 2 {
		t.Fatalf("SMSC got %d submits over %d binds, want 2 over 2", n, srv.Binds())
	}
}

func TestSMPPLateResponseBetweenRetries(t *testing.T) {
	srv := startSMSC(t)
	s := newSMPP(t, srv.URL("10690000"))
	m := notify.Message{Key: "late", To: "13800138000", Body: "late"}
	srv.HoldResponses(1)
	if err := s.Send(t.Context(), m); err == nil {
		t.Fatal("want a timeout")
	}
	settled := s.ResponseSettled(m.Key)
	if settled == nil {
		t.Fatal("no part waits for its response")
	}
	srv.SendHeld()
	// The response arrived after Send gave up; the sender noted it, so
	// the retry returns at once.
	select {
	case <-settled:
	case <-time.After(5 * time.Second):
		t.Fatal("the late response was not read")
	}
	start := time.Now()
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 200*time.Millisecond {
		t.Fatalf("retry waited %s", time.Since(start))
	}
	if n := len(srv.Parts()); n != 1 {
		t.Fatalf("SMSC got %d submits, want 1", n)
	}
}

func TestSMPPConcurrentSends(t *testing.T) {
	srv := startSMSC(t)
	s := newSMPP(t, srv.URL("10690000"))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		// Each key twice at once: the second waits for the first and
		// sends nothing.
		for range 2 {
			wg.Go(func() {
				errs <- s.Send(ctx, notify.Message{Key: fmt.Sprintf("c%d", i), To: "13800138000", Body: fmt.Sprintf("并发 %d", i)})
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(srv.Parts()); n != 20 {
		t.Fatalf("SMSC got %d submits, want 20", n)
	}
}

// slowLink forwards connections to addr after delay: an SMSC that takes
// its time to answer a bind.
func slowLink(t *testing.T, addr string, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				time.Sleep(delay)
				up, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer up.Close()
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	return ln.Addr().String()
}

// A Send keeps to its context while the SMSC is slow to bind, and submits
// nothing once its context ended: past the outbox's deadline the job may
// be another node's, which sends the message itself. The bind goes on
// and serves the next Send.
func TestSMPPSendKeepsToItsDeadlineWhileBinding(t *testing.T) {
	srv := startSMSC(t)
	const bindDelay = 600 * time.Millisecond
	s := newSMPP(t, strings.Replace(srv.URL("10690000"), srv.Addr(), slowLink(t, srv.Addr(), bindDelay), 1))
	m := notify.Message{Key: "d1", To: "13800138000", Body: "报警"}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Send(ctx, m)
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > bindDelay/2 {
		t.Fatalf("Send during a slow bind: %v after %v; want the deadline, at 100ms", err, took)
	}
	time.Sleep(2 * bindDelay) // the bind completes meanwhile
	if n := len(srv.Parts()); n != 0 {
		t.Fatalf("SMSC got %d parts submitted after the Send's deadline", n)
	}
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if n, binds := len(srv.Parts()), srv.Binds(); n != 1 || binds != 1 {
		t.Fatalf("SMSC got %d parts over %d binds, want 1 over the one bind", n, binds)
	}
}
