package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

// assocStore is what the associations' API needs: ledgers, sharing grants,
// follow-ups, openings, placements and intakes.
type assocStore interface {
	ListLedgerTypes(ctx context.Context, acc assoc.Access, community int64) (shequ.List[assoc.LedgerType], error)
	LedgerType(ctx context.Context, acc assoc.Access, community int64, key string) (assoc.LedgerType, error)
	CreateLedgerType(ctx context.Context, acc assoc.Access, t *assoc.LedgerType) error
	AddLedgerField(ctx context.Context, acc assoc.Access, community int64, key string, f assoc.Field) (assoc.LedgerType, error)
	ListEntries(ctx context.Context, acc assoc.Access, f assoc.EntryFilter) (shequ.List[assoc.LedgerEntry], error)
	Entry(ctx context.Context, acc assoc.Access, community int64, key string, id int64) (assoc.LedgerEntry, error)
	CreateEntry(ctx context.Context, acc assoc.Access, community int64, key string, e *assoc.LedgerEntry) error
	UpdateEntry(ctx context.Context, acc assoc.Access, community int64, key string, id int64, ch assoc.EntryChange) (assoc.LedgerEntry, error)
	EntryHistory(ctx context.Context, acc assoc.Access, community int64, key string, id int64) ([]assoc.HistoryLine, error)
	RecordConsent(ctx context.Context, acc assoc.Access, community int64, key string, id int64, c *assoc.Consent) error
	AddFollowUp(ctx context.Context, acc assoc.Access, community int64, key string, id int64, f *assoc.FollowUp) error
	ListFollowUps(ctx context.Context, acc assoc.Access, community int64, key string, id int64) ([]assoc.FollowUp, error)

	CreateLedgerGrant(ctx context.Context, acc assoc.Access, g *assoc.LedgerGrant, filter map[string]any) error
	ListLedgerGrants(ctx context.Context, acc assoc.Access, f assoc.GrantFilter) (shequ.List[assoc.LedgerGrant], error)
	RevokeLedgerGrant(ctx context.Context, acc assoc.Access, id int64) error

	ListOpenings(ctx context.Context, acc assoc.Access, f assoc.OpeningFilter) (shequ.List[assoc.Opening], error)
	Opening(ctx context.Context, acc assoc.Access, id int64) (assoc.Opening, error)
	CreateOpening(ctx context.Context, acc assoc.Access, o *assoc.Opening) error
	UpdateOpening(ctx context.Context, acc assoc.Access, o *assoc.Opening) error
	OpeningCandidates(ctx context.Context, acc assoc.Access, id int64, limit int) ([]assoc.OpeningCandidate, error)
	PlacementStats(ctx context.Context, acc assoc.Access, community int64, year int) (assoc.PlacementStats, error)

	SubmitIntake(ctx context.Context, acc assoc.Access, in *assoc.Intake) error
	ListIntakes(ctx context.Context, acc assoc.Access, f assoc.IntakeFilter) (shequ.List[assoc.Intake], error)
	MoveIntake(ctx context.Context, acc assoc.Access, id int64, status, note string) (assoc.Intake, error)

	CreateAssociation(ctx context.Context, scope auth.Scope, as *community.Association) error
	UpdateAssociation(ctx context.Context, scope auth.Scope, as *community.Association) error
	ListPartners(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Partner], error)
	CreatePartner(ctx context.Context, scope auth.Scope, p *community.Partner) error
}

// access returns what the request's actor reaches in the associations'
// work with permission p.
func access(ctx context.Context, p auth.Permission) assoc.Access {
	return assoc.AccessOf(auth.ActorFrom(ctx), p)
}

// oneCommunity returns given, or the one community of cs when none is
// given.
func oneCommunity(given int64, cs []int64) (int64, error) {
	if given != 0 {
		return given, nil
	}
	if len(cs) != 1 {
		return 0, shequ.Invalid(map[string]string{"community_id": "say which community"})
	}
	return cs[0], nil
}

type LedgerParam struct {
	Type      string `path:"type" maxLength:"40" doc:"Ledger type key, e.g. job_seekers"`
	Community int64  `query:"community" doc:"Only for users of several communities"`
}

