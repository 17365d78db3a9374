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
	// Notification is set on "notified" entries: one message owed to one
	// person, with how far it got.
	Notification *Notification `json:"notification,omitempty"`
}

// ActionNotified is the timeline action of a message owed to someone.
const ActionNotified = "notified"

// Recipient roles: why someone is told about an incident.
const (
	RoleHouseholder      = "householder"
	RoleEmergencyContact = "emergency_contact"
	RolePolice           = "police"
	RoleSupervisor       = "supervisor"
	RoleStaff            = "staff"
)

// Notification states. A message moves from queued to sent (the gateway
// took it) to delivered (the handset has it), or to failed from any of
// them: the gateway refused it for good, the retries ran out, or the
// network reported it undeliverable.
const (
	NotificationQueued    = "queued"
	NotificationSent      = "sent"
	NotificationDelivered = "delivered"
	NotificationFailed    = "failed"
)

// ChannelSMS is the only channel messages about incidents go by today;
// the field is there so that app messages can join without a new shape.
const ChannelSMS = "sms"

// Notification is one message owed to one person about an incident.
type Notification struct {
	ID            int64  `json:"id"`
	RecipientRole string `json:"recipient_role"`
	PersonID      int64  `json:"person_id,omitempty"`
	UserID        int64  `json:"user_id,omitempty"`
	Name          string `json:"name"`
	// Phone is masked: the timeline shows whom, not how to reach them.
	Phone       string     `json:"phone"`
	Channel     string     `json:"channel"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	QueuedAt    time.Time  `json:"queued_at"`
	SentAt      *time.Time `json:"sent_at,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	FailedAt    *time.Time `json:"failed_at,omitempty"`
	// GatewayID is the gateway's id of the message, by which its delivery
	// receipts name it.
	GatewayID string `json:"gateway_id,omitempty"`
	LastError string `json:"last_error,omitempty"`
}

// RecipientRole is the role of the people a notice group reaches
// (householders, contacts, police, supervisors, user:<id>), "" for a group
// it does not know.
func RecipientRole(group string) string {
	switch {
	case group == "householders":
		return RoleHouseholder
	case group == "contacts":
		return RoleEmergencyContact
	case group == "police":
		return RolePolice
	case group == "supervisors":
		return RoleSupervisor
	case len(group) > 5 && group[:5] == "user:":
		return RoleStaff
	}
	return ""
}

// Receipt is what a gateway says became of a message it took: by our key
// or by its own id (at least one is set), delivered or failed.
type Receipt struct {
	Key       string
	GatewayID string
	Status    string // NotificationDelivered or NotificationFailed
	Error     string
	At        time.Time
}
