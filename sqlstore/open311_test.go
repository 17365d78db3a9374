package sqlstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/open311"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

func TestOpen311KeysAndRequests(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "o3")
		other := makeTree(t, st, "o3x")
		for _, c := range []matter.Category{
			{CommunityID: tr.community.ID, Code: "lift", Name: "电梯故障", SLAHours: 24,
				Attributes: []matter.Attribute{{Code: "trapped", Description: "anyone trapped", Datatype: "singlevaluelist", Required: true, Values: []string{"yes", "no"}}}},
			{CommunityID: tr.community.ID, Code: "repair", Name: "维修", SLAHours: 72},
		} {
			mustOK(t, st.CreateCategory(ctx, everywhere, &c))
		}
		admin := auth.Scope{{CommunityID: tr.community.ID}}

		// Keys: the secret is returned once and kept only as a hash.
		if _, err := st.CreateOpen311Key(ctx, admin, &open311.Open311Key{CommunityID: tr.community.ID, Name: " "}); shequ.ErrorCode(err) != shequ.EINVALID {
			t.Errorf("nameless key: %v", err)
		}
		if _, err := st.CreateOpen311Key(ctx, admin, &open311.Open311Key{CommunityID: other.community.ID, Name: "x"}); shequ.ErrorCode(err) != shequ.EFORBIDDEN {
			t.Errorf("key for a community out of scope: %v", err)
		}
		k := open311.Open311Key{CommunityID: tr.community.ID, Name: "12345 hotline"}
		secret, err := st.CreateOpen311Key(ctx, admin, &k)
		mustOK(t, err)
		if !strings.HasPrefix(secret, "o311_") || len(secret) < 40 || k.ID == 0 {
			t.Fatalf("secret %q key %+v", secret, k)
		}
		got, err := st.Open311Key(ctx, secret)
		mustOK(t, err)
		if got.ID != k.ID || got.CommunityID != tr.community.ID || got.Name != "12345 hotline" {
			t.Errorf("key by secret %+v", got)
		}
		for _, bad := range []string{"", "o311_nope", secret + "x", strings.TrimPrefix(secret, "o311_")} {
			if _, err := st.Open311Key(ctx, bad); shequ.ErrorCode(err) != shequ.EFORBIDDEN {
				t.Errorf("secret %q: %v", bad, err)
			}
		}
		keys, err := st.ListOpen311Keys(ctx, admin, 0, shequ.Page{})
		mustOK(t, err)
		if keys.Total != 1 || keys.Items[0].Name != "12345 hotline" {
			t.Errorf("keys %+v", keys)
		}
		if l, _ := st.ListOpen311Keys(ctx, auth.Scope{{CommunityID: other.community.ID}}, 0, shequ.Page{}); l.Total != 0 {
			t.Errorf("another community sees the key: %+v", l)
		}

		// A request filed with the key: a matter of the key's community on
		// the open311 channel with no resident, audited under the key.
		m := matter.Matter{Category: "lift", Description: "电梯停了，请联系 13912345678", Address: "东门", Attributes: map[string]string{"trapped": "no"}}
		mustOK(t, st.SubmitOpen311(ctx, got, &m, open311.Extra{BuildingID: tr.building2.ID, MediaURL: "https://example.org/p.jpg",
			Contact: map[string]string{"email": "a@example.org", "phone": "13912345678"}}))
		if m.ID == 0 || m.CommunityID != tr.community.ID || m.Channel != "open311" || m.PersonID != 0 || m.GridID != tr.grid2.ID || m.Tracking == "" {
			t.Errorf("filed %+v", m)
		}
		entries, err := st.ListAudit(ctx, everywhere, audit.Filter{Entity: "matter", EntityID: m.ID})
		mustOK(t, err)
		if entries.Total != 1 || entries.Items[0].Username != "open311:12345 hotline" || entries.Items[0].UserID != 0 {
			t.Errorf("audit of the filing %+v", entries)
		}
		contact, err := st.Open311Contact(ctx, admin, m.ID)
		mustOK(t, err)
		if !strings.Contains(contact, "a@example.org") {
			t.Errorf("contact %q", contact)
		}
		if bad := (matter.Matter{Category: "repair", Description: "x"}); shequ.ErrorCode(st.SubmitOpen311(ctx, got, &bad, open311.Extra{BuildingID: other.building1.ID})) != shequ.EINVALID {
			t.Errorf("a building of another community was taken")
		}
		if bad := (matter.Matter{Category: "lift", Description: "x"}); shequ.ErrorCode(st.SubmitOpen311(ctx, got, &bad, open311.Extra{})) != shequ.EINVALID {
			t.Errorf("a required answer was left out")
		}
		// The matter and its extras go together: when the extras cannot be
		// written (here a key the database does not have), no matter is
		// filed and the client is told, rather than a matter without the
		// reporter's contact and a success.
		before, err := st.ListMatters(ctx, admin, matter.Filter{})
		mustOK(t, err)
		gone := got
		gone.ID = 1 << 40
		half := matter.Matter{Category: "repair", Description: "路灯不亮"}
		if err := st.SubmitOpen311(ctx, gone, &half, open311.Extra{Contact: map[string]string{"phone": "13912345678"}}); err == nil {
			t.Error("a request whose extras could not be written was taken")
		}
		after, err := st.ListMatters(ctx, admin, matter.Filter{})
		mustOK(t, err)
		if after.Total != before.Total {
			t.Errorf("%d matters before a failed request, %d after: the matter stayed without its extras", before.Total, after.Total)
		}

		// A resident's matter, a day later, then resolved.
		clock.Advance(24 * time.Hour)
		home := matter.Matter{PersonID: tr.alice.ID, Category: "repair", Description: "楼道灯坏了"}
		mustOK(t, st.SubmitMatter(ctx, auth.Scope{{CommunityID: tr.community.ID, HouseholdID: tr.household1.ID}}, &home))
		_, err = st.StepMatter(ctx, admin, home.ID, matter.Step{Action: "accept", By: 1})
		mustOK(t, err)
		_, err = st.StepMatter(ctx, admin, home.ID, matter.Step{Action: "resolve", By: 1, Note: "换了灯泡"})
		mustOK(t, err)

		list := func(f open311.Filter) []string {
			t.Helper()
			f.CommunityID = tr.community.ID
			rows, err := st.ListOpen311Requests(ctx, f)
			mustOK(t, err)
			var out []string
			for _, r := range rows {
				out = append(out, r.Matter.Tracking)
			}
			return out
		}
		both := []string{home.Tracking, m.Tracking}
		for name, c := range map[string]struct {
			f    open311.Filter
			want []string
		}{
			"all, newest first":  {open311.Filter{}, both},
			"by tracking":        {open311.Filter{Tracking: []string{m.Tracking, "SQ-nope"}}, []string{m.Tracking}},
			"tracking wins":      {open311.Filter{Tracking: []string{m.Tracking}, Status: "closed"}, []string{m.Tracking}},
			"by code":            {open311.Filter{Categories: []string{"repair"}}, []string{home.Tracking}},
			"by codes":           {open311.Filter{Categories: []string{"repair", "lift"}}, both},
			"open":               {open311.Filter{Status: "open"}, []string{m.Tracking}},
			"closed":             {open311.Filter{Status: "closed"}, []string{home.Tracking}},
			"since, inclusive":   {open311.Filter{Since: home.CreatedAt}, []string{home.Tracking}},
			"until, inclusive":   {open311.Filter{Until: m.CreatedAt}, []string{m.Tracking}},
			"window without any": {open311.Filter{Since: m.CreatedAt.Add(time.Second), Until: home.CreatedAt.Add(-time.Second)}, nil},
			"limit":              {open311.Filter{Limit: 1}, []string{home.Tracking}},
			"unknown code":       {open311.Filter{Categories: []string{"nope"}}, nil},
			"unknown tracking":   {open311.Filter{Tracking: []string{"SQ-x"}}, nil},
		} {
			if got := list(c.f); strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("%s: got %v, want %v", name, got, c.want)
			}
		}
		rows, err := st.ListOpen311Requests(ctx, open311.Filter{CommunityID: tr.community.ID})
		mustOK(t, err)
		if r := rows[0]; r.Building.ID != tr.building1.ID || r.Building.Name != "A栋" || r.MediaURL != "" || r.Matter.Status != matter.Resolved {
			t.Errorf("the resident's matter: %+v", r)
		}
		if r := rows[1]; r.Building.ID != tr.building2.ID || r.MediaURL != "https://example.org/p.jpg" || r.Matter.Attributes["trapped"] != "no" {
			t.Errorf("the Open311 matter: %+v", r)
		}
		if rows, _ := st.ListOpen311Requests(ctx, open311.Filter{CommunityID: other.community.ID}); len(rows) != 0 {
			t.Errorf("another community lists %d requests", len(rows))
		}
		if _, err := st.ListOpen311Requests(ctx, open311.Filter{CommunityID: tr.community.ID, Status: "pending"}); shequ.ErrorCode(err) != shequ.EINVALID {
			t.Errorf("unknown status: %v", err)
		}
		if cs, err := st.Open311Changeset(ctx); err != nil || cs.IsZero() {
			t.Errorf("changeset %v %v", cs, err)
		}

		// Revoking ends the key at once; only its community may revoke it.
		if err := st.RevokeOpen311Key(ctx, auth.Scope{{CommunityID: other.community.ID}}, k.ID); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("revoked from another community: %v", err)
		}
		mustOK(t, st.RevokeOpen311Key(ctx, admin, k.ID))
		mustOK(t, st.RevokeOpen311Key(ctx, admin, k.ID))
		if _, err := st.Open311Key(ctx, secret); shequ.ErrorCode(err) != shequ.EFORBIDDEN || !strings.Contains(shequ.ErrorMessage(err), "revoked") {
			t.Errorf("revoked key: %v", err)
		}
		keys, _ = st.ListOpen311Keys(ctx, admin, tr.community.ID, shequ.Page{})
		if keys.Items[0].RevokedAt == nil || keys.Items[0].LastUsedAt == nil {
			t.Errorf("after revoking %+v", keys.Items[0])
		}
		entries, _ = st.ListAudit(ctx, everywhere, audit.Filter{Entity: "open311_key"})
		if entries.Total != 2 || entries.Items[0].Action != "open311_key.revoke" || strings.Contains(string(entries.Items[1].After), secret) {
			t.Errorf("key audit %+v", entries.Items)
		}
	})
}
