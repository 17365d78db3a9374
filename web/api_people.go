package web

import (
	"context"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

type personBody struct {
	CommunityID int64               `json:"community_id,omitempty" doc:"Required when no household is given"`
	HouseholdID int64               `json:"household_id,omitempty"`
	Name        string              `json:"name"`
	Gender      string              `json:"gender,omitempty" enum:"male,female,"`
	Phone       string              `json:"phone,omitempty"`
	IDNumber    string              `json:"id_number,omitempty" doc:"18-character resident ID number"`
	BirthDate   string              `json:"birth_date,omitempty" doc:"YYYY-MM-DD"`
	Relation    string              `json:"relation,omitempty" doc:"Relation to the head of household"`
	Tags        []string            `json:"tags,omitempty" doc:"e.g. living_alone, elderly, unemployed"`
	Contacts    []community.Contact `json:"emergency_contacts,omitempty"`
}

func (b personBody) person(id int64) community.Person {
	return community.Person{ID: id, CommunityID: b.CommunityID, HouseholdID: b.HouseholdID, Name: b.Name, Gender: b.Gender,
		Phone: b.Phone, IDNumber: b.IDNumber, BirthDate: b.BirthDate, Relation: b.Relation, Tags: b.Tags, Contacts: b.Contacts}
}

type peopleFilter struct {
	PageParams
	Household int64  `query:"household"`
	Home      int64  `query:"home"`
	Building  int64  `query:"building"`
	Grid      int64  `query:"grid"`
	Tag       string `query:"tag" doc:"e.g. living_alone"`
	Q         string `query:"q" doc:"Part of a name; for roles that see whole numbers, a whole phone or ID number too (a person found by number is audited as a read of their numbers)"`
	Reveal    bool   `query:"reveal" doc:"Show whole phone and ID numbers (roles that need them only; every reveal is audited)"`
}

// revealOrMask gives each person back whole if the actor may and asked to
// see them whole, masked otherwise; whole reads are audited first.
func (s *Server) revealOrMask(ctx context.Context, ps []community.Person, reveal bool) ([]community.Person, error) {
	if !reveal {
		for i := range ps {
			ps[i] = ps[i].Mask()
		}
		return ps, nil
	}
	if err := s.store.RecordPIIRead(ctx, ps); err != nil {
		return nil, err
	}
	return ps, nil
}

func (s *Server) registerPeopleAPI() {
	handle(s, get("/api/v1/people", auth.PermPeopleRead), "list-people", "List residents; phone and ID numbers are masked unless reveal=true", "people",
		func(ctx context.Context, in *peopleFilter) (*listBody[community.Person], error) {
			f := in.filter()
			f.HouseholdID, f.HomeID, f.BuildingID, f.GridID, f.Tag, f.Query = in.Household, in.Home, in.Building, in.Grid, in.Tag, in.Q
			f.NumberScope = scope(ctx, auth.PermPeoplePII)
			sc := scope(ctx, auth.PermPeopleRead)
			if in.Reveal {
				// Only the people the actor may see whole are listed.
				sc = scope(ctx, auth.PermPeoplePII)
				if len(sc) == 0 {
					return nil, shequ.Errorf(shequ.EFORBIDDEN, "your role may not see whole phone and ID numbers")
				}
			}
			l, err := s.store.ListPeople(ctx, sc, f)
			if err != nil {
				return nil, err
			}
			l.Items, err = s.revealOrMask(ctx, l.Items, in.Reveal)
			return list(l, err)
		})
	handle(s, get("/api/v1/people/{id}", auth.PermPeopleRead), "get-person", "Get a resident; whole numbers for roles that need them (audited)", "people",
		func(ctx context.Context, in *IDParam) (*itemBody[community.Person], error) {
			p, err := s.store.Person(ctx, scope(ctx, auth.PermPeopleRead), in.ID)
			if err != nil {
				return nil, err
			}
			_, piiErr := s.store.Person(ctx, scope(ctx, auth.PermPeoplePII), in.ID)
			ps, err := s.revealOrMask(ctx, []community.Person{p}, piiErr == nil)
			if err != nil {
				return nil, err
			}
			return item(ps[0], nil)
		})
	handle(s, post("/api/v1/people", auth.PermPeopleWrite), "create-person", "Register a resident", "people",
		func(ctx context.Context, in *struct{ Body personBody }) (*itemBody[community.Person], error) {
			p := in.Body.person(0)
			if err := s.store.CreatePerson(ctx, scope(ctx, auth.PermPeopleWrite), &p); err != nil {
				return nil, err
			}
			return item(p.Mask(), nil)
		})
	handle(s, put("/api/v1/people/{id}", auth.PermPeopleWrite), "update-person", "Update a resident", "people",
		func(ctx context.Context, in *struct {
			IDParam
			Body personBody
		}) (*itemBody[community.Person], error) {
			p := in.Body.person(in.ID)
			if err := s.store.UpdatePerson(ctx, scope(ctx, auth.PermPeopleWrite), &p); err != nil {
				return nil, err
			}
			return item(p.Mask(), nil)
		})
	handle(s, remove("/api/v1/people/{id}", auth.PermPeopleWrite), "delete-person", "Remove a resident", "people",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.DeletePerson(ctx, scope(ctx, auth.PermPeopleWrite), in.ID)
		})
}
