package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

// stat is one number on the dashboard, with where to see its rows.
type stat struct {
	Key   string
	Count int
	Href  string
}

type dashboardBody struct {
	Stats   []stat
	Devices []stat
}

// dashboardPage greets the signed-in person and counts what their roles
// let them see. Each count is one cheap query asking for a single row.
func (s *Server) dashboardPage(r *http.Request, p *pageData) (string, error) {
	ctx := r.Context()
	a := p.Actor
	p.Title = p.L.T("home.title")
	one := shequ.Page{Limit: 1}
	var b dashboardBody

	counts := []struct {
		key, href string
		perm      auth.Permission
		count     func(context.Context, auth.Scope) (int, error)
	}{
		{"home.communities", "", auth.PermCommunitiesRead, func(ctx context.Context, sc auth.Scope) (int, error) {
			l, err := s.store.ListCommunities(ctx, sc, one)
			return l.Total, err
		}},
		{"home.grids", "", auth.PermGridsRead, func(ctx context.Context, sc auth.Scope) (int, error) {
			l, err := s.store.ListGrids(ctx, sc, community.Filter{Page: one})
			return l.Total, err
		}},
		{"home.buildings", "", auth.PermBuildingsRead, func(ctx context.Context, sc auth.Scope) (int, error) {
			l, err := s.store.ListBuildings(ctx, sc, community.Filter{Page: one})
			return l.Total, err
		}},
		{"home.homes", "/homes", auth.PermHomesRead, func(ctx context.Context, sc auth.Scope) (int, error) {
			l, err := s.store.ListHomes(ctx, sc, community.Filter{Page: one})
			return l.Total, err
		}},
		{"home.people", "/people", auth.PermPeopleRead, func(ctx context.Context, sc auth.Scope) (int, error) {
			l, err := s.store.ListPeople(ctx, sc, community.Filter{Page: one})
			return l.Total, err
		}},
		// The monitoring centre and grid workers look after people living
		// alone first.
		{"home.livingalone", "/people?tag=" + community.TagLivingAlone, auth.PermPeopleRead, func(ctx context.Context, sc auth.Scope) (int, error) {
			l, err := s.store.ListPeople(ctx, sc, community.Filter{Tag: community.TagLivingAlone, Page: one})
			return l.Total, err
		}},
		{"home.associations", "/associations", auth.PermAssociationsRead, func(ctx context.Context, sc auth.Scope) (int, error) {
			l, err := s.store.ListAssociations(ctx, sc, community.Filter{Page: one})
			return l.Total, err
		}},
	}
	// Field staff see first where they are sent.
	if a.Can(auth.PermIncidentAttend) && !a.Can(auth.PermIncidentHandle) {
		l, err := s.myDispatches(ctx, a, one)
		if err != nil {
			return "", err
		}
		b.Stats = append(b.Stats, stat{Key: "home.dispatches", Count: l.Total, Href: "/my/dispatches"})
	}
	for _, c := range counts {
		if !a.Can(c.perm) {
			continue
		}
		n, err := c.count(ctx, a.Scope(c.perm))
		if err != nil {
			return "", err
		}
		b.Stats = append(b.Stats, stat{Key: c.key, Count: n, Href: c.href})
	}

	if a.Can(auth.PermDevicesRead) {
		sc := a.Scope(auth.PermDevicesRead)
		for _, kind := range community.DeviceKinds {
			l, err := s.store.ListDevices(ctx, sc, community.Filter{Kind: kind, Page: one})
			if err != nil {
				return "", err
			}
			if l.Total == 0 {
				continue
			}
			b.Devices = append(b.Devices, stat{Key: "kind." + kind, Count: l.Total, Href: "/devices?kind=" + url.QueryEscape(kind)})
		}
		for _, status := range []string{community.DeviceOffline, community.DeviceFault} {
			l, err := s.store.ListDevices(ctx, sc, community.Filter{Status: status, Page: one})
			if err != nil {
				return "", err
			}
			b.Devices = append(b.Devices, stat{Key: "home.devices." + status, Count: l.Total, Href: "/devices?status=" + url.QueryEscape(status)})
		}
	}
	p.Body = b
	return "common/home", nil
}
