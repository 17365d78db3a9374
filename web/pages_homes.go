package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/matter"
)

// A home's page, reached from the list of homes: where it is, its alarm
// state with its sensors and zones (following the live stream, so that an
// opening door or an alarm shows without a reload), who lives there
// (masked: calling is the console's, audited), and its recent incidents
// and matters.

// homePageStore is what a home's page needs beyond the other stores.
type homePageStore interface {
	HomeMatters(ctx context.Context, scope auth.Scope, home int64, page shequ.Page) (shequ.List[matter.Matter], error)
}

// homeRecent is how many incidents and matters a home's page lists.
const homeRecent = 10

type zoneView struct{ Zone, Name string }

type homeIncidentRow struct {
	ID                       int64
	Kind, StatusWord, Opened string
	Open                     bool
}

type homeMatterRow struct {
	ID                                 int64
	Tracking, Category, Status, Opened string
	Description                        string
}

// homeState is the live part of a home's page.
type homeState struct {
	HomeID    int64
	Arm       alarm.ArmState
	ArmWord   string
	Since     string
	Sensors   []sensorView
	Zones     []zoneView
	CanAlarm  bool
	OpenAlarm bool
}

type homePageBody struct {
	L        *locale
	Home     community.Home
	Grid     string
	State    homeState
	LiveFrom int64
	People   []personView
	// CanPeople: the reader may see who lives here.
	CanPeople bool
	Incidents []homeIncidentRow
	Matters   []homeMatterRow
	CanMatter bool
	// CanConsole: open incidents link to the console.
	CanConsole bool
}

func (s *Server) registerHomePages() {
	s.pageRoute("GET /homes/{id}", "/homes", auth.PermHomesRead, s.homePageDetail)
	s.alarmRoute("GET /homes/{id}/state", "/homes", auth.PermHomesRead, false, s.homeStateFragment)
}

func (s *Server) homeState(ctx context.Context, p *pageData, home int64) (homeState, error) {
	st := homeState{HomeID: home, CanAlarm: p.Actor.Can(auth.PermAlarmRead)}
	if !st.CanAlarm {
		return st, nil
	}
	sc := p.Actor.Scope(auth.PermAlarmRead)
	var err error
	if st.Arm, err = s.store.ArmState(ctx, sc, home); err != nil {
		return st, err
	}
	if st.Arm.State == "" {
		st.Arm.State = alarm.Disarmed
	}
	st.ArmWord = p.L.T("myalarm.state." + string(st.Arm.State))
	if !st.Arm.Since.IsZero() {
		st.Since = p.Date(st.Arm.Since)
	}
	zones, err := s.store.ZoneNames(ctx, sc, home)
	if err != nil {
		return st, err
	}
	sensors, err := s.store.HomeSensors(ctx, sc, home)
	if err != nil {
		return st, err
	}
	for _, x := range sensors {
		v := sensorView{Name: x.Name, State: x.State}
		if v.Name == "" {
			v.Name = zoneWord(p.L, zones, x.Zone)
		}
		if !x.Online {
			v.State = "offline"
		}
		st.Sensors = append(st.Sensors, v)
	}
	for zone, name := range zones {
		st.Zones = append(st.Zones, zoneView{Zone: zone, Name: name})
	}
	sortZones(st.Zones)
	open, err := s.store.ListIncidents(ctx, sc, alarm.IncidentFilter{Status: "open", HomeID: home, Page: shequ.Page{Limit: 1}})
	if err != nil {
		return st, err
	}
	st.OpenAlarm = open.Total > 0
	return st, nil
}

func sortZones(z []zoneView) {
	slices.SortFunc(z, func(a, b zoneView) int { return strings.Compare(a.Zone, b.Zone) })
}

func homeIDOf(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, shequ.Errorf(shequ.ENOTFOUND, "no such home")
	}
	return id, nil
}

func (s *Server) homePageDetail(r *http.Request, p *pageData) (string, error) {
	ctx := r.Context()
	id, err := homeIDOf(r)
	if err != nil {
		return "", err
	}
	h, err := s.store.Home(ctx, p.Actor.Scope(auth.PermHomesRead), id)
	if err != nil {
		return "", err
	}
	b := &homePageBody{L: p.L, Home: h, CanPeople: p.Actor.Can(auth.PermPeopleRead), CanMatter: p.Actor.Can(auth.PermMatterRead), CanConsole: canWatch(p.Actor)}
	p.Title = p.L.T("homepage.title", h.BuildingName, h.Door)
	if h.GridID != 0 && p.Actor.Can(auth.PermGridsRead) {
		if g, err := s.store.Grid(ctx, p.Actor.Scope(auth.PermGridsRead), h.GridID); err == nil {
			b.Grid = g.Name
		}
	}
	if b.LiveFrom, err = s.store.LastLiveID(ctx); err != nil {
		return "", err
	}
	if b.State, err = s.homeState(ctx, p, id); err != nil {
		return "", err
	}
	now := s.clock.Now()
	if b.CanPeople {
		// Masked: this page is for looking; calling is the console's,
		// where whole numbers are an audited read.
		if b.People, err = s.peopleOfHome(ctx, p.Actor.Scope(auth.PermPeopleRead), false, id, now); err != nil {
			return "", err
		}
	}
	if b.State.CanAlarm {
		l, err := s.store.ListIncidents(ctx, p.Actor.Scope(auth.PermAlarmRead), alarm.IncidentFilter{HomeID: id, Page: shequ.Page{Limit: homeRecent}})
		if err != nil {
			return "", err
		}
		for _, inc := range l.Items {
			b.Incidents = append(b.Incidents, homeIncidentRow{ID: inc.ID, Kind: kindWord(p.L, inc.Kind), StatusWord: p.L.Or("alarm.status."+inc.Status, inc.Status),
				Opened: p.Date(inc.OpenedAt), Open: inc.Status != alarm.StatusResolved})
		}
	}
	if b.CanMatter {
		l, err := s.store.HomeMatters(ctx, p.Actor.Scope(auth.PermMatterRead), id, shequ.Page{Limit: homeRecent})
		if err != nil {
			return "", err
		}
		for _, m := range l.Items {
			b.Matters = append(b.Matters, homeMatterRow{ID: m.ID, Tracking: m.Tracking, Category: m.Category, Description: m.Description,
				Status: p.L.Or("matter.status."+m.Status, m.Status), Opened: p.Date(m.CreatedAt)})
		}
	}
	p.Body = b
	return "staff/home", nil
}

// homeStateFragment answers the live part of a home's page, for home.js.
func (s *Server) homeStateFragment(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := homeIDOf(r)
	if err != nil {
		return err
	}
	if _, err := s.store.Home(r.Context(), p.Actor.Scope(auth.PermHomesRead), id); err != nil {
		return err
	}
	st, err := s.homeState(r.Context(), p, id)
	if err != nil {
		return err
	}
	p.Body = &homePageBody{L: p.L, State: st}
	s.renderFragment(w, p, "staff/home", "home-state", http.StatusOK)
	return nil
}
