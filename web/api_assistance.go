package web

import (
	"context"
	"net/http"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
)

// assistanceStore is what the assistance API needs: the policy catalogue,
// who appears eligible, applications and their outcomes.
type assistanceStore interface {
	ListAssistancePolicies(ctx context.Context, acc assoc.Access, f assoc.AssistancePolicyFilter) (shequ.List[assoc.AssistancePolicy], error)
	AssistancePolicy(ctx context.Context, acc assoc.Access, id int64) (assoc.AssistancePolicy, error)
	CreateAssistancePolicy(ctx context.Context, acc assoc.Access, x *assoc.AssistancePolicy) error
	UpdateAssistancePolicy(ctx context.Context, acc assoc.Access, x *assoc.AssistancePolicy) error
	Eligible(ctx context.Context, acc assoc.Access, id int64, day time.Time, page shequ.Page) (shequ.List[assoc.EligibleResident], error)
	EligibleUncovered(ctx context.Context, acc assoc.Access, community int64) ([]assoc.PolicyCount, error)
	ListApplications(ctx context.Context, acc assoc.Access, f assoc.ApplicationFilter) (shequ.List[assoc.Application], error)
	CreateApplication(ctx context.Context, acc assoc.Access, x *assoc.Application) error
	DecideApplication(ctx context.Context, acc assoc.Access, id int64, status, reason, day string) (assoc.Application, error)
}

type assistancePolicyBody struct {
	CommunityID   int64             `json:"community_id,omitempty" doc:"For users of several communities"`
	AssociationID int64             `json:"association_id" doc:"The association that owns the policy"`
	Name          string            `json:"name" maxLength:"100"`
	Description   string            `json:"description,omitempty" maxLength:"4000"`
	Benefit       string            `json:"benefit" maxLength:"500" doc:"What an eligible resident receives"`
	ValidFrom     string            `json:"valid_from" doc:"YYYY-MM-DD"`
	ValidTo       string            `json:"valid_to,omitempty" doc:"YYYY-MM-DD, the last day; open-ended when empty"`
	Rules         []assoc.Condition `json:"rules" maxItems:"20" doc:"Conditions that must all hold, e.g. {\"field\":\"age\",\"op\":\">=\",\"value\":60}, {\"field\":\"tag\",\"op\":\"=\",\"value\":\"living_alone\"}, {\"ledger\":\"households_in_difficulty\",\"field\":\"pension\",\"op\":\"<\",\"value\":1500}"`
}

func (b assistancePolicyBody) policy(id, community int64) assoc.AssistancePolicy {
	return assoc.AssistancePolicy{ID: id, CommunityID: community, AssociationID: b.AssociationID, Name: b.Name, Description: b.Description, Benefit: b.Benefit,
		ValidFrom: b.ValidFrom, ValidTo: b.ValidTo, Rules: b.Rules}
}

type applicationBody struct {
	PolicyID int64  `json:"policy_id"`
	PersonID int64  `json:"person_id"`
	Note     string `json:"note,omitempty" maxLength:"2000"`
}

type applicationOutcomeBody struct {
	Status string `json:"status" enum:"granted,refused"`
	Reason string `json:"reason,omitempty" maxLength:"2000" doc:"Required when refused"`
	Date   string `json:"date,omitempty" doc:"YYYY-MM-DD; today when not given"`
}

func (s *Server) registerAssistanceAPI() {
	handle(s, get("/api/v1/assistance/policies", auth.PermAssistanceRead), "list-assistance-policies", "The relief and subsidy policies with their eligibility rules", "assistance", s.listAssistancePolicies)
	handle(s, post("/api/v1/assistance/policies", auth.PermPolicyConfigure), "create-assistance-policy", "Add a policy; its rules are checked against the community's ledgers", "assistance", s.createAssistancePolicy)
	handle(s, get("/api/v1/assistance/policies/{id}", auth.PermAssistanceRead), "get-assistance-policy", "A policy with its eligibility rules", "assistance", s.getAssistancePolicy)
	handle(s, put("/api/v1/assistance/policies/{id}", auth.PermPolicyConfigure), "update-assistance-policy", "Replace a policy's text, dates, owner and rules", "assistance", s.updateAssistancePolicy)
	handle(s, get("/api/v1/assistance/policies/{id}/eligible", auth.PermAssistanceRead), "policy-eligible",
		"Residents who appear eligible for the policy and are not covered by it (no granted application), with the ledger values the rules looked at", "assistance", s.policyEligible)
	handle(s, get("/api/v1/assistance/applications", auth.PermAssistanceRead), "list-assistance-applications", "Applications under the policies, per policy or per resident, newest first", "assistance", s.listApplications)
	handle(s, post("/api/v1/assistance/applications", auth.PermAssistanceWrite), "create-assistance-application", "File a resident's application under a policy", "assistance", s.createApplication)
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/assistance/applications/{id}/outcome", Permission: auth.PermAssistanceWrite, OK: true}, "decide-assistance-application",
		"Record the outcome of a pending application: granted (the resident is then covered) or refused with a reason", "assistance", s.decideApplication)
}

