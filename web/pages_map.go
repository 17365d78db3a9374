package web

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/siteplan"
	"github.com/shequ/shequ/sqlstore"
)

// The site map: the community's plan drawn by the server as SVG (package
// siteplan) from its data — grids' boundaries, buildings' footprints, the
// loudspeakers, cameras and access points — with the open incidents and
// the staff on duty on it, following the live stream. ?home= marks the
// building of a home and says the way in (building, entrance, floor): the
// grid worker's route hint. No tiles: everything is the binary's.

// siteStore is what the map needs beyond the other stores.
type siteStore interface {
	SiteOutlines(ctx context.Context, scope auth.Scope, community int64) (sqlstore.Outlines, error)
	ImportOutlines(ctx context.Context, scope auth.Scope, community int64, os []siteplan.Outline) error
	OnDutyPositions(ctx context.Context, scope auth.Scope, community int64) ([]alarm.StaffPosition, error)
}

func (s *Server) registerMapPages() {
	s.pageRoute("GET /map", "/map", auth.PermDevicesRead, s.mapPage)
	s.alarmRoute("GET /map/live", "/map", auth.PermDevicesRead, false, s.mapLive)
	s.formRoute("POST /map/import", "/map", auth.PermBuildingsWrite, 4<<20, s.mapImport)
}

// mapDevices are the device kinds the plan shows; door controllers mark
// the buildings' entrances.
var mapDevices = []string{community.DeviceSpeaker, community.DeviceCamera, community.DeviceWiFiAP, community.DeviceDoorController}

type mapBody struct {
	Plan siteplan.Drawing
	// Live follows the live stream, which only those who read alarms
	// may open.
	Live      bool
	LiveFrom  int64
	Route     string
	Target    int64
	Incidents []mapIncident
	CanImport bool
	Done      string
	Error     string
	Counts    []mapCount
}

type mapIncident struct {
	ID          int64
	Kind, Place string
}

type mapCount struct {
	Kind, Label string
	N           string
}

func (b *mapBody) Messages() formMessages { return formMessages{Done: b.Done, Error: b.Error} }

// plan gathers what the map draws; live adds the open incidents and the
// staff on duty.
func (s *Server) plan(ctx context.Context, p *pageData, target int64) (siteplan.Plan, []mapIncident, map[string]int, error) {
	var pl siteplan.Plan
	counts := map[string]int{}
	c := p.communityID
	outlines, err := s.store.SiteOutlines(ctx, p.Actor.Scope(auth.PermBuildingsRead), c)
	if err != nil {
		return pl, nil, nil, err
	}
	all := shequ.Page{Limit: shequ.MaxLimit}
	gs, err := s.store.ListGrids(ctx, p.Actor.Scope(auth.PermGridsRead), community.Filter{CommunityID: c, Page: all})
	if err != nil {
		return pl, nil, nil, err
	}
	for _, g := range gs.Items {
		pl.Grids = append(pl.Grids, siteplan.Shape{ID: g.ID, Label: g.Name, Ring: outlines.Grids[g.ID]})
	}
	bs, err := s.store.ListBuildings(ctx, p.Actor.Scope(auth.PermBuildingsRead), community.Filter{CommunityID: c, Page: all})
	if err != nil {
		return pl, nil, nil, err
	}
	buildingAt := map[int64]siteplan.Point{}
	for _, b := range bs.Items {
		at := siteplan.Point{Lat: b.Lat, Lng: b.Lng}
		if r := outlines.Buildings[b.ID]; len(r) >= 3 {
			at = r.Centre()
		}
		buildingAt[b.ID] = at
		pl.Buildings = append(pl.Buildings, siteplan.Shape{ID: b.ID, Label: b.Name, Ring: outlines.Buildings[b.ID], At: at})
	}
	for _, kind := range mapDevices {
		ds, err := s.store.ListDevices(ctx, p.Actor.Scope(auth.PermDevicesRead), community.Filter{CommunityID: c, Kind: kind, Page: all})
		if err != nil {
			return pl, nil, nil, err
		}
		for _, d := range ds.Items {
			// The device's measured state, as on the health wall: a
			// camera gone offline is red on the plan too.
			label := d.Name + " · " + p.L.Or("wall.status."+d.Status, d.Status)
			pl.Markers = append(pl.Markers, siteplan.Marker{ID: d.ID, Kind: d.Kind, Label: label, State: d.Status, At: siteplan.Point{Lat: d.Lat, Lng: d.Lng}})
			counts[d.Kind]++
		}
	}
	var incidents []mapIncident
	if p.Actor.Can(auth.PermAlarmRead) {
		open, err := s.store.ListIncidents(ctx, p.Actor.Scope(auth.PermAlarmRead).Restrict(c), alarm.IncidentFilter{Status: "open", Page: all})
		if err != nil {
			return pl, nil, nil, err
		}
		homes := map[int64]int64{}
		for _, inc := range open.Items {
			if inc.HomeID == 0 {
				continue
			}
			bid, ok := homes[inc.HomeID]
			if !ok {
				h, err := s.store.Home(ctx, auth.Scope{{CommunityID: c}}, inc.HomeID)
				if err != nil {
					continue // a home gone since: the console still lists the alarm
				}
				bid, homes[inc.HomeID] = h.BuildingID, h.BuildingID
			}
			label := kindWord(p.L, inc.Kind) + " · " + incidentRow{Incident: inc}.Place()
			pl.Live = append(pl.Live, siteplan.Marker{ID: inc.ID, Kind: "incident", Label: label, At: buildingAt[bid]})
			incidents = append(incidents, mapIncident{ID: inc.ID, Kind: kindWord(p.L, inc.Kind), Place: incidentRow{Incident: inc}.Place()})
		}
	}
	if p.Actor.Can(auth.PermStaffRead) {
		pos, err := s.store.OnDutyPositions(ctx, p.Actor.Scope(auth.PermStaffRead), c)
		if err != nil {
			return pl, nil, nil, err
		}
		for _, x := range pos {
			pl.Live = append(pl.Live, siteplan.Marker{ID: x.UserID, Kind: "staff", Label: x.Name, At: siteplan.Point{Lat: x.Lat, Lng: x.Lng}})
		}
	}
	if target != 0 {
		if at, ok := buildingAt[target]; ok {
			pl.Live = append(pl.Live, siteplan.Marker{ID: target, Kind: "target", At: at})
		}
	}
	return pl, incidents, counts, nil
}

