package sqlstore_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
	"golang.org/x/crypto/argon2"
)

var everywhere = auth.Scope{{}}

// forEachDialect runs the test on SQLite and on PostgreSQL.
func forEachDialect(t *testing.T, fn func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock)) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
			fn(t, sqlstoretest.Open(t, d, clock), clock)
		})
	}
}

// atOnce runs fn(0) … fn(n-1) in goroutines released together and
// returns their errors by k: the concurrency tests' two (or more) writers
// of one row.
func atOnce(n int, fn func(k int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for k := range n {
		wg.Go(func() {
			<-start
			errs[k] = fn(k)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// storeAtVersion opens an empty store of dialect d migrated to version,
// for a migration's test to fill the old schema before running it; its
// clock starts as forEachDialect's.
func storeAtVersion(t *testing.T, d string, version int64) (*sqlstore.Store, *shequtest.Clock) {
	t.Helper()
	clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	st, err := sqlstore.Open(t.Context(), sqlstoretest.EmptyDSN(t, d), sqlstore.Options{Cipher: sqlstoretest.TestCipher(t), Clock: clock})
	mustOK(t, err)
	t.Cleanup(func() { st.Close() })
	if v, err := st.MigrateTo(t.Context(), version); err != nil || v != version {
		t.Fatalf("migrate to %d: %d %v", version, v, err)
	}
	return st, clock
}

// tree is a small community: two grids, a building in each, two homes.
type tree struct {
	community    community.Community
	grid1, grid2 community.Grid
	building1    community.Building
	building2    community.Building
	home1, home2 community.Home
	household1   community.Household
	household2   community.Household
	alice, bob   community.Person
}

func mustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func makeTree(t testing.TB, st *sqlstore.Store, code string) tree {
	t.Helper()
	tr := makePlaces(t, st, code)
	ctx := t.Context()
	tr.alice = community.Person{HouseholdID: tr.household1.ID, Name: "王芳", Phone: "19900001111", IDNumber: idFor(code, 1), BirthDate: "1950-03-01",
		Tags: []string{community.TagLivingAlone, community.TagElderly}, Contacts: []community.Contact{{Name: "王强", Phone: "19900002222", Relation: "子女"}}}
	tr.bob = community.Person{HouseholdID: tr.household2.ID, Name: "李明", Phone: "19900003333", IDNumber: idFor(code, 2), BirthDate: "1980-07-15"}
	mustOK(t, st.CreatePerson(ctx, everywhere, &tr.alice))
	mustOK(t, st.CreatePerson(ctx, everywhere, &tr.bob))
	return tr
}

// makePlaces is makeTree without its people: the tests of a migration
// build it on a database of an earlier version, whose people table the
// store's writes of today would not fit.
func makePlaces(t testing.TB, st *sqlstore.Store, code string) tree {
	t.Helper()
	ctx := t.Context()
	var tr tree
	tr.community = community.Community{Code: code, Name: "社区 " + code}
	mustOK(t, st.CreateCommunity(ctx, everywhere, &tr.community))
	c := tr.community.ID
	tr.grid1 = community.Grid{CommunityID: c, Code: "G1", Name: "第1网格"}
	tr.grid2 = community.Grid{CommunityID: c, Code: "G2", Name: "第2网格"}
	mustOK(t, st.CreateGrid(ctx, everywhere, &tr.grid1))
	mustOK(t, st.CreateGrid(ctx, everywhere, &tr.grid2))
	tr.building1 = community.Building{CommunityID: c, GridID: tr.grid1.ID, Name: "A栋", Floors: 6}
	tr.building2 = community.Building{CommunityID: c, GridID: tr.grid2.ID, Name: "B栋", Floors: 6}
	mustOK(t, st.CreateBuilding(ctx, everywhere, &tr.building1))
	mustOK(t, st.CreateBuilding(ctx, everywhere, &tr.building2))
	tr.home1 = community.Home{BuildingID: tr.building1.ID, Floor: 1, Door: "1-101"}
	tr.home2 = community.Home{BuildingID: tr.building2.ID, Floor: 2, Door: "1-201"}
	mustOK(t, st.CreateHome(ctx, everywhere, &tr.home1))
	mustOK(t, st.CreateHome(ctx, everywhere, &tr.home2))
	tr.household1 = community.Household{HomeID: tr.home1.ID, Name: "王户"}
	tr.household2 = community.Household{HomeID: tr.home2.ID, Name: "李户"}
	mustOK(t, st.CreateHousehold(ctx, everywhere, &tr.household1))
	mustOK(t, st.CreateHousehold(ctx, everywhere, &tr.household2))
	return tr
}

// idFor makes a well-formed, invented ID number distinct per code and n.
func idFor(code string, n int) string {
	seq := (len(code)*37 + n*11) % 1000
	body := "500112195003" + "01" + pad3(seq)
	body = body[:17]
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(body[i]-'0') * weights[i]
	}
	return body + string(community.IDCheckChar(sum))
}

func pad3(n int) string { s := "00" + itoa(n); return s[len(s)-3:] }
func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func TestMigrateTwiceIsANoOp(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		v, err := st.Migrate(t.Context())
		mustOK(t, err)
		if v < 1 {
			t.Fatalf("schema version %d after migrating", v)
		}
	})
}

func TestUniqueness(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "u1")
		tests := []struct {
			name string
			do   func() error
			want string
		}{
			{"second building with one name", func() error {
				return st.CreateBuilding(ctx, everywhere, &community.Building{CommunityID: tr.community.ID, GridID: tr.grid2.ID, Name: "A栋"})
			}, shequ.ECONFLICT},
			{"second home with one door in a building", func() error {
				return st.CreateHome(ctx, everywhere, &community.Home{BuildingID: tr.building1.ID, Floor: 3, Door: "1-101"})
			}, shequ.ECONFLICT},
			{"second resident with one ID number", func() error {
				return st.CreatePerson(ctx, everywhere, &community.Person{CommunityID: tr.community.ID, Name: "重复", IDNumber: tr.alice.IDNumber})
			}, shequ.ECONFLICT},
			{"second community with one code", func() error {
				return st.CreateCommunity(ctx, everywhere, &community.Community{Code: "u1", Name: "x"})
			}, shequ.ECONFLICT},
			{"same door in another building is fine", func() error {
				return st.CreateHome(ctx, everywhere, &community.Home{BuildingID: tr.building2.ID, Floor: 1, Door: "1-101"})
			}, ""},
			{"building in a grid of another community", func() error {
				other := makeTree(t, st, "u2")
				return st.CreateBuilding(ctx, everywhere, &community.Building{CommunityID: tr.community.ID, GridID: other.grid1.ID, Name: "Z栋"})
			}, shequ.EINVALID},
			{"deleting a building that has homes", func() error {
				return st.DeleteBuilding(ctx, everywhere, tr.building1.ID)
			}, shequ.ECONFLICT},
			{"deleting an empty home", func() error {
				h := community.Home{BuildingID: tr.building1.ID, Floor: 5, Door: "1-501"}
				if err := st.CreateHome(ctx, everywhere, &h); err != nil {
					return err
				}
				if err := st.DeleteHome(ctx, everywhere, h.ID); err != nil {
					return err
				}
				_, err := st.Home(ctx, everywhere, h.ID)
				if shequ.ErrorCode(err) != shequ.ENOTFOUND {
					return err
				}
				return nil
			}, ""},
			{"deleting a home out of scope", func() error {
				return st.DeleteHome(ctx, auth.Scope{{CommunityID: 999}}, tr.home1.ID)
			}, shequ.ENOTFOUND},
		}
		for _, tt := range tests {
			if got := shequ.ErrorCode(tt.do()); got != tt.want {
				t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
			}
		}
	})
}

