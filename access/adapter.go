package access

import (
	"context"
	"time"
)

// Service is what a controller protocol adapter calls: the store's side of
// a decision, an event and an upload of offline decisions.
type Service interface {
	Decide(ctx context.Context, doorID int64, p Presented, source string) (Decision, error)
	RecordDoorEvent(ctx context.Context, doorID int64, event string, at time.Time, source string) (int64, error)
	RecordOfflineDecisions(ctx context.Context, doorID int64, ds []OfflineDecision, source string) error
}

// Adapter is one way controllers talk to shequ (MQTT, an HTTP webhook).
// Each takes requests and events to Service; Tell carries what shequ has
// to say to controllers unasked — a new revocation list, a fire release —
// as far as the protocol can (a webhook controller, which only calls out,
// gets them in its next answer instead).
type Adapter interface {
	Name() string
	PushRevocations(ctx context.Context, doors []int64, r Revocations) error
	Command(ctx context.Context, c Command) error
}

// Wire formats shared by the adapters and the controllers.

// Request is a controller asking whether a credential opens its door.
type Request struct {
	ID         string    `json:"id,omitempty"` // echoed in the decision
	Credential Presented `json:"credential"`
}

// Answer is shequ's answer to a Request.
type Answer struct {
	ID string `json:"id,omitempty"`
	Decision
}

// Event is a door event a controller reports.
type Event struct {
	At time.Time `json:"at,omitzero"`
}

// Upload carries a controller's offline decisions.
type Upload struct {
	Decisions []OfflineDecision `json:"decisions"`
}
