package main

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestClusterDrainOnSIGTERM stops the node that leads every chore with
// SIGTERM while panels send to it: it closes its SIA listener at once
// (the panels go to their backup, node B), acknowledges nothing it has
// not stored, gives every lease back so that node B takes each chore
// before the lease would have run out, gives back the outbox jobs it
// claimed and had not started, and exits cleanly.
func TestClusterDrainOnSIGTERM(t *testing.T) {
	c := newCluster(t)
	a := c.node(t, "node-a", "--demo")
	waitFor(t, "node A leads every chore", 30*time.Second, func() bool {
		l := c.leases(t)
		for _, name := range nodeChores {
			if l[name] != "node-a" {
				return false
			}
		}
		return true
	})
	b := c.node(t, "node-b")
	tok := a.token(t, "director", "demo-password-1")
	homes := homesOn(t, a, tok, 1, 20)
	siaA, siaB := a.siaAddr(t), b.siaAddr(t)

	const panels = 20
	var mu sync.Mutex
	acked := map[string]bool{}
	ackedBy := [2]int{}
	var failedOver, lost int
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range panels {
		account := fmt.Sprintf("D%03X", i+1)
		if code := a.api(t, tok, "POST", "/api/v1/alarm/panels", map[string]any{"home_id": homes[i%len(homes)].ID, "account": account}, nil); code != 201 {
			t.Fatalf("register panel %s: %d", account, code)
		}
		p := &failoverPanel{Panel: siatestPanel(account), addrs: [2]string{siaA, siaB}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer p.close()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				data := "Nri1/RP0000"
				if (n+i)%40 == 0 {
					data = "Nri1/BA01"
				}
				frame := p.SIA(data)
				node, tries, ok := p.send(frame, 10*time.Second, 60*time.Second, stop)
				mu.Lock()
				switch {
				case ok:
					acked[account+"/"+fmt.Sprintf("%04d", n+1)] = true
					ackedBy[node]++
					if tries > 1 {
						failedOver++
					}
				default:
					lost++
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	waitFor(t, "frames acknowledged by node A", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return ackedBy[0] >= 200
	})
	// The lease expiries before the stop: a take-over before them is one
	// the lease given back made possible.
	expires := map[string]time.Time{}
	rows, err := c.db.QueryContext(t.Context(), "SELECT name, expires_at FROM leases WHERE holder = 'node-a'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var at time.Time
		rows.Scan(&name, &at)
		expires[name] = at
	}
	rows.Close()

	term := time.Now()
	a.cmd.Process.Signal(syscall.SIGTERM)
	// The SIA listener closes at once: a panel that connects is refused.
	closed := waitFor(t, "node A refuses panels", 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", siaA, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	handover := map[string]time.Duration{}
	waitFor(t, "node B takes every chore", 30*time.Second, func() bool {
		l := c.leases(t)
		for _, name := range nodeChores {
			if _, ok := handover[name]; !ok && l[name] == "node-b" {
				handover[name] = time.Since(term)
			}
		}
		return len(handover) == len(nodeChores)
	})
	select {
	case err := <-a.done:
		if err != nil {
			t.Fatalf("node A after SIGTERM: %v\n%s", err, a.log())
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("node A did not exit 40 s after SIGTERM")
	}
	exited := time.Since(term)
	var slowest time.Duration
	for _, name := range nodeChores {
		var acquired time.Time
		if err := c.db.QueryRowContext(t.Context(), "SELECT acquired_at FROM leases WHERE name = $1", name).Scan(&acquired); err != nil {
			t.Fatal(err)
		}
		if exp, ok := expires[name]; ok && !acquired.Before(exp) {
			t.Errorf("chore %s: node B took it at %v, not before node A's lease ran out (%v)", name, acquired, exp)
		}
		slowest = max(slowest, handover[name])
	}
	if !strings.Contains(a.log(), "msg=drained") || !strings.Contains(a.log(), `msg="SIA DC-09 receiver stopped"`) {
		t.Errorf("node A's log does not show the drain:\n%s", a.log())
	}

	// Traffic goes on at node B for a moment, then stops.
	mu.Lock()
	atB := ackedBy[1]
	mu.Unlock()
	waitFor(t, "frames acknowledged by node B", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return ackedBy[1] >= atB+100
	})
	close(stop)
	wg.Wait()
	// The jobs node A queued or held are done by node B, well before
	// their one-minute claim would have run out.
	quiet := waitFor(t, "the outbox is quiet", 30*time.Second, func() bool { return c.outboxQuiet(t) })
	missing, doubled := c.checkFrames(t, "D", acked)
	sms, resent := c.checkSMS(t, "notice:")
	given := strings.Count(a.log(), `msg="claimed jobs given back"`)
	t.Logf("SIGTERM: SIA refused after %v, every chore on node B after %v (slowest), node A exited after %v; outbox quiet %v after that",
		closed.Round(time.Millisecond), slowest.Round(time.Millisecond), exited.Round(time.Millisecond), quiet.Round(time.Millisecond))
	t.Logf("frames acknowledged: %d by node A, %d by node B, %d after a failover; %d given up; %d missing, %d doubled; %d SMS, %d posted again; batches given back by node A: %d",
		ackedBy[0], ackedBy[1], failedOver, lost, missing, doubled, sms, resent, given)
	if lost > 0 {
		t.Errorf("%d frames never acknowledged", lost)
	}
	if resent > 0 {
		t.Errorf("%d SMS posted twice after a graceful stop", resent)
	}
}
