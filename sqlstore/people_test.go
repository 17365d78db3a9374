package sqlstore_test

import (
	"testing"

	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// TestPeopleSearchByNumber: a reader who sees numbers masked finds people
// by name only, so a guessed phone or ID number is never confirmed (found
// in review: the search told a chair which of 9 candidate ID numbers was
// the resident's); a reader of whole numbers finds them by number within
// that scope only, and each person so found is audited as a read of
// their numbers.
func TestPeopleSearchByNumber(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		tr := makeTree(t, st, "pn")
		c := tr.community.ID
		reader := &auth.User{Username: "pn-reader", Grants: []auth.Grant{{Role: auth.RoleAdmin, CommunityID: c}}}
		mustOK(t, st.CreateUser(t.Context(), everywhere, reader, ""))
		ctx := auth.WithActor(t.Context(), &auth.Actor{User: *reader})
		audited := func(person int64) int {
			t.Helper()
			l, err := st.ListAudit(ctx, everywhere, audit.Filter{Action: "person.read_pii", EntityID: person})
			mustOK(t, err)
			return l.Total
		}
		community1 := auth.Scope{{CommunityID: c}}
		grid2 := auth.Scope{{CommunityID: c, GridID: tr.grid2.ID}}
		tests := []struct {
			name    string
			numbers auth.Scope
			q       string
			want    []int64
			audit   int64 // the person whose read is audited, 0: none
		}{
			{"masked: a whole phone", nil, tr.alice.Phone, nil, 0},
			{"masked: a whole ID number", nil, tr.alice.IDNumber, nil, 0},
			{"masked: a written phone", nil, "199-0000-1111", nil, 0},
			{"masked: a name", nil, "王", []int64{tr.alice.ID}, 0},
			{"whole numbers: a phone", community1, "199 0000 1111", []int64{tr.alice.ID}, tr.alice.ID},
			{"whole numbers: an ID number", community1, tr.bob.IDNumber, []int64{tr.bob.ID}, tr.bob.ID},
			{"whole numbers: a name", community1, "李明", []int64{tr.bob.ID}, 0},
			{"whole numbers of another grid", grid2, tr.alice.Phone, nil, 0},
			{"whole numbers of one's grid", grid2, tr.bob.Phone, []int64{tr.bob.ID}, tr.bob.ID},
			{"an emergency contact's phone", community1, "19900002222", nil, 0},
		}
		for _, tt := range tests {
			before := map[int64]int{tr.alice.ID: audited(tr.alice.ID), tr.bob.ID: audited(tr.bob.ID)}
			l, err := st.ListPeople(ctx, community1, community.Filter{Query: tt.q, NumberScope: tt.numbers})
			mustOK(t, err)
			if got := ids(l.Items, func(p community.Person) int64 { return p.ID }); !sameIDs(got, tt.want) {
				t.Errorf("%s: found %v, want %v", tt.name, got, tt.want)
			}
			for _, p := range []int64{tr.alice.ID, tr.bob.ID} {
				want := before[p]
				if p == tt.audit {
					want++
				}
				if got := audited(p); got != want {
					t.Errorf("%s: %d reads of person %d audited, want %d", tt.name, got, p, want)
				}
			}
		}
		// The audit entry says how the number was learnt.
		l, err := st.ListAudit(ctx, everywhere, audit.Filter{Action: "person.read_pii", EntityID: tr.bob.ID})
		mustOK(t, err)
		if l.Total == 0 || l.Items[0].Username != "pn-reader" || len(l.Items[0].After) == 0 {
			t.Errorf("audit of a search by number: %+v", l.Items)
		}
	})
}