type EntryParam struct {
	LedgerParam
	ID int64 `path:"id" minimum:"1"`
}

// ledgerBodyInput is the input of an operation on a ledger that takes a
// JSON body; T must be a named type, as for bodyInput.
type ledgerBodyInput[T any] struct {
	LedgerParam
	Body T
}

// entryBodyInput is the input of an operation on a ledger entry that takes
// a JSON body; T must be a named type, as for bodyInput.
type entryBodyInput[T any] struct {
	EntryParam
	Body T
}

type ledgerTypeBody struct {
	CommunityID   int64         `json:"community_id,omitempty" doc:"For users of several communities"`
	Key           string        `json:"key" doc:"e.g. job_seekers; lower-case letters, digits, underscores"`
	Name          string        `json:"name"`
	NameEn        string        `json:"name_en,omitempty"`
	AssociationID int64         `json:"association_id" doc:"The association that owns the ledger"`
	Sensitive     bool          `json:"sensitive,omitempty" doc:"Only the owner association and administrators see it; never shared with partners"`
	Fields        []assoc.Field `json:"fields,omitempty"`
}

type entryBody struct {
	PersonID      int64          `json:"person_id" doc:"The resident the entry is about"`
	AssociationID int64          `json:"association_id,omitempty" doc:"Owner association; the ledger's owner by default"`
	Status        string         `json:"status,omitempty" enum:"active,closed,"`
	Values        map[string]any `json:"values" doc:"Field key → value, as the ledger's fields define"`
}

type entryChangeBody struct {
	Values        map[string]any `json:"values" doc:"Fields to set; null clears one; fields not named keep their values"`
	Status        string         `json:"status,omitempty" enum:"active,closed,"`
	AssociationID int64          `json:"association_id,omitempty" doc:"Hand the entry to another association"`
}

type consentBody struct {
	PartnerID  int64  `json:"partner_id"`
	Given      bool   `json:"given" doc:"true: the resident agrees to sharing with the partner; false withdraws it"`
	Method     string `json:"method" enum:"paper,app,verbal"`
	RecordedBy string `json:"recorded_by,omitempty" maxLength:"100" doc:"Who took the consent, if not you"`
}

type followUpBody struct {
	Kind      string    `json:"kind" enum:"job_offered,interview,placed,declined"`
	Note      string    `json:"note,omitempty" maxLength:"2000"`
	At        time.Time `json:"at,omitempty" doc:"When it happened; now when not given"`
	OpeningID int64     `json:"opening_id,omitempty" doc:"The opening this is about: a match of the seeker to a job"`
}

type sharingGrantBody struct {
	CommunityID int64          `json:"community_id,omitempty" doc:"For users of several communities"`
	PartnerID   int64          `json:"partner_id"`
	LedgerType  string         `json:"ledger_type" doc:"e.g. job_seekers"`
	Fields      []string       `json:"fields" doc:"The keys of the fields shared"`
	Filter      map[string]any `json:"filter,omitempty" doc:"Share only entries whose fields have these values"`
	Purpose     string         `json:"purpose" maxLength:"500"`
	ExpiresAt   time.Time      `json:"expires_at" doc:"The grant ends by itself then (at most two years)"`
	Consent     bool           `json:"consent" doc:"Must be true: an entry is shared only once its resident has consented to the partner"`
}

type partnerBody struct {
	CommunityID int64  `json:"community_id,omitempty"`
	Name        string `json:"name" minLength:"1" maxLength:"100"`
	Kind        string `json:"kind,omitempty" maxLength:"40" doc:"e.g. hr_company, care_home"`
}

type associationBody struct {
	CommunityID int64              `json:"community_id,omitempty"`
	Key         string             `json:"key" doc:"Short key, e.g. jiuye"`
	Name        string             `json:"name" maxLength:"100"`
	NameEn      string             `json:"name_en,omitempty" maxLength:"100"`
	ChairUserID int64              `json:"chair_user_id,omitempty" doc:"The community cadre who chairs it"`
	Members     []community.Member `json:"members,omitempty"`
}

