package web

import (
	"context"
	"net/http"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/privacy"
	"github.com/shequ/shequ/retention"
)

// privacyStore is what a resident's rights over their personal data need.
// The store checks who may: the resident themselves, or an office worker
// on their behalf (audited).
type privacyStore interface {
	PersonalData(ctx context.Context, person int64) (privacy.Export, error)
	PrivacyRequests(ctx context.Context, person int64) ([]privacy.Request, error)
	WithdrawConsent(ctx context.Context, person, entry, partner int64) error
	CorrectPhone(ctx context.Context, person int64, phone string) error
	RequestErasure(ctx context.Context, person int64, reason string) (privacy.Request, error)
	PendingErasures(ctx context.Context, scope auth.Scope) ([]privacy.Request, error)
	DecideErasure(ctx context.Context, scope auth.Scope, id int64, approve bool, note string) (privacy.Request, error)
	retentionStore
}

type withdrawBody struct {
	EntryID   int64 `json:"entry_id" minimum:"1" doc:"The ledger entry about the resident"`
	PartnerID int64 `json:"partner_id" minimum:"1" doc:"The partner whose view ends"`
}

type erasureBody struct {
	Reason string `json:"reason,omitempty" maxLength:"1000"`
}

type erasureDecisionBody struct {
	Approve bool   `json:"approve"`
	Note    string `json:"note,omitempty" maxLength:"1000" doc:"Required when refusing: the resident is told why"`
}

type requestsBody struct {
	Body []privacy.Request
}

func (s *Server) registerPrivacyAPI() {
	s.registerRetentionAPI()
	signedIn := func(method, path string) Route { return Route{Method: method, Path: path, SignedIn: true} }
	handle(s, signedIn(http.MethodGet, "/api/v1/people/{id}/personal-data"), "personal-data",
		"Everything held about a resident and their household, table by table (the resident, or an office worker on their behalf: audited)", "privacy",
		func(ctx context.Context, in *IDParam) (*itemBody[privacy.Export], error) {
			return item(s.store.PersonalData(ctx, in.ID))
		})
	handle(s, signedIn(http.MethodGet, "/api/v1/people/{id}/privacy-requests"), "privacy-requests",
		"A resident's requests about their data and their outcomes", "privacy",
		func(ctx context.Context, in *IDParam) (*requestsBody, error) {
			l, err := s.store.PrivacyRequests(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &requestsBody{Body: l}, nil
		})
	withdraw := signedIn(http.MethodPost, "/api/v1/people/{id}/consents/withdraw")
	withdraw.OK = true
	handle(s, withdraw, "withdraw-consent", "The resident withdraws a consent: the partner's view ends at once", "privacy",
		func(ctx context.Context, in *idBodyInput[withdrawBody]) (*noContent, error) {
			return &noContent{}, s.store.WithdrawConsent(ctx, in.ID, in.Body.EntryID, in.Body.PartnerID)
		})
	handle(s, signedIn(http.MethodPost, "/api/v1/people/{id}/erasure-requests"), "request-erasure",
		"Ask for a resident's data to be erased; the administrator reviews it", "privacy",
		func(ctx context.Context, in *idBodyInput[erasureBody]) (*itemBody[privacy.Request], error) {
			return item(s.store.RequestErasure(ctx, in.ID, in.Body.Reason))
		})
	handle(s, get("/api/v1/privacy/erasure-requests", auth.PermPrivacyReview), "pending-erasures",
		"Erasure requests waiting for the administrator", "privacy",
		func(ctx context.Context, _ *struct{}) (*requestsBody, error) {
			l, err := s.store.PendingErasures(ctx, scope(ctx, auth.PermPrivacyReview))
			if err != nil {
				return nil, err
			}
			return &requestsBody{Body: l}, nil
		})
	decide := post("/api/v1/privacy/erasure-requests/{id}/decide", auth.PermPrivacyReview)
	decide.OK = true
	handle(s, decide, "decide-erasure", "Approve (erase or anonymise what may be, keep what must be) or refuse an erasure request", "privacy",
		func(ctx context.Context, in *idBodyInput[erasureDecisionBody]) (*itemBody[privacy.Request], error) {
			return item(s.store.DecideErasure(ctx, scope(ctx, auth.PermPrivacyReview), in.ID, in.Body.Approve, in.Body.Note))
		})
}

// retentionStore is what the administrator's retention periods need.
type retentionStore interface {
	RetentionSettings(ctx context.Context) (map[string]int, error)
	SetRetention(ctx context.Context, scope auth.Scope, kind string, days int) error
}

type retentionRow struct {
	Kind        string `json:"kind"`
	Action      string `json:"action" doc:"delete, anonymise, or keep (never deleted early)"`
	DefaultDays int    `json:"default_days"`
	MinDays     int    `json:"min_days" doc:"The shortest period the law allows"`
	Days        int    `json:"days" doc:"The period in force"`
	Set         bool   `json:"set" doc:"Whether the administrator chose it (else the default)"`
}

type retentionList struct {
	Body []retentionRow
}

type retentionKind struct {
	Kind string `path:"kind"`
	Body struct {
		Days int `json:"days" minimum:"1"`
	}
}

func (s *Server) retentionRows(ctx context.Context) ([]retentionRow, error) {
	set, err := s.store.RetentionSettings(ctx)
	if err != nil {
		return nil, err
	}
	var out []retentionRow
	for _, p := range retention.Policies() {
		r := retentionRow{Kind: p.Kind, Action: p.Action, DefaultDays: int(p.Default / retention.Day), MinDays: int(p.Min / retention.Day)}
		r.Days, r.Set = r.DefaultDays, false
		if d, ok := set[p.Kind]; ok {
			r.Days, r.Set = d, true
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *Server) registerRetentionAPI() {
	handle(s, get("/api/v1/retention", auth.PermJobsManage), "retention-periods",
		"How long each kind of data is kept: the lawful default, the shortest allowed, the period in force", "privacy",
		func(ctx context.Context, _ *struct{}) (*retentionList, error) {
			rows, err := s.retentionRows(ctx)
			return &retentionList{Body: rows}, err
		})
	set := put("/api/v1/retention/{kind}", auth.PermJobsManage)
	handle(s, set, "set-retention", "Set how long a kind of data is kept (the deployment's administrator; audited)", "privacy",
		func(ctx context.Context, in *retentionKind) (*noContent, error) {
			return &noContent{}, s.store.SetRetention(ctx, scope(ctx, auth.PermJobsManage), in.Kind, in.Body.Days)
		})
}
