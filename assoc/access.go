package assoc

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
)

// Seat is a place an actor holds: an association of a community, a
// partner organisation of it, or a household (for a resident's intakes).
type Seat struct {
	CommunityID int64
	// ID is the association, partner or household; 0 for an association
	// role that names no association.
	ID int64
}

// Access is what an actor reaches in the associations' work, worked out
// from their grants for one permission.
type Access struct {
	UserID int64
	// Admin lists the communities the actor administers; 0 means all.
	Admin        []int64
	Associations []Seat
	Partners     []Seat
	Households   []Seat
}

// Everything is the access of the system itself (the demo, imports).
var Everything = Access{Admin: []int64{0}}

// AccessOf returns what actor a reaches with permission p: admins their
// communities, association roles the association their grant names,
// partners their organisation, residents their household. Other roles
// reach nothing here, whatever permission they hold.
func AccessOf(a *auth.Actor, p auth.Permission) Access {
	var acc Access
	if a == nil {
		return acc
	}
	acc.UserID = a.User.ID
	for _, g := range a.User.Grants {
		if !slices.Contains(auth.PermissionsOf(g.Role), p) {
			continue
		}
		if g.CommunityID == 0 && g.Role != auth.RoleAdmin {
			continue
		}
		switch g.Role {
		case auth.RoleAdmin:
			acc.Admin = append(acc.Admin, g.CommunityID)
		case auth.RoleAssociationChair, auth.RoleAssociationMember:
			acc.Associations = append(acc.Associations, Seat{g.CommunityID, g.AssociationID})
		case auth.RolePartner:
			if g.PartnerID != 0 {
				acc.Partners = append(acc.Partners, Seat{g.CommunityID, g.PartnerID})
			}
		case auth.RoleResident:
			if a.HouseholdID != 0 {
				acc.Households = append(acc.Households, Seat{g.CommunityID, a.HouseholdID})
			}
		}
	}
	return acc
}

// Empty reports whether the access reaches nothing.
func (a Access) Empty() bool {
	return len(a.Admin) == 0 && len(a.Associations) == 0 && len(a.Partners) == 0 && len(a.Households) == 0
}

// IsAdmin reports whether the actor administers community c.
func (a Access) IsAdmin(c int64) bool {
	return slices.Contains(a.Admin, 0) || (c != 0 && slices.Contains(a.Admin, c))
}

// ActsFor reports whether the actor works for association of community c:
// as its member or chair, or as an administrator of c.
func (a Access) ActsFor(c, association int64) bool {
	return a.IsAdmin(c) || slices.Contains(a.AssociationsIn(c), association)
}

// All reports whether the actor administers every community.
func (a Access) All() bool { return slices.Contains(a.Admin, 0) }

func idsIn(seats []Seat, c int64) []int64 {
	var out []int64
	for _, s := range seats {
		if s.CommunityID == c && s.ID != 0 && !slices.Contains(out, s.ID) {
			out = append(out, s.ID)
		}
	}
	return out
}

// AssociationsIn returns the associations of community c the actor acts for.
func (a Access) AssociationsIn(c int64) []int64 { return idsIn(a.Associations, c) }

// PartnersIn returns the partner organisations of community c the actor
// acts for.
func (a Access) PartnersIn(c int64) []int64 { return idsIn(a.Partners, c) }

// HouseholdsIn returns the households of community c the actor lives in.
func (a Access) HouseholdsIn(c int64) []int64 { return idsIn(a.Households, c) }

// MemberIn reports whether the actor holds an association role in c,
// naming an association or not.
func (a Access) MemberIn(c int64) bool {
	return slices.ContainsFunc(a.Associations, func(s Seat) bool { return s.CommunityID == c })
}

// Communities returns the communities the access touches, nil for all.
func (a Access) Communities() []int64 {
	if a.All() {
		return nil
	}
	out := []int64{}
	for _, c := range a.Admin {
		out = appendNew(out, c)
	}
	for _, group := range [][]Seat{a.Associations, a.Partners, a.Households} {
		for _, s := range group {
			out = appendNew(out, s.CommunityID)
		}
	}
	return out
}

