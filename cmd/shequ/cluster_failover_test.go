package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm/sia/siatest"
)

// outboxQuiet reports whether no job is due or in hand: what was queued
// so far is done (or failed for good).
func (c *cluster) outboxQuiet(t *testing.T) bool {
	return c.count(t, "SELECT COUNT(*) FROM outbox WHERE status = 'running' OR (status = 'pending' AND run_at <= now())") == 0
}

// checkSMS checks that every SMS job of the outbox whose key starts with
// prefix is done and reached the gateway, and that no key was posted more
// often than its job was attempted (resends of a job whose node died are
// the only repeats; the gateway sends those once by their key). It
// returns the number of SMS and of repeated posts.
func (c *cluster) checkSMS(t *testing.T, prefix string) (n, resent int) {
	t.Helper()
	rows, err := c.db.QueryContext(t.Context(), "SELECT idempotency_key, status, attempts FROM outbox WHERE kind = 'sms' AND idempotency_key LIKE $1", prefix+"%")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	posts := c.gw.sent(prefix)
	queued := map[string]bool{}
	for rows.Next() {
		var key, status string
		var attempts int
		if err := rows.Scan(&key, &status, &attempts); err != nil {
			t.Fatal(err)
		}
		queued[key] = true
		switch p := posts[key]; {
		case status != "done" || p == 0:
			t.Errorf("SMS %s: %s after %d attempts, posted %d times: lost", key, status, attempts, p)
		case p > attempts:
			t.Errorf("SMS %s posted %d times in %d attempts", key, p, attempts)
		case p > 1:
			resent += p - 1
		}
	}
	for k := range posts {
		if !queued[k] {
			t.Errorf("SMS %s reached the gateway but is not in the outbox", k)
		}
	}
	return len(queued), resent
}

