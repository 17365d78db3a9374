package demo

import (
	"context"
	"fmt"

	"github.com/shequ/shequ/access"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/siteplan"
)

// accessOf puts controllers on the doors: each building's entrances, the
// two gates and the bicycle shed; the first building's entrances and the
// gates release on a fire. resident01 gets a card and a phone key, and a
// cleaner a card for the morning round.
func (b *builder) accessOf(ctx context.Context) error {
	c := b.community.ID
	// at is where the door's controller stands (the zero point: not placed).
	add := func(d access.Door, at siteplan.Point) (access.Door, error) {
		if err := b.st.CreateDoor(ctx, b.everyone, &d); err != nil {
			return d, fmt.Errorf("door %s: %w", d.Name, err)
		}
		b.devices++
		dev, err := b.st.Device(ctx, b.everyone, d.DeviceID)
		if err != nil {
			return d, err
		}
		dev.Status, dev.Serial = community.DeviceOnline, fmt.Sprintf("DOOR-%03d", b.devices)
		dev.Lat, dev.Lng = at.Lat, at.Lng
		return d, b.st.UpdateDevice(ctx, b.everyone, &dev)
	}
	for bi, bd := range b.buildings {
		for e := 1; e <= entrances; e++ {
			at := entranceAt(siteplan.Point{Lat: bd.Lat, Lng: bd.Lng}, e)
			if _, err := add(access.Door{BuildingID: bd.ID, Name: fmt.Sprintf("%s%d单元门", bd.Name, e), Entrance: fmt.Sprint(e), FireRelease: bi == 0}, at); err != nil {
				return err
			}
		}
	}
	for _, g := range []access.Door{
		{CommunityID: c, Name: "小区东门", Kind: access.DoorGate, FireRelease: true},
		{CommunityID: c, Name: "小区西门", Kind: access.DoorGate, FireRelease: true},
		{CommunityID: c, Name: "自行车棚", Kind: access.DoorShed},
	} {
		if _, err := add(g, siteplan.Point{}); err != nil {
			return err
		}
	}
	for _, cr := range []access.Credential{
		{PersonID: b.residentPerson, Kind: access.KindCard, Value: "04A1B2C3", Label: "门禁卡"},
		{PersonID: b.residentPerson, Kind: access.KindPhone, Label: "手机钥匙"},
		{PersonID: b.residents[len(b.residents)-1].ID, Kind: access.KindCard, Role: access.RoleCleaner, Value: "0C1EA401", Label: "保洁（演示）"},
	} {
		if err := b.st.CreateCredential(ctx, b.everyone, &cr); err != nil {
			return fmt.Errorf("credential: %w", err)
		}
	}
	return nil
}
