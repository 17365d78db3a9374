package sqlstore_test

import (
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/lostfound"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

func TestLostAndFound(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		a := makeTree(t, st, "la")
		b := makeTree(t, st, "lb")
		users := map[string]*auth.User{}
		for name, g := range map[string]auth.Grant{
			"alice": {Role: auth.RoleResident, CommunityID: a.community.ID},
			"bob":   {Role: auth.RoleResident, CommunityID: a.community.ID},
			"carol": {Role: auth.RoleResident, CommunityID: b.community.ID},
		} {
			u := &auth.User{Username: name, DisplayName: name, Grants: []auth.Grant{g}}
			mustOK(t, st.CreateUser(ctx, everywhere, u, ""))
			users[name] = u
		}
		aliceScope := auth.Scope{{CommunityID: a.community.ID, HouseholdID: a.household1.ID}}
		bobScope := auth.Scope{{CommunityID: a.community.ID, HouseholdID: a.household2.ID}}
		carolScope := auth.Scope{{CommunityID: b.community.ID, HouseholdID: b.household1.ID}}

		cat := lostfound.Post{CommunityID: a.community.ID, AuthorID: users["alice"].ID, Kind: "lost", Subject: "pet", Title: "橘猫走失", Place: "B栋楼下", Description: "黄白相间，戴红项圈"}
		mustOK(t, st.CreatePost(ctx, aliceScope, &cat))
		if err := st.CreatePost(ctx, carolScope, &lostfound.Post{CommunityID: a.community.ID, AuthorID: users["carol"].ID, Kind: "found", Title: "x", Place: "y"}); shequ.ErrorCode(err) != shequ.EFORBIDDEN {
			t.Errorf("posting on another community's board: %v", err)
		}
		if err := st.CreatePost(ctx, aliceScope, &lostfound.Post{CommunityID: a.community.ID, AuthorID: users["alice"].ID, Kind: "stolen", Title: "x", Place: "y"}); shequ.ErrorCode(err) != shequ.EINVALID {
			t.Errorf("bad kind: %v", err)
		}
		// The whole community reads the board; another community does not.
		board, err := st.ListPosts(ctx, bobScope, lostfound.Filter{})
		mustOK(t, err)
		if board.Total != 1 {
			t.Errorf("bob sees %d posts", board.Total)
		}
		other, err := st.ListPosts(ctx, carolScope, lostfound.Filter{})
		mustOK(t, err)
		if other.Total != 0 {
			t.Errorf("carol sees %d posts of another community", other.Total)
		}
		_, err = st.ReplyToPost(ctx, bobScope, cat.ID, users["bob"].ID, "在菜市场见过一只")
		mustOK(t, err)
		if err := st.ClosePost(ctx, bobScope, cat.ID, users["bob"].ID, nil, false); shequ.ErrorCode(err) != shequ.EFORBIDDEN {
			t.Errorf("a neighbour resolved the post: %v", err)
		}
		got, err := st.Post(ctx, bobScope, cat.ID)
		mustOK(t, err)
		if len(got.Replies) != 1 || got.Replies[0].Author != "bob" || got.Status != "open" {
			t.Errorf("post %+v", got)
		}
		// Posts expire: off the board, still readable with all=true.
		clock.Advance(lostfound.DefaultLifetime + time.Minute)
		board, _ = st.ListPosts(ctx, bobScope, lostfound.Filter{})
		all, _ := st.ListPosts(ctx, bobScope, lostfound.Filter{All: true})
		if board.Total != 0 || all.Total != 1 || all.Items[0].Status != "expired" {
			t.Errorf("after expiry: board %d, all %+v", board.Total, all.Items)
		}
		if _, err := st.ReplyToPost(ctx, bobScope, cat.ID, users["bob"].ID, "late"); shequ.ErrorCode(err) != shequ.ECONFLICT {
			t.Errorf("reply to an expired post: %v", err)
		}
		found := lostfound.Post{CommunityID: a.community.ID, AuthorID: users["bob"].ID, Kind: "found", Title: "钥匙一串", Place: "A栋门口"}
		mustOK(t, st.CreatePost(ctx, bobScope, &found))
		mustOK(t, st.ClosePost(ctx, bobScope, found.ID, users["bob"].ID, nil, false))
		if err := st.ClosePost(ctx, bobScope, found.ID, users["bob"].ID, nil, false); shequ.ErrorCode(err) != shequ.ECONFLICT {
			t.Errorf("resolving twice: %v", err)
		}
		// A moderator of another community is no moderator here.
		if err := st.ClosePost(ctx, aliceScope, found.ID, users["alice"].ID, auth.Scope{{CommunityID: b.community.ID}}, true); shequ.ErrorCode(err) != shequ.EFORBIDDEN {
			t.Errorf("another community's moderator took the post down: %v", err)
		}
		mustOK(t, st.ClosePost(ctx, aliceScope, found.ID, users["alice"].ID, auth.Scope{{CommunityID: a.community.ID}}, true)) // a moderator takes it down
		if _, err := st.Post(ctx, bobScope, found.ID); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("removed post still readable: %v", err)
		}
	})
}

// Two resolves of one post at once, the poster's and a moderator's: one
// resolves it, the other is told it is resolved already.
func TestLostAndFoundResolvedOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		a := makeTree(t, st, "lr")
		u := &auth.User{Username: "poster", DisplayName: "poster", Grants: []auth.Grant{{Role: auth.RoleResident, CommunityID: a.community.ID}}}
		mustOK(t, st.CreateUser(ctx, everywhere, u, ""))
		sc := auth.Scope{{CommunityID: a.community.ID, HouseholdID: a.household1.ID}}
		moderate := auth.Scope{{CommunityID: a.community.ID}}
		for i := 0; i < 20; i++ {
			p := lostfound.Post{CommunityID: a.community.ID, AuthorID: u.ID, Kind: "found", Title: "钥匙", Place: "门口"}
			mustOK(t, st.CreatePost(ctx, sc, &p))
			mods := []auth.Scope{nil, moderate}
			errs := atOnce(len(mods), func(k int) error { return st.ClosePost(ctx, sc, p.ID, u.ID, mods[k], false) })
			if (errs[0] == nil) == (errs[1] == nil) {
				t.Fatalf("post %d: resolves %v and %v, want exactly one to succeed", p.ID, errs[0], errs[1])
			}
			for _, err := range errs {
				if err != nil && shequ.ErrorCode(err) != shequ.ECONFLICT {
					t.Errorf("the second resolve: %v, want a conflict", err)
				}
			}
		}
	})
}