func TestValidationChangesNothing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "v1")
		before, err := st.ListAudit(ctx, everywhere, audit.Filter{})
		mustOK(t, err)
		bad := []community.Person{
			{CommunityID: tr.community.ID, Name: ""},
			{CommunityID: tr.community.ID, Name: "x", IDNumber: "500112195003010011"}, // wrong check digit
			{CommunityID: tr.community.ID, Name: "x", BirthDate: "1950-02-30"},
			{CommunityID: tr.community.ID, Name: "x", Phone: "call me"},
		}
		for _, p := range bad {
			if err := st.CreatePerson(ctx, everywhere, &p); shequ.ErrorCode(err) != shequ.EINVALID {
				t.Errorf("%+v: got %v, want invalid", p, err)
			}
		}
		after, err := st.ListAudit(ctx, everywhere, audit.Filter{})
		mustOK(t, err)
		people, err := st.ListPeople(ctx, everywhere, community.Filter{})
		mustOK(t, err)
		if after.Total != before.Total || people.Total != 2 {
			t.Errorf("a rejected write left traces: audit %d→%d, people %d", before.Total, after.Total, people.Total)
		}
	})
}

func TestPersonalDataEncryptedAtRest(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "e1")
		var phone, id, contact string
		mustOK(t, st.DB().QueryRowContext(ctx, "SELECT phone_enc, id_number_enc FROM people WHERE id = $1", tr.alice.ID).Scan(&phone, &id))
		mustOK(t, st.DB().QueryRowContext(ctx, "SELECT phone_enc FROM emergency_contacts WHERE person_id = $1", tr.alice.ID).Scan(&contact))
		for _, v := range []string{phone, id, contact} {
			if !strings.HasPrefix(v, "v2:") || strings.Contains(v, "1990000") || strings.Contains(v, "500112") {
				t.Errorf("stored value %q is not sealed", v)
			}
		}
		got, err := st.Person(ctx, everywhere, tr.alice.ID)
		mustOK(t, err)
		if got.Phone != tr.alice.Phone || got.IDNumber != tr.alice.IDNumber || got.Contacts[0].Phone != "19900002222" {
			t.Errorf("read back %+v", got)
		}
		// Whole numbers find their person through the keyed index.
		l, err := st.ListPeople(ctx, everywhere, community.Filter{Query: "199-0000-1111", NumberScope: everywhere})
		mustOK(t, err)
		if l.Total != 1 || l.Items[0].ID != tr.alice.ID {
			t.Errorf("search by phone found %+v", l.Items)
		}
		// The audit log keeps masked numbers only.
		a, err := st.ListAudit(ctx, everywhere, audit.Filter{Action: "person.create", EntityID: tr.alice.ID})
		mustOK(t, err)
		if a.Total != 1 || strings.Contains(string(a.Items[0].After), "19900001111") || !strings.Contains(string(a.Items[0].After), "199****1111") {
			t.Errorf("audit entry %s", a.Items[0].After)
		}
	})
}

