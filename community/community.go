// Package community owns the model of a neighbourhood: communities, their
// grids, buildings, homes, households, residents and their emergency
// contacts, the staff who serve them, the associations, and the registry of
// devices placed in them. It holds types and rules, no SQL and no HTTP.
package community

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/pii"
)

// Community is one neighbourhood committee's area. Every other row belongs
// to exactly one community.
type Community struct {
	ID        int64     `json:"id"`
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	NameEn    string    `json:"name_en"`
	Timezone  string    `json:"timezone"`
	Phone     string    `json:"phone"`
	Address   string    `json:"address"`
	CreatedAt time.Time `json:"created_at"`
}

// Grid (网格) is the part of a community one grid worker looks after.
type Grid struct {
	ID          int64  `json:"id"`
	CommunityID int64  `json:"community_id"`
	Code        string `json:"code"`
	Name        string `json:"name"`
	// Polygon is the grid's outline as a GeoJSON Polygon, "" when not drawn.
	Polygon      string `json:"polygon,omitempty"`
	WorkerUserID int64  `json:"worker_user_id,omitempty"`
}

// Building (楼栋) stands in one grid.
type Building struct {
	ID          int64   `json:"id"`
	CommunityID int64   `json:"community_id"`
	GridID      int64   `json:"grid_id"`
	Name        string  `json:"name"`
	Address     string  `json:"address"`
	Lat         float64 `json:"lat"`
	Lng         float64 `json:"lng"`
	Floors      int     `json:"floors"`
	HeadUserID  int64   `json:"head_user_id,omitempty"`
}

// Home (户) is one dwelling: a door on a floor of a building.
type Home struct {
	ID          int64  `json:"id"`
	CommunityID int64  `json:"community_id"`
	BuildingID  int64  `json:"building_id"`
	Entrance    string `json:"entrance"`
	Floor       int    `json:"floor"`
	Door        string `json:"door"`
	// BuildingName is filled in on reads so a list can be shown as is.
	BuildingName string `json:"building_name,omitempty"`
	GridID       int64  `json:"grid_id,omitempty"`
}

// Household is the people who live together in one home.
type Household struct {
	ID          int64  `json:"id"`
	CommunityID int64  `json:"community_id"`
	HomeID      int64  `json:"home_id"`
	Name        string `json:"name"`
}

// Person tags the community cares about.
const (
	TagLivingAlone = "living_alone"
	TagElderly     = "elderly"
	TagUnemployed  = "unemployed"
	TagDisability  = "disability"
	TagLowIncome   = "low_income"
)

// KnownTags are the tags pages offer; others are accepted as given.
var KnownTags = []string{TagLivingAlone, TagElderly, TagUnemployed, TagDisability, TagLowIncome}

