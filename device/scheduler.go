package device

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/shequ/shequ"
)

// Store is what the scheduler needs of the registry.
type Store interface {
	// HealthTargets returns every device with a check, panels and sensors
	// with their alarm-side evidence, and their stored state.
	HealthTargets(ctx context.Context) ([]Target, error)
	// RecordHealth stores results and the states they led to.
	RecordHealth(ctx context.Context, obs []Observation) error
	// OpenTrouble returns the open trouble incidents of devices.
	OpenTrouble(ctx context.Context) ([]Trouble, error)
	// ApplyTrouble opens, extends and clears trouble incidents.
	ApplyTrouble(ctx context.Context, actions []TroubleAction, now time.Time) error
}

// Checker runs one check.
type Checker interface {
	Probe(ctx context.Context, t Target) Result
}

// Scheduler checks every device once per its interval, each at its own
// fixed phase within the interval (derived from its id), so that a
// thousand devices on a 60-second interval make about seventeen checks a
// second rather than a thousand at the top of the minute. At most
// Concurrency checks run at once; a device whose check is still running
// when it is due again is not checked twice. Run it on one node only
// (jobs.Leader).
type Scheduler struct {
	Store   Store
	Checker Checker
	Clock   shequ.Clock
	Log     *slog.Logger
	Policy  Policy
	// Concurrency bounds the checks in flight; default 100: a thousand
	// devices a minute all timing out after 5 s need 17 × 5 ≈ 85 at once.
	Concurrency int
	// Tick is how often due checks are started and results stored;
	// default 250 ms.
	Tick time.Duration
	// Reload is how often targets are read again; default 15 s.
	Reload time.Duration
	// Changed is called after results that changed a status were stored
	// (to wake live pages).
	Changed func()

	mu       sync.Mutex
	targets  map[int64]*slot
	open     []Trouble
	results  []Observation
	loadedAt time.Time
	sem      chan struct{}
	wg       sync.WaitGroup
}

type slot struct {
	target   Target
	due      time.Time
	inFlight bool
}

// phase is the device's fixed offset within its interval: the fractional
// part of id × the golden ratio, a sequence that spreads consecutive ids
// (a building's devices, registered together) evenly over the interval,
// where a hash would leave random clumps.
func phase(id int64, interval time.Duration) time.Duration {
	_, frac := math.Modf(float64(id) * 0.6180339887498949)
	return time.Duration(frac * float64(interval))
}

// firstDue is the next time at or after now that falls on the device's
// phase.
func firstDue(id int64, interval time.Duration, now time.Time) time.Time {
	start := now.Truncate(interval).Add(phase(id, interval))
	if start.Before(now) {
		start = start.Add(interval)
	}
	return start
}