type associationChangeBody struct {
	Name        string             `json:"name" maxLength:"100"`
	NameEn      string             `json:"name_en,omitempty" maxLength:"100"`
	ChairUserID int64              `json:"chair_user_id,omitempty"`
	Members     []community.Member `json:"members,omitempty" doc:"When given, replaces the members"`
}

type intakeBody struct {
	Description string `json:"description" maxLength:"4000"`
	PersonID    int64  `json:"person_id,omitempty" doc:"A member or administrator bringing a resident's problem: the resident"`
	Channel     string `json:"channel,omitempty" enum:"app,member,office,phone,"`
}

type openingBody struct {
	PartnerID   int64     `json:"partner_id,omitempty" doc:"Administrators: which partner offers it"`
	Title       string    `json:"title" maxLength:"100"`
	Description string    `json:"description,omitempty" maxLength:"4000"`
	Skills      string    `json:"skills,omitempty" maxLength:"500" doc:"Words matched against job seekers' entries"`
	Location    string    `json:"location,omitempty" maxLength:"200"`
	Salary      string    `json:"salary,omitempty" maxLength:"100"`
	Positions   int       `json:"positions,omitempty" minimum:"0" maximum:"10000"`
	Status      string    `json:"status,omitempty" enum:"open,closed,"`
	ClosesAt    time.Time `json:"closes_at,omitempty"`
}

func (b openingBody) opening(id int64) assoc.Opening {
	return assoc.Opening{ID: id, PartnerID: b.PartnerID, Title: b.Title, Description: b.Description, Skills: b.Skills, Location: b.Location,
		Salary: b.Salary, Positions: b.Positions, Status: b.Status, ClosesAt: b.ClosesAt}
}