// Person is a resident. Phone and IDNumber are personal data: stored
// encrypted and shown masked unless the reader's role needs them.
type Person struct {
	ID          int64     `json:"id"`
	CommunityID int64     `json:"community_id"`
	HouseholdID int64     `json:"household_id,omitempty"`
	Name        string    `json:"name"`
	Gender      string    `json:"gender,omitempty"`
	Phone       string    `json:"phone"`
	IDNumber    string    `json:"id_number"`
	BirthDate   string    `json:"birth_date,omitempty"` // YYYY-MM-DD
	Relation    string    `json:"relation,omitempty"`   // to the head of household
	Tags        []string  `json:"tags"`
	Contacts    []Contact `json:"emergency_contacts"`
	Masked      bool      `json:"masked"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	HomeID      int64     `json:"home_id,omitempty"`
}

// Contact is someone to call when a resident needs help.
type Contact struct {
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Relation string `json:"relation"`
}

// Device kinds of the registry.
const (
	DeviceCamera         = "camera"
	DeviceWiFiAP         = "wifi_ap"
	DeviceSpeaker        = "speaker"
	DeviceAlarmPanel     = "alarm_panel"
	DeviceSensor         = "sensor"
	DeviceDoorController = "door_controller"
)

// DeviceKinds lists the kinds a device may have.
var DeviceKinds = []string{DeviceCamera, DeviceWiFiAP, DeviceSpeaker, DeviceAlarmPanel, DeviceSensor, DeviceDoorController}

// Device statuses.
const (
	DeviceUnknown = "unknown"
	DeviceOnline  = "online"
	DeviceOffline = "offline"
	// DeviceDegraded answers but not fully: a camera with no video track.
	DeviceDegraded = "degraded"
	// DeviceFault is the old name of DeviceDegraded.
	DeviceFault = DeviceDegraded
)

// DeviceStatuses lists the statuses a device may have.
var DeviceStatuses = []string{DeviceUnknown, DeviceOnline, DeviceOffline, DeviceDegraded}

// Device is anything with a network address the community watches.
type Device struct {
	ID          int64      `json:"id"`
	CommunityID int64      `json:"community_id"`
	Kind        string     `json:"kind"`
	Name        string     `json:"name"`
	Serial      string     `json:"serial,omitempty"`
	Address     string     `json:"address,omitempty"` // network address or URL
	Location    string     `json:"location,omitempty"`
	Lat         float64    `json:"lat"`
	Lng         float64    `json:"lng"`
	GridID      int64      `json:"grid_id,omitempty"`
	BuildingID  int64      `json:"building_id,omitempty"`
	HomeID      int64      `json:"home_id,omitempty"`
	Status      string     `json:"status"`
	LastSeenAt  *time.Time `json:"last_seen_at"`
	CreatedAt   time.Time  `json:"created_at"`
	// Measured health: when the status last changed, when the device was
	// last checked, the reason of its last failure, what the last check
	// learnt, and the share of checks that found it online over the last
	// 24 hours and 30 days (nil before any check).
	StatusSince   *time.Time   `json:"status_since,omitempty"`
	LastCheckedAt *time.Time   `json:"last_checked_at,omitempty"`
	LastError     string       `json:"last_error"`
	Detail        string       `json:"detail,omitempty"`
	Uptime24h     *float64     `json:"uptime_24h"`
	Uptime30d     *float64     `json:"uptime_30d"`
	Check         *DeviceCheck `json:"check,omitempty"`
	// Filled on reads for the health wall.
	BuildingName string `json:"building_name,omitempty"`
}

// DeviceCheck is how a device is checked, as shown: never its secret.
type DeviceCheck struct {
	Kind            string `json:"kind"`
	Target          string `json:"target"`
	Username        string `json:"username,omitempty"`
	HasSecret       bool   `json:"has_secret"`
	IntervalSeconds int    `json:"interval_seconds"`
}

// Association is a resident self-governance association.
type Association struct {
	ID          int64    `json:"id"`
	CommunityID int64    `json:"community_id"`
	Key         string   `json:"key"`
	Name        string   `json:"name"`
	NameEn      string   `json:"name_en"`
	ChairUserID int64    `json:"chair_user_id,omitempty"`
	Members     []Member `json:"members"`
}

// Member is someone who serves in an association.
type Member struct {
	UserID   int64  `json:"user_id,omitempty"`
	PersonID int64  `json:"person_id,omitempty"`
	Name     string `json:"name"`
	// Kind says why they are a member: deputy (人大代表), building_head,
	// grid_worker, volunteer or cadre.
	Kind string `json:"kind"`
	Role string `json:"role"` // chair or member
}

// Partner is an outside organisation that works with the community.
type Partner struct {
	ID          int64  `json:"id"`
	CommunityID int64  `json:"community_id"`
	Name        string `json:"name"`
	Kind        string `json:"kind"`
}

// Filter narrows a list. Zero fields do not filter.
type Filter struct {
	CommunityID int64
	GridID      int64
	BuildingID  int64
	HomeID      int64
	HouseholdID int64
	Floor       *int
	Kind        string
	Status      string
	Tag         string
	// Query finds people by part of their name; within NumberScope, by a
	// whole phone or ID number too.
	Query string
	// NumberScope is the reader's scope of the right to whole numbers
	// (auth.PermPeoplePII). A reader who sees numbers masked must not be
	// told whether a guessed number is someone's, so with none Query
	// matches names only; a person it finds by number counts as a read of
	// their whole numbers, audited.
	NumberScope auth.Scope
	shequ.Page
}

var (
	codePattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	datePattern  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	phonePattern = regexp.MustCompile(`^\+?[0-9][0-9 -]{4,19}$`)
)

func checkLatLng(p shequ.Problems, lat, lng float64) {
	if lat < -90 || lat > 90 {
		p.Add("lat", "must be between -90 and 90")
	}
	if lng < -180 || lng > 180 {
		p.Add("lng", "must be between -180 and 180")
	}
}

// Validate checks a community before it is stored.
func (c *Community) Validate() error {
	p := shequ.Problems{}
	c.Code = strings.TrimSpace(c.Code)
	if !codePattern.MatchString(c.Code) {
		p.Add("code", "must be lower-case letters, digits and dashes")
	}
	p.RequireText("name", c.Name, 100)
	p.OptionalText("name_en", c.NameEn, 100)
	if c.Timezone == "" {
		c.Timezone = "Asia/Shanghai"
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		p.Add("timezone", "is not a known time zone")
	}
	return p.Err()
}

// Validate checks a grid before it is stored.
func (g *Grid) Validate() error {
	p := shequ.Problems{}
	if g.CommunityID == 0 {
		p.Add("community_id", "is required")
	}
	p.RequireText("code", g.Code, 20)
	p.RequireText("name", g.Name, 100)
	if g.Polygon != "" && !strings.Contains(g.Polygon, "Polygon") {
		p.Add("polygon", "must be a GeoJSON Polygon")
	}
	return p.Err()
}

// Validate checks a building before it is stored.
func (b *Building) Validate() error {
	p := shequ.Problems{}
	if b.CommunityID == 0 {
		p.Add("community_id", "is required")
	}
	if b.GridID == 0 {
		p.Add("grid_id", "is required")
	}
	b.Name = strings.TrimSpace(b.Name)
	p.RequireText("name", b.Name, 50)
	p.OptionalText("address", b.Address, 200)
	checkLatLng(p, b.Lat, b.Lng)
	if b.Floors < 0 || b.Floors > 200 {
		p.Add("floors", "must be between 0 and 200")
	}
	return p.Err()
}

// Validate checks a home before it is stored.
func (h *Home) Validate() error {
	p := shequ.Problems{}
	if h.BuildingID == 0 {
		p.Add("building_id", "is required")
	}
	h.Door = strings.TrimSpace(h.Door)
	p.RequireText("door", h.Door, 20)
	p.OptionalText("entrance", h.Entrance, 20)
	if h.Floor < -5 || h.Floor > 200 {
		p.Add("floor", "must be between -5 and 200")
	}
	return p.Err()
}

// Validate checks a household before it is stored.
func (h *Household) Validate() error {
	p := shequ.Problems{}
	if h.HomeID == 0 {
		p.Add("home_id", "is required")
	}
	p.OptionalText("name", h.Name, 100)
	return p.Err()
}

// Validate checks a person before it is stored and puts tags in order.
func (x *Person) Validate() error {
	p := shequ.Problems{}
	x.Name = strings.TrimSpace(x.Name)
	p.RequireText("name", x.Name, 100)
	if x.Phone != "" && !phonePattern.MatchString(x.Phone) {
		p.Add("phone", "is not a phone number")
	}
	x.IDNumber = strings.ToUpper(strings.TrimSpace(x.IDNumber))
	if x.IDNumber != "" && !ValidIDNumber(x.IDNumber) {
		p.Add("id_number", "is not a valid 18-character resident ID number")
	}
	if x.BirthDate != "" {
		if !datePattern.MatchString(x.BirthDate) {
			p.Add("birth_date", "must be a date like 1950-03-21")
		} else if _, err := time.Parse(time.DateOnly, x.BirthDate); err != nil {
			p.Add("birth_date", "is not a real date")
		}
	}
	switch x.Gender {
	case "", "male", "female":
	default:
		p.Add("gender", "must be male or female")
	}
	p.OptionalText("relation", x.Relation, 20)
	var tags []string
	for _, t := range x.Tags {
		t = strings.TrimSpace(t)
		if t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	slices.Sort(tags)
	x.Tags = tags
	if x.Tags == nil {
		x.Tags = []string{}
	}
	for i, c := range x.Contacts {
		field := fmt.Sprintf("emergency_contacts[%d]", i)
		if strings.TrimSpace(c.Name) == "" {
			p.Add(field+".name", "is required")
		}
		if !phonePattern.MatchString(c.Phone) {
			p.Add(field+".phone", "is not a phone number")
		}
	}
	if x.Contacts == nil {
		x.Contacts = []Contact{}
	}
	return p.Err()
}

// Mask returns a copy of the person whose ID and phone numbers (their own
// and their contacts') show only their ends, and whose birth date shows
// only its year ("1950-**-**"): what a reader without the right to the
// whole numbers sees. The birth date is characters 7 to 14 of a Chinese
// ID number, so whole beside the masked number it would leave two digits
// unknown; the year leaves the month and day too. Pages that show an age
// take it from the person before masking (the age tells no more than the
// year).
func (x Person) Mask() Person {
	x.Phone, x.IDNumber, x.BirthDate = pii.Mask(x.Phone), pii.Mask(x.IDNumber), MaskDate(x.BirthDate)
	cs := make([]Contact, len(x.Contacts))
	for i, c := range x.Contacts {
		c.Phone = pii.Mask(c.Phone)
		cs[i] = c
	}
	x.Contacts, x.Masked = cs, true
	return x
}

// MaskDate keeps the year of a date and hides its month and day.
func MaskDate(d string) string {
	if len(d) < 4 {
		return ""
	}
	return d[:4] + "-**-**"
}

// Age returns the person's age in whole years at now, -1 when the birth
// date is unknown (or masked).
func (x *Person) Age(now time.Time) int {
	b, err := time.Parse(time.DateOnly, x.BirthDate)
	if err != nil {
		return -1
	}
	age := now.Year() - b.Year()
	if now.YearDay() < b.YearDay() {
		age--
	}
	return age
}

// Validate checks a device before it is stored.
func (d *Device) Validate() error {
	p := shequ.Problems{}
	if d.CommunityID == 0 {
		p.Add("community_id", "is required")
	}
	if !slices.Contains(DeviceKinds, d.Kind) {
		p.Add("kind", "must be one of %s", strings.Join(DeviceKinds, ", "))
	}
	d.Name = strings.TrimSpace(d.Name)
	p.RequireText("name", d.Name, 100)
	if d.Status == "" {
		d.Status = DeviceUnknown
	}
	if !slices.Contains(DeviceStatuses, d.Status) {
		p.Add("status", "must be one of %s", strings.Join(DeviceStatuses, ", "))
	}
	p.OptionalText("location", d.Location, 200)
	checkLatLng(p, d.Lat, d.Lng)
	return p.Err()
}

// ValidIDNumber checks an 18-character resident identity number (GB 11643):
// 17 digits and an ISO 7064 MOD 11-2 check character.
func ValidIDNumber(s string) bool {
	if len(s) != 18 {
		return false
	}
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		sum += int(s[i]-'0') * weights[i]
	}
	return s[17] == IDCheckChar(sum)
}

// IDCheckChar returns the check character for a weighted digit sum.
func IDCheckChar(sum int) byte { return "10X98765432"[sum%11] }