func appendNew(ids []int64, id int64) []int64 {
	if slices.Contains(ids, id) {
		return ids
	}
	return append(ids, id)
}

// CanWrite reports whether the actor may create or change an entry of
// ledger t owned by association owner: administrators, and the owner's
// members. A sensitive ledger's entries always belong to its owner.
func (a Access) CanWrite(t LedgerType, owner int64) bool {
	if t.Sensitive && owner != t.AssociationID {
		return false
	}
	return a.IsAdmin(t.CommunityID) || slices.Contains(a.AssociationsIn(t.CommunityID), owner)
}

// View is how one actor sees the entries of one ledger.
type View struct {
	Type LedgerType
	// Full: every entry, every field (administrators).
	Full bool
	// Own: entries these associations own, every field.
	Own []int64
	// Others: entries other associations own, without sensitive fields
	// (members of the community's associations, non-sensitive ledgers).
	Others bool
	// Grants: the live grants through which a partner sees the ledger.
	Grants []LedgerGrant
}

// ViewOf works out how the actor sees ledger t. grants are the grants of
// t to partners; only the live ones of the actor's partners count.
func (a Access) ViewOf(t LedgerType, grants []LedgerGrant, now time.Time) View {
	v := View{Type: t}
	c := t.CommunityID
	if a.IsAdmin(c) {
		v.Full = true
		return v
	}
	mine := a.AssociationsIn(c)
	if t.Sensitive {
		if slices.Contains(mine, t.AssociationID) {
			v.Own = []int64{t.AssociationID}
		}
	} else {
		v.Own = mine
		v.Others = a.MemberIn(c)
	}
	partners := a.PartnersIn(c)
	for _, g := range grants {
		if g.TypeID == t.ID && slices.Contains(partners, g.PartnerID) && g.LiveAt(now) && !t.Sensitive {
			v.Grants = append(v.Grants, g)
		}
	}
	return v
}

// None reports whether the view shows nothing: the ledger is forbidden.
func (v View) None() bool { return !v.Full && len(v.Own) == 0 && !v.Others && len(v.Grants) == 0 }

// Partner reports whether the actor sees the ledger only through grants.
func (v View) Partner() bool { return !v.Full && len(v.Own) == 0 && !v.Others }

// Fields returns the keys of the fields the view may ever show.
func (v View) Fields() []string {
	var out []string
	for _, f := range v.Type.Fields {
		switch {
		case v.Full, len(v.Own) > 0:
			out = append(out, f.Key)
		case v.Others && !f.Sensitive:
			out = append(out, f.Key)
		default:
			for _, g := range v.Grants {
				if slices.Contains(g.Fields, f.Key) && !slices.Contains(out, f.Key) {
					out = append(out, f.Key)
				}
			}
		}
	}
	return out
}

// Seen is one entry as an actor may see it.
type Seen struct {
	Entry LedgerEntry
	// Grants are the grants the entry was read through when the actor is
	// a partner; empty otherwise.
	Grants []LedgerGrant
}

// See decides whether the view shows entry e and returns it as shown.
// consented reports whether the resident consented to a partner. A
// partner's view keeps the entry id, the ledger, a masked name and the
// fields the matching grants share; nothing else.
func (v View) See(e LedgerEntry, consented func(partner int64) bool) (Seen, bool) {
	if e.TypeID != v.Type.ID || e.CommunityID != v.Type.CommunityID {
		return Seen{}, false
	}
	if v.Full || slices.Contains(v.Own, e.AssociationID) {
		return Seen{Entry: e}, true
	}
	if v.Others {
		out := e
		out.Values = map[string]any{}
		for k, x := range e.Values {
			if f, ok := v.Type.Field(k); ok && !f.Sensitive {
				out.Values[k] = x
			}
		}
		out.Consents = nil
		return Seen{Entry: out}, true
	}
	var fields []string
	var through []LedgerGrant
	for _, g := range v.Grants {
		if !consented(g.PartnerID) || !g.Matches(e.Values) {
			continue
		}
		through = append(through, g)
		for _, f := range g.Fields {
			if fd, ok := v.Type.Field(f); ok && !fd.Sensitive && !slices.Contains(fields, f) {
				fields = append(fields, f)
			}
		}
	}
	if len(through) == 0 {
		return Seen{}, false
	}
	return Seen{Entry: LedgerEntry{ID: e.ID, Ledger: e.Ledger, PersonName: MaskName(e.PersonName), Values: Only(e.Values, fields), Masked: true}, Grants: through}, true
}

