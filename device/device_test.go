package device

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/shequtest"
)

func TestCheckValidate(t *testing.T) {
	tests := []struct {
		name string
		c    Check
		ok   bool
	}{
		{"rtsp", Check{Kind: "rtsp", URL: "rtsp://10.0.0.5:554/Streaming/Channels/101", Username: "admin", Password: "x"}, true},
		{"rtsp wrong scheme", Check{Kind: "rtsp", URL: "http://10.0.0.5/"}, false},
		{"rtsp credentials in url", Check{Kind: "rtsp", URL: "rtsp://admin:pw@10.0.0.5/"}, false},
		{"http", Check{Kind: "http", URL: "https://ap1.local/status"}, true},
		{"http no host", Check{Kind: "http", URL: "https:///x"}, false},
		{"tcp", Check{Kind: "tcp", Address: "10.0.0.9:8000"}, true},
		{"tcp no port", Check{Kind: "tcp", Address: "10.0.0.9"}, false},
		{"snmp default port", Check{Kind: "snmp", Address: "10.0.0.9", Community: "public"}, true},
		{"unknown kind", Check{Kind: "ping", Address: "10.0.0.9:1"}, false},
		{"interval too short", Check{Kind: "tcp", Address: "h:1", IntervalSeconds: 1}, false},
		{"interval ok", Check{Kind: "tcp", Address: "h:1", IntervalSeconds: 30}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
	c := Check{Kind: "snmp", Address: "10.0.0.9"}
	_ = c.Validate()
	if c.Address != "10.0.0.9:161" {
		t.Fatalf("snmp address %q, want the default port added", c.Address)
	}
}

func TestStateNext(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	var s State
	s.Status = community.DeviceUnknown
	s = s.Next(Result{Status: community.DeviceOnline, At: t0})
	if s.Status != community.DeviceOnline || !s.Since.Equal(t0) || !s.LastSeen.Equal(t0) || s.LastError != "" {
		t.Fatalf("first check: %+v", s)
	}
	s = s.Next(Result{Status: community.DeviceOnline, At: t0.Add(time.Minute)})
	if !s.Since.Equal(t0) || !s.LastSeen.Equal(t0.Add(time.Minute)) {
		t.Fatalf("still online: since moved or last seen did not: %+v", s)
	}
	s = s.Next(Result{Status: community.DeviceOffline, Reason: "connection refused", At: t0.Add(2 * time.Minute)})
	if s.Status != community.DeviceOffline || !s.Since.Equal(t0.Add(2*time.Minute)) || !s.LastSeen.Equal(t0.Add(time.Minute)) || s.LastError != "connection refused" {
		t.Fatalf("offline: %+v", s)
	}
	s = s.Next(Result{Status: community.DeviceOnline, At: t0.Add(3 * time.Minute)})
	if s.LastError != "connection refused" {
		t.Fatalf("recovery forgot the last failure: %+v", s)
	}
	// A panel's evidence: seen at its last frame, not at the check.
	s = s.Next(Result{Status: community.DeviceOnline, At: t0.Add(4 * time.Minute), SeenAt: t0.Add(90 * time.Second)})
	if !s.LastSeen.Equal(t0.Add(90 * time.Second)) {
		t.Fatalf("evidence time: %+v", s)
	}
}

func at(t time.Time) *time.Time { return &t }

func TestPlanTrouble(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	p := Policy{Grace: 2 * time.Minute, ClearAfter: time.Minute}
	dev := func(id, building int64, status string, since time.Duration) Target {
		return Target{DeviceID: id, CommunityID: 1, BuildingID: building, Name: "d", State: State{Status: status, Since: at(now.Add(-since))}}
	}
	// 40 devices of building 7 down for 2–3 minutes (checks spread over
	// the interval), one of building 8 down for only 30 s.
	var ts []Target
	for i := range 40 {
		ts = append(ts, dev(int64(100+i), 7, community.DeviceOffline, 2*time.Minute+time.Duration(i)*time.Second))
	}
	ts = append(ts, dev(200, 8, community.DeviceOffline, 30*time.Second), dev(201, 8, community.DeviceOnline, time.Hour))
	got := PlanTrouble(ts, nil, now, p)
	if len(got) != 1 || got[0].IncidentID != 0 || got[0].Group != "building:7" || len(got[0].Devices) != 40 {
		t.Fatalf("want one new incident of 40 devices, got %+v", got)
	}

	// With that incident open: a late device of building 7 joins it; none
	// opens again.
	open := []Trouble{{IncidentID: 9, CommunityID: 1, Group: "building:7"}}
	for i := range 40 {
		open[0].Devices = append(open[0].Devices, int64(100+i))
	}
	ts = append(ts, dev(140, 7, community.DeviceOffline, 3*time.Minute))
	got = PlanTrouble(ts, open, now, p)
	if len(got) != 1 || got[0].IncidentID != 9 || len(got[0].Devices) != 1 || got[0].Devices[0].DeviceID != 140 {
		t.Fatalf("want device 140 added to incident 9, got %+v", got)
	}

	// Everyone back, but one only 20 s ago: not cleared (flapping damped).
	back := func(since time.Duration) []Target {
		var out []Target
		for i := range 41 {
			out = append(out, dev(int64(100+i), 7, community.DeviceOnline, 5*time.Minute))
		}
		out[3].State.Since = at(now.Add(-since))
		return out
	}
	open[0].Devices = append(open[0].Devices, 140)
	if got := PlanTrouble(back(20*time.Second), open, now, p); len(got) != 0 {
		t.Fatalf("cleared too soon: %+v", got)
	}
	got = PlanTrouble(back(time.Minute), open, now, p)
	if len(got) != 1 || !got[0].Clear || got[0].IncidentID != 9 {
		t.Fatalf("want incident 9 cleared, got %+v", got)
	}
	// A device with no building groups by grid, then community.
	if g := GroupOf(Target{GridID: 3, CommunityID: 1}); g != "grid:3" {
		t.Fatal(g)
	}
	if g := GroupOf(Target{CommunityID: 1}); g != "community:1" {
		t.Fatal(g)
	}
}

// fakeStore keeps targets and results in memory.
type fakeStore struct {
	mu      sync.Mutex
	targets []Target
	obs     []Observation
}

func (f *fakeStore) HealthTargets(context.Context) ([]Target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Target(nil), f.targets...), nil
}
func (f *fakeStore) RecordHealth(_ context.Context, obs []Observation) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.obs = append(f.obs, obs...)
	return nil
}
func (f *fakeStore) OpenTrouble(context.Context) ([]Trouble, error)                 { return nil, nil }
func (f *fakeStore) ApplyTrouble(context.Context, []TroubleAction, time.Time) error { return nil }

