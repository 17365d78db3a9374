package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

// clockYear is the demo's "now" for ages, fixed so that every load is alike.
func (b *builder) clockYear() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }

// devicesOf places the community's devices as the report counts them: 112
// cameras at compound and building entrances, 12 WiFi access points by
// building layout and a loudspeaker at the centre of each of the 14 grids.
func (b *builder) devicesOf(ctx context.Context) error {
	c := b.community.ID
	add := func(d community.Device) error {
		d.CommunityID = c
		if err := b.st.CreateDevice(ctx, b.everyone, &d); err != nil {
			return fmt.Errorf("device %s: %w", d.Name, err)
		}
		b.devices++
		return nil
	}
	cam := 0
	for _, bd := range b.buildings {
		for _, spot := range []string{"1单元入口", "2单元入口", "楼下车棚"} {
			cam++
			if err := add(community.Device{Kind: community.DeviceCamera, Name: fmt.Sprintf("摄像机%03d %s%s", cam, bd.Name, spot),
				BuildingID: bd.ID, Location: bd.Name + spot, Lat: bd.Lat, Lng: bd.Lng,
				Address: fmt.Sprintf("rtsp://cam%03d.demo.invalid/stream1", cam), Serial: fmt.Sprintf("CAM-%04d", cam)}); err != nil {
				return err
			}
		}
	}
	for gi, g := range b.grids {
		for _, gate := range []string{"小区东门", "小区西门"} {
			cam++
			if err := add(community.Device{Kind: community.DeviceCamera, Name: fmt.Sprintf("摄像机%03d %s%s", cam, g.Name, gate),
				GridID: g.ID, Location: g.Name + gate, Lat: baseLat + float64(gi/7)*0.0009, Lng: baseLng + float64(gi%7)*0.0011 - 0.0004,
				Address: fmt.Sprintf("rtsp://cam%03d.demo.invalid/stream1", cam), Serial: fmt.Sprintf("CAM-%04d", cam)}); err != nil {
				return err
			}
		}
	}
	for i := 0; i < 12; i++ {
		bd := b.buildings[(i*len(b.buildings))/12]
		if err := add(community.Device{Kind: community.DeviceWiFiAP, Name: fmt.Sprintf("无线AP%02d %s", i+1, bd.Name), BuildingID: bd.ID,
			Location: bd.Name + "楼顶", Lat: bd.Lat, Lng: bd.Lng, Serial: fmt.Sprintf("AP-%02d", i+1)}); err != nil {
			return err
		}
	}
	for gi, g := range b.grids {
		// The grid's centre point: midway between its two buildings.
		b1, b2 := b.buildings[gi*buildingsPerGrid], b.buildings[gi*buildingsPerGrid+1]
		if err := add(community.Device{Kind: community.DeviceSpeaker, Name: fmt.Sprintf("广播%02d %s中心", gi+1, g.Name), GridID: g.ID,
			Location: g.Name + "中心点", Lat: (b1.Lat + b2.Lat) / 2, Lng: (b1.Lng + b2.Lng) / 2, Serial: fmt.Sprintf("SPK-%02d", gi+1)}); err != nil {
			return err
		}
	}
	return nil
}

// staff are the community's own people; they exist before the grids so
// that grids can name their worker.
func (b *builder) staff(ctx context.Context) error {
	c := b.community.ID
	users := []auth.User{
		{Username: "director", DisplayName: "社区主任（演示）", Grants: []auth.Grant{{Role: auth.RoleAdmin, CommunityID: c}}},
		{Username: "operator", DisplayName: "监控中心值班员（演示）", Grants: []auth.Grant{{Role: auth.RoleOperator, CommunityID: c}}},
		{Username: "police", DisplayName: "社区民警（演示）", Grants: []auth.Grant{{Role: auth.RolePolice, CommunityID: c}}},
		{Username: "broadcaster", DisplayName: "广播管理员（演示）", Grants: []auth.Grant{{Role: auth.RoleBroadcastManager, CommunityID: c}}},
	}
	for i := range users {
		users[i].Phone = b.phone()
		if err := b.st.CreateUser(ctx, b.everyone, &users[i], ""); err != nil {
			return fmt.Errorf("user %s: %w", users[i].Username, err)
		}
	}
	return nil
}

