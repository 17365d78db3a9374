package alarm

import (
	"time"
)

// TimelineEntry is one line of an incident's history.
type TimelineEntry struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	UserID int64     `json:"user_id,omitempty"`
	Detail string    `json:"detail"`
}
