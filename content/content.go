// Package content owns what the community tells its residents: notices
// (news, events, police alerts, reminders …) aimed at the whole community
// or some grids or buildings, with scheduled publishing, expiry, pinning
// and read confirmations; service guides (办事流程); policies
// (便民服务政策) with validity periods; their attachments; the Markdown
// they are written in and its safe rendering; and the words search finds
// them by. It holds types and rules, no SQL and no HTTP.
package content

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shequ/shequ"
)

// Notice categories (大事小情).
const (
	CategoryNews        = "news"         // 新闻
	CategoryEvent       = "event"        // 活动
	CategoryNotice      = "notice"       // 通知
	CategoryPoliceAlert = "police_alert" // 警情通报
	CategoryGoodDeed    = "good_deed"    // 好人好事
	CategoryReminder    = "reminder"     // 温馨提示
	CategoryPolicy      = "policy"       // 政策通知
)

// NoticeCategories lists the categories a notice may have.
var NoticeCategories = []string{CategoryNews, CategoryEvent, CategoryNotice, CategoryPoliceAlert, CategoryGoodDeed, CategoryReminder, CategoryPolicy}

// Guide and policy categories: the offices residents deal with.
var GuideCategories = []string{"household", "social_security", "medical_insurance", "civil_affairs", "elderly", "disability", "employment", "housing", "family_planning", "other"}

// Audience scopes: who a notice is for.
const (
	AudienceCommunity = "community" // everyone in the community
	AudienceGrids     = "grids"     // the homes of some grids
	AudienceBuildings = "buildings" // the homes of some buildings
)

// Statuses of a notice or policy at a moment; computed, never stored.
const (
	StatusScheduled = "scheduled" // not yet published, or a policy not yet valid
	StatusLive      = "live"
	StatusExpired   = "expired"
	StatusAll       = "all" // a filter: every status
)

// Limits.
const (
	MaxTitle           = 200
	MaxBody            = 20000
	MaxTargets         = 200
	MaxListItems       = 50
	MaxAttachmentBytes = 5 << 20
	MaxAttachments     = 20
)

// Audience says whom a notice is for. Ids are of the notice's community.
type Audience struct {
	Scope       string  `json:"scope" enum:"community,grids,buildings"`
	GridIDs     []int64 `json:"grid_ids,omitempty"`
	BuildingIDs []int64 `json:"building_ids,omitempty"`
}

// Community is the audience of everyone.
func Community() Audience { return Audience{Scope: AudienceCommunity} }

// Grids is the audience of the homes of the grids.
func Grids(ids ...int64) Audience { return Audience{Scope: AudienceGrids, GridIDs: ids} }

// Buildings is the audience of the homes of the buildings.
func Buildings(ids ...int64) Audience { return Audience{Scope: AudienceBuildings, BuildingIDs: ids} }

// Reaches reports whether a home in grid and building is in the audience.
func (a Audience) Reaches(grid, building int64) bool {
	switch a.Scope {
	case AudienceCommunity:
		return true
	case AudienceGrids:
		return slices.Contains(a.GridIDs, grid)
	case AudienceBuildings:
		return slices.Contains(a.BuildingIDs, building)
	}
	return false
}

// Within reports whether the whole audience lies inside grid; gridOf
// gives the grid of each of its buildings. A grid worker may address only
// audiences within their grid.
func (a Audience) Within(grid int64, gridOf map[int64]int64) bool {
	switch a.Scope {
	case AudienceGrids:
		for _, g := range a.GridIDs {
			if g != grid {
				return false
			}
		}
		return len(a.GridIDs) > 0
	case AudienceBuildings:
		for _, b := range a.BuildingIDs {
			if gridOf[b] != grid {
				return false
			}
		}
		return len(a.BuildingIDs) > 0
	}
	return false
}

// Targets returns the audience's grid and building ids.
func (a Audience) Targets() (grids, buildings []int64) { return a.GridIDs, a.BuildingIDs }

