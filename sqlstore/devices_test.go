package sqlstore_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/device"
	"github.com/shequ/shequ/rtsp/rtsptest"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// stepUntil advances the clock a second at a time, running the scheduler,
// until ok holds; it fails after limit seconds.
func stepUntil(t *testing.T, s *device.Scheduler, clock *shequtest.Clock, limit time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	for waited := time.Duration(0); waited <= limit; waited += time.Second {
		mustOK(t, s.Step(t.Context()))
		s.Wait()
		mustOK(t, s.Step(t.Context())) // store what the checks found
		if ok() {
			return waited
		}
		clock.Advance(time.Second)
	}
	t.Fatalf("%s: not within %s", what, limit)
	return 0
}

func TestDeviceHealthDoneWhen(t *testing.T) {
	srv := rtsptest.NewServer(t)
	srv.Username, srv.Password = "admin", "cam-pass"
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "dh")
		c := tr.community.ID
		admin := auth.Scope{{CommunityID: c}}

		cam := community.Device{CommunityID: c, Kind: community.DeviceCamera, Name: "摄像机001 A栋1单元入口", BuildingID: tr.building1.ID, Status: community.DeviceOnline}
		mustOK(t, st.CreateDevice(ctx, admin, &cam))
		if cam.Status != community.DeviceUnknown {
			t.Fatalf("a new device is %s, want unknown until checked", cam.Status)
		}
		got, err := st.SetDeviceCheck(ctx, admin, cam.ID, &device.Check{Kind: "rtsp", URL: srv.URL(), Username: "admin", Password: "cam-pass", IntervalSeconds: 10})
		mustOK(t, err)
		if got.Check == nil || !got.Check.HasSecret || got.Check.Target != srv.URL() {
			t.Fatalf("check not kept: %+v", got.Check)
		}
		// The password is sealed: not in the row as given.
		// 40 access points of building B behind one switch (a TCP port).
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		mustOK(t, err)
		go acceptAll(ln)
		addr := ln.Addr().String()
		var aps []community.Device
		for i := range 40 {
			d := community.Device{CommunityID: c, Kind: community.DeviceWiFiAP, Name: "AP B栋 " + string(rune('A'+i%26)) + string(rune('0'+i/26)), BuildingID: tr.building2.ID}
			mustOK(t, st.CreateDevice(ctx, admin, &d))
			_, err := st.SetDeviceCheck(ctx, admin, d.ID, &device.Check{Kind: "tcp", Address: addr, IntervalSeconds: 10})
			mustOK(t, err)
			aps = append(aps, d)
		}

		policy := device.Policy{Grace: 20 * time.Second, ClearAfter: 15 * time.Second}
		s := &device.Scheduler{Store: st, Checker: &device.Prober{Now: clock.Now}, Clock: clock, Policy: policy, Reload: time.Second, Concurrency: 16}
		status := func(id int64) community.Device {
			d, err := st.Device(ctx, admin, id)
			mustOK(t, err)
			return d
		}
		stepUntil(t, s, clock, 11*time.Second, "camera online", func() bool { return status(cam.ID).Status == community.DeviceOnline })
		if d := status(cam.ID); d.LastSeenAt == nil || d.Detail != "H264 video" || d.Uptime24h == nil || *d.Uptime24h != 100 {
			t.Fatalf("online camera: %+v", d)
		}

		// The camera loses power: offline within one interval, one trouble
		// incident within the interval plus the grace.
		srv.Stop()
		stepUntil(t, s, clock, 11*time.Second, "camera offline", func() bool { return status(cam.ID).Status == community.DeviceOffline })
		d := status(cam.ID)
		if d.LastError == "" || d.StatusSince == nil {
			t.Fatalf("offline camera says no reason: %+v", d)
		}
		openTrouble := func() []device.Trouble {
			ts, err := st.OpenTrouble(ctx)
			mustOK(t, err)
			return ts
		}
		stepUntil(t, s, clock, policy.Grace+time.Second, "trouble incident", func() bool { return len(openTrouble()) == 1 })
		tr1 := openTrouble()[0]
		inc, err := st.Incident(ctx, admin, tr1.IncidentID)
		mustOK(t, err)
		if inc.Kind != alarm.KindTrouble || !inc.Open() || !strings.Contains(inc.Title, "摄像机001") {
			t.Fatalf("incident: %+v", inc)
		}
		listed, err := st.TroubleDevices(ctx, admin, inc.ID)
		mustOK(t, err)
		if len(listed) != 1 || listed[0].DeviceID != cam.ID {
			t.Fatalf("incident lists %+v", listed)
		}
		// More checks while down open nothing more.
		for range 15 {
			mustOK(t, s.Step(ctx))
			s.Wait()
			clock.Advance(time.Second)
		}
		if n := len(openTrouble()); n != 1 {
			t.Fatalf("%d open trouble incidents, want 1", n)
		}

		// It comes back: online, and the incident clears after the hold.
		srv.Start()
		stepUntil(t, s, clock, 11*time.Second, "camera back", func() bool { return status(cam.ID).Status == community.DeviceOnline })
		stepUntil(t, s, clock, policy.ClearAfter+time.Second, "incident cleared", func() bool { return len(openTrouble()) == 0 })
		inc, err = st.Incident(ctx, admin, tr1.IncidentID)
		mustOK(t, err)
		if inc.Open() || inc.Resolution != "technical_fault" {
			t.Fatalf("incident after recovery: %+v", inc)
		}
		if d := status(cam.ID); d.LastError == "" || d.Uptime24h == nil || *d.Uptime24h >= 100 {
			t.Fatalf("recovered camera should keep its last failure and lower uptime: %+v", d)
		}

		// Building B's power fails: 40 devices, one incident listing them.
		ln.Close()
		stepUntil(t, s, clock, 11*time.Second+policy.Grace+time.Second, "building B trouble", func() bool {
			ts := openTrouble()
			return len(ts) == 1 && len(ts[0].Devices) == 40
		})
		stepUntil(t, s, clock, 15*time.Second, "no second incident", func() bool { return len(openTrouble()) == 1 })
		l, err := st.ListIncidents(ctx, admin, alarm.IncidentFilter{})
		mustOK(t, err)
		open := 0
		for _, i := range l.Items {
			if i.Open() {
				open++
				if !strings.Contains(i.Title, "B栋 40 devices offline") {
					t.Errorf("title %q", i.Title)
				}
			}
		}
		if open != 1 {
			t.Fatalf("%d open incidents for one building's power cut, want 1", open)
		}
		h, err := st.DeviceHealth(ctx, admin, c)
		mustOK(t, err)
		if h[community.DeviceWiFiAP][community.DeviceOffline] != 40 || h[community.DeviceCamera][community.DeviceOnline] != 1 {
			t.Fatalf("health counts %v", h)
		}
		_ = aps
	})
}

