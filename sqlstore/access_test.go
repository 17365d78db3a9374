package sqlstore_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/access"
	"github.com/shequ/shequ/access/controller"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/retention"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

type accessFixture struct {
	tree
	entranceA, entranceB, gate, shed access.Door
}

func makeDoors(t *testing.T, st *sqlstore.Store, code string) accessFixture {
	t.Helper()
	ctx := t.Context()
	f := accessFixture{tree: makeTree(t, st, code)}
	f.entranceA = access.Door{BuildingID: f.building1.ID, Name: "A栋1单元", Entrance: "1", FireRelease: true}
	f.entranceB = access.Door{BuildingID: f.building2.ID, Name: "B栋1单元", Entrance: "1"}
	f.gate = access.Door{CommunityID: f.community.ID, Name: "东门", Kind: access.DoorGate, FireRelease: true}
	f.shed = access.Door{CommunityID: f.community.ID, Name: "自行车棚", Kind: access.DoorShed}
	for _, d := range []*access.Door{&f.entranceA, &f.entranceB, &f.gate, &f.shed} {
		mustOK(t, st.CreateDoor(ctx, everywhere, d))
	}
	return f
}

func decide(t *testing.T, st *sqlstore.Store, door access.Door, p access.Presented) access.Decision {
	t.Helper()
	d, err := st.Decide(t.Context(), door.ID, p, "test")
	mustOK(t, err)
	return d
}

