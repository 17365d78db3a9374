// Package audit owns the record of who did what: every write and every
// read of unmasked personal data becomes an Entry. Entries are only ever
// appended.
package audit

import (
	"context"
	"encoding/json"
	"time"

	"github.com/shequ/shequ"
)

// Entry is one audited action.
type Entry struct {
	ID          int64           `json:"id"`
	At          time.Time       `json:"at"`
	CommunityID int64           `json:"community_id,omitempty"`
	UserID      int64           `json:"user_id,omitempty"`
	Username    string          `json:"username"`
	Action      string          `json:"action"` // e.g. person.create, person.read_pii, auth.login
	Entity      string          `json:"entity"`
	EntityID    int64           `json:"entity_id,omitempty"`
	Before      json.RawMessage `json:"before,omitempty"`
	After       json.RawMessage `json:"after,omitempty"`
	IP          string          `json:"ip"`
	UserAgent   string          `json:"user_agent,omitempty"`
}

// Filter narrows the audit list.
type Filter struct {
	CommunityIDs []int64 // nil: all communities
	Username     string
	Action       string
	Entity       string
	EntityID     int64
	Since, Until time.Time
	shequ.Page
}

// Origin is where a request came from, carried in the context so that the
// store can write it into the entries of the same transaction.
type Origin struct {
	IP        string
	UserAgent string
}

type originKey struct{}

// WithOrigin returns ctx carrying o.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginFrom returns the origin in ctx; a command-line run has the zero one.
func OriginFrom(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	return o
}