func acceptAll(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

func TestAlarmDevicesJoinTheRegistry(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "reg")
		admin := auth.Scope{{CommunityID: tr.community.ID}}
		p := alarm.Panel{HomeID: tr.home1.ID, Account: "7001", SupervisionSeconds: 60}
		mustOK(t, st.CreatePanel(ctx, admin, &p))
		x := alarm.Sensor{HomeID: tr.home1.ID, Kind: "door_contact", Zone: "1", MQTTName: "door-7001"}
		mustOK(t, st.CreateSensor(ctx, admin, &x))
		if p.DeviceID == 0 || x.DeviceID == 0 {
			t.Fatalf("panel device %d, sensor device %d", p.DeviceID, x.DeviceID)
		}
		l, err := st.ListDevices(ctx, admin, community.Filter{})
		mustOK(t, err)
		kinds := map[string]community.Device{}
		for _, d := range l.Items {
			kinds[d.Kind] = d
		}
		if kinds[community.DeviceAlarmPanel].HomeID != tr.home1.ID || kinds[community.DeviceSensor].BuildingID != tr.building1.ID {
			t.Fatalf("registry: %+v", l.Items)
		}
		// Their status comes from the alarm side's evidence: the panel has
		// never been heard from (unknown), the sensor is available.
		ts, err := st.HealthTargets(ctx)
		mustOK(t, err)
		byID := map[int64]device.Target{}
		for _, t := range ts {
			byID[t.DeviceID] = t
		}
		if e := byID[p.DeviceID].Evidence; e == nil || e.Status != community.DeviceUnknown {
			t.Fatalf("panel evidence %+v", e)
		}
		if e := byID[x.DeviceID].Evidence; e == nil || e.Status != community.DeviceOnline {
			t.Fatalf("sensor evidence %+v", e)
		}
		// The broadcast side's hook.
		spk := community.Device{CommunityID: tr.community.ID, Kind: community.DeviceSpeaker, Name: "广播01"}
		mustOK(t, st.CreateDevice(ctx, admin, &spk))
		mustOK(t, st.ReportDeviceStatus(ctx, spk.ID, device.Result{Status: community.DeviceOffline, Reason: "stream not reaching the speaker"}))
		got, err := st.Device(ctx, admin, spk.ID)
		mustOK(t, err)
		if got.Status != community.DeviceOffline || got.LastError != "stream not reaching the speaker" {
			t.Fatalf("speaker %+v", got)
		}
		// A reported device is watched for trouble, never probed.
		s := &device.Scheduler{Store: st, Checker: &device.Prober{Now: clock.Now}, Clock: clock, Policy: device.Policy{Grace: time.Minute, ClearAfter: time.Minute}}
		mustOK(t, s.Step(ctx))
		s.Wait()
		clock.Advance(61 * time.Second)
		mustOK(t, s.Step(ctx))
		s.Wait()
		mustOK(t, s.Step(ctx))
		open, err := st.OpenTrouble(ctx)
		mustOK(t, err)
		if len(open) != 1 || len(open[0].Devices) != 1 || open[0].Devices[0] != spk.ID {
			t.Fatalf("speaker trouble: %+v", open)
		}
		mustOK(t, st.ReportDeviceStatus(ctx, spk.ID, device.Result{Status: community.DeviceOnline}))
		clock.Advance(61 * time.Second)
		mustOK(t, s.Step(ctx)) // reload: the store's state of a reported device wins
		s.Wait()
		clock.Advance(16 * time.Second)
		mustOK(t, s.Step(ctx))
		open, err = st.OpenTrouble(ctx)
		mustOK(t, err)
		if len(open) != 0 {
			t.Fatalf("speaker back, trouble still open: %+v", open)
		}
		_ = context.Background
	})
}