func (a *Audience) validate(p shequ.Problems) {
	if a.Scope == "" {
		a.Scope = AudienceCommunity
	}
	a.GridIDs, a.BuildingIDs = uniqueIDs(a.GridIDs), uniqueIDs(a.BuildingIDs)
	switch a.Scope {
	case AudienceCommunity:
		if len(a.GridIDs)+len(a.BuildingIDs) > 0 {
			p.Add("audience", "a community-wide audience names no grids or buildings")
		}
	case AudienceGrids:
		if len(a.GridIDs) == 0 || len(a.BuildingIDs) > 0 {
			p.Add("audience.grid_ids", "name at least one grid, and no buildings")
		}
	case AudienceBuildings:
		if len(a.BuildingIDs) == 0 || len(a.GridIDs) > 0 {
			p.Add("audience.building_ids", "name at least one building, and no grids")
		}
	default:
		p.Add("audience.scope", "must be community, grids or buildings")
	}
	if len(a.GridIDs)+len(a.BuildingIDs) > MaxTargets {
		p.Add("audience", "may name at most %d grids or buildings", MaxTargets)
	}
}

func uniqueIDs(ids []int64) []int64 {
	var out []int64
	for _, id := range ids {
		if id > 0 && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Notice is one item of news, an event, a notice, a police alert, a good
// deed or a reminder. Body is Markdown as written; BodyHTML is rendered
// from it on read, through an allow-list.
type Notice struct {
	ID          int64      `json:"id"`
	CommunityID int64      `json:"community_id"`
	Title       string     `json:"title"`
	Body        string     `json:"body" doc:"Markdown"`
	BodyHTML    string     `json:"body_html,omitempty" doc:"Body rendered to safe HTML; on single reads"`
	Summary     string     `json:"summary" doc:"The start of the body as plain text"`
	Category    string     `json:"category"`
	Audience    Audience   `json:"audience"`
	PublishAt   time.Time  `json:"publish_at"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	Pinned      bool       `json:"pinned"`
	Important   bool       `json:"important" doc:"Residents are asked to confirm they have read it"`
	// Broadcast says it is also read on the loudspeakers, once, in the
	// next slot of the zones its audience hears.
	Broadcast  bool   `json:"broadcast" doc:"Also read on the loudspeakers, once, in the next slot of the zones covering its audience"`
	Status     string `json:"status" doc:"scheduled, live or expired"`
	AuthorID   int64  `json:"author_id,omitempty"`
	AuthorName string `json:"author_name,omitempty"`
	// ConfirmedAt is when the reader's household confirmed it, for
	// residents; nil when not confirmed.
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
	// Confirmations counts the households that confirmed, for staff.
	Confirmations *int         `json:"confirmations,omitempty"`
	Attachments   []Attachment `json:"attachments"`
	CreatedAt     time.Time    `json:"created_at"`
	UpdatedAt     time.Time    `json:"updated_at"`
}

// StatusAt says whether a window from..until is scheduled, live or
// expired at now. A zero until never ends.
func StatusAt(from time.Time, until *time.Time, now time.Time) string {
	switch {
	case now.Before(from):
		return StatusScheduled
	case until != nil && !now.Before(*until):
		return StatusExpired
	}
	return StatusLive
}

// LiveAt reports whether the notice is published and not expired at now.
func (n *Notice) LiveAt(now time.Time) bool {
	return StatusAt(n.PublishAt, n.ExpiresAt, now) == StatusLive
}

// Validate checks a notice before it is stored; a zero PublishAt becomes
// now.
func (n *Notice) Validate(now time.Time) error {
	p := shequ.Problems{}
	if n.CommunityID == 0 {
		p.Add("community_id", "is required")
	}
	n.Title = strings.TrimSpace(n.Title)
	p.RequireText("title", n.Title, MaxTitle)
	p.RequireText("body", n.Body, MaxBody)
	if n.Category == "" {
		n.Category = CategoryNotice
	}
	if !slices.Contains(NoticeCategories, n.Category) {
		p.Add("category", "must be one of %s", strings.Join(NoticeCategories, ", "))
	}
	n.Audience.validate(p)
	if n.PublishAt.IsZero() {
		n.PublishAt = now
	}
	n.PublishAt = n.PublishAt.UTC()
	if n.ExpiresAt != nil {
		if n.ExpiresAt.IsZero() {
			n.ExpiresAt = nil
		} else {
			t := n.ExpiresAt.UTC()
			n.ExpiresAt = &t
			if !t.After(n.PublishAt) {
				p.Add("expires_at", "must be after publish_at")
			}
		}
	}
	return p.Err()
}

// NoticeFilter narrows a list of notices. Zero fields do not filter.
type NoticeFilter struct {
	CommunityID int64
	// Status is live (the default), scheduled, expired or all.
	Status   string
	Category string
	// Important keeps only notices that ask for a confirmation.
	Important bool
	shequ.Page
}

// UnconfirmedHousehold is a household of a notice's audience that has not
// confirmed it: where it lives, so that staff can knock on the door, and
// who lives there, phone numbers masked.
type UnconfirmedHousehold struct {
	HouseholdID   int64      `json:"household_id"`
	HouseholdName string     `json:"household_name"`
	HomeID        int64      `json:"home_id"`
	BuildingID    int64      `json:"building_id"`
	BuildingName  string     `json:"building_name"`
	Entrance      string     `json:"entrance"`
	Floor         int        `json:"floor"`
	Door          string     `json:"door"`
	GridID        int64      `json:"grid_id"`
	GridName      string     `json:"grid_name"`
	Residents     []Resident `json:"residents"`
}

// Resident is someone living in a household, as a door-knocking list
// shows them.
type Resident struct {
	Name  string `json:"name"`
	Phone string `json:"phone" doc:"Masked"`
}

// ServiceContact is an office or person to call about a service. Office numbers,
// not residents' personal data.
type ServiceContact struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
	Note  string `json:"note,omitempty"`
}

// Link is a related form or page: a URL, or an attachment's address.
type Link struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Guide (办事流程) tells residents how to get one service done.
type Guide struct {
	ID          int64            `json:"id"`
	CommunityID int64            `json:"community_id"`
	Name        string           `json:"name" doc:"The service, e.g. 办理居住证"`
	Category    string           `json:"category"`
	Summary     string           `json:"summary"`
	Steps       []string         `json:"steps" doc:"In order"`
	Documents   []string         `json:"documents" doc:"What to bring"`
	Office      string           `json:"office" doc:"Where: office and address"`
	Hours       string           `json:"hours" doc:"When the office is open"`
	Fees        string           `json:"fees"`
	Duration    string           `json:"duration" doc:"How long it takes"`
	Contacts    []ServiceContact `json:"contacts"`
	Forms       []Link           `json:"forms" doc:"Related forms and pages"`
	Body        string           `json:"body" doc:"Further notes, Markdown"`
	BodyHTML    string           `json:"body_html,omitempty"`
	Attachments []Attachment     `json:"attachments"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
}

// Validate checks a guide before it is stored.
func (g *Guide) Validate() error {
	p := shequ.Problems{}
	if g.CommunityID == 0 {
		p.Add("community_id", "is required")
	}
	g.Name = strings.TrimSpace(g.Name)
	p.RequireText("name", g.Name, MaxTitle)
	if g.Category == "" {
		g.Category = "other"
	}
	if !slices.Contains(GuideCategories, g.Category) {
		p.Add("category", "must be one of %s", strings.Join(GuideCategories, ", "))
	}
	p.OptionalText("summary", g.Summary, 1000)
	g.Steps = cleanList(p, "steps", g.Steps, 1000)
	g.Documents = cleanList(p, "documents", g.Documents, 200)
	for field, v := range map[string]string{"office": g.Office, "hours": g.Hours, "fees": g.Fees, "duration": g.Duration} {
		p.OptionalText(field, v, 500)
	}
	p.OptionalText("body", g.Body, MaxBody)
	g.Contacts = checkContacts(p, g.Contacts)
	g.Forms = checkLinks(p, "forms", g.Forms)
	return p.Err()
}

// Policy (便民服务政策) is a policy residents may use, shown while it is
// valid: from ValidFrom until ValidUntil (open-ended when nil).
type Policy struct {
	ID          int64        `json:"id"`
	CommunityID int64        `json:"community_id"`
	Title       string       `json:"title"`
	Category    string       `json:"category"`
	Summary     string       `json:"summary"`
	Body        string       `json:"body" doc:"Markdown"`
	BodyHTML    string       `json:"body_html,omitempty"`
	Eligibility string       `json:"eligibility" doc:"Who may use it"`
	HowToApply  string       `json:"how_to_apply"`
	Documents   []string     `json:"documents" doc:"What to bring"`
	ValidFrom   time.Time    `json:"valid_from"`
	ValidUntil  *time.Time   `json:"valid_until,omitempty" doc:"First moment it no longer applies"`
	GuideIDs    []int64      `json:"guide_ids" doc:"Related service guides"`
	Status      string       `json:"status" doc:"scheduled, live or expired"`
	Attachments []Attachment `json:"attachments"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
}

// Validate checks a policy before it is stored; a zero ValidFrom becomes
// now.
func (x *Policy) Validate(now time.Time) error {
	p := shequ.Problems{}
	if x.CommunityID == 0 {
		p.Add("community_id", "is required")
	}
	x.Title = strings.TrimSpace(x.Title)
	p.RequireText("title", x.Title, MaxTitle)
	if x.Category == "" {
		x.Category = "other"
	}
	if !slices.Contains(GuideCategories, x.Category) {
		p.Add("category", "must be one of %s", strings.Join(GuideCategories, ", "))
	}
	p.OptionalText("summary", x.Summary, 1000)
	p.OptionalText("body", x.Body, MaxBody)
	p.OptionalText("eligibility", x.Eligibility, 2000)
	p.OptionalText("how_to_apply", x.HowToApply, 2000)
	x.Documents = cleanList(p, "documents", x.Documents, 200)
	x.GuideIDs = uniqueIDs(x.GuideIDs)
	if len(x.GuideIDs) > MaxListItems {
		p.Add("guide_ids", "may name at most %d guides", MaxListItems)
	}
	if x.ValidFrom.IsZero() {
		x.ValidFrom = now
	}
	x.ValidFrom = x.ValidFrom.UTC()
	if x.ValidUntil != nil {
		if x.ValidUntil.IsZero() {
			x.ValidUntil = nil
		} else {
			t := x.ValidUntil.UTC()
			x.ValidUntil = &t
			if !t.After(x.ValidFrom) {
				p.Add("valid_until", "must be after valid_from")
			}
		}
	}
	return p.Err()
}

// ListFilter narrows a list of guides or policies.
type ListFilter struct {
	CommunityID int64
	Category    string
	// Status, for policies: live (the default), scheduled, expired or all.
	Status string
	shequ.Page
}

// Attachment is a file kept with a notice, guide or policy: an image the
// Markdown shows, or a form to print. Only the types below are taken.
type Attachment struct {
	N           int    `json:"n" doc:"Its number within its notice, guide or policy"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
	URL         string `json:"url" doc:"Where to fetch it; Markdown may show images from it"`
	// SHA256 names its bytes in the media store.
	SHA256    string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// AttachmentTypes are the content types an attachment may have. SVG and
// HTML are not among them: a browser would run their scripts.
var AttachmentTypes = []string{
	"image/png", "image/jpeg", "image/gif", "image/webp",
	"application/pdf", "text/plain",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// IsImage reports whether an attachment of type ct may be shown inline.
func IsImage(ct string) bool { return strings.HasPrefix(ct, "image/") }

// Validate checks an attachment before it is stored: an allowed type that
// its bytes bear out (so that a page cannot come in labelled an image), a
// size within the limit and a harmless name.
func (x *Attachment) Validate(sniffed string) error {
	p := shequ.Problems{}
	x.ContentType = strings.ToLower(strings.TrimSpace(strings.SplitN(x.ContentType, ";", 2)[0]))
	x.Name = cleanFileName(x.Name)
	if x.Name == "" {
		p.Add("name", "is required")
	}
	switch {
	case x.Size == 0:
		p.Add("file", "is empty")
	case x.Size > MaxAttachmentBytes:
		p.Add("file", "is larger than %d MiB", MaxAttachmentBytes>>20)
	}
	if !slices.Contains(AttachmentTypes, x.ContentType) {
		p.Add("content_type", "must be one of %s", strings.Join(AttachmentTypes, ", "))
	} else if !sniffAgrees(x.ContentType, sniffed) {
		p.Add("content_type", "the file's content is not %s", x.ContentType)
	}
	return p.Err()
}

// sniffAgrees reports whether what the bytes look like (as
// http.DetectContentType tells) fits the declared type.
func sniffAgrees(declared, sniffed string) bool {
	sniffed = strings.SplitN(sniffed, ";", 2)[0]
	switch {
	case IsImage(declared), declared == "application/pdf":
		return sniffed == declared
	case strings.Contains(declared, "openxmlformats"):
		return sniffed == "application/zip"
	case declared == "text/plain":
		return sniffed == "text/plain"
	}
	return false
}

func cleanFileName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(strings.TrimLeft(name, "."))
	if utf8.RuneCountInString(name) > 100 {
		name = string([]rune(name)[:100])
	}
	return name
}

// cleanList trims the items of a list, drops empty ones and checks them.
func cleanList(p shequ.Problems, field string, items []string, max int) []string {
	out := []string{}
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) > MaxListItems {
		p.Add(field, "may have at most %d items", MaxListItems)
	}
	for i, s := range out {
		p.OptionalText(fmt.Sprintf("%s[%d]", field, i), s, max)
	}
	return out
}

func checkContacts(p shequ.Problems, cs []ServiceContact) []ServiceContact {
	out := []ServiceContact{}
	for i, c := range cs {
		c.Name, c.Phone, c.Note = strings.TrimSpace(c.Name), strings.TrimSpace(c.Phone), strings.TrimSpace(c.Note)
		field := fmt.Sprintf("contacts[%d]", i)
		p.RequireText(field+".name", c.Name, 100)
		p.OptionalText(field+".phone", c.Phone, 40)
		p.OptionalText(field+".note", c.Note, 200)
		out = append(out, c)
	}
	if len(out) > MaxListItems {
		p.Add("contacts", "may have at most %d items", MaxListItems)
	}
	return out
}

func checkLinks(p shequ.Problems, field string, ls []Link) []Link {
	out := []Link{}
	for i, l := range ls {
		l.Title, l.URL = strings.TrimSpace(l.Title), strings.TrimSpace(l.URL)
		f := fmt.Sprintf("%s[%d]", field, i)
		p.RequireText(f+".title", l.Title, 200)
		p.RequireText(f+".url", l.URL, 1000)
		if l.URL != "" && !SafeURL(l.URL) {
			p.Add(f+".url", "must be an http(s) address or a path on this site")
		}
		out = append(out, l)
	}
	if len(out) > MaxListItems {
		p.Add(field, "may have at most %d items", MaxListItems)
	}
	return out
}

// SafeURL reports whether u is a link a page may show: http, https,
// mailto or tel, or a path on this site.
func SafeURL(u string) bool {
	l := strings.ToLower(strings.TrimSpace(u))
	if strings.HasPrefix(l, "/") {
		return !strings.HasPrefix(l, "//") && !strings.ContainsAny(l, "\\\x00")
	}
	for _, s := range []string{"https://", "http://", "mailto:", "tel:"} {
		if strings.HasPrefix(l, s) {
			return true
		}
	}
	return false
}
