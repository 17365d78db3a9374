package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

// The board is moderated by the post's own community: an admin of
// community A who lives in B is a mere resident on B's board, in the API
// and on the page alike, while B's own admin still moderates it.
func TestBoardModeratorOnlyOfThePostsCommunity(t *testing.T) {
	env := newTestEnv(t, "sqlite")
	ctx := t.Context()
	otherC, _, otherPerson := env.secondCommunity()
	p, err := env.store.Person(ctx, auth.Scope{{}}, otherPerson)
	if err != nil {
		t.Fatal(err)
	}
	neighbour := community.Person{HouseholdID: p.HouseholdID, Name: "B的另一位居民"}
	if err := env.store.CreatePerson(ctx, auth.Scope{{}}, &neighbour); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*auth.User{
		{Username: "b-author", PersonID: otherPerson, Grants: []auth.Grant{{Role: auth.RoleResident, CommunityID: otherC}}},
		// A's administrator, who lives in B.
		{Username: "a-director-lives-b", PersonID: neighbour.ID, Grants: []auth.Grant{
			{Role: auth.RoleAdmin, CommunityID: env.demo.CommunityID}, {Role: auth.RoleResident, CommunityID: otherC}}},
		{Username: "b-plain", PersonID: neighbour.ID, Grants: []auth.Grant{{Role: auth.RoleResident, CommunityID: otherC}}},
		{Username: "b-admin", Grants: []auth.Grant{{Role: auth.RoleAdmin, CommunityID: otherC}}},
	} {
		if err := env.store.CreateUser(ctx, auth.Scope{{}}, u, demoPassword); err != nil {
			t.Fatal(err)
		}
	}
	newPost := func(title string) int64 {
		var post struct{ ID int64 }
		if got := env.do("b-author", "POST", "/api/v1/lostfound", map[string]any{"kind": "lost", "title": title, "place": "B栋门口"}, &post); got != http.StatusOK && got != http.StatusCreated {
			t.Fatalf("post: %d", got)
		}
		return post.ID
	}
	// The API, on one post.
	id := newPost("黑色钱包")
	resolve, path := fmt.Sprintf("/api/v1/lostfound/%d/resolve", id), fmt.Sprintf("/api/v1/lostfound/%d", id)
	for _, user := range []string{"b-plain", "a-director-lives-b"} {
		if got := env.do(user, "POST", resolve, nil, nil); got != http.StatusForbidden {
			t.Errorf("%s marked B's post resolved: %d, want 403", user, got)
		}
		if got := env.do(user, "DELETE", path, nil, nil); got != http.StatusForbidden {
			t.Errorf("%s took B's post down: %d, want 403", user, got)
		}
	}
	// The page, on another.
	id = newPost("蓝色雨伞")
	jar := newJar(env)
	page := fmt.Sprintf("/lostfound/%d", id)
	if r := env.page(page, jar.of("a-director-lives-b")...); r.status != http.StatusOK || strings.Contains(r.body, `id="lf-resolve"`) {
		t.Errorf("A's director sees B's post %d with a resolve button: %d", id, r.status)
	}
	if r := jar.post("a-director-lives-b", page+"/resolve", nil, false); r.status != http.StatusForbidden {
		t.Errorf("A's director resolved B's post on the page: %d, want 403", r.status)
	}
	if r := env.page(page, jar.of("b-admin")...); r.status != http.StatusOK || !strings.Contains(r.body, `id="lf-resolve"`) {
		t.Errorf("B's admin sees no resolve button on B's post: %d", r.status)
	}
	if got := env.do("b-admin", "DELETE", fmt.Sprintf("/api/v1/lostfound/%d", id), nil, nil); got >= 300 {
		t.Errorf("B's own admin could not take the post down: %d", got)
	}
}
