package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/access"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/privacy"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// expectedCounts are the rows the fixture holds about a person, counted
// table by table with queries of the test's own.
var expectedCounts = map[string]string{
	"people":                  `SELECT COUNT(*) FROM people WHERE id = $1`,
	"emergency_contacts":      `SELECT COUNT(*) FROM emergency_contacts WHERE person_id = $1`,
	"households":              `SELECT COUNT(*) FROM households WHERE id = (SELECT household_id FROM people WHERE id = $1)`,
	"household_members":       `SELECT COUNT(*) FROM people WHERE household_id = (SELECT household_id FROM people WHERE id = $1) AND id <> $1`,
	"users":                   `SELECT COUNT(*) FROM users WHERE person_id = $1`,
	"ledger_entries":          `SELECT COUNT(*) FROM ledger_entries WHERE person_id = $1`,
	"ledger_consents":         `SELECT COUNT(*) FROM ledger_consents c JOIN ledger_entries e ON e.id = c.entry_id WHERE e.person_id = $1`,
	"ledger_history":          `SELECT COUNT(*) FROM ledger_history c JOIN ledger_entries e ON e.id = c.entry_id WHERE e.person_id = $1`,
	"ledger_followups":        `SELECT COUNT(*) FROM ledger_followups c JOIN ledger_entries e ON e.id = c.entry_id WHERE e.person_id = $1`,
	"matters":                 `SELECT COUNT(*) FROM matters m WHERE m.person_id = $1 OR m.household_id = (SELECT household_id FROM people WHERE id = $1)`,
	"matter_log":              `SELECT COUNT(*) FROM matter_log l JOIN matters m ON m.id = l.matter_id WHERE m.person_id = $1 OR m.household_id = (SELECT household_id FROM people WHERE id = $1)`,
	"incidents":               `SELECT COUNT(*) FROM incidents WHERE home_id = (SELECT h.home_id FROM people p JOIN households h ON h.id = p.household_id WHERE p.id = $1)`,
	"alarm_events":            `SELECT COUNT(*) FROM alarm_events WHERE home_id = (SELECT h.home_id FROM people p JOIN households h ON h.id = p.household_id WHERE p.id = $1)`,
	"assoc_cases":             `SELECT COUNT(*) FROM assoc_cases c WHERE c.person_id = $1 OR EXISTS (SELECT 1 FROM case_attendees a WHERE a.case_id = c.id AND a.person_id = $1)`,
	"mediation_parties":       `SELECT COUNT(*) FROM mediation_parties WHERE person_id = $1`,
	"assistance_applications": `SELECT COUNT(*) FROM assistance_applications WHERE person_id = $1`,
	"notifications":           `SELECT COUNT(*) FROM notifications WHERE person_id = $1`,
	"privacy_requests":        `SELECT COUNT(*) FROM privacy_requests WHERE person_id = $1`,
	"access_credentials":      `SELECT COUNT(*) FROM access_credentials WHERE person_id = $1`,
	"access_passes":           `SELECT COUNT(*) FROM access_passes WHERE person_id = $1 OR household_id = (SELECT household_id FROM people WHERE id = $1)`,
	"access_log":              `SELECT COUNT(*) FROM access_log WHERE person_id = $1 OR household_id = (SELECT household_id FROM people WHERE id = $1)`,
	"access_welfare":          `SELECT COUNT(*) FROM access_welfare WHERE person_id = $1`,
	"audit_log":               `SELECT COUNT(*) FROM audit_log WHERE entity = 'person' AND entity_id = $1`,
}

