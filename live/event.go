package live

import (
	"encoding/json"
	"time"
)

// Event is one message of the live stream.
type Event struct {
	ID          int64           `json:"id"`
	CommunityID int64           `json:"community_id"`
	HomeID      int64           `json:"home_id,omitempty"`
	Type        string          `json:"type"` // incident, arm_state
	Payload     json.RawMessage `json:"payload"`
	At          time.Time       `json:"at"`
}