// LedgerGrant shares part of a ledger with a partner organisation.
type LedgerGrant struct {
	ID          int64  `json:"id"`
	CommunityID int64  `json:"community_id"`
	PartnerID   int64  `json:"partner_id"`
	PartnerName string `json:"partner_name,omitempty"`
	Ledger      string `json:"ledger_type"`
	TypeID      int64  `json:"-"`
	// Fields are the keys of the fields shared.
	Fields []string `json:"fields"`
	// Filter keeps the entries whose fields have these values (all of them).
	Filter    map[string]string `json:"filter"`
	Purpose   string            `json:"purpose"`
	ExpiresAt time.Time         `json:"expires_at"`
	// Consent is always true: an entry is shared only when its resident
	// consented to the partner.
	Consent   bool       `json:"consent"`
	CreatedBy int64      `json:"created_by,omitempty"`
	CreatedAt time.Time  `json:"created_at,omitzero"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	RevokedBy int64      `json:"revoked_by,omitempty"`
	Live      bool       `json:"live"`
}

// MaxGrantLength is the longest a grant may run.
const MaxGrantLength = 2 * 366 * 24 * time.Hour

// Check validates a new grant of ledger t at now, normalising its filter
// to the canonical text of each value.
func (g *LedgerGrant) Check(t LedgerType, filter map[string]any, now time.Time) error {
	p := shequ.Problems{}
	if g.PartnerID == 0 {
		p.Add("partner_id", "say which partner organisation")
	}
	if t.Sensitive {
		p.Add("ledger_type", "the %s ledger is sensitive: it is never shared with partners", t.Key)
	}
	if len(g.Fields) == 0 {
		p.Add("fields", "name the fields to share")
	}
	var fields []string
	for i, k := range g.Fields {
		f, ok := t.Field(k)
		switch {
		case !ok:
			p.Add("fields", "%q is not a field of the ledger %s", k, t.Key)
		case f.Sensitive:
			p.Add("fields", "%q is sensitive and cannot be shared", k)
		case slices.Contains(fields, k):
			p.Add("fields", "%q is named twice (at %d)", k, i)
		}
		fields = append(fields, k)
	}
	g.Filter = map[string]string{}
	for k, v := range filter {
		f, ok := t.Field(k)
		if !ok {
			p.Add("filter."+k, "is not a field of the ledger %s", t.Key)
			continue
		}
		if f.Sensitive {
			p.Add("filter."+k, "is sensitive and cannot select entries for a partner")
			continue
		}
		n, msg := f.normalise(v)
		if msg != "" {
			p.Add("filter."+k, "%s", msg)
			continue
		}
		g.Filter[k] = Canonical(n)
	}
	g.Purpose = strings.TrimSpace(g.Purpose)
	p.RequireText("purpose", g.Purpose, 500)
	switch {
	case g.ExpiresAt.IsZero():
		p.Add("expires_at", "say until when the grant runs")
	case !g.ExpiresAt.After(now):
		p.Add("expires_at", "must be in the future")
	case g.ExpiresAt.Sub(now) > MaxGrantLength:
		p.Add("expires_at", "a grant runs at most two years; renew it then")
	}
	if !g.Consent {
		p.Add("consent", "must be true: entries are shared only with their residents' consent")
	}
	g.Ledger, g.TypeID, g.CommunityID = t.Key, t.ID, t.CommunityID
	return p.Err()
}

// LiveAt reports whether the grant shares anything at now: not revoked
// and not expired.
func (g LedgerGrant) LiveAt(now time.Time) bool {
	return g.RevokedAt == nil && now.Before(g.ExpiresAt)
}

// Matches reports whether entry values pass the grant's filter.
func (g LedgerGrant) Matches(values map[string]any) bool {
	for k, want := range g.Filter {
		v, ok := values[k]
		if !ok || Canonical(v) != want {
			return false
		}
	}
	return true
}

// Follow-up kinds: what a partner (or the association) did for a resident.
const (
	JobOffered = "job_offered"
	Interview  = "interview"
	Placed     = "placed"
	Declined   = "declined"
)

// FollowUpKinds lists the kinds of follow-up.
var FollowUpKinds = []string{JobOffered, Interview, Placed, Declined}

// FollowUp is one step taken for a resident on a ledger entry. A match of
// a job seeker to an opening is a follow-up naming the opening.
type FollowUp struct {
	ID            int64     `json:"id"`
	EntryID       int64     `json:"entry_id"`
	PartnerID     int64     `json:"partner_id,omitempty"`
	AssociationID int64     `json:"association_id,omitempty"`
	OpeningID     int64     `json:"opening_id,omitempty"`
	Kind          string    `json:"kind"`
	Note          string    `json:"note,omitempty"`
	At            time.Time `json:"at"`
	UserID        int64     `json:"user_id,omitempty"`
	CreatedAt     time.Time `json:"created_at,omitzero"`
}

// Validate checks a follow-up at now; a missing time means now.
func (f *FollowUp) Validate(now time.Time) error {
	p := shequ.Problems{}
	if !slices.Contains(FollowUpKinds, f.Kind) {
		p.Add("kind", "must be one of %s", strings.Join(FollowUpKinds, ", "))
	}
	f.Note = strings.TrimSpace(f.Note)
	p.OptionalText("note", f.Note, 2000)
	f.At = recent(p, "at", f.At, now)
	return p.Err()
}

// recent checks a time something was done: now when not given, not in
// the future (an hour's grace for clocks), not more than a year back. It
// returns the time in UTC.
func recent(p shequ.Problems, field string, at, now time.Time) time.Time {
	if at.IsZero() {
		at = now
	}
	switch {
	case at.After(now.Add(time.Hour)):
		p.Add(field, "must not be in the future")
	case at.Before(now.AddDate(-1, 0, 0)):
		p.Add(field, "must be within the last year")
	}
	return at.UTC()
}

// Opening statuses.
const (
	OpeningOpen   = "open"
	OpeningClosed = "closed"
)

// Opening is a job a partner offers to the community's job seekers.
type Opening struct {
	ID          int64     `json:"id"`
	CommunityID int64     `json:"community_id"`
	PartnerID   int64     `json:"partner_id"`
	PartnerName string    `json:"partner_name,omitempty"`
	Title       string    `json:"title"`
	Description string    `json:"description,omitempty"`
	Skills      string    `json:"skills,omitempty"`
	Location    string    `json:"location,omitempty"`
	Salary      string    `json:"salary,omitempty"`
	Positions   int       `json:"positions"`
	Status      string    `json:"status"`
	ClosesAt    time.Time `json:"closes_at,omitzero"`
	CreatedBy   int64     `json:"created_by,omitempty"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
	// Counts of follow-ups naming the opening.
	Offered    int `json:"offered"`
	Interviews int `json:"interviews"`
	Placed     int `json:"placed"`
}

