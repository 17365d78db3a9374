package alarm

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shequ/shequ"
)

// Panel is an alarm panel reporting over SIA DC-09 for one home.
type Panel struct {
	ID                 int64      `json:"id"`
	CommunityID        int64      `json:"community_id"`
	HomeID             int64      `json:"home_id"`
	DeviceID           int64      `json:"device_id,omitempty"`
	Account            string     `json:"account"`
	Key                string     `json:"-"` // AES key as hex or ASCII; never shown
	Encrypted          bool       `json:"encrypted"`
	SupervisionSeconds int        `json:"supervision_seconds"`
	LastSeenAt         *time.Time `json:"last_seen_at,omitempty"`
	CommFailed         bool       `json:"comm_failed"`
	CreatedAt          time.Time  `json:"created_at"`
	// Zones names the panel's zones as the residents call them, by zone
	// number: {"02": "客厅窗"}.
	Zones map[string]string `json:"zones,omitempty"`
}

// MaxZoneName is how long a zone's name may be.
const MaxZoneName = 40

// Validate checks a panel before it is stored.
func (p *Panel) Validate() error {
	f := map[string]string{}
	p.Account = strings.ToUpper(strings.TrimSpace(p.Account))
	if p.HomeID == 0 {
		f["home_id"] = "is required"
	}
	if len(p.Account) < 3 || len(p.Account) > 16 || strings.Trim(p.Account, "0123456789ABCDEF") != "" {
		f["account"] = "must be 3 to 16 hex digits"
	}
	switch len(p.Key) {
	case 0, 16, 24, 32, 48, 64:
	default:
		f["key"] = "must be 16, 24 or 32 characters, or 32, 48 or 64 hex digits"
	}
	for zone, name := range p.Zones {
		if strings.TrimSpace(zone) == "" || len(zone) > 16 {
			f["zones"] = "zone numbers must be 1 to 16 characters"
		}
		if n := utf8.RuneCountInString(strings.TrimSpace(name)); n == 0 || n > MaxZoneName {
			f["zones"] = fmt.Sprintf("each zone needs a name of at most %d characters", MaxZoneName)
		}
		p.Zones[zone] = strings.TrimSpace(name)
	}
	if p.SupervisionSeconds != 0 && (p.SupervisionSeconds < 30 || p.SupervisionSeconds > 86400*7) {
		f["supervision_seconds"] = "must be 0 (not supervised) or between 30 and 604800"
	}
	if len(f) > 0 {
		return shequ.Invalid(f)
	}
	p.Encrypted = p.Key != ""
	return nil
}

// Sensor is a zigbee2mqtt sensor guarding one zone of a home.
type Sensor struct {
	ID          int64  `json:"id"`
	CommunityID int64  `json:"community_id"`
	HomeID      int64  `json:"home_id"`
	DeviceID    int64  `json:"device_id,omitempty"`
	Kind        string `json:"kind"`
	Zone        string `json:"zone"`
	MQTTName    string `json:"mqtt_name"`
	// ZoneName is what the residents call the zone ("入户门").
	ZoneName  string    `json:"zone_name,omitempty"`
	Online    bool      `json:"online"`
	CreatedAt time.Time `json:"created_at"`
}

// Validate checks a sensor before it is stored.
func (s *Sensor) Validate() error {
	f := map[string]string{}
	if s.HomeID == 0 {
		f["home_id"] = "is required"
	}
	if _, err := ZoneType(s.Kind); err != nil {
		f["kind"] = "must be door_contact, window_contact or pir"
	}
	s.Zone, s.MQTTName = strings.TrimSpace(s.Zone), strings.TrimSpace(s.MQTTName)
	if s.Zone == "" {
		f["zone"] = "is required (door, window, hallway …)"
	}
	s.ZoneName = strings.TrimSpace(s.ZoneName)
	if utf8.RuneCountInString(s.ZoneName) > MaxZoneName {
		f["zone_name"] = fmt.Sprintf("must be at most %d characters", MaxZoneName)
	}
	if s.MQTTName == "" || strings.ContainsAny(s.MQTTName, "#+") || len(s.MQTTName) > 100 {
		f["mqtt_name"] = "must be the sensor's zigbee2mqtt friendly name"
	}
	if len(f) > 0 {
		return shequ.Invalid(f)
	}
	return nil
}

// Event is a stored report.
type Event struct {
	ID          int64      `json:"id"`
	CommunityID int64      `json:"community_id"`
	HomeID      int64      `json:"home_id,omitempty"`
	PanelID     int64      `json:"panel_id,omitempty"`
	SensorID    int64      `json:"sensor_id,omitempty"`
	IncidentID  int64      `json:"incident_id,omitempty"`
	Source      Source     `json:"source"`
	Account     string     `json:"account"`
	Seq         string     `json:"seq"`
	Code        string     `json:"code"`
	Kind        Kind       `json:"kind"`
	Restore     bool       `json:"restore"`
	Area        string     `json:"area,omitempty"`
	Zone        string     `json:"zone"`
	Text        string     `json:"text,omitempty"`
	PanelTime   *time.Time `json:"panel_time,omitempty"`
	ReceivedAt  time.Time  `json:"received_at"`
}

// Outcome is what storing one report did.
type Outcome struct {
	Duplicate   bool // a retransmission: stored before
	Unknown     bool // no panel or sensor has this account
	EventID     int64
	Incident    *Incident // the incident it opened or joined
	NewIncident bool
	Arm         *ArmState // the home's new arm state, when it changed
}

// EventFilter narrows the event list.
type EventFilter struct {
	Account    string
	HomeID     int64
	IncidentID int64
	shequ.Page
}

// IncidentFilter narrows the incident list.
type IncidentFilter struct {
	Status string // "open" for all but resolved, or one status
	HomeID int64
	// DispatchedTo keeps the incidents a staff member is sent to.
	DispatchedTo int64
	// Since and Until bound the opening time; zero does not bound.
	Since, Until time.Time
	shequ.Page
}

// Recipient is someone a notice goes to.
type Recipient struct {
	Name  string
	Phone string
	Lang  string
	// Key, when set, identifies the recipient in the message's idempotency
	// key (a household), so the set can change without a message repeating.
	Key string
	// PersonID or UserID is who the recipient is, when they are a resident
	// or a user; an emergency contact is neither.
	PersonID, UserID int64
}

// IncidentContext is what a message about an incident says and to whom.
type IncidentContext struct {
	Incident   Incident
	Vars       map[string]string
	Recipients []Recipient
}

// DefaultEscalateAfter is how long a new incident may wait for an
// operator before everyone is alerted and the supervisor gets an SMS.
const DefaultEscalateAfter = 60 * time.Second
