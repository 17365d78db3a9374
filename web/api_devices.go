package web

import (
	"context"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/device"
)

// deviceHealthStore is what device health needs of the store.
type deviceHealthStore interface {
	SetDeviceCheck(ctx context.Context, scope auth.Scope, id int64, c *device.Check) (community.Device, error)
	DeviceHealth(ctx context.Context, scope auth.Scope, communityID int64) (map[string]map[string]int, error)
	TroubleDevices(ctx context.Context, scope auth.Scope, incidentID int64) ([]device.TroubleDevice, error)
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
	Status      string  `json:"status,omitempty" doc:"Ignored: a device's status is measured, never set" enum:"unknown,online,offline,degraded,fault,"`
	// Check configures how the device is checked.
	Check *checkBody `json:"check,omitempty" doc:"How the device is checked; kind none removes the check"`
}

type checkBody struct {
	Kind            string `json:"kind" enum:"rtsp,http,tcp,snmp,none"`
	URL             string `json:"url,omitempty" doc:"rtsp:// for cameras, http(s):// for web checks"`
	Address         string `json:"address,omitempty" doc:"host:port for tcp and snmp"`
	Username        string `json:"username,omitempty"`
	Password        string `json:"password,omitempty" doc:"Sealed at rest, never returned; empty keeps the stored one"`
	Community       string `json:"community,omitempty" doc:"SNMP v2c community; sealed like a password"`
	ClientsOID      string `json:"clients_oid,omitempty" doc:"SNMP object counting associated clients, where the AP's MIB has one"`
	ExpectStatus    int    `json:"expect_status,omitempty" doc:"HTTP status meaning up; default any below 400"`
	IntervalSeconds int    `json:"interval_seconds,omitempty" doc:"Default 60"`
	TimeoutSeconds  int    `json:"timeout_seconds,omitempty" doc:"Default 5"`
}

func (c checkBody) check() *device.Check {
	if c.Kind == "none" {
		return nil
	}
	return &device.Check{Kind: c.Kind, URL: c.URL, Address: c.Address, Username: c.Username, Password: c.Password, Community: c.Community,
		ClientsOID: c.ClientsOID, ExpectStatus: c.ExpectStatus, IntervalSeconds: c.IntervalSeconds, TimeoutSeconds: c.TimeoutSeconds}
}

func (b deviceBody) device(id int64) community.Device {
	return community.Device{ID: id, CommunityID: b.CommunityID, Kind: b.Kind, Name: b.Name, Serial: b.Serial, Address: b.Address,
		Location: b.Location, Lat: b.Lat, Lng: b.Lng, GridID: b.GridID, BuildingID: b.BuildingID, HomeID: b.HomeID, Status: b.Status}
}

// deviceUpdateBody is a PUT's: the registration (kind and name given), the
// check, or both.
type deviceUpdateBody struct {
	Kind       string     `json:"kind,omitempty" enum:"camera,wifi_ap,speaker,alarm_panel,sensor,door_controller,"`
	Name       string     `json:"name,omitempty"`
	Serial     string     `json:"serial,omitempty"`
	Address    string     `json:"address,omitempty"`
	Location   string     `json:"location,omitempty"`
	Lat        float64    `json:"lat,omitempty"`
	Lng        float64    `json:"lng,omitempty"`
	GridID     int64      `json:"grid_id,omitempty"`
	BuildingID int64      `json:"building_id,omitempty"`
	HomeID     int64      `json:"home_id,omitempty"`
	Status     string     `json:"status,omitempty" doc:"Ignored: a device's status is measured, never set" enum:"unknown,online,offline,degraded,fault,"`
	Check      *checkBody `json:"check,omitempty" doc:"How the device is checked; kind none removes the check"`
}

// deviceHealth is GET /api/v1/devices/health's answer.
type deviceHealth struct {
	// Kinds counts devices by kind, then by status.
	Kinds map[string]map[string]int `json:"kinds"`
	// Total counts all devices by status.
	Total map[string]int `json:"total"`
}