// TestMigration17RegistersAlarmDevices: panels and sensors registered
// before device health get their registry entries, and a hand-set
// "fault" becomes unknown.
func TestMigration17RegistersAlarmDevices(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			ctx := t.Context()
			st, clock := storeAtVersion(t, d, 16)
			tr := makePlaces(t, st, "m17")
			db := st.DB()
			now := clock.Now()
			_, err := db.ExecContext(ctx, "INSERT INTO alarm_panels (community_id, home_id, account, created_at) VALUES ($1, $2, $3, $4)", tr.community.ID, tr.home1.ID, "ABC1", now)
			mustOK(t, err)
			_, err = db.ExecContext(ctx, "INSERT INTO alarm_sensors (community_id, home_id, kind, zone, mqtt_name, created_at) VALUES ($1, $2, $3, $4, $5, $6)", tr.community.ID, tr.home2.ID, "door_contact", "1", "door-b", now)
			mustOK(t, err)
			_, err = db.ExecContext(ctx, "INSERT INTO devices (community_id, kind, name, status, created_at, updated_at) VALUES ($1, 'camera', 'old cam', 'fault', $2, $2)", tr.community.ID, now)
			mustOK(t, err)
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			l, err := st.ListDevices(ctx, auth.Scope{{CommunityID: tr.community.ID}}, community.Filter{})
			mustOK(t, err)
			byKind := map[string]community.Device{}
			for _, x := range l.Items {
				byKind[x.Kind] = x
			}
			if p := byKind[community.DeviceAlarmPanel]; p.HomeID != tr.home1.ID || p.BuildingID != tr.building1.ID || p.Serial != "ABC1" || p.Status != community.DeviceUnknown {
				t.Errorf("panel: %+v", p)
			}
			if x := byKind[community.DeviceSensor]; x.HomeID != tr.home2.ID || x.GridID != tr.grid2.ID {
				t.Errorf("sensor: %+v", x)
			}
			if c := byKind[community.DeviceCamera]; c.Status != community.DeviceUnknown {
				t.Errorf("a hand-set fault stayed %q", c.Status)
			}
			var unlinked int
			mustOK(t, db.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM alarm_panels WHERE device_id IS NULL) + (SELECT COUNT(*) FROM alarm_sensors WHERE device_id IS NULL)").Scan(&unlinked))
			if unlinked != 0 {
				t.Errorf("%d panels or sensors left out of the registry", unlinked)
			}
		})
	}
}
