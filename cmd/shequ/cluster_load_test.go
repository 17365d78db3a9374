package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// liveConsole follows the live stream as a console does: from a given id,
// and after its connection breaks, again through the load balancer with
// the last id it saw (Last-Event-ID).
type liveConsole struct {
	name, first, proxy, token string

	mu         sync.Mutex
	ids        []int64
	reconnects int
	errs       []string
}

func (cn *liveConsole) run(ctx context.Context, from int64) {
	base, last := cn.first, from
	for ctx.Err() == nil {
		err := cn.follow(ctx, base, &last)
		if ctx.Err() != nil {
			return
		}
		cn.mu.Lock()
		cn.reconnects++
		if len(cn.errs) < 5 {
			cn.errs = append(cn.errs, fmt.Sprint(err))
		}
		cn.mu.Unlock()
		base = cn.proxy
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// follow reads one connection's events until it ends.
func (cn *liveConsole) follow(ctx context.Context, base string, last *int64) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+base+"/api/v1/events/stream", nil)
	req.Header.Set("Authorization", "Bearer "+cn.token)
	req.Header.Set("Last-Event-ID", strconv.FormatInt(*last, 10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("stream: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	var id int64
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id, _ = strconv.ParseInt(line[len("id: "):], 10, 64)
		case line == "" && id != 0:
			cn.mu.Lock()
			cn.ids = append(cn.ids, id)
			cn.mu.Unlock()
			*last, id = id, 0
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return fmt.Errorf("stream ended")
}

func (cn *liveConsole) seen() (last int64, n int) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if len(cn.ids) > 0 {
		last = cn.ids[len(cn.ids)-1]
	}
	return last, len(cn.ids)
}

// TestClusterKillUnderLoad runs two nodes behind a load balancer (a TCP
// proxy) while 200 panels report (half to each node's SIA receiver, each
// with the other node as its backup), residents submit matters through
// the balancer and four consoles follow the live stream (one on each
// node, two through the balancer); then it kills node A, the leader, with
// SIGKILL. No acknowledged frame is lost or stored twice; every SMS the
// stored incidents owe reaches the gateway, and only the jobs node A had
// in hand are posted again (with their key, which the gateway sends
// once); node B's console keeps its stream, the others reconnect through
// the balancer with Last-Event-ID, and every console has every live
// event once, in order; each matter answered 2xx exists once.
func TestClusterKillUnderLoad(t *testing.T) {
	c := newCluster(t)
	// Panels behind one address (this machine) hold 200 connections.
	a := c.node(t, "node-a", "--demo", "--sia-max-conns-per-addr", "512")
	waitFor(t, "node A leads every chore", 30*time.Second, func() bool {
		l := c.leases(t)
		for _, name := range nodeChores {
			if l[name] != "node-a" {
				return false
			}
		}
		return true
	})
	b := c.node(t, "node-b", "--sia-max-conns-per-addr", "512")
	lb := newProxy(t, a.addr, b.addr)
	tok := a.token(t, "director", "demo-password-1")
	operator := b.token(t, "operator", "demo-password-1")
	resident := b.token(t, "resident01", "demo-password-1")
	homes := append(homesOn(t, a, tok, 1, 500), homesOn(t, a, tok, 2, 500)...)
	var cats struct {
		Items []struct{ Code string } `json:"items"`
	}
	if code := a.api(t, tok, "GET", "/api/v1/matter-categories?limit=5", nil, &cats); code != 200 || len(cats.Items) == 0 {
		t.Fatalf("matter categories: %d", code)
	}
	category := cats.Items[0].Code

	const panels = 200
	siaA, siaB := a.siaAddr(t), b.siaAddr(t)
	fps := make([]*failoverPanel, panels)
	for i := range fps {
		account := fmt.Sprintf("E%03X", i+1)
		if code := a.api(t, tok, "POST", "/api/v1/alarm/panels", map[string]any{"home_id": homes[i%len(homes)].ID, "account": account}, nil); code != 201 {
			t.Fatalf("register panel %s: %d", account, code)
		}
		addrs := [2]string{siaA, siaB}
		if i%2 == 1 {
			addrs = [2]string{siaB, siaA}
		}
		fps[i] = &failoverPanel{Panel: siatestPanel(account), addrs: addrs}
	}

	// The consoles start from the newest event: from there each must see
	// every one.
	var from int64
	if err := c.db.QueryRowContext(t.Context(), "SELECT COALESCE(MAX(id), 0) FROM live_events").Scan(&from); err != nil {
		t.Fatal(err)
	}
	consoles := []*liveConsole{
		{name: "on node A", first: a.addr, proxy: lb.addr(), token: operator},
		{name: "on node B", first: b.addr, proxy: lb.addr(), token: operator},
		{name: "balanced 1", first: lb.addr(), proxy: lb.addr(), token: operator},
		{name: "balanced 2", first: lb.addr(), proxy: lb.addr(), token: operator},
	}
	streamCtx, stopStreams := context.WithCancel(t.Context())
	defer stopStreams()
	var streams sync.WaitGroup
	for _, cn := range consoles {
		streams.Go(func() { cn.run(streamCtx, from) })
	}

	var mu sync.Mutex
	acked := map[string]bool{}
	var lat, failoverLat []time.Duration
	var failedOver, lost int
	var killedAt time.Time
	duringKill := 0 // frames sent from the kill until 5 s after it
	stop := make(chan struct{})
	var load sync.WaitGroup
	for i, p := range fps {
		load.Go(func() {
			defer p.close()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			// Panels start spread over the first second.
			time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond)
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				data := "Nri1/RP0000"
				if rng.IntN(100) == 0 {
					data = "Nri1/BA01"
				}
				frame := p.SIA(data)
				sent := time.Now()
				_, tries, ok := p.send(frame, 10*time.Second, 60*time.Second, stop)
				took := time.Since(sent)
				mu.Lock()
				if !killedAt.IsZero() && sent.After(killedAt) && sent.Before(killedAt.Add(5*time.Second)) {
					duringKill++
				}
				switch {
				case !ok:
					lost++
				case tries == 1:
					acked[fmt.Sprintf("%s/%04d", p.Account, n+1)] = true
					lat = append(lat, took)
				default:
					acked[fmt.Sprintf("%s/%04d", p.Account, n+1)] = true
					failedOver++
					failoverLat = append(failoverLat, took)
				}
				mu.Unlock()
				time.Sleep(time.Duration(700+rng.IntN(600)) * time.Millisecond)
			}
		})
	}
	// Residents submit matters through the balancer, each answer noted.
	matters := map[string]int{} // description → status (0: no answer)
	for g := range 4 {
		load.Go(func() {
			client := &http.Client{Timeout: 15 * time.Second}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-time.After(250 * time.Millisecond):
				}
				desc := fmt.Sprintf("load test %d-%d: the lift stops between floors", g, n)
				body, _ := json.Marshal(map[string]any{"category": category, "description": desc})
				req, _ := http.NewRequest("POST", "http://"+lb.addr()+"/api/v1/matters", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+resident)
				code := 0
				if resp, err := client.Do(req); err == nil {
					code = resp.StatusCode
					resp.Body.Close()
				}
				mu.Lock()
				matters[desc] = code
				mu.Unlock()
			}
		})
	}

	// Load for a while, then the kill.
	waitFor(t, "load on both nodes", 60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 2000
	})
	mu.Lock()
	killedAt = time.Now()
	beforeKill := len(acked)
	mu.Unlock()
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
	takeover := waitFor(t, "node B takes every chore", 45*time.Second, func() bool {
		l := c.leases(t)
		for _, name := range nodeChores {
			if l[name] != "node-b" {
				return false
			}
		}
		return true
	})
	waitFor(t, "load on node B alone", 60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= beforeKill+2000
	})
	close(stop)
	load.Wait()

	// Node A's claimed jobs come back to node B once their claim (a
	// minute) runs out.
	quiet := waitFor(t, "the outbox is quiet", 120*time.Second, func() bool { return c.outboxQuiet(t) })
	var last int64
	if err := c.db.QueryRowContext(t.Context(), "SELECT MAX(id) FROM live_events").Scan(&last); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every console reaches the newest event", 30*time.Second, func() bool {
		for _, cn := range consoles {
			if l, _ := cn.seen(); l < last {
				return false
			}
		}
		return true
	})
	stopStreams()
	streams.Wait()

	missing, doubled := c.checkFrames(t, "E", acked)
	sms, resent := c.checkSMS(t, "")
	if lost > 0 {
		t.Errorf("%d frames never acknowledged by either node", lost)
	}

	var want []int64
	rows, err := c.db.QueryContext(t.Context(), "SELECT id FROM live_events WHERE id > $1 AND id <= $2 ORDER BY id", from, last)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		want = append(want, id)
	}
	rows.Close()
	for _, cn := range consoles {
		cn.mu.Lock()
		got := slices.Clone(cn.ids)
		reconnects, errs := cn.reconnects, cn.errs
		cn.mu.Unlock()
		t.Logf("console %s: %d events, %d reconnects %v", cn.name, len(got), reconnects, errs)
		if !slices.Equal(got, want) {
			t.Errorf("console %s: %d events, want %d (the first difference at %d)", cn.name, len(got), len(want), firstDiff(got, want))
		}
		if cn.first == b.addr && reconnects > 0 {
			t.Errorf("console on node B lost its stream %d times", reconnects)
		}
		if cn.first == a.addr && reconnects == 0 {
			t.Errorf("console on node A never reconnected")
		}
	}

	answered, unanswered, double := 0, 0, 0
	for desc, code := range matters {
		n := c.count(t, "SELECT COUNT(*) FROM matters WHERE description = $1", desc)
		switch {
		case code >= 200 && code < 300:
			answered++
			if n != 1 {
				t.Errorf("matter %q answered %d: stored %d times", desc, code, n)
			}
		default:
			unanswered++
			if n > 1 {
				double++
				t.Errorf("matter %q (answer %d) stored %d times", desc, code, n)
			}
		}
	}

	slices.Sort(lat)
	slices.Sort(failoverLat)
	pct := func(ds []time.Duration, p int) time.Duration {
		if len(ds) == 0 {
			return 0
		}
		return ds[(len(ds)*p+99)/100-1].Round(time.Millisecond)
	}
	t.Logf("%d panels, %d frames acknowledged (%d before the kill), %d after a failover (p50 %v, max %v), %d sent within 5 s of the kill; %d missing, %d doubled, %d given up",
		panels, len(acked), beforeKill, failedOver, pct(failoverLat, 50), pct(failoverLat, 100), duringKill, missing, doubled, lost)
	t.Logf("ACK without failover: p50 %v, p99 %v; node B took every chore %v after the kill; outbox quiet %v after the load",
		pct(lat, 50), pct(lat, 99), takeover.Round(time.Millisecond), quiet.Round(time.Millisecond))
	t.Logf("SMS: %d queued and sent, %d posts repeated (jobs node A had in hand, same key); matters: %d answered 2xx, each stored once; %d without a 2xx answer",
		sms, resent, answered, unanswered)
}

func firstDiff(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