func (s *Server) registerAssocAPI() {
	// --- associations, partners, intake ---
	handle(s, post("/api/v1/associations", auth.PermAssociationsWrite), "create-association", "Add an association with its chair and members", "associations", s.createAssociation)
	handle(s, put("/api/v1/associations/{id}", auth.PermAssociationsWrite), "update-association", "Rename an association, set its chair; members, when given, replace the old", "associations", s.updateAssociation)
	handle(s, get("/api/v1/partners", auth.PermAssociationsRead), "list-partners", "Partner organisations of the community", "associations", s.listPartners)
	handle(s, post("/api/v1/partners", auth.PermGrantsManage), "create-partner", "Add a partner organisation", "associations", s.createPartner)
	handle(s, post("/api/v1/associations/{id}/intake", auth.PermIntakeSubmit), "submit-intake", "Bring a problem to an association: a resident from the app, or a member for a resident", "associations", s.submitIntake)
	handle(s, get("/api/v1/intakes", auth.PermIntakeSubmit), "list-intakes", "Problems brought to associations: a member sees their association's, a resident their household's", "associations", s.listIntakes)
	handle(s, put("/api/v1/intakes/{id}", auth.PermIntakeHandle), "move-intake", "Take up, refer or close a problem brought to one's association", "associations", s.moveIntake)

	// --- ledgers ---
	handle(s, get("/api/v1/ledgers", auth.PermLedgerRead), "list-ledgers", "Ledger types one may open, with their fields (a partner: only what a live grant shares)", "ledgers", s.listLedgers)
	handle(s, post("/api/v1/ledgers", auth.PermLedgerConfigure), "create-ledger", "Add a ledger type with its fields", "ledgers", s.createLedger)
	handle(s, get("/api/v1/ledgers/{type}", auth.PermLedgerRead), "get-ledger", "A ledger type with the fields one may see", "ledgers", s.getLedger)
	handle(s, post("/api/v1/ledgers/{type}/fields", auth.PermLedgerConfigure), "add-ledger-field", "Add a field to a ledger, without code", "ledgers", s.addLedgerField)
	handle(s, get("/api/v1/ledgers/{type}/entries", auth.PermLedgerRead), "list-ledger-entries", "Entries of a ledger as one may see them; a partner's reads are audited", "ledgers", s.listLedgerEntries)
	handle(s, post("/api/v1/ledgers/{type}/entries", auth.PermLedgerWrite), "create-ledger-entry", "Enter a resident in a ledger; values are checked against its fields", "ledgers", s.createLedgerEntry)
	handle(s, get("/api/v1/ledgers/{type}/entries/{id}", auth.PermLedgerRead), "get-ledger-entry", "One entry as one may see it (the owner association: with consents and follow-ups)", "ledgers", s.getLedgerEntry)
	handle(s, put("/api/v1/ledgers/{type}/entries/{id}", auth.PermLedgerWrite), "update-ledger-entry", "Change an entry; the old and new values go into its history", "ledgers", s.updateLedgerEntry)
	handle(s, get("/api/v1/ledgers/{type}/entries/{id}/history", auth.PermLedgerRead), "ledger-entry-history", "Every change of an entry: before, after, who, when", "ledgers", s.ledgerEntryHistory)
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/ledgers/{type}/entries/{id}/consent", Permission: auth.PermLedgerWrite, OK: true}, "record-consent",
		"Record the resident's consent (or its withdrawal) to sharing the entry with a partner", "ledgers", s.recordConsent)
	handle(s, post("/api/v1/ledgers/{type}/entries/{id}/followups", auth.PermFollowUp), "add-followup", "Record what was done for the resident: job offered, interview, placed, declined", "ledgers", s.addFollowUp)
	handle(s, get("/api/v1/ledgers/{type}/entries/{id}/followups", auth.PermLedgerRead), "list-followups", "Follow-ups of an entry: all for the owner association, its own for a partner", "ledgers", s.listFollowUps)

	// --- sharing grants ---
	handle(s, get("/api/v1/grants", auth.PermGrantsManage), "list-ledger-grants", "Ledger sharing grants to partners, newest first", "ledgers", s.listLedgerGrants)
	handle(s, post("/api/v1/grants", auth.PermGrantsManage), "create-ledger-grant", "Share part of a ledger with a partner: fields, entries (filter), purpose, until when", "ledgers", s.createLedgerGrant)
	handle(s, remove("/api/v1/grants/{id}", auth.PermGrantsManage), "revoke-ledger-grant", "Revoke a grant: the partner loses access at once", "ledgers", s.revokeLedgerGrant)

	// --- employment ---
	handle(s, get("/api/v1/openings", auth.PermLedgerRead), "list-openings", "Job openings with how many were offered, interviewed and placed (a partner: its own)", "employment", s.listOpenings)
	handle(s, get("/api/v1/openings/{id}", auth.PermLedgerRead), "get-opening", "A job opening", "employment", s.getOpening)
	handle(s, post("/api/v1/openings", auth.PermOpeningsWrite), "create-opening", "Post a job opening (a partner its own)", "employment", s.createOpening)
	handle(s, put("/api/v1/openings/{id}", auth.PermOpeningsWrite), "update-opening", "Change or close a job opening", "employment", s.updateOpening)
	handle(s, get("/api/v1/openings/{id}/candidates", auth.PermLedgerRead), "opening-candidates", "Job seekers whose entries mention the opening's title or skills, as one may see them", "employment", s.openingCandidates)
	handle(s, get("/api/v1/stats/placements", auth.PermLedgerRead), "placement-stats", "Residents placed in work in a year (each counted once), by month and partner", "employment", s.placementStats)
}

// --- associations, partners, intake ---

func (s *Server) createAssociation(ctx context.Context, in *bodyInput[associationBody]) (*itemBody[community.Association], error) {
	b := in.Body
	sc := scope(ctx, auth.PermAssociationsWrite)
	c, err := oneCommunity(b.CommunityID, sc.Communities())
	if err != nil {
		return nil, err
	}
	as := community.Association{CommunityID: c, Key: b.Key, Name: b.Name, NameEn: b.NameEn, ChairUserID: b.ChairUserID, Members: b.Members}
	if as.Members == nil {
		as.Members = []community.Member{}
	}
	err = s.store.CreateAssociation(ctx, sc, &as)
	return item(as, err)
}

func (s *Server) updateAssociation(ctx context.Context, in *idBodyInput[associationChangeBody]) (*itemBody[community.Association], error) {
	b := in.Body
	as := community.Association{ID: in.ID, Name: b.Name, NameEn: b.NameEn, ChairUserID: b.ChairUserID, Members: b.Members}
	err := s.store.UpdateAssociation(ctx, scope(ctx, auth.PermAssociationsWrite), &as)
	return item(as, err)
}