func TestAccessPasses(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		f := makeDoors(t, st, "ap")
		aliceScope := auth.Scope{{CommunityID: f.community.ID, HouseholdID: f.household1.ID}}
		pub, err := st.AccessPublicKey(ctx, f.community.ID)
		mustOK(t, err)

		// A pass without doors opens the route to the home: the gate and
		// building A's entrance, not B's, not the shed.
		p := access.Pass{HouseholdID: f.household1.ID, PersonID: f.alice.ID, VisitorName: "小张", ValidFrom: clock.Now().Add(time.Hour), ValidUntil: clock.Now().Add(3 * time.Hour), Uses: 2}
		token, err := st.CreatePass(ctx, aliceScope, &p)
		mustOK(t, err)
		if !slices.Equal(p.DoorIDs, []int64{f.entranceA.ID, f.gate.ID}) && !slices.Equal(p.DoorIDs, []int64{f.gate.ID, f.entranceA.ID}) {
			t.Errorf("default doors %v", p.DoorIDs)
		}
		pres := access.Presented{Kind: access.KindPass, Token: token}
		// The same token decided by a controller offline, with the public
		// key alone.
		offline := controller.New(f.entranceA, pub)
		check := func(door access.Door, want string) {
			t.Helper()
			got := decide(t, st, door, pres)
			if got.Reason != want {
				t.Errorf("at %s: %+v, want %s", door.Name, got, want)
			}
		}
		check(f.entranceA, access.ReasonNotYet)
		if d := offline.Decide(pres, clock.Now()); d.Reason != access.ReasonNotYet {
			t.Errorf("offline before the window: %+v", d)
		}
		clock.Advance(90 * time.Minute)
		if d := offline.Decide(pres, clock.Now()); !d.Granted {
			t.Errorf("offline in the window: %+v", d)
		}
		check(f.entranceA, access.ReasonGranted)
		check(f.entranceB, access.ReasonWrongDoor)
		check(f.shed, access.ReasonWrongDoor)
		check(f.gate, access.ReasonGranted)
		check(f.gate, access.ReasonUsedUp)
		if d := offline.Decide(pres, clock.Now()); !d.Granted {
			t.Errorf("offline second use: %+v", d)
		}
		if d := offline.Decide(pres, clock.Now()); d.Reason != access.ReasonUsedUp {
			t.Errorf("offline third use: %+v", d)
		}
		got, err := st.Pass(ctx, aliceScope, p.ID)
		mustOK(t, err)
		if got.Used != 2 {
			t.Errorf("pass used %d times", got.Used)
		}

		// Outside the window, and after revocation, online and offline.
		p2 := access.Pass{HouseholdID: f.household1.ID, Kind: access.PassCourier, DoorIDs: []int64{f.gate.ID}}
		token2, err := st.CreatePass(ctx, aliceScope, &p2)
		mustOK(t, err)
		if p2.Uses != 1 || p2.ValidUntil.Sub(p2.ValidFrom) != 30*time.Minute {
			t.Errorf("courier pass %+v", p2)
		}
		gateCtl := controller.New(f.gate, pub)
		pres2 := access.Presented{Kind: access.KindPass, Token: token2}
		mustOK(t, st.RevokePass(ctx, aliceScope, p2.ID))
		if d := decide(t, st, f.gate, pres2); d.Reason != access.ReasonRevoked {
			t.Errorf("revoked pass: %+v", d)
		}
		rev, err := st.AccessRevocations(ctx, f.community.ID)
		mustOK(t, err)
		if !slices.Contains(rev.Serials, p2.Serial) || rev.Version == 0 {
			t.Errorf("revocations %+v lack serial %d", rev, p2.Serial)
		}
		if d := gateCtl.Decide(pres2, clock.Now()); !d.Granted {
			t.Errorf("offline before the list came: %+v", d)
		}
		gateCtl.SetRevocations(rev)
		if d := gateCtl.Decide(pres2, clock.Now()); d.Reason != access.ReasonRevoked {
			t.Errorf("offline revoked: %+v", d)
		}
		clock.Advance(2 * time.Hour)
		check(f.entranceA, access.ReasonExpired)
		if d := offline.Decide(pres, clock.Now()); d.Reason != access.ReasonExpired {
			t.Errorf("offline after the window: %+v", d)
		}
		// A forged token is refused.
		if d := decide(t, st, f.gate, access.Presented{Kind: access.KindPass, Token: token[:len(token)-4] + "AAAA"}); d.Granted || d.Reason != access.ReasonBadToken {
			t.Errorf("forged token: %+v", d)
		}

		// The offline decisions come up and show in the log.
		mustOK(t, st.RecordOfflineDecisions(ctx, f.entranceA.ID, offline.TakeDecisions(), "test"))
		log, err := st.ListAccessLog(ctx, everywhere, access.LogFilter{DoorID: f.entranceA.ID, Page: shequ.Page{Limit: 100}})
		mustOK(t, err)
		var offlineGranted int
		for _, e := range log.Items {
			if e.Offline && e.Granted && e.PassID == p.ID && e.VisitorName == "小张" && e.HouseholdID == f.household1.ID {
				offlineGranted++
			}
		}
		if offlineGranted != 2 {
			t.Errorf("%d offline grants in the log %+v", offlineGranted, log.Items)
		}
		// Reading the log is audited.
		au, err := st.ListAudit(ctx, everywhere, audit.Filter{Action: "access_log.read"})
		mustOK(t, err)
		if au.Total == 0 {
			t.Error("reading the access log was not audited")
		}
		// Another household sees neither the pass nor its log.
		bobScope := auth.Scope{{CommunityID: f.community.ID, HouseholdID: f.household2.ID}}
		if _, err := st.Pass(ctx, bobScope, p.ID); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("a neighbour reads the pass: %v", err)
		}
		if l, err := st.ListAccessLog(ctx, bobScope, access.LogFilter{}); err != nil || l.Total != 0 {
			t.Errorf("a neighbour reads %d log rows (%v)", l.Total, err)
		}
		if _, err := st.CreatePass(ctx, bobScope, &access.Pass{HouseholdID: f.household1.ID}); shequ.ErrorCode(err) != shequ.EINVALID {
			t.Errorf("a pass for another household: %v", err)
		}
		// Retention (package retention's one place): rows past it go.
		pol, _ := retention.Lookup("access_log")
		res, err := st.ApplyRetention(ctx, pol, clock.Now().Add(time.Minute))
		mustOK(t, err)
		if res.Rows == 0 {
			t.Error("nothing purged")
		}
	})
}