// TestScopes checks what each kind of reach sees: a whole community, one
// grid, one household, another community.
func TestScopes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		a := makeTree(t, st, "sa")
		b := makeTree(t, st, "sb")
		scopes := []struct {
			name                       string
			scope                      auth.Scope
			communities, grids, builds int
			homes, people              []int64
		}{
			{"deployment", everywhere, 2, 4, 4, []int64{a.home1.ID, a.home2.ID, b.home1.ID, b.home2.ID}, []int64{a.alice.ID, a.bob.ID, b.alice.ID, b.bob.ID}},
			{"community A", auth.Scope{{CommunityID: a.community.ID}}, 1, 2, 2, []int64{a.home1.ID, a.home2.ID}, []int64{a.alice.ID, a.bob.ID}},
			{"grid 1 of A", auth.Scope{{CommunityID: a.community.ID, GridID: a.grid1.ID}}, 1, 1, 1, []int64{a.home1.ID}, []int64{a.alice.ID}},
			{"household of bob in A", auth.Scope{{CommunityID: a.community.ID, HouseholdID: a.household2.ID}}, 1, 1, 1, []int64{a.home2.ID}, []int64{a.bob.ID}},
			{"household of B named in A", auth.Scope{{CommunityID: a.community.ID, HouseholdID: b.household2.ID}}, 1, 0, 0, nil, nil},
			{"nothing", nil, 0, 0, 0, nil, nil},
		}
		for _, sc := range scopes {
			t.Run(sc.name, func(t *testing.T) {
				cs, err := st.ListCommunities(ctx, sc.scope, shequ.Page{})
				mustOK(t, err)
				gs, err := st.ListGrids(ctx, sc.scope, community.Filter{})
				mustOK(t, err)
				bs, err := st.ListBuildings(ctx, sc.scope, community.Filter{})
				mustOK(t, err)
				hs, err := st.ListHomes(ctx, sc.scope, community.Filter{})
				mustOK(t, err)
				ps, err := st.ListPeople(ctx, sc.scope, community.Filter{})
				mustOK(t, err)
				if cs.Total != sc.communities || gs.Total != sc.grids || bs.Total != sc.builds {
					t.Errorf("communities %d grids %d buildings %d, want %d %d %d", cs.Total, gs.Total, bs.Total, sc.communities, sc.grids, sc.builds)
				}
				if got := ids(hs.Items, func(h community.Home) int64 { return h.ID }); !sameIDs(got, sc.homes) {
					t.Errorf("homes %v, want %v", got, sc.homes)
				}
				if got := ids(ps.Items, func(p community.Person) int64 { return p.ID }); !sameIDs(got, sc.people) {
					t.Errorf("people %v, want %v", got, sc.people)
				}
				// Rows out of scope are "not found", never "forbidden".
				for _, p := range []community.Person{a.alice, a.bob, b.alice, b.bob} {
					_, err := st.Person(ctx, sc.scope, p.ID)
					want := slices.Contains(sc.people, p.ID)
					if (err == nil) != want || (err != nil && shequ.ErrorCode(err) != shequ.ENOTFOUND) {
						t.Errorf("get person %d: %v (visible %v)", p.ID, err, want)
					}
				}
			})
		}
		// Writes outside the scope are refused and change nothing.
		inA := auth.Scope{{CommunityID: a.community.ID}}
		if err := st.CreateGrid(ctx, inA, &community.Grid{CommunityID: b.community.ID, Code: "X", Name: "x"}); shequ.ErrorCode(err) != shequ.EFORBIDDEN {
			t.Errorf("grid in B with A's scope: %v", err)
		}
		bob := b.bob
		bob.Name = "改名"
		if err := st.UpdatePerson(ctx, inA, &bob); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("update B's resident with A's scope: %v", err)
		}
		if err := st.DeletePerson(ctx, inA, b.bob.ID); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("delete B's resident with A's scope: %v", err)
		}
		grid1 := auth.Scope{{CommunityID: a.community.ID, GridID: a.grid1.ID}}
		moved := a.bob
		moved.HouseholdID = a.household1.ID
		if err := st.UpdatePerson(ctx, grid1, &moved); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("grid 1 worker moved grid 2's resident: %v", err)
		}
	})
}

