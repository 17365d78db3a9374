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
	Q         string `query:"q" doc:"Part of a name, or a whole phone or ID number"`
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

type deviceBody struct {
	CommunityID int64   `json:"community_id,omitempty" doc:"Required on create"`
	Kind        string  `json:"kind" enum:"camera,wifi_ap,speaker,alarm_panel,sensor,door_controller"`
	Name        string  `json:"name"`
	Serial      string  `json:"serial,omitempty"`
	Address     string  `json:"address,omitempty" doc:"Network address or URL"`
	Location    string  `json:"location,omitempty"`
	Lat         float64 `json:"lat,omitempty"`
	Lng         float64 `json:"lng,omitempty"`
	GridID      int64   `json:"grid_id,omitempty"`
	BuildingID  int64   `json:"building_id,omitempty"`
	HomeID      int64   `json:"home_id,omitempty"`
	Status      string  `json:"status,omitempty" enum:"unknown,online,offline,fault,"`
}

func (b deviceBody) device(id int64) community.Device {
	return community.Device{ID: id, CommunityID: b.CommunityID, Kind: b.Kind, Name: b.Name, Serial: b.Serial, Address: b.Address,
		Location: b.Location, Lat: b.Lat, Lng: b.Lng, GridID: b.GridID, BuildingID: b.BuildingID, HomeID: b.HomeID, Status: b.Status}
}

func (s *Server) registerDeviceAPI() {
	handle(s, get("/api/v1/devices", auth.PermDevicesRead), "list-devices", "List devices", "devices",
		func(ctx context.Context, in *struct {
			PageParams
			Kind     string `query:"kind" enum:"camera,wifi_ap,speaker,alarm_panel,sensor,door_controller,"`
			Status   string `query:"status" enum:"unknown,online,offline,fault,"`
			Grid     int64  `query:"grid"`
			Building int64  `query:"building"`
			Home     int64  `query:"home"`
		}) (*listBody[community.Device], error) {
			f := in.filter()
			f.Kind, f.Status, f.GridID, f.BuildingID, f.HomeID = in.Kind, in.Status, in.Grid, in.Building, in.Home
			return list(s.store.ListDevices(ctx, scope(ctx, auth.PermDevicesRead), f))
		})
	handle(s, get("/api/v1/devices/{id}", auth.PermDevicesRead), "get-device", "Get a device", "devices",
		func(ctx context.Context, in *IDParam) (*itemBody[community.Device], error) {
			return item(s.store.Device(ctx, scope(ctx, auth.PermDevicesRead), in.ID))
		})
	handle(s, post("/api/v1/devices", auth.PermDevicesWrite), "create-device", "Register a device", "devices",
		func(ctx context.Context, in *struct{ Body deviceBody }) (*itemBody[community.Device], error) {
			d := in.Body.device(0)
			err := s.store.CreateDevice(ctx, scope(ctx, auth.PermDevicesWrite), &d)
			return item(d, err)
		})
	handle(s, put("/api/v1/devices/{id}", auth.PermDevicesWrite), "update-device", "Update a device", "devices",
		func(ctx context.Context, in *struct {
			IDParam
			Body deviceBody
		}) (*itemBody[community.Device], error) {
			d := in.Body.device(in.ID)
			err := s.store.UpdateDevice(ctx, scope(ctx, auth.PermDevicesWrite), &d)
			return item(d, err)
		})
	handle(s, remove("/api/v1/devices/{id}", auth.PermDevicesWrite), "delete-device", "Remove a device", "devices",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.DeleteDevice(ctx, scope(ctx, auth.PermDevicesWrite), in.ID)
		})
}
