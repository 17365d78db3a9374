package web

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

// --- the device health wall ---

// wallGroup is one building's (or the grounds') devices of one kind.
type wallGroup struct {
	Place string
	Kind  string
	Tiles []wallTile
	Down  int
}

// wallTile is a device with its uptimes worded ("99.3"), "" before any
// check.
type wallTile struct {
	community.Device
	Up24, Up30 string
}

func percent(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', 1, 64)
}

// wallCount is "112 个摄像头 · 3 个离线" for one kind.
type wallCount struct {
	Kind                              string
	Total, Offline, Degraded, Unknown int
}

type devicesBody struct {
	Kind, Status    string
	Building        int64
	Buildings       []community.Building
	Kinds, Statuses []string
	Counts          []wallCount
	Groups          []wallGroup
	Shown, Total    int
	// Live follows the live stream, which only those who read alarms may
	// open; others (the broadcaster) see the wall as it was loaded.
	Live     bool
	LiveFrom int64
}

// wallLimit is how many devices the wall shows at once: a community's
// whole estate (112 cameras, their APs and speakers) fits; panels and
// sensors of every home are for the filters.
const wallLimit = 2000

func (s *Server) devicesPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("devices.title")
	b := devicesBody{Kind: q.Get("kind"), Status: q.Get("status"), Kinds: community.DeviceKinds, Statuses: community.DeviceStatuses}
	sc := p.Actor.Scope(auth.PermDevicesRead)
	health, err := s.store.DeviceHealth(ctx, sc, 0)
	if err != nil {
		return "", err
	}
	for _, k := range community.DeviceKinds {
		c := wallCount{Kind: k, Offline: health[k][community.DeviceOffline], Degraded: health[k][community.DeviceDegraded], Unknown: health[k][community.DeviceUnknown]}
		for _, n := range health[k] {
			c.Total += n
		}
		if c.Total > 0 {
			b.Counts = append(b.Counts, c)
		}
	}
	f := community.Filter{Kind: b.Kind, Status: b.Status}
	f.Page.Limit = wallLimit
	if id, err := strconv.ParseInt(q.Get("building"), 10, 64); err == nil {
		f.BuildingID, b.Building = id, id
	}
	bs, err := s.store.ListBuildings(ctx, p.Actor.Scope(auth.PermBuildingsRead), community.Filter{Page: shequ.Page{Limit: 500}})
	if err != nil {
		return "", err
	}
	b.Buildings = bs.Items
	l, err := s.store.ListDevices(ctx, sc, f)
	if err != nil {
		return "", err
	}
	b.Shown, b.Total = len(l.Items), l.Total
	groups := map[string]*wallGroup{}
	for _, d := range l.Items {
		place := d.BuildingName
		if place == "" {
			place = p.L.T("wall.grounds")
		}
		key := fmt.Sprintf("%s\x00%s", place, d.Kind)
		g := groups[key]
		if g == nil {
			g = &wallGroup{Place: place, Kind: d.Kind}
			groups[key] = g
		}
		g.Tiles = append(g.Tiles, wallTile{Device: d, Up24: percent(d.Uptime24h), Up30: percent(d.Uptime30d)})
		if d.Status == community.DeviceOffline {
			g.Down++
		}
	}
	for _, g := range groups {
		b.Groups = append(b.Groups, *g)
	}
	// Trouble first: groups with devices down lead, then by place.
	sort.Slice(b.Groups, func(i, j int) bool {
		gi, gj := b.Groups[i], b.Groups[j]
		if (gi.Down > 0) != (gj.Down > 0) {
			return gi.Down > 0
		}
		if gi.Place != gj.Place {
			return gi.Place < gj.Place
		}
		return gi.Kind < gj.Kind
	})
	if b.Live = p.Actor.Can(auth.PermAlarmRead); b.Live {
		if b.LiveFrom, err = s.store.LastLiveID(ctx); err != nil {
			return "", err
		}
	}
	p.Body = b
	return "staff/devices", nil
}