// TestPersonalDataExportAndErasure: an office worker exports everything
// held about a resident (counted table by table), the resident withdraws a
// consent, asks for erasure, the administrator approves it: the person is
// anonymised, a held matter and the audit log are kept, and the
// associations' statistics do not change.
func TestPersonalDataExportAndErasure(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			st := sqlstoretest.Open(t, d, nil)
			base := context.Background()
			if _, err := demo.Load(base, st, "privacy-password-1"); err != nil {
				t.Fatal(err)
			}
			db := st.DB()
			one := func(q string, a ...any) (n int64) {
				t.Helper()
				mustOK(t, db.QueryRowContext(base, q, a...).Scan(&n))
				return n
			}
			// The resident the demo has most about: a ledger entry with a
			// consent, in a household with a home.
			person := one(`SELECT e.person_id FROM ledger_entries e JOIN people p ON p.id = e.person_id JOIN households h ON h.id = p.household_id
				WHERE EXISTS (SELECT 1 FROM ledger_consents c WHERE c.entry_id = e.id AND c.given) ORDER BY e.person_id LIMIT 1`)
			community := one(`SELECT community_id FROM people WHERE id = $1`, person)
			household := one(`SELECT household_id FROM people WHERE id = $1`, person)
			home := one(`SELECT home_id FROM households WHERE id = $1`, household)
			category := one(`SELECT MIN(id) FROM matter_categories WHERE community_id = $1`, community)
			now := time.Now().UTC()
			var matterIDs [2]int64
			for i := range matterIDs {
				mustOK(t, db.QueryRowContext(base, `INSERT INTO matters (community_id, tracking, category_id, person_id, household_id, home_id, description, address, status, channel, due_at, created_at, updated_at)
					VALUES ($1, $2, $3, $4, $5, $6, '我家楼上漏水，电话 13900001111', '3栋201', 'submitted', 'app', $7, $7, $7) RETURNING id`,
					community, fmt.Sprintf("PV%04d", i), category, person, household, home, now).Scan(&matterIDs[i]))
				_, err := db.ExecContext(base, `INSERT INTO matter_log (matter_id, at, action, note) VALUES ($1, $2, 'submitted', '请尽快处理')`, matterIDs[i], now)
				mustOK(t, err)
			}
			_, err := db.ExecContext(base, `INSERT INTO alarm_events (community_id, home_id, source, account, kind, received_at) VALUES ($1, $2, 'panel', 'PV01', 'test', $3)`, community, home, now)
			mustOK(t, err)
			// Who came and went is about them too.
			for i := range 2 {
				_, err = db.ExecContext(base, `INSERT INTO access_log (community_id, door_id, at, event, granted, person_id, household_id) VALUES ($1, 1, $2, 'opened', TRUE, $3, $4)`,
					community, now.Add(time.Duration(i)*time.Minute), person, household)
				mustOK(t, err)
			}
			mustOK(t, st.CreateCredential(base, everywhere, &access.Credential{PersonID: person, Kind: access.KindCard, Value: "0A1B2C3D"}))
			_, err = st.PlaceHold(base, "matter", matterIDs[1], "居民对处理结果有争议")
			mustOK(t, err)

			director, err := st.UserByName(base, "director")
			mustOK(t, err)
			office := auth.WithActor(base, &auth.Actor{User: director})

			stats := func() string {
				out := ""
				assocs, err := st.ListAssociations(base, everywhere, communityFilter(community))
				mustOK(t, err)
				for _, a := range assocs.Items {
					s, err := st.AssociationStats(base, assoc.Everything, assoc.StatsFilter{CommunityID: community, AssociationID: a.ID})
					mustOK(t, err)
					b, _ := json.Marshal(s)
					out += string(b)
				}
				return out
			}
			statsBefore := stats()

			// See: everything, table by table.
			e, err := st.PersonalData(office, person)
			mustOK(t, err)
			if len(e.Sections) != len(expectedCounts) {
				t.Errorf("%d sections, the test counts %d tables", len(e.Sections), len(expectedCounts))
			}
			for _, table := range sqlstore.PersonalSections() {
				q, ok := expectedCounts[table]
				if !ok {
					t.Errorf("section %s is not counted by the test", table)
					continue
				}
				if want := one(q, person); int64(e.Count(table)) != want {
					t.Errorf("%s: export has %d rows, the store %d", table, e.Count(table), want)
				}
			}
			for _, table := range []string{"people", "ledger_entries", "ledger_consents", "matters", "matter_log", "alarm_events", "privacy_requests"} {
				if e.Count(table) == 0 {
					t.Errorf("the fixture should hold %s about the person", table)
				}
			}
			if p := e.Sections[0].Rows[0]; p["phone"] == nil || p["phone_idx"] != nil || p["phone_enc"] != nil {
				t.Errorf("person row: numbers opened and indexes left out: %v", p)
			}
			var xlsx, js bytesBuffer
			mustOK(t, privacy.WriteXLSX(&xlsx, e))
			mustOK(t, privacy.WriteJSON(&js, e))
			if xlsx.n < 1000 || js.n < 100 {
				t.Errorf("exports of %d and %d bytes", xlsx.n, js.n)
			}

			// Withdraw a consent, as the office worker for the resident.
			entry := one(`SELECT c.entry_id FROM ledger_consents c JOIN ledger_entries e ON e.id = c.entry_id WHERE e.person_id = $1 AND c.given ORDER BY c.entry_id LIMIT 1`, person)
			partner := one(`SELECT c.partner_id FROM ledger_consents c WHERE c.entry_id = $1 AND c.given ORDER BY c.partner_id LIMIT 1`, entry)
			mustOK(t, st.WithdrawConsent(office, person, entry, partner))
			if one(`SELECT COUNT(*) FROM ledger_consents WHERE entry_id = $1 AND partner_id = $2 AND given`, entry, partner) != 0 {
				t.Error("the consent is still given")
			}

			// Correct the phone number; a bad one changes nothing.
			if err := st.CorrectPhone(office, person, "not a phone"); shequ.ErrorCode(err) != shequ.EINVALID {
				t.Errorf("bad phone: %v", err)
			}
			mustOK(t, st.CorrectPhone(office, person, "13911112222"))
			if p, err := st.Person(base, everywhere, person); err != nil || p.Phone != "13911112222" {
				t.Errorf("corrected phone %q, %v", p.Phone, err)
			}

			// Erase: requested, then decided by the administrator.
			auditBefore := one(`SELECT COUNT(*) FROM audit_log`)
			req, err := st.RequestErasure(office, person, "搬离本社区")
			mustOK(t, err)
			if _, err := st.RequestErasure(office, person, ""); shequ.ErrorCode(err) != shequ.ECONFLICT {
				t.Errorf("second request: %v", err)
			}
			pending, err := st.PendingErasures(base, everywhere)
			mustOK(t, err)
			if len(pending) != 1 || pending[0].ID != req.ID {
				t.Fatalf("pending %+v", pending)
			}
			if _, err := st.DecideErasure(office, everywhere, req.ID, false, ""); shequ.ErrorCode(err) != shequ.EINVALID {
				t.Errorf("a refusal without a reason: %v", err)
			}
			done, err := st.DecideErasure(office, everywhere, req.ID, true, "")
			mustOK(t, err)
			if done.Status != privacy.StatusApproved || len(done.Outcome) == 0 {
				t.Fatalf("decision %+v", done)
			}
			kept := map[string]bool{}
			for _, o := range done.Outcome {
				if o.Done == "kept" {
					kept[o.What] = o.Why != ""
				}
			}
			if !kept["audit_log"] || !kept["matters"] {
				t.Errorf("the outcome does not say what was kept and why: %+v", done.Outcome)
			}
			p, err := st.Person(base, everywhere, person)
			mustOK(t, err)
			if p.Phone != "" || p.IDNumber != "" || p.Name == e.Name {
				t.Errorf("person not anonymised: %+v", p)
			}
			if len(p.Contacts) != 0 {
				t.Errorf("emergency contacts kept: %+v", p.Contacts)
			}
			var desc0, desc1 string
			mustOK(t, db.QueryRowContext(base, `SELECT description FROM matters WHERE id = $1`, matterIDs[0]).Scan(&desc0))
			mustOK(t, db.QueryRowContext(base, `SELECT description FROM matters WHERE id = $1`, matterIDs[1]).Scan(&desc1))
			if desc0 != "" || desc1 == "" {
				t.Errorf("matters after erasure: free %q, held %q", desc0, desc1)
			}
			// Their door passages stay as counts but no longer name them.
			if named, kept := one(`SELECT COUNT(*) FROM access_log WHERE person_id = $1`, person), one(`SELECT COUNT(*) FROM access_log WHERE household_id = $1`, household); named != 0 || kept < 2 {
				t.Errorf("door log after erasure: %d rows still name them, %d of the household's kept", named, kept)
			}
			if open := one(`SELECT COUNT(*) FROM access_credentials WHERE person_id = $1 AND (revoked_at IS NULL OR value_enc <> '' OR value_idx <> '')`, person); open != 0 {
				t.Errorf("%d door credentials still open doors or hold numbers after erasure", open)
			}
			if after := one(`SELECT COUNT(*) FROM audit_log`); after <= auditBefore {
				t.Errorf("audit log went from %d to %d entries", auditBefore, after)
			}
			entries, err := st.ListAudit(base, everywhere, audit.Filter{Action: "privacy.export", Page: shequ.Page{Limit: 10}})
			mustOK(t, err)
			if entries.Total != 1 || entries.Items[0].Username != "director" {
				t.Errorf("the export on the resident's behalf is not in the audit log: %+v", entries)
			}
			if got := stats(); got != statsBefore {
				t.Errorf("statistics changed by the anonymisation:\nbefore %s\nafter  %s", statsBefore, got)
			}
			// Every request and its outcome is on record.
			reqs, err := st.PrivacyRequests(office, person)
			mustOK(t, err)
			kinds := map[string]int{}
			for _, r := range reqs {
				kinds[r.Kind]++
			}
			if kinds[privacy.KindExport] != 1 || kinds[privacy.KindWithdraw] != 1 || kinds[privacy.KindErase] != 1 || kinds[privacy.KindCorrect] != 1 {
				t.Errorf("requests on record: %v", kinds)
			}
		})
	}
}

type bytesBuffer struct{ n int }

func (b *bytesBuffer) Write(p []byte) (int, error) { b.n += len(p); return len(p), nil }

func communityFilter(c int64) community.Filter {
	return community.Filter{CommunityID: c, Page: shequ.Page{Limit: shequ.MaxLimit}}
}