func TestAccessCredentialsAndMoveOut(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		f := makeDoors(t, st, "am")
		card := access.Credential{PersonID: f.alice.ID, Kind: access.KindCard, Value: "04:A2:2B:9C"}
		mustOK(t, st.CreateCredential(ctx, everywhere, &card))
		if card.Hint != "…2B9C" || card.HouseholdID != f.household1.ID {
			t.Errorf("card %+v", card)
		}
		if err := st.CreateCredential(ctx, everywhere, &access.Credential{PersonID: f.bob.ID, Kind: access.KindCard, Value: "04a22b9c"}); shequ.ErrorCode(err) != shequ.ECONFLICT {
			t.Errorf("the same card twice: %v", err)
		}
		pin := access.Credential{PersonID: f.bob.ID, Kind: access.KindPIN, Value: "246810"}
		mustOK(t, st.CreateCredential(ctx, everywhere, &pin))
		phone := access.Credential{PersonID: f.alice.ID, Kind: access.KindPhone}
		mustOK(t, st.CreateCredential(ctx, everywhere, &phone))
		cleaner := access.Credential{CommunityID: f.community.ID, UserID: 0, PersonID: f.bob.ID, Kind: access.KindCard, Role: access.RoleCleaner, Value: "C1EA4E01"}
		mustOK(t, st.CreateCredential(ctx, everywhere, &cleaner))

		// The card is stored sealed: its UID is nowhere in the table.
		var n int
		mustOK(t, st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM access_credentials WHERE value_enc LIKE '%04A22B9C%' OR value_idx LIKE '%04A22B9C%'").Scan(&n))
		if n != 0 {
			t.Error("a card UID is stored in clear")
		}

		cardAt := access.Presented{Kind: access.KindCard, Value: "04a22b9c"}
		for door, want := range map[*access.Door]string{&f.entranceA: access.ReasonGranted, &f.gate: access.ReasonGranted, &f.shed: access.ReasonGranted, &f.entranceB: access.ReasonWrongDoor} {
			if d := decide(t, st, *door, cardAt); d.Reason != want {
				t.Errorf("card at %s: %+v, want %s", door.Name, d, want)
			}
		}
		if d := decide(t, st, f.entranceB, access.Presented{Kind: access.KindPIN, Value: "246810"}); !d.Granted {
			t.Errorf("bob's PIN at his entrance: %+v", d)
		}
		if d := decide(t, st, f.entranceB, access.Presented{Kind: access.KindPIN, Value: "000000"}); d.Reason != access.ReasonUnknown {
			t.Errorf("a wrong PIN: %+v", d)
		}
		// The cleaner, Monday to Saturday 6–9 in the community's time
		// (Asia/Shanghai): the clock's Saturday 09:00 UTC is 17:00 there.
		cleanerAt := access.Presented{Kind: access.KindCard, Value: "C1EA4E01"}
		if d := decide(t, st, f.entranceA, cleanerAt); d.Reason != access.ReasonSchedule {
			t.Errorf("cleaner on Saturday at 17:00: %+v", d)
		}
		clock.Advance(14 * time.Hour)
		if d := decide(t, st, f.entranceA, cleanerAt); d.Reason != access.ReasonSchedule {
			t.Errorf("cleaner on Sunday at 07:00: %+v", d)
		}
		clock.Advance(24 * time.Hour)
		if d := decide(t, st, f.entranceB, cleanerAt); !d.Granted {
			t.Errorf("cleaner on Monday at 07:00, another building: %+v", d)
		}

		aliceScope := auth.Scope{{CommunityID: f.community.ID, HouseholdID: f.household1.ID}}
		phoneToken, err := st.PhoneKeyToken(ctx, aliceScope, phone.ID)
		mustOK(t, err)
		phoneAt := access.Presented{Kind: access.KindPhone, Token: phoneToken}
		if d := decide(t, st, f.entranceA, phoneAt); !d.Granted {
			t.Errorf("phone key: %+v", d)
		}
		pass := access.Pass{HouseholdID: f.household1.ID, VisitorName: "快递"}
		passToken, err := st.CreatePass(ctx, aliceScope, &pass)
		mustOK(t, err)

		// Moving out revokes everything of the household at once.
		revoked, err := st.MoveOutHousehold(ctx, everywhere, f.household1.ID)
		mustOK(t, err)
		if revoked != 3 {
			t.Errorf("move-out revoked %d, want card, phone key and pass", revoked)
		}
		for name, p := range map[string]access.Presented{"card": cardAt, "phone": phoneAt, "pass": {Kind: access.KindPass, Token: passToken}} {
			if d := decide(t, st, f.entranceA, p); d.Reason != access.ReasonRevoked {
				t.Errorf("%s after move-out: %+v", name, d)
			}
		}
		rev, err := st.AccessRevocations(ctx, f.community.ID)
		mustOK(t, err)
		if !slices.Contains(rev.Cards, access.CardFingerprint("04A22B9C")) || !slices.Contains(rev.Serials, phone.Serial) || !slices.Contains(rev.Serials, pass.Serial) {
			t.Errorf("revocations %+v", rev)
		}
		// A lost card: revoked on its own, the same card may be reissued.
		mustOK(t, st.RevokeCredential(ctx, everywhere, pin.ID, "lost"))
		if d := decide(t, st, f.entranceB, access.Presented{Kind: access.KindPIN, Value: "246810"}); d.Reason != access.ReasonRevoked {
			t.Errorf("lost PIN: %+v", d)
		}
		// Removing a person revokes their credentials.
		mustOK(t, st.DeletePerson(ctx, everywhere, f.bob.ID))
		if d := decide(t, st, f.entranceA, access.Presented{Kind: access.KindCard, Value: "C1EA4E01"}); d.Reason != access.ReasonRevoked {
			t.Errorf("removed person's card: %+v", d)
		}
		active, err := st.ListCredentials(ctx, everywhere, access.CredentialFilter{CommunityID: f.community.ID})
		mustOK(t, err)
		if active.Total != 0 {
			t.Errorf("%d credentials still active", active.Total)
		}
	})
}