func (s *Server) listPartners(ctx context.Context, in *PageParams) (*listBody[community.Partner], error) {
	return list(s.store.ListPartners(ctx, scope(ctx, auth.PermAssociationsRead), in.filter()))
}

func (s *Server) createPartner(ctx context.Context, in *bodyInput[partnerBody]) (*itemBody[community.Partner], error) {
	sc := scope(ctx, auth.PermGrantsManage)
	c, err := oneCommunity(in.Body.CommunityID, sc.Communities())
	if err != nil {
		return nil, err
	}
	p := community.Partner{CommunityID: c, Name: in.Body.Name, Kind: in.Body.Kind}
	err = s.store.CreatePartner(ctx, sc, &p)
	return item(p, err)
}

// submitIntake takes a problem for the resident acting, or, brought by a
// member for another resident, notes that a member brought it.
func (s *Server) submitIntake(ctx context.Context, in *idBodyInput[intakeBody]) (*itemBody[assoc.Intake], error) {
	a := auth.ActorFrom(ctx)
	b := in.Body
	it := assoc.Intake{AssociationID: in.ID, PersonID: b.PersonID, Description: b.Description, Channel: b.Channel}
	switch {
	case it.PersonID == 0 && a.User.PersonID != 0:
		it.PersonID = a.User.PersonID
	case it.PersonID != 0 && it.PersonID != a.User.PersonID && it.Channel == "":
		it.Channel = "member"
	}
	err := s.store.SubmitIntake(ctx, access(ctx, auth.PermIntakeSubmit), &it)
	return item(it, err)
}

type intakeListInput struct {
	PageParams
	Association int64  `query:"association"`
	Status      string `query:"status" enum:"open,accepted,referred,closed,"`
}

func (s *Server) listIntakes(ctx context.Context, in *intakeListInput) (*listBody[assoc.Intake], error) {
	return list(s.store.ListIntakes(ctx, access(ctx, auth.PermIntakeSubmit), assoc.IntakeFilter{CommunityID: in.Community, AssociationID: in.Association, Status: in.Status, Page: in.page()}))
}

// The anonymous body keeps, by its nameHint, the schema name huma gave it
// when the input was anonymous too: the API document stays the same.
type intakeMoveInput struct {
	IDParam
	Body struct {
		Status string `json:"status" enum:"open,accepted,referred,closed"`
		Note   string `json:"note,omitempty" maxLength:"2000"`
	} `nameHint:"Move-intakeRequest"`
}

func (s *Server) moveIntake(ctx context.Context, in *intakeMoveInput) (*itemBody[assoc.Intake], error) {
	return item(s.store.MoveIntake(ctx, access(ctx, auth.PermIntakeHandle), in.ID, in.Body.Status, in.Body.Note))
}

// --- ledgers ---

func (s *Server) listLedgers(ctx context.Context, in *PageParams) (*listBody[assoc.LedgerType], error) {
	return list(s.store.ListLedgerTypes(ctx, access(ctx, auth.PermLedgerRead), in.Community))
}

func (s *Server) createLedger(ctx context.Context, in *bodyInput[ledgerTypeBody]) (*itemBody[assoc.LedgerType], error) {
	b := in.Body
	acc := access(ctx, auth.PermLedgerConfigure)
	c, err := oneCommunity(b.CommunityID, acc.Communities())
	if err != nil {
		return nil, err
	}
	t := assoc.LedgerType{CommunityID: c, Key: b.Key, Name: b.Name, NameEn: b.NameEn, AssociationID: b.AssociationID, Sensitive: b.Sensitive, Fields: b.Fields}
	err = s.store.CreateLedgerType(ctx, acc, &t)
	return item(t, err)
}

func (s *Server) getLedger(ctx context.Context, in *LedgerParam) (*itemBody[assoc.LedgerType], error) {
	return item(s.store.LedgerType(ctx, access(ctx, auth.PermLedgerRead), in.Community, in.Type))
}