// TestClusterLeaderKill runs three nodes on one PostgreSQL and kills the
// one that leads every chore with SIGKILL. Another node takes each chore
// over within 30 s (the time is measured and logged), and what the chores
// do happens once, before and after the kill: a panel gone silent opens
// one communication failure, a daily arming schedule arms its home once,
// a scheduled notice's SMS go out once each, every job is done in one
// attempt. A frame the dead node stored and acknowledged, sent again to
// another node (the ACK was lost), is recognised and stored once.
func TestClusterLeaderKill(t *testing.T) {
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
	n3 := c.node(t, "node-c")
	tok := a.token(t, "director", "demo-password-1")
	homes := homesOn(t, a, tok, 1, 6)

	panel := func(p *proc, account string, h home, supervision int) {
		t.Helper()
		if code := p.api(t, tok, "POST", "/api/v1/alarm/panels", map[string]any{"home_id": h.ID, "account": account, "supervision_seconds": supervision}, nil); code != 201 {
			t.Fatalf("register panel %s: %d", account, code)
		}
		if supervision > 0 {
			// Registered an hour ago and never heard from: overdue now.
			if _, err := c.db.ExecContext(t.Context(), "UPDATE alarm_panels SET created_at = now() - interval '1 hour' WHERE account = $1", account); err != nil {
				t.Fatal(err)
			}
		}
	}
	schedule := func(p *proc, h home) {
		t.Helper()
		// 00:00 is past every day: the schedule is due at once, once.
		if code := p.api(t, tok, "PUT", fmt.Sprintf("/api/v1/homes/%d/alarm/rules", h.ID), map[string]any{"arm_on_leave": false, "arm_at": "00:00", "mode": "away"}, nil); code != 200 {
			t.Fatalf("arm rules of home %d: %d", h.ID, code)
		}
	}
	notice := func(p *proc, h home, at time.Time) int64 {
		t.Helper()
		var out struct{ ID int64 }
		body := map[string]any{"title": "Water off " + at.Format(time.TimeOnly), "body": "Tomorrow 9–12.", "important": true, "publish_at": at,
			"audience": map[string]any{"scope": "buildings", "building_ids": []int64{h.BuildingID}}}
		if code := p.api(t, tok, "POST", "/api/v1/notices", body, &out); code != 201 {
			t.Fatalf("notice: %d", code)
		}
		return out.ID
	}
	commFailures := func(account string) int {
		return c.count(t, "SELECT COUNT(*) FROM incidents i JOIN alarm_panels p ON p.id = i.panel_id WHERE p.account = $1 AND i.kind = 'comm_failure'", account)
	}
	armings := func(h home) int {
		return c.count(t, "SELECT COUNT(*) FROM alarm_events WHERE home_id = $1 AND text = 'auto-arm: daily schedule'", h.ID)
	}
	noticeDone := func(id int64) bool {
		return c.count(t, "SELECT COUNT(*) FROM outbox WHERE idempotency_key = $1 AND status = 'done'", fmt.Sprintf("notice_published:%d", id)) == 1
	}

	// Before the kill, node A does each chore once.
	panel(a, "C301", homes[0], 60)
	schedule(a, homes[0])
	before := notice(a, homes[0], time.Now())
	waitFor(t, "node A's chores", 60*time.Second, func() bool {
		return commFailures("C301") == 1 && armings(homes[0]) == 1 && noticeDone(before)
	})
	// A frame stored by node A, whose ACK the panel never gets.
	panel(a, "C303", homes[2], 0)
	pn := &siatest.Panel{Account: "C303"}
	frame := pn.SIA("Nri1/BA01")
	conn, err := siatest.Dial("tcp", a.siaAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	if ans, err := conn.Exchange(frame, 10*time.Second); err != nil || ans.Type != "ACK" {
		t.Fatalf("frame to node A: %v %+v", err, ans)
	}
	conn.Close()
	waitFor(t, "the outbox is quiet before the kill", 60*time.Second, func() bool { return c.outboxQuiet(t) })
	if l := c.leases(t); !slices.ContainsFunc(nodeChores, func(n string) bool { return l[n] == "node-a" }) {
		t.Fatalf("node A leads nothing before the kill: %v", l)
	}

	// SIGKILL the leader; at once give the survivors work for the chores.
	killed := time.Now()
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
	panel(b, "C302", homes[1], 60)
	schedule(b, homes[1])
	after := notice(n3, homes[1], time.Now().Add(2*time.Second))

	// The panel sends the frame again, to its backup receiver: node B.
	conn, err = siatest.Dial("tcp", b.siaAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	if ans, err := conn.Exchange(frame, 10*time.Second); err != nil || ans.Type != "ACK" {
		t.Fatalf("frame again to node B: %v %+v", err, ans)
	}
	conn.Close()
	if n := c.count(t, "SELECT COUNT(*) FROM alarm_events WHERE account = 'C303' AND seq = '0001'"); n != 1 {
		t.Errorf("the frame sent to node A, then to node B: stored %d times", n)
	}

	// Each chore is taken over by one survivor within 30 s.
	takeover := map[string]time.Duration{}
	waitFor(t, "the survivors take every chore over", 45*time.Second, func() bool {
		l := c.leases(t)
		for _, name := range nodeChores {
			if _, ok := takeover[name]; !ok && (l[name] == "node-b" || l[name] == "node-c") {
				takeover[name] = time.Since(killed)
			}
		}
		return len(takeover) == len(nodeChores)
	})
	slowest := slices.Max(slices.Collect(maps.Values(takeover)))
	var report []string
	for _, name := range nodeChores {
		report = append(report, fmt.Sprintf("%s %.1fs", name, takeover[name].Seconds()))
	}
	t.Logf("take-over after SIGKILL of the leader (lease 15 s): %s; slowest %.1f s", strings.Join(report, ", "), slowest.Seconds())
	if slowest > 30*time.Second {
		t.Errorf("a chore waited %v for a new leader", slowest)
	}

	waitFor(t, "the survivors' chores", 60*time.Second, func() bool {
		return commFailures("C302") == 1 && armings(homes[1]) == 1 && noticeDone(after) && c.outboxQuiet(t)
	})
	// A few supervision rounds more (every 5 s): nothing is done twice.
	time.Sleep(6 * time.Second)
	for _, account := range []string{"C301", "C302"} {
		if n := commFailures(account); n != 1 {
			t.Errorf("panel %s silent: %d communication failures, want 1", account, n)
		}
	}
	for _, h := range homes[:2] {
		if n := armings(h); n != 1 {
			t.Errorf("home %d armed by its schedule %d times, want 1", h.ID, n)
		}
	}
	for _, id := range []int64{before, after} {
		n, resent := c.checkSMS(t, fmt.Sprintf("notice_published:%d:", id))
		if n == 0 {
			t.Errorf("notice %d sent no SMS", id)
		}
		if resent > 0 {
			t.Errorf("notice %d: %d SMS posted again", id, resent)
		}
	}
	if n := c.count(t, "SELECT COUNT(*) FROM outbox WHERE status <> 'done' AND run_at <= now()"); n != 0 {
		t.Errorf("%d due jobs not done", n)
	}
	if n := c.count(t, "SELECT COUNT(*) FROM outbox WHERE attempts > 1"); n != 0 {
		t.Errorf("%d jobs were attempted more than once", n)
	}
	// One survivor leads each chore: none started on both.
	for _, name := range nodeChores {
		mark := "msg=leading chore=" + name + " "
		if strings.Contains(b.log(), mark) && strings.Contains(n3.log(), mark) {
			t.Errorf("chore %s led by both survivors", name)
		}
	}
}
