package matter

import (
	"time"

	"github.com/shequ/shequ"
)

// Filter narrows the matter list.
type Filter struct {
	CommunityID int64
	Status      string // a status, or "open" for all not resolved or final
	Category    string
	Overdue     bool
	AssigneeID  int64
	Tracking    string
	Since       time.Time
	Until       time.Time
	IDs         []int64
	shequ.Page
}
