package sqlstore_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// Two slots on the same zone at the same time on a shared day: the
// scheduler could put only one on the air, so the second is refused, on
// create and on update, naming the slot it clashes with.
func TestSlotDoubleBookedIsRefused(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "sb")
		c := tr.community.ID
		admin := auth.Scope{{CommunityID: c}}
		z := broadcast.Zone{CommunityID: c, Code: "all", Name: "全部"}
		mustOK(t, st.CreateZone(ctx, admin, &z))
		z2 := broadcast.Zone{CommunityID: c, Code: "east", Name: "东区"}
		mustOK(t, st.CreateZone(ctx, admin, &z2))
		morning := broadcast.Slot{CommunityID: c, Name: "早间", ZoneIDs: []int64{z.ID}, Days: []int{1, 2, 3, 4, 5, 6, 7}, Start: "07:00", Minutes: 30}
		mustOK(t, st.CreateSlot(ctx, admin, &morning))
		clash := broadcast.Slot{CommunityID: c, Name: "早间2", ZoneIDs: []int64{z.ID}, Days: []int{3}, Start: "07:10", Minutes: 30}
		err := st.CreateSlot(ctx, admin, &clash)
		if shequ.ErrorCode(err) != shequ.ECONFLICT || !strings.Contains(err.Error(), fmt.Sprint("slot ", morning.ID)) {
			t.Errorf("slot (07:10-07:40, Wed) over slot %d (07:00-07:30 daily) on zone %d: got %v, want a conflict naming slot %d", morning.ID, z.ID, err, morning.ID)
		}
		// Right after it, or on another zone: no clash.
		after := broadcast.Slot{CommunityID: c, Name: "早间3", ZoneIDs: []int64{z.ID}, Days: []int{3}, Start: "07:30", Minutes: 30}
		mustOK(t, st.CreateSlot(ctx, admin, &after))
		east := broadcast.Slot{CommunityID: c, Name: "东区早间", ZoneIDs: []int64{z2.ID}, Days: []int{3}, Start: "07:10", Minutes: 30}
		mustOK(t, st.CreateSlot(ctx, admin, &east))
		// Moving a slot onto a busy zone is refused too; updating it in place is not.
		east.ZoneIDs = []int64{z2.ID, z.ID}
		if err := st.UpdateSlot(ctx, admin, &east); shequ.ErrorCode(err) != shequ.ECONFLICT {
			t.Errorf("slot %d moved onto zone %d at 07:10: got %v, want a conflict", east.ID, z.ID, err)
		}
		east.ZoneIDs, east.Name = []int64{z2.ID}, "东区早间新闻"
		mustOK(t, st.UpdateSlot(ctx, admin, &east))
	})
}