type countingChecker struct {
	running, peak atomic.Int32
	block         chan struct{}
}

func (c *countingChecker) Probe(_ context.Context, t Target) Result {
	n := c.running.Add(1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if c.block != nil {
		<-c.block
	}
	c.running.Add(-1)
	return Result{Status: community.DeviceOnline}
}

func TestSchedulerSpreadsChecks(t *testing.T) {
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	clock := shequtest.NewClock(start)
	st := &fakeStore{}
	for i := range 1000 {
		st.targets = append(st.targets, Target{DeviceID: int64(i + 1), CommunityID: 1, Check: Check{Kind: CheckTCP, Address: "x:1", IntervalSeconds: 60}})
	}
	ch := &countingChecker{}
	s := &Scheduler{Store: st, Checker: ch, Clock: clock, Reload: time.Hour, Concurrency: 8}
	perSecond := map[int]int{}
	before := 0
	for tick := range 120 * 4 {
		if err := s.Step(t.Context()); err != nil {
			t.Fatal(err)
		}
		s.Wait()
		st.mu.Lock()
		perSecond[tick/4] += len(st.obs) - before
		before = len(st.obs)
		st.mu.Unlock()
		clock.Advance(250 * time.Millisecond)
	}
	_ = s.Step(t.Context())
	s.Wait()
	// Each device checked once a minute: 2,000 checks in two minutes,
	// never more than ~17 a second on average with no burst.
	total, peak := 0, 0
	for sec := 1; sec < 120; sec++ {
		total += perSecond[sec]
		peak = max(peak, perSecond[sec])
	}
	if total < 1900 || total > 2000 {
		t.Fatalf("%d checks in two minutes, want about 2000", total)
	}
	if peak > 45 {
		t.Fatalf("a burst of %d checks in one second; want them spread (~17/s)", peak)
	}
	if ch.peak.Load() > 8 {
		t.Fatalf("%d checks at once, over the bound of 8", ch.peak.Load())
	}
}

func TestSchedulerNeverDoublesASlowCheck(t *testing.T) {
	clock := shequtest.NewClock(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	st := &fakeStore{targets: []Target{{DeviceID: 1, CommunityID: 1, Check: Check{Kind: CheckTCP, Address: "x:1", IntervalSeconds: 5}}}}
	ch := &countingChecker{block: make(chan struct{})}
	s := &Scheduler{Store: st, Checker: ch, Clock: clock, Reload: time.Hour}
	for range 30 {
		_ = s.Step(t.Context())
		clock.Advance(time.Second)
	}
	for deadline := time.Now().Add(2 * time.Second); ch.running.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if ch.peak.Load() != 1 {
		t.Fatalf("%d checks of one device at once", ch.peak.Load())
	}
	close(ch.block)
	s.Wait()
}
