package device

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/shequ/shequ/community"
)

// Policy says when offline devices become a trouble incident.
type Policy struct {
	// Grace is how long a device must stay offline before it is trouble:
	// a camera rebooting is not an incident.
	Grace time.Duration
	// ClearAfter is how long every device of an incident must stay back
	// before the incident clears: a device flapping up and down keeps its
	// one incident instead of opening and closing one per flap.
	ClearAfter time.Duration
}

// DefaultPolicy is a two-minute grace and a two-minute hold on clearing.
var DefaultPolicy = Policy{Grace: 2 * time.Minute, ClearAfter: 2 * time.Minute}

// Trouble is an open trouble incident of devices.
type Trouble struct {
	IncidentID  int64
	CommunityID int64
	Group       string  // the place its devices share, see GroupOf
	Devices     []int64 // every device it has listed
}

// GroupOf is the place a device's outage is grouped by: its building,
// else its grid, else its community. Devices of one building losing power
// together then make one incident.
func GroupOf(t Target) string {
	switch {
	case t.BuildingID != 0:
		return fmt.Sprintf("building:%d", t.BuildingID)
	case t.GridID != 0:
		return fmt.Sprintf("grid:%d", t.GridID)
	}
	return fmt.Sprintf("community:%d", t.CommunityID)
}

// TroubleAction is one change to trouble incidents.
type TroubleAction struct {
	// Open (IncidentID 0) a new incident for Group, or Add Devices to
	// IncidentID's, or Clear IncidentID's.
	IncidentID  int64
	CommunityID int64
	Group       string
	Devices     []Target // the devices newly listed (Open, Add)
	Clear       bool
}

// PlanTrouble decides what the trouble incidents need, given every
// device's current state and the open incidents: devices offline past the
// grace period and in no open incident join their group's open incident
// or, when it has none, open one; an incident whose devices have all been
// back for ClearAfter clears. Actions come sorted for repeatable output.
func PlanTrouble(targets []Target, open []Trouble, now time.Time, p Policy) []TroubleAction {
	listed := map[int64]int64{} // device → incident
	byGroup := map[string]int64{}
	for _, t := range open {
		byGroup[t.Group] = t.IncidentID
		for _, d := range t.Devices {
			listed[d] = t.IncidentID
		}
	}
	byID := map[int64]Target{}
	pending := map[string][]Target{}
	for _, t := range targets {
		byID[t.DeviceID] = t
		if _, in := listed[t.DeviceID]; in {
			continue
		}
		if t.State.Status == community.DeviceOffline && t.State.Since != nil && now.Sub(*t.State.Since) >= p.Grace {
			g := GroupOf(t)
			pending[g] = append(pending[g], t)
		}
	}
	var out []TroubleAction
	for g, ts := range pending {
		sort.Slice(ts, func(i, j int) bool { return ts[i].DeviceID < ts[j].DeviceID })
		out = append(out, TroubleAction{IncidentID: byGroup[g], CommunityID: ts[0].CommunityID, Group: g, Devices: ts})
	}
	for _, t := range open {
		back := true
		for _, d := range t.Devices {
			s, ok := byID[d]
			if !ok {
				continue // removed from the registry: nothing to wait for
			}
			if s.State.Status == community.DeviceOffline || s.State.Since == nil || now.Sub(*s.State.Since) < p.ClearAfter {
				back = false
				break
			}
		}
		if back && !slices.ContainsFunc(out, func(a TroubleAction) bool { return a.IncidentID == t.IncidentID }) {
			out = append(out, TroubleAction{IncidentID: t.IncidentID, CommunityID: t.CommunityID, Group: t.Group, Clear: true})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].IncidentID < out[j].IncidentID
	})
	return out
}

// TroubleDevice is a device a trouble incident lists, with its status now.
type TroubleDevice struct {
	DeviceID  int64     `json:"device_id"`
	Name      string    `json:"name"`
	DownSince time.Time `json:"down_since"`
	ListedAt  time.Time `json:"listed_at"`
	Status    string    `json:"status"`
}