func TestAccessDoorEvents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		f := makeDoors(t, st, "ae")
		id, err := st.RecordDoorEvent(ctx, f.entranceB.ID, access.EventOpened, clock.Now(), "test")
		mustOK(t, err)
		if id != 0 {
			t.Error("an ordinary opening opened an incident")
		}
		for _, ev := range []string{access.EventForced, access.EventHeldOpen, access.EventTamper} {
			id, err := st.RecordDoorEvent(ctx, f.entranceA.ID, ev, clock.Now(), "test")
			mustOK(t, err)
			if id == 0 {
				t.Fatalf("%s opened no incident", ev)
			}
			inc, err := st.Incident(ctx, everywhere, id)
			mustOK(t, err)
			if inc.Priority != alarm.PriorityTamper {
				t.Errorf("%s: incident %+v", ev, inc)
			}
		}
		// One incident per door, with three events; another door its own.
		open, err := st.ListIncidents(ctx, everywhere, alarm.IncidentFilter{Status: "open"})
		mustOK(t, err)
		if open.Total != 1 || open.Items[0].EventCount != 3 {
			t.Fatalf("incidents %+v", open.Items)
		}
		first := open.Items[0].ID
		_, err = st.StepIncident(ctx, everywhere, first, alarm.Step{Action: "resolve", Resolution: "technical_fault", At: clock.Now()})
		mustOK(t, err)
		id, err = st.RecordDoorEvent(ctx, f.entranceA.ID, access.EventForced, clock.Now(), "test")
		mustOK(t, err)
		if id == first || id == 0 {
			t.Errorf("after resolution the door's next event went to %d", id)
		}
		if _, err := st.RecordDoorEvent(ctx, f.entranceA.ID, "exploded", clock.Now(), "test"); shequ.ErrorCode(err) != shequ.EINVALID {
			t.Errorf("unknown event: %v", err)
		}
	})
}

func TestAccessFireRelease(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		f := makeDoors(t, st, "af")
		cmds, err := st.FireReleases(ctx)
		mustOK(t, err)
		if len(cmds) != 0 {
			t.Fatalf("released without a fire: %+v", cmds)
		}
		mustOK(t, st.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: f.home1.ID, Account: "FA01"}))
		_, err = st.Ingest(ctx, []alarm.Report{{Source: alarm.SourceSIA, Account: "FA01", Seq: "1", Code: "FA", Kind: alarm.KindFire, ReceivedAt: clock.Now()}})
		mustOK(t, err)
		cmds, err = st.FireReleases(ctx)
		mustOK(t, err)
		var released []int64
		for _, c := range cmds {
			if c.Action == "release" {
				released = append(released, c.DoorID)
			}
		}
		slices.Sort(released)
		want := []int64{f.entranceA.ID, f.gate.ID}
		slices.Sort(want)
		if !slices.Equal(released, want) {
			t.Errorf("released %v, want %v (building A's entrance and the gate, set to release)", released, want)
		}
		if again, _ := st.FireReleases(ctx); len(again) != 0 {
			t.Errorf("released twice: %+v", again)
		}
		d, err := st.Door(ctx, everywhere, f.entranceA.ID)
		mustOK(t, err)
		if d.State != access.StateReleased {
			t.Errorf("door state %s", d.State)
		}
		au, err := st.ListAudit(ctx, everywhere, audit.Filter{Action: "door.fire_release"})
		mustOK(t, err)
		if au.Total != 2 {
			t.Errorf("%d fire releases audited", au.Total)
		}
		// The fire is resolved: the doors lock again.
		open, err := st.ListIncidents(ctx, everywhere, alarm.IncidentFilter{Status: "open"})
		mustOK(t, err)
		for _, i := range open.Items {
			_, err := st.StepIncident(ctx, everywhere, i.ID, alarm.Step{Action: "resolve", Resolution: "fire_prevented", At: clock.Now()})
			mustOK(t, err)
		}
		cmds, err = st.FireReleases(ctx)
		mustOK(t, err)
		if len(cmds) != 2 || cmds[0].Action != "lock" {
			t.Errorf("after the fire: %+v", cmds)
		}
	})
}

