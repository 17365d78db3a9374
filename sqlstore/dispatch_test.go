package sqlstore_test

import (
	"bytes"
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// A grid worker of another grid sent to a home reaches it through the
// dispatch alone: its people while the incident is theirs and open, the
// report and its photo; nobody else does, and a refused report stores
// nothing.
func TestFieldStaffReachTheHomeTheyAreSentTo(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "fs")
		mk := func(name string) *auth.User {
			u := &auth.User{Username: name, Grants: []auth.Grant{{Role: auth.RoleGridWorker, CommunityID: tr.community.ID, GridID: tr.grid2.ID}}}
			mustOK(t, st.CreateUser(ctx, everywhere, u, ""))
			return u
		}
		sent, other := mk("sent"), mk("other")
		out, err := st.RaiseSOS(ctx, everywhere, tr.home1.ID, "", 0, 0)
		mustOK(t, err)
		id := out.Incident.ID
		// Not sent yet: nothing is reached through a dispatch.
		if _, err := st.DispatchReach(ctx, sent.ID, id); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Fatalf("reach before the dispatch: %v", err)
		}
		_, err = st.StepIncident(ctx, everywhere, id, alarm.Step{Action: "dispatch", By: 1, To: sent.ID})
		mustOK(t, err)

		mine, err := st.ListIncidents(ctx, everywhere, alarm.IncidentFilter{Status: "open", DispatchedTo: sent.ID})
		mustOK(t, err)
		if mine.Total != 1 || mine.Items[0].ID != id {
			t.Fatalf("dispatches of the one sent: %+v", mine.Items)
		}
		if theirs, err := st.ListIncidents(ctx, everywhere, alarm.IncidentFilter{Status: "open", DispatchedTo: other.ID}); err != nil || theirs.Total != 0 {
			t.Fatalf("dispatches of another: %+v %v", theirs.Items, err)
		}

		reach, err := st.DispatchReach(ctx, sent.ID, id)
		mustOK(t, err)
		people, err := st.ListPeople(ctx, reach, community.Filter{HomeID: tr.home1.ID})
		mustOK(t, err)
		if people.Total != 1 || people.Items[0].ID != tr.alice.ID {
			t.Fatalf("people reached through the dispatch: %+v", people.Items)
		}
		if p, err := st.ListPeople(ctx, reach, community.Filter{}); err != nil || p.Total != 1 {
			t.Errorf("the dispatch reaches beyond the home: %d people, %v", p.Total, err)
		}
		if _, err := st.DispatchReach(ctx, other.ID, id); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("reach of someone not sent: %v", err)
		}

		// A report before arriving is refused and stores no photo.
		photo := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 64)...)
		blob := blobOf(photo)
		report := alarm.Step{Action: "report", By: sent.ID, Notes: "door open, resident asleep", OnlyAssignee: true}
		if _, _, err := st.ReportOnIncident(ctx, everywhere, id, report, &blob); shequ.ErrorCode(err) != shequ.ECONFLICT {
			t.Fatalf("report before arriving: %v", err)
		}
		if ids, err := st.IncidentPhotoIDs(ctx, nil, sent.ID, id); err != nil || len(ids) != 0 {
			t.Fatalf("a refused report left photos %v (%v)", ids, err)
		}
		_, err = st.StepIncident(ctx, everywhere, id, alarm.Step{Action: "arrive", By: sent.ID, OnlyAssignee: true})
		mustOK(t, err)
		// Someone else cannot report on it.
		if _, _, err := st.ReportOnIncident(ctx, everywhere, id, alarm.Step{Action: "report", By: other.ID, Notes: "x", OnlyAssignee: true}, nil); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("report by someone not sent: %v", err)
		}
		inc, photoID, err := st.ReportOnIncident(ctx, everywhere, id, report, &blob)
		mustOK(t, err)
		if inc.Status != alarm.StatusOnSite || photoID == 0 {
			t.Fatalf("report: %s, photo %d", inc.Status, photoID)
		}
		tl, err := st.IncidentTimeline(ctx, everywhere, id)
		mustOK(t, err)
		if last := tl[len(tl)-1]; last.Action != "report" || last.Detail != report.Notes || last.UserID != sent.ID {
			t.Errorf("timeline ends with %+v", last)
		}
		got, err := st.IncidentPhoto(ctx, nil, sent.ID, id, photoID)
		mustOK(t, err)
		if got.ContentType != "image/png" || got.SHA256 != blob.SHA256 || got.Size != int64(len(photo)) || got.CreatedBy != sent.ID {
			t.Errorf("photo %+v", got)
		}
		if _, err := st.IncidentPhoto(ctx, nil, other.ID, id, photoID); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("photo for someone not sent: %v", err)
		}

		// Resolved: the dispatch reaches nothing more; the console still
		// sees the photo.
		_, err = st.StepIncident(ctx, everywhere, id, alarm.Step{Action: "resolve", By: 1, Resolution: "resident_safe"})
		mustOK(t, err)
		if _, err := st.DispatchReach(ctx, sent.ID, id); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("reach after resolving: %v", err)
		}
		if _, err := st.IncidentPhoto(ctx, nil, sent.ID, id, photoID); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("photo through a resolved dispatch: %v", err)
		}
		if ids, err := st.IncidentPhotoIDs(ctx, everywhere, 0, id); err != nil || len(ids) != 1 {
			t.Errorf("the console's photos: %v %v", ids, err)
		}
	})
}