func (s *Scheduler) init() {
	if s.targets == nil {
		s.targets = map[int64]*slot{}
	}
	if s.Concurrency <= 0 {
		s.Concurrency = 100
	}
	if s.sem == nil {
		s.sem = make(chan struct{}, s.Concurrency)
	}
	if s.Tick <= 0 {
		s.Tick = 250 * time.Millisecond
	}
	if s.Reload <= 0 {
		s.Reload = 15 * time.Second
	}
	if s.Policy == (Policy{}) {
		s.Policy = DefaultPolicy
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
}

// Run steps every Tick until ctx ends, then waits for running checks.
func (s *Scheduler) Run(ctx context.Context) {
	s.init()
	t := time.NewTicker(s.Tick)
	defer t.Stop()
	for {
		if err := s.Step(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error("device health", "err", err)
		}
		select {
		case <-ctx.Done():
			s.wg.Wait()
			return
		case <-t.C:
		}
	}
}

// Step does one round: stores the results that came in and brings
// trouble incidents up to date, reloads targets when due, and starts the
// checks that are due (as many as Concurrency allows).
func (s *Scheduler) Step(ctx context.Context) error {
	s.init()
	now := s.Clock.Now()
	if err := s.flush(ctx, now); err != nil {
		return err
	}
	if s.loadedAt.IsZero() || now.Sub(s.loadedAt) >= s.Reload {
		if err := s.load(ctx, now); err != nil {
			return err
		}
	}
	s.startDue(ctx, now)
	return nil
}

// Wait waits for the checks in flight (tests with a fake clock).
func (s *Scheduler) Wait() { s.wg.Wait() }

func (s *Scheduler) load(ctx context.Context, now time.Time) error {
	ts, err := s.Store.HealthTargets(ctx)
	if err != nil {
		return err
	}
	open, err := s.Store.OpenTrouble(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[int64]bool{}
	for _, t := range ts {
		seen[t.DeviceID] = true
		sl, ok := s.targets[t.DeviceID]
		if !ok {
			s.targets[t.DeviceID] = &slot{target: t, due: firstDue(t.DeviceID, t.Check.Interval(), now)}
			continue
		}
		if sl.target.Check.Interval() != t.Check.Interval() {
			sl.due = firstDue(t.DeviceID, t.Check.Interval(), now)
		}
		// Only this scheduler changes a checked device's state, and its
		// memory may be ahead of the store (a result not yet flushed); a
		// reported device's state is changed by others, in the store.
		if t.Check.Kind != CheckReported {
			t.State = sl.target.State
		}
		sl.target = t
	}
	for id, sl := range s.targets {
		if !seen[id] && !sl.inFlight {
			delete(s.targets, id)
		}
	}
	s.open = open
	s.loadedAt = now
	return nil
}

func (s *Scheduler) startDue(ctx context.Context, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sl := range s.targets {
		if sl.inFlight || now.Before(sl.due) || sl.target.Check.Kind == CheckReported {
			continue // reported devices are only watched for trouble
		}
		select {
		case s.sem <- struct{}{}:
		default:
			return // all slots busy: the rest wait for the next tick
		}
		sl.inFlight = true
		// The next check keeps the phase even if this one started late.
		iv := sl.target.Check.Interval()
		for !sl.due.After(now) {
			sl.due = sl.due.Add(iv)
		}
		t := sl.target
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			r := s.Checker.Probe(ctx, t)
			<-s.sem
			s.mu.Lock()
			defer s.mu.Unlock()
			sl.inFlight = false
			before := sl.target.State
			after := before.Next(r)
			sl.target.State = after
			s.results = append(s.results, Observation{DeviceID: t.DeviceID, CommunityID: t.CommunityID, Result: r, Before: before, After: after})
		}()
	}
}

func (s *Scheduler) flush(ctx context.Context, now time.Time) error {
	s.mu.Lock()
	obs := s.results
	s.results = nil
	targets := make([]Target, 0, len(s.targets))
	for _, sl := range s.targets {
		targets = append(targets, sl.target)
	}
	open := s.open
	s.mu.Unlock()
	changed := false
	if len(obs) > 0 {
		if err := s.Store.RecordHealth(ctx, obs); err != nil {
			// Put them back: the next tick tries again.
			s.mu.Lock()
			s.results = append(obs, s.results...)
			s.mu.Unlock()
			return err
		}
		for _, o := range obs {
			if o.Before.Status != o.After.Status {
				changed = true
				level := slog.LevelInfo
				if o.Before.Status == "" || o.Before.Status == "unknown" {
					level = slog.LevelDebug // first checks after a start
				}
				s.Log.Log(ctx, level, "device status", "device", o.DeviceID, "from", o.Before.Status, "to", o.After.Status, "reason", o.Result.Reason)
			}
		}
	}
	actions := PlanTrouble(targets, open, now, s.Policy)
	if len(actions) > 0 {
		if err := s.Store.ApplyTrouble(ctx, actions, now); err != nil {
			return err
		}
		fresh, err := s.Store.OpenTrouble(ctx)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.open = fresh
		s.mu.Unlock()
		changed = true
	}
	if changed && s.Changed != nil {
		s.Changed()
	}
	return nil
}