// accounts makes the grid workers, the resident and the partner, which
// need the grids, homes and people to exist.
func (b *builder) accounts(ctx context.Context) error {
	c := b.community.ID
	for gi, g := range b.grids {
		u := auth.User{Username: fmt.Sprintf("grid%02d", gi+1), DisplayName: fmt.Sprintf("%s网格员（演示）", g.Name), Phone: b.phone(),
			Grants: []auth.Grant{{Role: auth.RoleGridWorker, CommunityID: c, GridID: g.ID}}}
		if err := b.st.CreateUser(ctx, b.everyone, &u, ""); err != nil {
			return fmt.Errorf("grid worker %d: %w", gi+1, err)
		}
		g.WorkerUserID = u.ID
		if err := b.st.UpdateGrid(ctx, b.everyone, &g); err != nil {
			return err
		}
		b.grids[gi] = g
	}
	res := auth.User{Username: "resident01", DisplayName: "居民（演示）", PersonID: b.residentPerson,
		Grants: []auth.Grant{{Role: auth.RoleResident, CommunityID: c}}}
	if err := b.st.CreateUser(ctx, b.everyone, &res, ""); err != nil {
		return fmt.Errorf("resident01: %w", err)
	}
	hr := community.Partner{CommunityID: c, Name: "东路人力资源服务有限公司（演示）", Kind: "hr_company"}
	if err := b.st.CreatePartner(ctx, b.everyone, &hr); err != nil {
		return err
	}
	u := auth.User{Username: "hr-partner", DisplayName: "人力资源公司（演示）",
		Grants: []auth.Grant{{Role: auth.RolePartner, CommunityID: c, PartnerID: hr.ID}}}
	if err := b.st.CreateUser(ctx, b.everyone, &u, ""); err != nil {
		return fmt.Errorf("hr-partner: %w", err)
	}
	return nil
}

// alarmOf registers resident01's alarm panel and a window sensor, with the
// names the family calls the doors and windows by, so that the alarm pages
// show "客厅窗", not "zone 02".
//
// The panel is the home's entry in the device registry; the sensor gets
// its own entry when registered. No device is checked in the demo: their
// addresses are invented, so the health wall shows them grey (not checked)
// rather than a status nobody measured.
func (b *builder) alarmOf(ctx context.Context) error {
	reg, err := b.st.ListDevices(ctx, b.everyone, community.Filter{Kind: community.DeviceAlarmPanel, HomeID: b.residentHome.ID})
	if err != nil {
		return err
	}
	var device int64
	if len(reg.Items) > 0 {
		device = reg.Items[0].ID
	}
	p := alarm.Panel{HomeID: b.residentHome.ID, Account: "D0101", SupervisionSeconds: 0, DeviceID: device,
		Zones: map[string]string{"01": "入户门", "02": "客厅窗", "03": "卧室窗", "04": "客厅"}}
	if err := b.st.CreatePanel(ctx, b.everyone, &p); err != nil {
		return fmt.Errorf("alarm panel: %w", err)
	}
	x := alarm.Sensor{HomeID: b.residentHome.ID, Kind: alarm.SensorWindow, Zone: "kitchen", ZoneName: "厨房窗", MQTTName: "demo-0101-kitchen-window"}
	if err := b.st.CreateSensor(ctx, b.everyone, &x); err != nil {
		return fmt.Errorf("alarm sensor: %w", err)
	}
	b.devices++ // the sensor's registry entry
	if device == 0 {
		b.devices++ // and the panel's
	}
	return nil
}

// associationsOf makes the eight associations, each chaired by a cadre
// account and with members drawn from grid workers and residents.
func (b *builder) associationsOf(ctx context.Context) error {
	c := b.community.ID
	for i, a := range associations {
		chair := auth.User{Username: "assoc-" + a.key, DisplayName: a.name + "会长（演示）"}
		if err := b.st.CreateUser(ctx, b.everyone, &chair, ""); err != nil {
			return fmt.Errorf("chair of %s: %w", a.key, err)
		}
		// The association comes first, then the chair's grant naming it:
		// only then is the chair of the community, as chair and member.
		as := community.Association{CommunityID: c, Key: a.key, Name: a.name, NameEn: a.nameEn}
		worker := b.grids[i%len(b.grids)]
		members := []community.Member{{UserID: worker.WorkerUserID, Name: worker.Name + "网格员", Kind: "grid_worker", Role: "member"}}
		for _, kind := range []string{"deputy", "building_head", "volunteer", "volunteer"} {
			members = append(members, community.Member{Name: b.name(), Kind: kind, Role: "member"})
		}
		as.Members = members
		if err := b.st.CreateAssociation(ctx, b.everyone, &as); err != nil {
			return fmt.Errorf("association %s: %w", a.key, err)
		}
		// The chair acts for the association: the grant names it.
		if err := b.st.AddGrant(ctx, b.everyone, &auth.Grant{UserID: chair.ID, Role: auth.RoleAssociationChair, CommunityID: c, AssociationID: as.ID}); err != nil {
			return err
		}
		as.ChairUserID = chair.ID
		as.Members = append([]community.Member{{UserID: chair.ID, Name: chair.DisplayName, Kind: "cadre", Role: "chair"}}, members...)
		if err := b.st.UpdateAssociation(ctx, b.everyone, &as); err != nil {
			return fmt.Errorf("chair of %s: %w", a.key, err)
		}
	}
	return nil
}
