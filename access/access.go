// Package access owns access control: the doors (one controller per
// building entrance, gate or bicycle shed), the credentials that open them
// (cards, PINs, phone keys, staff credentials), visitor and courier passes,
// the rules of who may open which door when, the signed tokens a controller
// verifies on its own while offline, and the one decision function the
// server and the controllers share. It holds types and rules: no SQL, no
// HTTP, no MQTT.
package access

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shequ/shequ"
)

// Door kinds. Residents open the entrances of their own building and the
// shared doors (gates, the bicycle shed) of their community.
const (
	DoorEntrance = "entrance"
	DoorGate     = "gate"
	DoorShed     = "shed"
)

// DoorKinds lists the kinds a door may have.
var DoorKinds = []string{DoorEntrance, DoorGate, DoorShed}

// Door states as the controller last reported them.
const (
	StateUnknown  = "unknown"
	StateClosed   = "closed"
	StateOpen     = "open"
	StateForced   = "forced"
	StateHeldOpen = "held_open"
	StateTamper   = "tamper"
	StateReleased = "released" // unlocked for a fire alarm
)

// DefaultHeldOpenSeconds is how long a door may stand open before the
// controller reports it held open.
const DefaultHeldOpenSeconds = 60

// Door is a controlled door. Its ID is the ID of its controller in the
// device registry, so the door shows in device health like any device.
type Door struct {
	ID          int64  `json:"id"`
	DeviceID    int64  `json:"device_id"`
	CommunityID int64  `json:"community_id"`
	BuildingID  int64  `json:"building_id,omitempty"`
	Entrance    string `json:"entrance,omitempty"`
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	// FireRelease unlocks the door when a fire alarm comes from its
	// building (from anywhere in the community for a gate or shed).
	FireRelease     bool       `json:"fire_release"`
	HeldOpenSeconds int        `json:"held_open_seconds"`
	State           string     `json:"state"`
	StateAt         *time.Time `json:"state_at,omitempty"`
	Online          bool       `json:"online"`
	LastSeenAt      *time.Time `json:"last_seen_at,omitempty"`
	// BuildingName is filled in on reads.
	BuildingName string `json:"building_name,omitempty"`
}

// Shared reports whether every resident of the community may use the door.
func (d Door) Shared() bool { return d.Kind == DoorGate || d.Kind == DoorShed }

// Validate checks a door before it is stored.
func (d *Door) Validate() error {
	p := shequ.Problems{}
	d.Name = strings.TrimSpace(d.Name)
	p.RequireText("name", d.Name, 100)
	if d.Kind == "" {
		d.Kind = DoorEntrance
		if d.BuildingID == 0 {
			d.Kind = DoorGate
		}
	}
	if !slices.Contains(DoorKinds, d.Kind) {
		p.Add("kind", "must be one of %s", strings.Join(DoorKinds, ", "))
	}
	if d.Kind == DoorEntrance && d.BuildingID == 0 {
		p.Add("building_id", "an entrance belongs to a building")
	}
	p.OptionalText("entrance", d.Entrance, 40)
	if d.HeldOpenSeconds == 0 {
		d.HeldOpenSeconds = DefaultHeldOpenSeconds
	}
	if d.HeldOpenSeconds < 5 || d.HeldOpenSeconds > 3600 {
		p.Add("held_open_seconds", "must be between 5 and 3600")
	}
	if d.State == "" {
		d.State = StateUnknown
	}
	return p.Err()
}

// Credential kinds, and the kind of a presented pass.
const (
	KindCard  = "card"
	KindPIN   = "pin"
	KindPhone = "phone"
	KindPass  = "pass"
)

// CredentialKinds are the kinds a stored credential may have.
var CredentialKinds = []string{KindCard, KindPIN, KindPhone}

// Roles a credential opens doors under.
const (
	RoleResident = "resident" // their building's entrances and the shared doors, always
	RoleCleaner  = "cleaner"  // every door, Monday to Saturday 6:00–9:00
	RoleStaff    = "staff"    // every door, always
)