// Validate checks an opening.
func (o *Opening) Validate() error {
	p := shequ.Problems{}
	if o.PartnerID == 0 {
		p.Add("partner_id", "say which partner offers the job")
	}
	o.Title = strings.TrimSpace(o.Title)
	p.RequireText("title", o.Title, 100)
	p.OptionalText("description", o.Description, 4000)
	p.OptionalText("skills", o.Skills, 500)
	p.OptionalText("location", o.Location, 200)
	p.OptionalText("salary", o.Salary, 100)
	if o.Positions == 0 {
		o.Positions = 1
	}
	if o.Positions < 0 || o.Positions > 10000 {
		p.Add("positions", "must be between 1 and 10000")
	}
	if o.Status == "" {
		o.Status = OpeningOpen
	}
	if o.Status != OpeningOpen && o.Status != OpeningClosed {
		p.Add("status", "must be open or closed")
	}
	return p.Err()
}

// Terms returns the words of the opening's title and skills a job seeker's
// entry is compared with.
func (o Opening) Terms() []string {
	var out []string
	for _, w := range strings.FieldsFunc(o.Title+" "+o.Skills, func(r rune) bool {
		return r == ' ' || r == ',' || r == '，' || r == '、' || r == ';' || r == '；' || r == '/'
	}) {
		w = strings.ToLower(strings.TrimSpace(w))
		if w != "" && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// Score says how well entry values (as the viewer sees them) fit the
// opening: the number of the opening's terms found in the text values.
func (o Opening) Score(values map[string]any) int {
	var text strings.Builder
	for _, v := range values {
		if s, ok := v.(string); ok {
			text.WriteString(strings.ToLower(s))
			text.WriteByte(' ')
		}
	}
	n := 0
	for _, t := range o.Terms() {
		if strings.Contains(text.String(), t) {
			n++
		}
	}
	return n
}

// PlacementStats counts the residents placed in work in one year.
type PlacementStats struct {
	CommunityID int64 `json:"community_id"`
	Year        int   `json:"year"`
	// ResidentsPlaced counts each resident once, however many placements.
	ResidentsPlaced int            `json:"residents_placed"`
	Placements      int            `json:"placements"`
	ByMonth         [12]int        `json:"by_month" doc:"Residents first placed in each month"`
	ByPartner       []PartnerCount `json:"by_partner"`
}

// PartnerCount is the residents one partner placed.
type PartnerCount struct {
	PartnerID int64  `json:"partner_id,omitempty"`
	Name      string `json:"name"`
	Residents int    `json:"residents"`
}

// Intake statuses.
const (
	IntakeOpen     = "open"
	IntakeAccepted = "accepted"
	IntakeReferred = "referred"
	IntakeClosed   = "closed"
)

// IntakeStatuses lists the statuses of an intake.
var IntakeStatuses = []string{IntakeOpen, IntakeAccepted, IntakeReferred, IntakeClosed}

// IntakeChannels: from the resident's app, through a member who heard it,
// at the office, by phone.
var IntakeChannels = []string{"app", "member", "office", "phone"}

// Intake is a problem a resident brings to an association.
type Intake struct {
	ID            int64     `json:"id"`
	CommunityID   int64     `json:"community_id"`
	AssociationID int64     `json:"association_id"`
	PersonID      int64     `json:"person_id,omitempty"`
	HouseholdID   int64     `json:"household_id,omitempty"`
	Description   string    `json:"description"`
	Channel       string    `json:"channel"`
	Status        string    `json:"status"`
	Note          string    `json:"note,omitempty"`
	SubmittedBy   int64     `json:"submitted_by,omitempty"`
	CreatedAt     time.Time `json:"created_at,omitzero"`
	UpdatedAt     time.Time `json:"updated_at,omitzero"`
}

// Validate checks a new intake.
func (in *Intake) Validate() error {
	p := shequ.Problems{}
	if in.AssociationID == 0 {
		p.Add("association_id", "is required")
	}
	in.Description = strings.TrimSpace(in.Description)
	p.RequireText("description", in.Description, 4000)
	if in.Channel == "" {
		in.Channel = "app"
	}
	if !slices.Contains(IntakeChannels, in.Channel) {
		p.Add("channel", "must be one of %s", strings.Join(IntakeChannels, ", "))
	}
	if in.PersonID == 0 {
		p.Add("person_id", "say which resident brings the problem")
	}
	in.Status = IntakeOpen
	return p.Err()
}

// Move changes an intake's status, or says why it cannot: a closed intake
// stays closed.
func (in Intake) Move(status, note string, now time.Time) (Intake, error) {
	if !slices.Contains(IntakeStatuses, status) {
		return in, shequ.Invalid(map[string]string{"status": "must be one of " + strings.Join(IntakeStatuses, ", ")})
	}
	if in.Status == IntakeClosed {
		return in, shequ.Errorf(shequ.ECONFLICT, "the intake is closed")
	}
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > 2000 {
		return in, shequ.Invalid(map[string]string{"note": "must be at most 2000 characters"})
	}
	in.Status, in.UpdatedAt = status, now
	if note != "" {
		in.Note = note
	}
	return in, nil
}