func ids[T any](items []T, id func(T) int64) []int64 {
	var out []int64
	for _, v := range items {
		out = append(out, id(v))
	}
	return out
}

func sameIDs(a, b []int64) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestPaging(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "p1")
		for i := 0; i < 120; i++ {
			mustOK(t, st.CreateHome(ctx, everywhere, &community.Home{BuildingID: tr.building1.ID, Floor: 1 + i%6, Door: "x-" + itoa(i)}))
		}
		seen := map[int64]bool{}
		for off := 0; off < 200; off += 50 {
			l, err := st.ListHomes(ctx, everywhere, community.Filter{Page: shequ.Page{Limit: 50, Offset: off}})
			mustOK(t, err)
			if l.Total != 122 {
				t.Fatalf("total %d", l.Total)
			}
			for _, h := range l.Items {
				if seen[h.ID] {
					t.Errorf("home %d on two pages", h.ID)
				}
				seen[h.ID] = true
			}
		}
		if len(seen) != 122 {
			t.Errorf("pages covered %d homes, want 122", len(seen))
		}
		one := 1
		l, err := st.ListHomes(ctx, everywhere, community.Filter{BuildingID: tr.building1.ID, Floor: &one})
		mustOK(t, err)
		for _, h := range l.Items {
			if h.Floor != 1 || h.BuildingID != tr.building1.ID {
				t.Errorf("filter let through %+v", h)
			}
		}
		if l.Total != 21 {
			t.Errorf("floor 1 of A栋: %d homes, want 21", l.Total)
		}
	})
}

