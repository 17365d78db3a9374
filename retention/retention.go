// Package retention owns how long each kind of data is kept: a registry of
// policies (a kind, its lawful default, the shortest period the
// administrator may set, and whether what is past it is deleted or
// anonymised), the periods the administrator chose, and the daily chore
// that applies them under a jobs.Leader. Legal holds (a matter in dispute,
// footage kept for a case) keep data past its period; the store checks
// them in the same statement that removes.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/shequ/shequ"
)

// Day is the unit periods are set in.
const Day = 24 * time.Hour

// Actions on what is past its period.
const (
	Delete    = "delete"
	Anonymise = "anonymise"
	// Keep is the audit log's: kept for ever unless the administrator
	// sets a period (at least Min, what the law requires); then what is
	// past it is removed whole months at a time where the store can
	// (PostgreSQL's monthly partitions), never row by row.
	Keep = "keep"
)

// Policy is how long one kind of data is kept.
type Policy struct {
	// Kind names the data, e.g. "alarm_events"; the store maps it to its
	// table.
	Kind string `json:"kind"`
	// Default is the lawful default period; 0 with Action Keep is "never"
	// until a period is set.
	Default time.Duration `json:"default"`
	// Min is the shortest period an administrator may set (what the law
	// requires to be kept).
	Min    time.Duration `json:"min"`
	Action string        `json:"action"`
	// Hold names the kind of legal hold that keeps this data ("matter",
	// "incident", "footage"); "" when none applies.
	Hold string `json:"hold,omitempty"`
}

var (
	mu       sync.RWMutex
	registry = map[string]Policy{}
)

// Register adds a policy; a capability whose data has a period adds its
// one line here (and its table to the store's list of retention targets).
func Register(p Policy) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[p.Kind]; dup {
		panic("retention: policy " + p.Kind + " registered twice")
	}
	registry[p.Kind] = p
}

// Policies returns every registered policy, by kind.
func Policies() []Policy {
	mu.RLock()
	defer mu.RUnlock()
	var out []Policy
	for _, p := range registry {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Policy) int {
		if a.Kind < b.Kind {
			return -1
		}
		if a.Kind > b.Kind {
			return 1
		}
		return 0
	})
	return out
}

// Lookup returns the policy of kind.
func Lookup(kind string) (Policy, bool) {
	mu.RLock()
	defer mu.RUnlock()
	p, ok := registry[kind]
	return p, ok
}

// The kinds shequ has. Access log and device checks belong to their
// capabilities, registered here so their defaults are in one place.
func init() {
	Register(Policy{Kind: "alarm_events", Default: 365 * Day, Min: 180 * Day, Action: Delete, Hold: "incident"})
	Register(Policy{Kind: "live_events", Default: 365 * Day, Min: 7 * Day, Action: Delete})
	Register(Policy{Kind: "access_log", Default: 90 * Day, Min: 30 * Day, Action: Delete, Hold: "footage"})
	Register(Policy{Kind: "device_checks", Default: 30 * Day, Min: 7 * Day, Action: Delete})
	Register(Policy{Kind: "closed_matters", Default: 3 * 365 * Day, Min: 365 * Day, Action: Anonymise, Hold: "matter"})
	// The audit log records who saw and changed personal data; PIPL art. 56
	// keeps such records at least three years.
	Register(Policy{Kind: "audit", Min: 3 * 365 * Day, Action: Keep})
}

// Setting is the period an administrator chose for a kind.
type Setting struct {
	Kind string    `json:"kind"`
	Days int       `json:"days"`
	By   string    `json:"by,omitempty"`
	At   time.Time `json:"at"`
}

// Validate checks a period against the kind's policy.
func Validate(kind string, days int) error {
	p, ok := Lookup(kind)
	if !ok {
		return shequ.Errorf(shequ.EINVALID, "no retention policy for %q", kind)
	}
	f := shequ.Problems{}
	switch {
	case p.Action == Keep && p.Min == 0:
		f.Add("days", "%s is kept as long as the law requires and is never deleted early", kind)
	case time.Duration(days)*Day < p.Min:
		f.Add("days", "at least %d days: the law requires %s to be kept that long", int(p.Min/Day), kind)
	case days > 100*365:
		f.Add("days", "at most 100 years")
	}
	return f.Err()
}

// Period returns the period in force for a kind: the setting, or the
// default.
func Period(p Policy, settings map[string]int) time.Duration {
	if d, ok := settings[p.Kind]; ok && d > 0 {
		return time.Duration(d) * Day
	}
	return p.Default
}

// Result is what one pass did to one kind.
type Result struct {
	Kind    string    `json:"kind"`
	Action  string    `json:"action"`
	Cutoff  time.Time `json:"cutoff"`
	Rows    int       `json:"rows"`
	Held    int       `json:"held"`
	Skipped string    `json:"skipped,omitempty"` // why nothing was done (no table yet)
}

// Store applies policies.
type Store interface {
	RetentionSettings(ctx context.Context) (map[string]int, error)
	// ApplyRetention removes or anonymises what of kind is older than
	// cutoff and under no hold, records it in the audit log, and says
	// how many rows it took and how many a hold kept.
	ApplyRetention(ctx context.Context, p Policy, cutoff time.Time) (Result, error)
}

// Run applies every policy once.
func Run(ctx context.Context, st Store, clock shequ.Clock) ([]Result, error) {
	settings, err := st.RetentionSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("retention settings: %w", err)
	}
	now := clock.Now().UTC()
	var out []Result
	for _, p := range Policies() {
		if _, set := settings[p.Kind]; p.Action == Keep && !set {
			continue // kept for ever: no period set
		}
		r, err := st.ApplyRetention(ctx, p, now.Add(-Period(p, settings)))
		if err != nil {
			return out, fmt.Errorf("retention of %s: %w", p.Kind, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Chore runs retention once a day until ctx ends; run it under a
// jobs.Leader.
func Chore(ctx context.Context, st Store, clock shequ.Clock, log *slog.Logger) {
	for {
		res, err := Run(ctx, st, clock)
		if err != nil && ctx.Err() == nil {
			log.Error("retention", "err", err)
		}
		for _, r := range res {
			if r.Rows > 0 || r.Held > 0 {
				log.Info("retention applied", "kind", r.Kind, "action", r.Action, "rows", r.Rows, "held", r.Held, "cutoff", r.Cutoff)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(Day):
		}
	}
}