func (s *Server) addLedgerField(ctx context.Context, in *ledgerBodyInput[assoc.Field]) (*itemBody[assoc.LedgerType], error) {
	return item(s.store.AddLedgerField(ctx, access(ctx, auth.PermLedgerConfigure), in.Community, in.Type, in.Body))
}

type entryListInput struct {
	LedgerParam
	Limit       int      `query:"limit" minimum:"0" maximum:"500"`
	Offset      int      `query:"offset" minimum:"0"`
	Status      string   `query:"status" enum:"active,closed,"`
	Person      int64    `query:"person"`
	Association int64    `query:"association"`
	Q           string   `query:"q" maxLength:"50" doc:"Part of a resident's name (not for partners)"`
	Where       []string `query:"where,explode" doc:"field:value, e.g. status:seeking; repeat for more"`
}

func (s *Server) listLedgerEntries(ctx context.Context, in *entryListInput) (*listBody[assoc.LedgerEntry], error) {
	f := assoc.EntryFilter{CommunityID: in.Community, Ledger: in.Type, Status: in.Status, PersonID: in.Person, AssociationID: in.Association, Query: in.Q,
		Page: shequ.Page{Limit: in.Limit, Offset: in.Offset}}
	for _, w := range in.Where {
		k, v, ok := strings.Cut(w, ":")
		if !ok || k == "" {
			return nil, shequ.Invalid(map[string]string{"where": "write field:value"})
		}
		if f.Where == nil {
			f.Where = map[string]string{}
		}
		f.Where[k] = v
	}
	return list(s.store.ListEntries(ctx, access(ctx, auth.PermLedgerRead), f))
}

func (s *Server) createLedgerEntry(ctx context.Context, in *ledgerBodyInput[entryBody]) (*itemBody[assoc.LedgerEntry], error) {
	b := in.Body
	e := assoc.LedgerEntry{PersonID: b.PersonID, AssociationID: b.AssociationID, Status: b.Status, Values: b.Values}
	err := s.store.CreateEntry(ctx, access(ctx, auth.PermLedgerWrite), in.Community, in.Type, &e)
	return item(e, err)
}

func (s *Server) getLedgerEntry(ctx context.Context, in *EntryParam) (*itemBody[assoc.LedgerEntry], error) {
	return item(s.store.Entry(ctx, access(ctx, auth.PermLedgerRead), in.Community, in.Type, in.ID))
}

func (s *Server) updateLedgerEntry(ctx context.Context, in *entryBodyInput[entryChangeBody]) (*itemBody[assoc.LedgerEntry], error) {
	b := in.Body
	return item(s.store.UpdateEntry(ctx, access(ctx, auth.PermLedgerWrite), in.Community, in.Type, in.ID, assoc.EntryChange{Values: b.Values, Status: b.Status, AssociationID: b.AssociationID}))
}

func (s *Server) ledgerEntryHistory(ctx context.Context, in *EntryParam) (*itemBody[[]assoc.HistoryLine], error) {
	return item(s.store.EntryHistory(ctx, access(ctx, auth.PermLedgerRead), in.Community, in.Type, in.ID))
}

func (s *Server) recordConsent(ctx context.Context, in *entryBodyInput[consentBody]) (*itemBody[assoc.Consent], error) {
	b := in.Body
	c := assoc.Consent{PartnerID: b.PartnerID, Given: b.Given, Method: b.Method, RecordedBy: b.RecordedBy}
	err := s.store.RecordConsent(ctx, access(ctx, auth.PermLedgerWrite), in.Community, in.Type, in.ID, &c)
	return item(c, err)
}

func (s *Server) addFollowUp(ctx context.Context, in *entryBodyInput[followUpBody]) (*itemBody[assoc.FollowUp], error) {
	b := in.Body
	f := assoc.FollowUp{Kind: b.Kind, Note: b.Note, At: b.At, OpeningID: b.OpeningID}
	err := s.store.AddFollowUp(ctx, access(ctx, auth.PermFollowUp), in.Community, in.Type, in.ID, &f)
	return item(f, err)
}