func TestAccessWelfareWatch(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		f := makeDoors(t, st, "aw")
		worker := &auth.User{Username: "aw-grid", DisplayName: "网格员", Grants: []auth.Grant{{Role: auth.RoleGridWorker, CommunityID: f.community.ID, GridID: f.grid1.ID}}}
		mustOK(t, st.CreateUser(ctx, everywhere, worker, ""))
		f.grid1.WorkerUserID = worker.ID
		mustOK(t, st.UpdateGrid(ctx, everywhere, &f.grid1))
		card := access.Credential{PersonID: f.alice.ID, Kind: access.KindCard, Value: "A11CE001"}
		mustOK(t, st.CreateCredential(ctx, everywhere, &card))

		// Off by default; only for those who live alone; consent is said.
		if w, err := st.WelfareWatch(ctx, everywhere, f.alice.ID); err != nil || w.Enabled {
			t.Fatalf("default watch %+v %v", w, err)
		}
		if err := st.SetWelfareWatch(ctx, everywhere, &access.WelfareWatch{PersonID: f.bob.ID, Enabled: true, ConsentBy: access.ConsentResident}); shequ.ErrorCode(err) != shequ.EINVALID {
			t.Errorf("bob does not live alone: %v", err)
		}
		if err := st.SetWelfareWatch(ctx, everywhere, &access.WelfareWatch{PersonID: f.alice.ID, Enabled: true}); shequ.ErrorCode(err) != shequ.EINVALID {
			t.Errorf("without consent: %v", err)
		}
		clock.Advance(10 * 24 * time.Hour)
		if ids, err := st.CheckWelfare(ctx); err != nil || len(ids) != 0 {
			t.Fatalf("checks while off: %v %v", ids, err)
		}
		mustOK(t, st.SetWelfareWatch(ctx, everywhere, &access.WelfareWatch{PersonID: f.alice.ID, Enabled: true, Days: 2, ConsentBy: access.ConsentFamily, ConsentNote: "女儿电话同意"}))
		clock.Advance(30 * time.Hour)
		if d := decide(t, st, f.entranceA, access.Presented{Kind: access.KindCard, Value: "A11CE001"}); !d.Granted {
			t.Fatalf("alice's card: %+v", d)
		}
		clock.Advance(40 * time.Hour) // 40 h since her last passage
		if ids, _ := st.CheckWelfare(ctx); len(ids) != 0 {
			t.Errorf("checked after 40 h: %v", ids)
		}
		clock.Advance(9 * time.Hour)
		ids, err := st.CheckWelfare(ctx)
		mustOK(t, err)
		if len(ids) != 1 {
			t.Fatalf("welfare checks %v", ids)
		}
		inc, err := st.Incident(ctx, everywhere, ids[0])
		mustOK(t, err)
		if inc.HomeID != f.home1.ID || inc.DispatchedTo != worker.ID || inc.Status != alarm.StatusDispatched {
			t.Errorf("welfare incident %+v", inc)
		}
		if again, _ := st.CheckWelfare(ctx); len(again) != 0 {
			t.Errorf("checked twice: %v", again)
		}
		// The resident switches it off herself.
		aliceScope := auth.Scope{{CommunityID: f.community.ID, HouseholdID: f.household1.ID}}
		mustOK(t, st.StopWelfareWatch(ctx, aliceScope, f.alice.ID))
		bobScope := auth.Scope{{CommunityID: f.community.ID, HouseholdID: f.household2.ID}}
		if err := st.StopWelfareWatch(ctx, bobScope, f.alice.ID); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("a neighbour switched it: %v", err)
		}
		clock.Advance(10 * 24 * time.Hour)
		if ids, _ := st.CheckWelfare(ctx); len(ids) != 0 {
			t.Errorf("checked after she switched it off: %v", ids)
		}
		au, err := st.ListAudit(ctx, everywhere, audit.Filter{Entity: "person", EntityID: f.alice.ID})
		mustOK(t, err)
		var on, off bool
		for _, e := range au.Items {
			on = on || e.Action == "welfare_watch.on"
			off = off || e.Action == "welfare_watch.off"
		}
		if !on || !off {
			t.Errorf("consent not audited: %+v", au.Items)
		}
	})
}