// Roles lists the roles a credential may have.
var Roles = []string{RoleResident, RoleCleaner, RoleStaff}

// Credential is something a person presents at a door. The card UID and
// the PIN are personal data: the store keeps only a keyed hash to find
// them and the card sealed; Hint is what is shown (the last digits).
type Credential struct {
	ID          int64  `json:"id"`
	CommunityID int64  `json:"community_id"`
	PersonID    int64  `json:"person_id,omitempty"`
	HouseholdID int64  `json:"household_id,omitempty"`
	UserID      int64  `json:"user_id,omitempty"` // staff credentials
	Kind        string `json:"kind"`
	Role        string `json:"role"`
	Label       string `json:"label,omitempty"`
	// Value is the card UID or PIN as given; it is written, never read back.
	Value         string     `json:"-"`
	Hint          string     `json:"hint,omitempty"`
	Serial        uint64     `json:"serial,omitempty,string"` // phone keys: the serial of their tokens
	CreatedAt     time.Time  `json:"created_at"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
	RevokedReason string     `json:"revoked_reason,omitempty"`
	PersonName    string     `json:"person_name,omitempty"`
}

// Active reports whether the credential still opens doors.
func (c Credential) Active() bool { return c.RevokedAt == nil }

// Validate checks a credential before it is stored.
func (c *Credential) Validate() error {
	p := shequ.Problems{}
	if !slices.Contains(CredentialKinds, c.Kind) {
		p.Add("kind", "must be one of %s", strings.Join(CredentialKinds, ", "))
	}
	if c.Role == "" {
		c.Role = RoleResident
	}
	if !slices.Contains(Roles, c.Role) {
		p.Add("role", "must be one of %s", strings.Join(Roles, ", "))
	}
	if c.Role == RoleResident && c.PersonID == 0 {
		p.Add("person_id", "a resident's credential belongs to a person")
	}
	if c.PersonID == 0 && c.UserID == 0 {
		p.Add("person_id", "say whose credential it is")
	}
	c.Value = strings.TrimSpace(c.Value)
	switch c.Kind {
	case KindCard:
		v := NormalizeCard(c.Value)
		if len(v) < 4 || len(v) > 32 || strings.Trim(v, "0123456789ABCDEF") != "" {
			p.Add("value", "a card UID is 4 to 32 hexadecimal digits")
		}
		c.Value = v
	case KindPIN:
		if len(c.Value) < 6 || len(c.Value) > 10 || strings.Trim(c.Value, "0123456789") != "" {
			p.Add("value", "a PIN is 6 to 10 digits")
		}
	case KindPhone:
		c.Value = ""
	}
	p.OptionalText("label", c.Label, 60)
	return p.Err()
}

// NormalizeCard writes a card UID the one way: upper-case hex without
// separators, so "04:a2:2b" and "04A22B" are the same card.
func NormalizeCard(uid string) string {
	return strings.ToUpper(strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(uid)))
}

// Hint is the part of a card UID shown on lists: its last four digits.
func Hint(kind, value string) string {
	if kind != KindCard || len(value) < 4 {
		return ""
	}
	return "…" + value[len(value)-4:]
}

// Pass kinds.
const (
	PassVisitor = "visitor"
	PassCourier = "courier"
)

// Limits of a pass.
const (
	MaxPassDuration = 7 * 24 * time.Hour
	MaxPassUses     = 50
	CourierDuration = 30 * time.Minute
)

// Pass lets a visitor or a courier through the doors it names, inside its
// window, as many times as its uses.
type Pass struct {
	ID          int64      `json:"id"`
	CommunityID int64      `json:"community_id"`
	HouseholdID int64      `json:"household_id,omitempty"`
	PersonID    int64      `json:"person_id,omitempty"` // who made it
	Kind        string     `json:"kind"`
	Serial      uint64     `json:"serial,string"`
	VisitorName string     `json:"visitor_name,omitempty"`
	DoorIDs     []int64    `json:"door_ids"`
	ValidFrom   time.Time  `json:"valid_from"`
	ValidUntil  time.Time  `json:"valid_until"`
	Uses        int        `json:"uses"`
	Used        int        `json:"used"`
	CreatedAt   time.Time  `json:"created_at"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// Validate fills in what a pass leaves out (a courier's short window and
// single use, a visitor's day) and checks the rest.
func (p *Pass) Validate(now time.Time) error {
	pr := shequ.Problems{}
	if p.Kind == "" {
		p.Kind = PassVisitor
	}
	if p.Kind != PassVisitor && p.Kind != PassCourier {
		pr.Add("kind", "must be visitor or courier")
	}
	if p.ValidFrom.IsZero() {
		p.ValidFrom = now
	}
	if p.ValidUntil.IsZero() {
		if p.Kind == PassCourier {
			p.ValidUntil = p.ValidFrom.Add(CourierDuration)
		} else {
			p.ValidUntil = p.ValidFrom.Add(24 * time.Hour)
		}
	}
	if p.Uses == 0 {
		p.Uses = 1
		if p.Kind == PassVisitor {
			p.Uses = 2 // in and out again
		}
	}
	p.ValidFrom, p.ValidUntil = p.ValidFrom.UTC().Truncate(time.Second), p.ValidUntil.UTC().Truncate(time.Second)
	if !p.ValidUntil.After(p.ValidFrom) {
		pr.Add("valid_until", "must be after valid_from")
	}
	if p.ValidUntil.Sub(p.ValidFrom) > MaxPassDuration {
		pr.Add("valid_until", "a pass lasts at most 7 days")
	}
	if p.ValidUntil.Before(now) {
		pr.Add("valid_until", "is already past")
	}
	if p.Uses < 1 || p.Uses > MaxPassUses {
		pr.Add("uses", "must be between 1 and %d", MaxPassUses)
	}
	p.VisitorName = strings.TrimSpace(p.VisitorName)
	pr.OptionalText("visitor_name", p.VisitorName, 40)
	if len(p.DoorIDs) == 0 {
		pr.Add("door_ids", "name at least one door")
	}
	if len(p.DoorIDs) > MaxTokenDoors {
		pr.Add("door_ids", "at most %d doors", MaxTokenDoors)
	}
	return pr.Err()
}

// Active reports whether the pass may still open a door at some time.
func (p Pass) Active(now time.Time) bool {
	return p.RevokedAt == nil && now.Before(p.ValidUntil) && p.Used < p.Uses
}

// Presented is what a controller read at the door.
type Presented struct {
	Kind  string `json:"kind"`            // card, pin, phone, pass
	Value string `json:"value,omitempty"` // card UID or PIN
	Token string `json:"token,omitempty"` // phone key or pass
}

// Subject is what a presented credential turned out to be, resolved from
// the store (online) or from the token and the controller's lists
// (offline). The zero Subject is an unknown credential.
type Subject struct {
	Found bool
	Kind  string
	Role  string // resident, cleaner, staff; visitor for passes
	// BuildingID is the building of a resident's home.
	BuildingID int64
	// Doors a pass or token names; nil for role-based credentials.
	Doors      []int64
	ValidFrom  time.Time
	ValidUntil time.Time
	Uses, Used int // Uses 0: no limit
	Revoked    bool
	// PersonID, HouseholdID, CredentialID and PassID go into the log.
	PersonID, HouseholdID, CredentialID, PassID int64
	Serial                                      uint64
}

// Reasons a decision gives.
const (
	ReasonGranted   = "granted"
	ReasonUnknown   = "unknown_credential"
	ReasonBadToken  = "bad_token"
	ReasonRevoked   = "revoked"
	ReasonNotYet    = "not_yet_valid"
	ReasonExpired   = "expired"
	ReasonUsedUp    = "used_up"
	ReasonWrongDoor = "wrong_door"
	ReasonSchedule  = "outside_schedule"
	ReasonReleased  = "released" // the door is open for a fire alarm
)

// Decision is the answer to a controller.
type Decision struct {
	Granted bool   `json:"granted"`
	Reason  string `json:"reason"`
}

func refuse(reason string) Decision { return Decision{Reason: reason} }

// CleanerHours says when cleaners may open doors: Monday to Saturday from
// 6:00 to 9:00, community time.
func CleanerHours(t time.Time) bool {
	return t.Weekday() != time.Sunday && t.Hour() >= 6 && t.Hour() < 9
}

// Decide is the one decision: whether s opens door at now (loc is the
// community's time zone, for schedules). It is pure; the server, the MQTT
// and webhook adapters and the offline controller all call it.
func Decide(door Door, s Subject, now time.Time, loc *time.Location) Decision {
	if !s.Found {
		return refuse(ReasonUnknown)
	}
	if s.Revoked {
		return refuse(ReasonRevoked)
	}
	if !s.ValidFrom.IsZero() && now.Before(s.ValidFrom) {
		return refuse(ReasonNotYet)
	}
	if !s.ValidUntil.IsZero() && !now.Before(s.ValidUntil) {
		return refuse(ReasonExpired)
	}
	if s.Uses > 0 && s.Used >= s.Uses {
		return refuse(ReasonUsedUp)
	}
	if s.Doors != nil {
		if !slices.Contains(s.Doors, door.ID) {
			return refuse(ReasonWrongDoor)
		}
		return Decision{Granted: true, Reason: ReasonGranted}
	}
	switch s.Role {
	case RoleStaff:
	case RoleCleaner:
		if loc == nil {
			loc = time.UTC
		}
		if !CleanerHours(now.In(loc)) {
			return refuse(ReasonSchedule)
		}
	case RoleResident:
		if !ResidentOpens(door, s.BuildingID) {
			return refuse(ReasonWrongDoor)
		}
	default:
		return refuse(ReasonUnknown)
	}
	return Decision{Granted: true, Reason: ReasonGranted}
}

// ResidentOpens reports whether a resident whose home is in building may
// open d: the entrances of that building and the shared doors. It is the
// one rule of a household's doors: Decide applies it to residents'
// credentials, ResidentDoors to their phone keys and the route a visitor
// pass defaults to, CheckPassDoors to the doors a household's pass names.
func ResidentOpens(d Door, building int64) bool {
	return d.Shared() || (d.Kind == DoorEntrance && building != 0 && d.BuildingID == building)
}

// ResidentDoors are the doors a resident of building opens. A visitor
// pass defaults to the route to the home, which is the same set less the
// bicycle shed.
func ResidentDoors(doors []Door, building int64, route bool) []int64 {
	var out []int64
	for _, d := range doors {
		if ResidentOpens(d, building) && !(route && d.Kind == DoorShed) {
			out = append(out, d.ID)
		}
	}
	return out
}

// CheckPassDoors checks the doors ids a pass of a household living in
// building names, against the community's doors. A pass opens at most what
// the household opens itself (ResidentOpens), so a resident cannot let a
// visitor into another building; anyDoor lifts that for staff who reach
// the whole community, who may name any of its doors. The problem names
// the first door refused.
func CheckPassDoors(doors []Door, ids []int64, building int64, anyDoor bool) error {
	for _, id := range ids {
		i := slices.IndexFunc(doors, func(d Door) bool { return d.ID == id })
		if i < 0 {
			return shequ.Invalid(map[string]string{"door_ids": fmt.Sprintf("door %d is not in this community", id)})
		}
		if d := doors[i]; !anyDoor && !ResidentOpens(d, building) {
			return shequ.Invalid(map[string]string{"door_ids": fmt.Sprintf("door %d (%s) is not one the household opens: a pass opens only its building's entrances and the community's gates and bicycle shed", d.ID, d.Name)})
		}
	}
	return nil
}

func fingerprint(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}