func (s *Server) listFollowUps(ctx context.Context, in *EntryParam) (*itemBody[[]assoc.FollowUp], error) {
	return item(s.store.ListFollowUps(ctx, access(ctx, auth.PermLedgerRead), in.Community, in.Type, in.ID))
}

// --- sharing grants ---

type grantListInput struct {
	PageParams
	Partner int64  `query:"partner"`
	Ledger  string `query:"ledger_type"`
	Live    bool   `query:"live" doc:"Only grants neither revoked nor expired"`
}

func (s *Server) listLedgerGrants(ctx context.Context, in *grantListInput) (*listBody[assoc.LedgerGrant], error) {
	return list(s.store.ListLedgerGrants(ctx, access(ctx, auth.PermGrantsManage), assoc.GrantFilter{CommunityID: in.Community, PartnerID: in.Partner, Ledger: in.Ledger, LiveOnly: in.Live, Page: in.page()}))
}

func (s *Server) createLedgerGrant(ctx context.Context, in *bodyInput[sharingGrantBody]) (*itemBody[assoc.LedgerGrant], error) {
	b := in.Body
	g := assoc.LedgerGrant{CommunityID: b.CommunityID, PartnerID: b.PartnerID, Ledger: b.LedgerType, Fields: b.Fields, Purpose: b.Purpose, ExpiresAt: b.ExpiresAt.UTC(), Consent: b.Consent}
	err := s.store.CreateLedgerGrant(ctx, access(ctx, auth.PermGrantsManage), &g, b.Filter)
	return item(g, err)
}

func (s *Server) revokeLedgerGrant(ctx context.Context, in *IDParam) (*noContent, error) {
	return &noContent{}, s.store.RevokeLedgerGrant(ctx, access(ctx, auth.PermGrantsManage), in.ID)
}

// --- employment ---

type openingListInput struct {
	PageParams
	Partner int64  `query:"partner"`
	Status  string `query:"status" enum:"open,closed,"`
}

func (s *Server) listOpenings(ctx context.Context, in *openingListInput) (*listBody[assoc.Opening], error) {
	return list(s.store.ListOpenings(ctx, access(ctx, auth.PermLedgerRead), assoc.OpeningFilter{CommunityID: in.Community, PartnerID: in.Partner, Status: in.Status, Page: in.page()}))
}

func (s *Server) getOpening(ctx context.Context, in *IDParam) (*itemBody[assoc.Opening], error) {
	return item(s.store.Opening(ctx, access(ctx, auth.PermLedgerRead), in.ID))
}

func (s *Server) createOpening(ctx context.Context, in *bodyInput[openingBody]) (*itemBody[assoc.Opening], error) {
	o := in.Body.opening(0)
	err := s.store.CreateOpening(ctx, access(ctx, auth.PermOpeningsWrite), &o)
	return item(o, err)
}

func (s *Server) updateOpening(ctx context.Context, in *idBodyInput[openingBody]) (*itemBody[assoc.Opening], error) {
	o := in.Body.opening(in.ID)
	err := s.store.UpdateOpening(ctx, access(ctx, auth.PermOpeningsWrite), &o)
	return item(o, err)
}

type candidatesInput struct {
	IDParam
	Limit int `query:"limit" minimum:"0" maximum:"100"`
}

func (s *Server) openingCandidates(ctx context.Context, in *candidatesInput) (*itemBody[[]assoc.OpeningCandidate], error) {
	limit := in.Limit
	if limit == 0 {
		limit = 20
	}
	return item(s.store.OpeningCandidates(ctx, access(ctx, auth.PermLedgerRead), in.ID, limit))
}

type placementStatsInput struct {
	Community int64 `query:"community"`
	Year      int   `query:"year" doc:"The community's calendar year; this year when not given"`
}

func (s *Server) placementStats(ctx context.Context, in *placementStatsInput) (*itemBody[assoc.PlacementStats], error) {
	if in.Year != 0 && (in.Year < 2000 || in.Year > 2100) {
		return nil, shequ.Invalid(map[string]string{"year": "must be a year like 2026"})
	}
	return item(s.store.PlacementStats(ctx, access(ctx, auth.PermLedgerRead), in.Community, in.Year))
}
