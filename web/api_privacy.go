package web

import (
	"context"
	"net/http"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/privacy"
)

// privacyStore is what a resident's rights over their personal data need.
// The store checks who may: the resident themselves, or an office worker
// on their behalf (audited).
type privacyStore interface {
	PersonalData(ctx context.Context, person int64) (privacy.Export, error)
	PrivacyRequests(ctx context.Context, person int64) ([]privacy.Request, error)
	WithdrawConsent(ctx context.Context, person, entry, partner int64) error
	RequestErasure(ctx context.Context, person int64, reason string) (privacy.Request, error)
	PendingErasures(ctx context.Context, scope auth.Scope) ([]privacy.Request, error)
	DecideErasure(ctx context.Context, scope auth.Scope, id int64, approve bool, note string) (privacy.Request, error)
}

type withdrawBody struct {
	EntryID   int64 `json:"entry_id" minimum:"1" doc:"The ledger entry about the resident"`
	PartnerID int64 `json:"partner_id" minimum:"1" doc:"The partner whose view ends"`
}

type erasureBody struct {
	Reason string `json:"reason,omitempty" maxLength:"1000"`
}

type decisionBody struct {
	Approve bool   `json:"approve"`
	Note    string `json:"note,omitempty" maxLength:"1000" doc:"Required when refusing: the resident is told why"`
}

type requestsBody struct {
	Body []privacy.Request
}

func (s *Server) registerPrivacyAPI() {
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
		func(ctx context.Context, in *idBodyInput[decisionBody]) (*itemBody[privacy.Request], error) {
			return item(s.store.DecideErasure(ctx, scope(ctx, auth.PermPrivacyReview), in.ID, in.Body.Approve, in.Body.Note))
		})
}