// A pass opens at most the doors its household opens (its building's
// entrances, the gates, the shed) when its maker reaches only part of the
// community; staff who reach all of it may name any of its doors. A door
// refused is named in the problem, and nothing is made.
func TestAccessPassDoorsOfTheHousehold(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		f := makeDoors(t, st, "pd")
		elsewhere := makeDoors(t, st, "pe")
		aliceScope := auth.Scope{{CommunityID: f.community.ID, HouseholdID: f.household1.ID}}
		grid1Scope := auth.Scope{{CommunityID: f.community.ID, GridID: f.grid1.ID}}
		staffScope := auth.Scope{{CommunityID: f.community.ID}}
		passes := func() int {
			t.Helper()
			l, err := st.ListPasses(ctx, everywhere, access.PassFilter{})
			mustOK(t, err)
			return l.Total
		}
		for _, c := range []struct {
			name    string
			scope   auth.Scope
			doors   []int64
			refused int64 // the door the problem names; 0: made
		}{
			{"resident, own doors and the shed", aliceScope, []int64{f.entranceA.ID, f.gate.ID, f.shed.ID}, 0},
			{"resident, another building", aliceScope, []int64{f.gate.ID, f.entranceB.ID}, f.entranceB.ID},
			{"resident, another community", aliceScope, []int64{elsewhere.gate.ID}, elsewhere.gate.ID},
			{"grid worker, the household's doors", grid1Scope, []int64{f.entranceA.ID}, 0},
			{"grid worker, another grid's building", grid1Scope, []int64{f.entranceB.ID}, f.entranceB.ID},
			{"community staff, another building", staffScope, []int64{f.entranceB.ID}, 0},
			{"community staff, another community", staffScope, []int64{elsewhere.entranceA.ID}, elsewhere.entranceA.ID},
		} {
			before := passes()
			p := access.Pass{HouseholdID: f.household1.ID, VisitorName: "小王", DoorIDs: c.doors, Uses: len(c.doors)}
			token, err := st.CreatePass(ctx, c.scope, &p)
			if c.refused == 0 {
				if err != nil {
					t.Errorf("%s: %v", c.name, err)
					continue
				}
				for _, id := range c.doors {
					door, err := st.Door(ctx, everywhere, id)
					mustOK(t, err)
					if d := decide(t, st, door, access.Presented{Kind: access.KindPass, Token: token}); !d.Granted {
						t.Errorf("%s: refused at %s: %+v", c.name, door.Name, d)
					}
				}
				continue
			}
			var e *shequ.Error
			if !errors.As(err, &e) || e.Code != shequ.EINVALID || !strings.Contains(e.Fields["door_ids"], fmt.Sprintf("door %d ", c.refused)) {
				t.Errorf("%s: %v (%+v), want a problem naming door %d", c.name, err, e, c.refused)
			}
			if token != "" || p.ID != 0 || passes() != before {
				t.Errorf("%s: refused, yet a pass was made (token %q, id %d, %d passes, %d before)", c.name, token, p.ID, passes(), before)
			}
		}
		// The household's own route, by default, is still what it was.
		p := access.Pass{HouseholdID: f.household1.ID}
		_, err := st.CreatePass(ctx, aliceScope, &p)
		mustOK(t, err)
		if !slices.Equal(p.DoorIDs, []int64{f.entranceA.ID, f.gate.ID}) && !slices.Equal(p.DoorIDs, []int64{f.gate.ID, f.entranceA.ID}) {
			t.Errorf("default doors %v", p.DoorIDs)
		}
	})
}