type policyListInput struct {
	PageParams
	Association int64 `query:"association"`
}

func (s *Server) listAssistancePolicies(ctx context.Context, in *policyListInput) (*listBody[assoc.AssistancePolicy], error) {
	return list(s.store.ListAssistancePolicies(ctx, access(ctx, auth.PermAssistanceRead), assoc.AssistancePolicyFilter{CommunityID: in.Community, AssociationID: in.Association, Page: in.page()}))
}

func (s *Server) createAssistancePolicy(ctx context.Context, in *bodyInput[assistancePolicyBody]) (*itemBody[assoc.AssistancePolicy], error) {
	acc := access(ctx, auth.PermPolicyConfigure)
	c, err := oneCommunity(in.Body.CommunityID, acc.Communities())
	if err != nil {
		return nil, err
	}
	x := in.Body.policy(0, c)
	err = s.store.CreateAssistancePolicy(ctx, acc, &x)
	return item(x, err)
}

func (s *Server) getAssistancePolicy(ctx context.Context, in *IDParam) (*itemBody[assoc.AssistancePolicy], error) {
	return item(s.store.AssistancePolicy(ctx, access(ctx, auth.PermAssistanceRead), in.ID))
}

func (s *Server) updateAssistancePolicy(ctx context.Context, in *idBodyInput[assistancePolicyBody]) (*itemBody[assoc.AssistancePolicy], error) {
	x := in.Body.policy(in.ID, 0)
	err := s.store.UpdateAssistancePolicy(ctx, access(ctx, auth.PermPolicyConfigure), &x)
	return item(x, err)
}

type eligibleInput struct {
	IDParam
	Limit  int    `query:"limit" minimum:"0" maximum:"500"`
	Offset int    `query:"offset" minimum:"0"`
	On     string `query:"on" doc:"The day to judge on (ages), YYYY-MM-DD; today in the community when not given"`
}

func (s *Server) policyEligible(ctx context.Context, in *eligibleInput) (*listBody[assoc.EligibleResident], error) {
	var day time.Time
	if in.On != "" {
		d, err := time.Parse(time.DateOnly, in.On)
		if err != nil {
			return nil, shequ.Invalid(map[string]string{"on": "must be a date like 2026-11-28"})
		}
		day = d
	}
	return list(s.store.Eligible(ctx, access(ctx, auth.PermAssistanceRead), in.ID, day, shequ.Page{Limit: in.Limit, Offset: in.Offset}))
}

type applicationListInput struct {
	PageParams
	Policy int64  `query:"policy"`
	Person int64  `query:"person"`
	Status string `query:"status" enum:"pending,granted,refused,"`
}

func (s *Server) listApplications(ctx context.Context, in *applicationListInput) (*listBody[assoc.Application], error) {
	return list(s.store.ListApplications(ctx, access(ctx, auth.PermAssistanceRead), assoc.ApplicationFilter{CommunityID: in.Community, PolicyID: in.Policy, PersonID: in.Person, Status: in.Status, Page: in.page()}))
}

func (s *Server) createApplication(ctx context.Context, in *bodyInput[applicationBody]) (*itemBody[assoc.Application], error) {
	x := assoc.Application{PolicyID: in.Body.PolicyID, PersonID: in.Body.PersonID, Note: in.Body.Note}
	err := s.store.CreateApplication(ctx, access(ctx, auth.PermAssistanceWrite), &x)
	return item(x, err)
}

func (s *Server) decideApplication(ctx context.Context, in *idBodyInput[applicationOutcomeBody]) (*itemBody[assoc.Application], error) {
	b := in.Body
	return item(s.store.DecideApplication(ctx, access(ctx, auth.PermAssistanceWrite), in.ID, b.Status, b.Reason, b.Date))
}