func TestLoginThrottleAndSessions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		u := &auth.User{Username: "Worker", Grants: []auth.Grant{{Role: auth.RoleAdmin}}}
		mustOK(t, st.CreateUser(ctx, everywhere, u, "correct horse battery"))
		if u.Username != "worker" {
			t.Errorf("username not folded to lower case: %q", u.Username)
		}
		// The operator signs in from their desk, which the account then trusts.
		_, _, err := auth.Login(ctx, st, clock, "worker", "correct horse battery", "token", "10.0.0.1")
		mustOK(t, err)

		// A stranger guesses from one address, and at a real name and an
		// unknown one gets the same answers: free failures, then waits.
		for _, name := range []string{"worker", "nobody"} {
			var got []string
			for i := 0; i < auth.FreeFailures+2; i++ {
				_, _, err := auth.Login(ctx, st, clock, name, "wrong password", "token", "192.0.2.9")
				got = append(got, shequ.ErrorCode(err)+": "+shequ.ErrorMessage(err))
			}
			clock.Advance(auth.FirstDelay)
			_, _, err := auth.Login(ctx, st, clock, name, "wrong password", "token", "192.0.2.9")
			got = append(got, shequ.ErrorCode(err)+": "+shequ.ErrorMessage(err))
			bad, slow := "unauthorized: wrong username or password", "too_many_requests: too many sign-in attempts: try again in 2s"
			want := []string{bad, bad, bad, slow, slow, bad}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s answers:\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			clock.Advance(time.Hour)
		}
		// The stranger slowed down is not the operator: from their desk the
		// right password works at once, even after the stranger spent the
		// account's budget from many addresses.
		for i := 0; i < 2*auth.AccountBurst; i++ {
			_, _, _ = auth.Login(ctx, st, clock, "worker", "wrong password", "token", fmt.Sprintf("198.51.100.%d", i))
		}
		_, _, err = auth.Login(ctx, st, clock, "worker", "correct horse battery", "token", "198.51.100.200")
		wantCode(t, "a new address once the budget is spent", err, shequ.ETOOMANY)
		token, sess, err := auth.Login(ctx, st, clock, "worker", "correct horse battery", "token", "10.0.0.1")
		mustOK(t, err)
		a, err := st.Actor(ctx, token)
		mustOK(t, err)
		if a.User.ID != u.ID || a.Session.ID != sess.ID {
			t.Errorf("actor %+v", a)
		}
		mustOK(t, st.RevokeSession(ctx, sess.ID))
		if _, err := st.Actor(ctx, token); shequ.ErrorCode(err) != shequ.EUNAUTHORIZED {
			t.Errorf("revoked session still works: %v", err)
		}
		token, _, err = auth.Login(ctx, st, clock, "worker", "correct horse battery", "web", "10.0.0.1")
		mustOK(t, err)
		clock.Advance(auth.WebSessionTTL)
		if _, err := st.Actor(ctx, token); shequ.ErrorCode(err) != shequ.EUNAUTHORIZED {
			t.Errorf("expired session still works: %v", err)
		}
		l, err := st.ListAudit(ctx, everywhere, audit.Filter{Action: "auth.login_failed"})
		mustOK(t, err)
		if want := auth.FreeFailures + 1 + auth.AccountBurst; l.Total != want {
			t.Errorf("%d failed logins audited, want %d", l.Total, want)
		}
	})
}

// TestOlderPasswordHashes: a hash made at the 64 MiB parameters of earlier
// versions still signs in and is replaced by one at today's, sessions
// kept; giving the admin the password it has at start changes nothing.
func TestOlderPasswordHashes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		mustOK(t, st.EnsureAdmin(ctx, "correct horse battery"))
		token, _, err := auth.Login(ctx, st, clock, "admin", "correct horse battery", "token", "10.0.0.1")
		mustOK(t, err)
		old := olderHash(t, "correct horse battery")
		_, err = st.DB().ExecContext(ctx, "UPDATE users SET password_hash = $1 WHERE username = 'admin'", old)
		mustOK(t, err)
		if !auth.NeedsRehash(old) {
			t.Fatal("a 64 MiB hash does not need hashing again")
		}
		mustOK(t, st.EnsureAdmin(ctx, "correct horse battery"))
		c, err := st.Credentials(ctx, "admin")
		mustOK(t, err)
		if c.PasswordHash == old || auth.NeedsRehash(c.PasswordHash) || !auth.VerifyPassword(c.PasswordHash, "correct horse battery") {
			t.Errorf("admin's hash after start: %q", c.PasswordHash)
		}
		kept := c.PasswordHash
		mustOK(t, st.EnsureAdmin(ctx, "correct horse battery"))
		if c, _ := st.Credentials(ctx, "admin"); c.PasswordHash != kept {
			t.Error("the same password was hashed again at start")
		}
		if _, err := st.Actor(ctx, token); err != nil {
			t.Errorf("the admin's session ended at a start with the same password: %v", err)
		}

		_, err = st.DB().ExecContext(ctx, "UPDATE users SET password_hash = $1 WHERE username = 'admin'", old)
		mustOK(t, err)
		_, _, err = auth.Login(ctx, st, clock, "admin", "correct horse battery", "token", "10.0.0.1")
		mustOK(t, err)
		if c, _ := st.Credentials(ctx, "admin"); c.PasswordHash == old || auth.NeedsRehash(c.PasswordHash) {
			t.Error("signing in kept the 64 MiB hash")
		}
		if _, err := st.Actor(ctx, token); err != nil {
			t.Errorf("the session ended when the hash was replaced: %v", err)
		}
		mustOK(t, st.EnsureAdmin(ctx, "another good password"))
		if _, err := st.Actor(ctx, token); err == nil {
			t.Error("a new admin password kept the old sessions")
		}
	})
}

