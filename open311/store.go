package open311

import (
	"time"

	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/matter"
)

// Open311Key is an API key an Open311 client files requests with. It
// belongs to one community, whose matters the requests become. The store
// keeps a hash of the secret only; the secret is shown once, on creation.
type Open311Key struct {
	ID          int64      `json:"id"`
	CommunityID int64      `json:"community_id"`
	Name        string     `json:"name" doc:"Who the key is for, e.g. the city's 12345 hotline"`
	CreatedBy   int64      `json:"created_by,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
}

// Extra is what an Open311 request brings beyond its matter.
type Extra struct {
	BuildingID int64  // the building address_id named, 0 for none
	MediaURL   string // a URL to a photo or other media
	Contact    any    // who filed it, as the client said; kept sealed
}

// Filter selects the matters GET requests shows, all of one
// community.
type Filter struct {
	CommunityID int64
	// Tracking numbers (service_request_id); when set, the other
	// conditions but the community are ignored.
	Tracking []string
	// Categories are category codes (service_code); none means all.
	Categories []string
	// Status is "open" (not resolved, closed or rejected), "closed" (one
	// of those) or "" for both.
	Status string
	// Since and Until bound the submission time, both included.
	Since, Until time.Time
	// Limit is at most this many, newest first; 0 means 1000.
	Limit int
}

// StoredRequest is a matter with what its Open311 face needs: the
// building it is at (of its home, or the one address_id named) and the
// media URL it came with.
type StoredRequest struct {
	Matter   matter.Matter
	Building community.Building // zero when the matter names no building
	MediaURL string
}
