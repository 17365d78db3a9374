package sqlstore_test

import (
	"testing"
	"time"

	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// After ReleaseIdle (the end of a server's start-up work) the store has
// no idle connection left, and it still writes and reads: its kept
// prepared statements come back on the new connections.
func TestReleaseIdle(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st := sqlstoretest.Open(t, dialect, shequtest.NewClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)))
			tr := makeTree(t, st, "rel")
			f := community.Filter{CommunityID: tr.community.ID}
			for range 3 { // a query text run twice is kept prepared
				if l, err := st.ListPeople(ctx, everywhere, f); err != nil || l.Total != 2 {
					t.Fatalf("before: %d people, %v", l.Total, err)
				}
			}
			if st.DB().Stats().Idle == 0 || sqlstore.ReadPoolIdle(st) == 0 {
				t.Fatalf("no idle connection before the release: writer %d, readers %d", st.DB().Stats().Idle, sqlstore.ReadPoolIdle(st))
			}
			st.ReleaseIdle()
			if w, r := st.DB().Stats().Idle, sqlstore.ReadPoolIdle(st); w != 0 || r != 0 {
				t.Fatalf("idle connections after the release: writer %d, readers %d", w, r)
			}
			carol := community.Person{HouseholdID: tr.household1.ID, Name: "赵兰", Phone: "19900004444", IDNumber: idFor("rel", 3), BirthDate: "1990-01-02"}
			mustOK(t, st.CreatePerson(ctx, everywhere, &carol))
			for range 3 {
				if l, err := st.ListPeople(ctx, everywhere, f); err != nil || l.Total != 3 {
					t.Fatalf("after: %d people, %v; want 3", l.Total, err)
				}
			}
			if st.DB().Stats().Idle == 0 || sqlstore.ReadPoolIdle(st) == 0 {
				t.Errorf("the connections opened after the release were not kept: writer %d, readers %d idle", st.DB().Stats().Idle, sqlstore.ReadPoolIdle(st))
			}
		})
	}
}