func (s *Server) registerDeviceAPI() {
	handle(s, get("/api/v1/devices", auth.PermDevicesRead), "list-devices", "List devices with their measured health", "devices",
		func(ctx context.Context, in *struct {
			PageParams
			Kind     string `query:"kind" enum:"camera,wifi_ap,speaker,alarm_panel,sensor,door_controller,"`
			Status   string `query:"status" enum:"unknown,online,offline,degraded,"`
			Grid     int64  `query:"grid"`
			Building int64  `query:"building"`
			Home     int64  `query:"home"`
		}) (*listBody[community.Device], error) {
			f := in.filter()
			f.Kind, f.Status, f.GridID, f.BuildingID, f.HomeID = in.Kind, in.Status, in.Grid, in.Building, in.Home
			return list(s.store.ListDevices(ctx, scope(ctx, auth.PermDevicesRead), f))
		})
	handle(s, get("/api/v1/devices/health", auth.PermDevicesRead), "device-health", "Count devices by kind and status", "devices",
		func(ctx context.Context, in *struct {
			Community int64 `query:"community"`
		}) (*itemBody[deviceHealth], error) {
			k, err := s.store.DeviceHealth(ctx, scope(ctx, auth.PermDevicesRead), in.Community)
			if err != nil {
				return nil, err
			}
			h := deviceHealth{Kinds: k, Total: map[string]int{}}
			for _, st := range community.DeviceStatuses {
				h.Total[st] = 0
			}
			for _, byStatus := range k {
				for st, n := range byStatus {
					h.Total[st] += n
				}
			}
			return item(h, nil)
		})
	handle(s, get("/api/v1/devices/{id}", auth.PermDevicesRead), "get-device", "Get a device", "devices",
		func(ctx context.Context, in *IDParam) (*itemBody[community.Device], error) {
			return item(s.store.Device(ctx, scope(ctx, auth.PermDevicesRead), in.ID))
		})
	handle(s, post("/api/v1/devices", auth.PermDevicesWrite), "create-device", "Register a device", "devices",
		func(ctx context.Context, in *struct{ Body deviceBody }) (*itemBody[community.Device], error) {
			d := in.Body.device(0)
			sc := scope(ctx, auth.PermDevicesWrite)
			if err := s.store.CreateDevice(ctx, sc, &d); err != nil {
				return nil, err
			}
			if in.Body.Check != nil {
				return item(s.store.SetDeviceCheck(ctx, sc, d.ID, in.Body.Check.check()))
			}
			return item(d, nil)
		})
	handle(s, put("/api/v1/devices/{id}", auth.PermDevicesWrite), "update-device", "Update a device's registration or check", "devices",
		func(ctx context.Context, in *struct {
			IDParam
			Body deviceUpdateBody
		}) (*itemBody[community.Device], error) {
			sc := scope(ctx, auth.PermDevicesWrite)
			b := in.Body
			if b.Kind == "" && b.Name == "" && b.Check == nil {
				return nil, shequ.Invalid(map[string]string{"check": "give a check, or the registration (kind and name)"})
			}
			if b.Kind != "" || b.Name != "" {
				d := deviceBody{Kind: b.Kind, Name: b.Name, Serial: b.Serial, Address: b.Address, Location: b.Location, Lat: b.Lat, Lng: b.Lng,
					GridID: b.GridID, BuildingID: b.BuildingID, HomeID: b.HomeID}.device(in.ID)
				if err := s.store.UpdateDevice(ctx, sc, &d); err != nil {
					return nil, err
				}
			}
			if b.Check != nil {
				return item(s.store.SetDeviceCheck(ctx, sc, in.ID, b.Check.check()))
			}
			return item(s.store.Device(ctx, sc, in.ID))
		})
	handle(s, remove("/api/v1/devices/{id}", auth.PermDevicesWrite), "delete-device", "Remove a device", "devices",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.DeleteDevice(ctx, scope(ctx, auth.PermDevicesWrite), in.ID)
		})
	handle(s, get("/api/v1/incidents/{id}/devices", auth.PermAlarmRead), "incident-devices", "The devices a trouble incident lists", "alarm",
		func(ctx context.Context, in *IDParam) (*itemBody[[]device.TroubleDevice], error) {
			ds, err := s.store.TroubleDevices(ctx, scope(ctx, auth.PermAlarmRead), in.ID)
			if ds == nil {
				ds = []device.TroubleDevice{}
			}
			return item(ds, err)
		})
}

// deviceCollector exports device counts by kind and status to /metrics,
// read from the store at each scrape.
type deviceCollector struct{ store deviceHealthStore }

var deviceCountDesc = prometheus.NewDesc("shequ_devices", "Devices by kind and measured status.", []string{"kind", "status"}, nil)

func (c deviceCollector) Describe(ch chan<- *prometheus.Desc) { ch <- deviceCountDesc }

func (c deviceCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2e9)
	defer cancel()
	k, err := c.store.DeviceHealth(ctx, auth.Scope{{}}, 0)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(deviceCountDesc, err)
		return
	}
	for _, kind := range community.DeviceKinds {
		for _, st := range community.DeviceStatuses {
			ch <- prometheus.MustNewConstMetric(deviceCountDesc, prometheus.GaugeValue, float64(k[kind][st]), kind, strings.ToLower(st))
		}
	}
}