// mapWidth is the drawing's width in its own units; the page scales it to
// the screen.
const mapWidth = 1000

func (s *Server) mapPage(r *http.Request, p *pageData) (string, error) {
	return s.mapView(r, p, "")
}

func (s *Server) mapView(r *http.Request, p *pageData, problem string) (string, error) {
	ctx := r.Context()
	p.Title = p.L.T("map.title")
	b := &mapBody{CanImport: p.Actor.Can(auth.PermBuildingsWrite), Done: doneWord(r, p, "map.done."), Error: problem}
	var target int64
	if home := queryID(r.URL.Query(), "home"); home != 0 {
		h, err := s.store.Home(ctx, p.Actor.Scope(auth.PermHomesRead), home)
		if err != nil {
			return "", err
		}
		target = h.BuildingID
		b.Route = routeWords(p, h)
	}
	b.Target = target
	var err error
	if b.Live = p.Actor.Can(auth.PermAlarmRead); b.Live {
		if b.LiveFrom, err = s.store.LastLiveID(ctx); err != nil {
			return "", err
		}
	}
	pl, incidents, counts, err := s.plan(ctx, p, target)
	if err != nil {
		return "", err
	}
	b.Plan, b.Incidents = siteplan.Draw(pl, mapWidth), incidents
	for _, k := range mapDevices {
		b.Counts = append(b.Counts, mapCount{Kind: k, Label: p.L.Or("kind."+k, k), N: p.L.Num(counts[k])})
	}
	p.Body = b
	return "staff/map", nil
}

// routeWords is the way to a home: building, entrance, floor, door.
func routeWords(p *pageData, h community.Home) string {
	if h.Entrance != "" {
		return p.L.T("map.route.entrance", h.BuildingName, h.Entrance, h.Floor, h.Door)
	}
	return p.L.T("map.route", h.BuildingName, h.Floor, h.Door)
}

// mapLive answers the live layer and the list of open alarms, for map.js.
func (s *Server) mapLive(w http.ResponseWriter, r *http.Request, p *pageData) error {
	target := queryID(r.URL.Query(), "building")
	pl, incidents, _, err := s.plan(r.Context(), p, target)
	if err != nil {
		return err
	}
	p.Body = &mapBody{Plan: siteplan.Draw(pl, mapWidth), Incidents: incidents, Target: target}
	s.renderFragment(w, p, "staff/map", "map-live", http.StatusOK)
	return nil
}

// mapImport takes a GeoJSON file of footprints and grid boundaries.
func (s *Server) mapImport(w http.ResponseWriter, r *http.Request, p *pageData) error {
	file, _, err := r.FormFile("geojson")
	if err != nil {
		return s.mapAgain(w, r, p, p.L.T("map.import.nofile"))
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, 4<<20))
	if err != nil {
		return err
	}
	outlines, err := siteplan.ParseGeoJSON(data)
	if err != nil {
		return s.mapAgain(w, r, p, p.L.T("map.import.bad", err.Error()))
	}
	err = s.store.ImportOutlines(r.Context(), p.Actor.Scope(auth.PermBuildingsWrite), p.communityID, outlines)
	if shequ.ErrorCode(err) == shequ.EINVALID {
		msg := ""
		for k, v := range invalidFields(err) {
			msg = k + ": " + v
		}
		return s.mapAgain(w, r, p, p.L.T("map.import.bad", msg))
	}
	if err != nil {
		return err
	}
	s.changed()
	http.Redirect(w, r, fmt.Sprintf("/map?done=imported&n=%d", len(outlines)), http.StatusSeeOther)
	return nil
}

func (s *Server) mapAgain(w http.ResponseWriter, r *http.Request, p *pageData, problem string) error {
	r.URL.RawQuery = ""
	p.Self = "/map"
	view, err := s.mapView(r, p, problem)
	if err != nil {
		return err
	}
	s.render(w, r, p, view, http.StatusUnprocessableEntity)
	return nil
}