// olderHash hashes password as earlier versions did (RFC 9106's 64 MiB,
// three passes, two lanes).
func olderHash(t *testing.T, password string) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(password), salt, 3, 64*1024, 2, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, 64*1024, 3, 2,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// TestLoginGuessesInParallel: wrong passwords sent at once from many
// addresses are counted one after the other, so no more of them are
// checked than the account's budget allows.
func TestLoginGuessesInParallel(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		u := &auth.User{Username: "op", Grants: []auth.Grant{{Role: auth.RoleAdmin}}}
		mustOK(t, st.CreateUser(ctx, everywhere, u, "correct horse battery"))
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[string]int{}
		for i := range 3 * auth.AccountBurst {
			wg.Go(func() {
				_, _, err := auth.Login(ctx, st, clock, "op", "wrong password", "token", fmt.Sprintf("203.0.113.%d", i))
				mu.Lock()
				codes[shequ.ErrorCode(err)]++
				mu.Unlock()
			})
		}
		wg.Wait()
		l, err := st.ListAudit(ctx, everywhere, audit.Filter{Action: "auth.login_failed"})
		mustOK(t, err)
		if l.Total != auth.AccountBurst || codes[shequ.EUNAUTHORIZED] != auth.AccountBurst || codes[shequ.ETOOMANY] != 2*auth.AccountBurst {
			t.Errorf("%d guesses checked, answers %v; want %d checked", l.Total, codes, auth.AccountBurst)
		}
	})
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := context.Background()
		makeTree(t, st, "a1")
		if _, err := st.DB().ExecContext(ctx, "UPDATE audit_log SET username = 'someone else'"); err == nil {
			t.Error("audit log entries can be changed")
		}
		if _, err := st.DB().ExecContext(ctx, "DELETE FROM audit_log"); err == nil {
			t.Error("audit log entries can be deleted")
		}
		l, err := st.ListAudit(ctx, everywhere, audit.Filter{Entity: "home"})
		mustOK(t, err)
		if l.Total != 2 || l.Items[0].Action != "home.create" || len(l.Items[0].After) == 0 {
			t.Errorf("home entries: %+v", l.Items)
		}
	})
}

func TestAtomicRollsBackWhole(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		err := st.Atomic(ctx, func(tx *sqlstore.Store) error {
			c := community.Community{Code: "half", Name: "半"}
			if err := tx.CreateCommunity(ctx, everywhere, &c); err != nil {
				return err
			}
			return tx.CreateGrid(ctx, everywhere, &community.Grid{CommunityID: c.ID, Code: "", Name: ""})
		})
		if shequ.ErrorCode(err) != shequ.EINVALID {
			t.Fatalf("got %v", err)
		}
		if _, err := st.CommunityByCode(ctx, "half"); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("half a batch stayed: %v", err)
		}
	})
}

// TestListTotalsPastAFullPage: a list of more rows than the largest page
// says so in its total, on every page, so that a client paging through it
// does not stop after the first (a full page of shequ.MaxLimit once looked
// like the end).
func TestListTotalsPastAFullPage(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makePlaces(t, st, "lt")
		want := shequ.MaxLimit + 7
		for i := range want {
			_, err := st.DB().ExecContext(ctx, `INSERT INTO alarm_events (community_id, home_id, source, account, kind, received_at) VALUES ($1, $2, 'panel', 'LT01', 'test', $3)`,
				tr.community.ID, tr.home1.ID, clock.Now().Add(time.Duration(i)*time.Second))
			mustOK(t, err)
		}
		seen := 0
		for off := 0; ; off += shequ.MaxLimit {
			l, err := st.ListEvents(ctx, everywhere, alarm.EventFilter{HomeID: tr.home1.ID, Page: shequ.Page{Limit: shequ.MaxLimit, Offset: off}})
			mustOK(t, err)
			if l.Total != want {
				t.Fatalf("offset %d: total %d, want %d", off, l.Total, want)
			}
			seen += len(l.Items)
			if off+shequ.MaxLimit >= l.Total {
				break
			}
		}
		if seen != want {
			t.Errorf("paged through %d of %d events", seen, want)
		}
	})
}
