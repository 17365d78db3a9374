package sqlstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

func TestMatterWorkflowStore(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "mt")
		cat := matter.Category{CommunityID: tr.community.ID, Code: "lift", Name: "电梯故障", SLAHours: 24,
			Attributes: []matter.Attribute{{Code: "trapped", Description: "anyone trapped", Datatype: "singlevaluelist", Required: true, Values: []string{"yes", "no"}}}}
		mustOK(t, st.CreateCategory(ctx, everywhere, &cat))
		alice := auth.Scope{{CommunityID: tr.community.ID, HouseholdID: tr.household1.ID}}
		bob := auth.Scope{{CommunityID: tr.community.ID, HouseholdID: tr.household2.ID}}
		staff := auth.Scope{{CommunityID: tr.community.ID}}

		if err := st.SubmitMatter(ctx, alice, &matter.Matter{PersonID: tr.alice.ID, Category: "lift", Description: "电梯停在3楼"}); shequ.ErrorCode(err) != shequ.EINVALID {
			t.Errorf("missing required attribute: %v", err)
		}
		if err := st.SubmitMatter(ctx, alice, &matter.Matter{PersonID: tr.alice.ID, Category: "nope", Description: "x"}); shequ.ErrorCode(err) != shequ.EINVALID {
			t.Errorf("unknown category: %v", err)
		}
		m := matter.Matter{PersonID: tr.alice.ID, Category: "lift", Description: "电梯停在3楼", Attributes: map[string]string{"trapped": "no"}}
		mustOK(t, st.SubmitMatter(ctx, alice, &m))
		m2 := matter.Matter{PersonID: tr.alice.ID, Category: "lift", Description: "again", Attributes: map[string]string{"trapped": "no"}}
		mustOK(t, st.SubmitMatter(ctx, alice, &m2))
		if !strings.HasPrefix(m.Tracking, "SQ-20261128-") || m.Tracking == m2.Tracking || m.HomeID != tr.home1.ID || m.GridID != tr.grid1.ID {
			t.Errorf("submitted %+v / %s", m, m2.Tracking)
		}
		if _, err := st.Matter(ctx, bob, m.ID); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("a neighbour reads the matter: %v", err)
		}
		// A refused step changes nothing, audit included.
		before, _ := st.ListAudit(ctx, everywhere, audit.Filter{Entity: "matter"})
		if _, err := st.StepMatter(ctx, staff, m.ID, matter.Step{Action: "start", By: 1}); shequ.ErrorCode(err) != shequ.ECONFLICT {
			t.Errorf("start before assignment: %v", err)
		}
		after, _ := st.ListAudit(ctx, everywhere, audit.Filter{Entity: "matter"})
		got, _ := st.Matter(ctx, staff, m.ID)
		if after.Total != before.Total || got.Status != matter.Submitted || len(got.Timeline) != 1 {
			t.Errorf("a refused step left traces: %+v", got)
		}
		worker := &auth.User{Username: "worker1", Grants: []auth.Grant{{Role: auth.RoleGridWorker, CommunityID: tr.community.ID, GridID: tr.grid1.ID}}}
		mustOK(t, st.CreateUser(ctx, everywhere, worker, ""))
		for _, s := range []matter.Step{
			{Action: "accept", By: 1},
			{Action: "assign", By: 1, AssigneeUserID: worker.ID},
			{Action: "start", By: worker.ID},
			{Action: "comment", By: 9, Resident: true, Note: "still stuck"},
		} {
			sc := staff
			if s.Resident {
				sc = alice
			}
			if _, err := st.StepMatter(ctx, sc, m.ID, s); err != nil {
				t.Fatalf("%s: %v %+v", s.Action, err, err)
			}
		}
		// Past its service level, it shows as overdue.
		clock.Advance(25 * time.Hour)
		od, err := st.ListMatters(ctx, staff, matter.Filter{Overdue: true})
		mustOK(t, err)
		if od.Total != 2 || !od.Items[0].Overdue {
			t.Errorf("overdue %+v", od)
		}
		_, err = st.StepMatter(ctx, staff, m.ID, matter.Step{Action: "resolve", By: worker.ID, Note: "reset the controller"})
		mustOK(t, err)
		if _, err := st.StepMatter(ctx, bob, m.ID, matter.Step{Action: "rate", By: 9, Resident: true, Rating: 5}); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("a neighbour rates: %v", err)
		}
		done, err := st.StepMatter(ctx, alice, m.ID, matter.Step{Action: "rate", By: 9, Resident: true, Rating: 4, Note: "quick, thanks"})
		mustOK(t, err)
		if done.Status != matter.Closed || done.Rating != 4 || len(done.Timeline) != 7 || done.Overdue {
			t.Errorf("after rating %+v", done)
		}
		mine, err := st.ListMatters(ctx, alice, matter.Filter{Tracking: m.Tracking})
		mustOK(t, err)
		if mine.Total != 1 {
			t.Errorf("by tracking number: %+v", mine)
		}
		jobs, err := st.JobStatus(ctx)
		mustOK(t, err)
		if jobs["matter_update.pending"] < 7 {
			t.Errorf("the resident was not told at each step: %v", jobs)
		}
		// Photos.
		png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
		blob := blobOf(png)
		blob.CreatedBy = 9
		_, err = st.AddMatterPhoto(ctx, alice, m2.ID, blob)
		mustOK(t, err)
		ids, err := st.MatterPhotoIDs(ctx, m2.ID)
		mustOK(t, err)
		if p, err := st.MatterPhoto(ctx, alice, m2.ID, ids[0]); err != nil || p.ContentType != "image/png" || p.Size != int64(len(png)) || p.SHA256 != blob.SHA256 || p.CreatedBy != 9 {
			t.Errorf("photo %+v %v", p, err)
		}
		if _, err := st.MatterPhoto(ctx, bob, m2.ID, ids[0]); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("a neighbour sees the photo: %v", err)
		}
	})
}
