package jobs

import (
	"time"

	"github.com/shequ/shequ"
)

// Info is a queued job as the jobs page shows it. The payload stays out:
// it holds phone numbers and message text.
type Info struct {
	ID          int64      `json:"id"`
	Key         string     `json:"key"`
	Kind        string     `json:"kind"`
	Status      string     `json:"status"` // pending, running, done, failed
	Attempts    int        `json:"attempts"`
	RunAt       time.Time  `json:"run_at"`
	LockedUntil *time.Time `json:"locked_until,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	// Stuck: see Filter.
	Stuck bool `json:"stuck"`
}

// The states a Filter selects.
const (
	// Stuck jobs are running past their lease (their worker died and no
	// worker took them back), pending after StuckAttempts tries, or
	// overdue by StuckOverdue (no worker is draining the queue).
	Stuck = "stuck"
	// Failed jobs were given up: they failed for good or too often.
	Failed = "failed"
)

// Stuck thresholds.
const (
	StuckAttempts = 3
	StuckOverdue  = 5 * time.Minute
)

// Filter narrows the jobs list: State is Stuck, Failed, or "" for both.
type Filter struct {
	State string
	Kind  string
	shequ.Page
}

// Validate checks a filter's state.
func (f Filter) Validate() error {
	switch f.State {
	case "", Stuck, Failed:
		return nil
	}
	return shequ.Invalid(map[string]string{"state": "must be stuck or failed"})
}
