package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/access"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/pii"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

var errKilled = errors.New("rotation killed")

// TestKeyRotationResumes: a rotation killed half way leaves every number
// readable and findable by its index, no row under two keys; resumed, it
// finishes, and the old key can then be retired.
func TestKeyRotationResumes(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			oldKey, newKey := bytes.Repeat([]byte{1}, pii.KeySize), bytes.Repeat([]byte{2}, pii.KeySize)
			ciph, err := pii.NewRing(oldKey)
			mustOK(t, err)
			st, err := sqlstore.Open(ctx, sqlstoretest.DSN(t, d), sqlstore.Options{Cipher: ciph})
			mustOK(t, err)
			t.Cleanup(func() { st.Close() })
			_, err = st.Migrate(ctx)
			mustOK(t, err)
			tr := makeTree(t, st, "kr")
			people := []community.Person{tr.alice, tr.bob}
			for n := 3; n < 40; n++ {
				p := community.Person{HouseholdID: tr.household1.ID, Name: fmt.Sprintf("居民%d", n), Phone: fmt.Sprintf("1990000%04d", n),
					IDNumber: idFor("kr", n), Contacts: []community.Contact{{Name: "联系人", Phone: fmt.Sprintf("1880000%04d", n), Relation: "子女"}}}
				mustOK(t, st.CreatePerson(ctx, everywhere, &p))
				people = append(people, p)
			}
			panel := alarm.Panel{HomeID: tr.home1.ID, Account: "ABC1", Key: "00112233445566778899AABBCCDDEEFF"}
			mustOK(t, st.CreatePanel(ctx, everywhere, &panel))

			// The new key becomes current; the old one still opens.
			mustOK(t, ciph.SetKeys(newKey, oldKey))
			batches := 0
			_, err = st.ResealAll(ctx, sqlstore.RotateOptions{Batch: 7, AfterBatch: func(string, int) error {
				if batches++; batches == 3 {
					return errKilled
				}
				return nil
			}})
			if !errors.Is(err, errKilled) {
				t.Fatalf("rotation: %v, want it killed", err)
			}
			status, err := st.KeyStatus(ctx)
			mustOK(t, err)
			if pending(status) == 0 || pending(status) == rows(status) {
				t.Fatalf("after the kill %d of %d rows pending: not half way", pending(status), rows(status))
			}
			checkPeople(t, st, people)
			checkOneKeyPerRow(t, st)
			// An ID number still indexed under the old key stays unique.
			last := people[len(people)-1]
			dup := community.Person{HouseholdID: tr.household2.ID, Name: "重复", IDNumber: last.IDNumber}
			if err := st.CreatePerson(ctx, everywhere, &dup); shequ.ErrorCode(err) != shequ.ECONFLICT {
				t.Errorf("a second resident with an ID number under the old key: %v", err)
			}
			if err := st.CheckRetire(ctx); !errors.Is(err, sqlstore.ErrKeyInUse) {
				t.Fatalf("retire half way: %v", err)
			}

			// Resumed, it does only what is left.
			n, err := st.ResealAll(ctx, sqlstore.RotateOptions{Batch: 7})
			mustOK(t, err)
			if n != pending(status) {
				t.Errorf("resumed rotation resealed %d rows, %d were pending", n, pending(status))
			}
			status, err = st.KeyStatus(ctx)
			mustOK(t, err)
			if pending(status) != 0 {
				t.Fatalf("%d rows pending after the rotation", pending(status))
			}
			mustOK(t, st.CheckRetire(ctx))
			// Retired: the new key alone reads and finds everything.
			mustOK(t, ciph.SetKeys(newKey))
			checkPeople(t, st, people)
			checkOneKeyPerRow(t, st)
			keys, err := st.PanelKeys(ctx)
			if err != nil || keys[panel.Account] != panel.Key {
				t.Errorf("panel key after retiring the old key: %q, %v", keys[panel.Account], err)
			}
		})
	}
}

func pending(us []sqlstore.KeyUse) (n int) {
	for _, u := range us {
		n += u.Pending
	}
	return n
}

func rows(us []sqlstore.KeyUse) (n int) {
	for _, u := range us {
		n += u.Rows
	}
	return n
}

// checkPeople reads every person and finds each by phone and by ID number.
func checkPeople(t *testing.T, st *sqlstore.Store, people []community.Person) {
	t.Helper()
	ctx := context.Background()
	for _, want := range people {
		got, err := st.Person(ctx, everywhere, want.ID)
		if err != nil {
			t.Fatalf("person %d: %v", want.ID, err)
		}
		if got.Phone != want.Phone || got.IDNumber != want.IDNumber {
			t.Errorf("person %d reads %q %q, want %q %q", want.ID, got.Phone, got.IDNumber, want.Phone, want.IDNumber)
		}
		for i, c := range want.Contacts {
			if i >= len(got.Contacts) || got.Contacts[i].Phone != c.Phone {
				t.Errorf("person %d contact %d: %+v", want.ID, i, got.Contacts)
			}
		}
		for _, q := range []string{want.Phone, want.IDNumber} {
			l, err := st.ListPeople(ctx, everywhere, community.Filter{Query: q, NumberScope: everywhere, Page: shequ.Page{Limit: 5}})
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Items) != 1 || l.Items[0].ID != want.ID {
				t.Errorf("search %q found %d people", q, len(l.Items))
			}
		}
	}
}

// checkOneKeyPerRow: every sealed value of a row is under the key its
// pii_key names (or the row is untouched, all under the first key).
func checkOneKeyPerRow(t *testing.T, st *sqlstore.Store) {
	t.Helper()
	for _, q := range []string{
		"SELECT pii_key, phone_enc, id_number_enc FROM people",
		"SELECT pii_key, phone_enc, '' FROM emergency_contacts",
		"SELECT pii_key, key_enc, '' FROM alarm_panels",
	} {
		rs, err := st.DB().Query(q)
		mustOK(t, err)
		for rs.Next() {
			var key, a, b string
			mustOK(t, rs.Scan(&key, &a, &b))
			by := map[string]bool{}
			for _, v := range []string{a, b} {
				if v != "" {
					by[pii.SealedBy(v)] = true
				}
			}
			if len(by) > 1 {
				t.Errorf("%s: a row sealed under %v at once", q, by)
			}
			if key != "" && len(by) == 1 && !by[key] {
				t.Errorf("%s: row says %s, sealed under %v", q, key, by)
			}
		}
		rs.Close()
	}
}

// TestKeyRotationCoversDoors: door cards are resealed and hashed again
// under the new key, and open doors during and after the rotation; a PIN,
// kept only as its hash, keeps the old key from being retired until it is
// set again; the community's signing key is resealed too.
func TestKeyRotationCoversDoors(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			oldKey, newKey := bytes.Repeat([]byte{3}, pii.KeySize), bytes.Repeat([]byte{4}, pii.KeySize)
			ciph, err := pii.NewRing(oldKey)
			mustOK(t, err)
			st, err := sqlstore.Open(ctx, sqlstoretest.DSN(t, d), sqlstore.Options{Cipher: ciph})
			mustOK(t, err)
			t.Cleanup(func() { st.Close() })
			_, err = st.Migrate(ctx)
			mustOK(t, err)
			f := makeDoors(t, st, "kd")
			card := access.Credential{PersonID: f.alice.ID, Kind: access.KindCard, Value: "04:A2:2B:9C"}
			mustOK(t, st.CreateCredential(ctx, everywhere, &card))
			pin := access.Credential{PersonID: f.bob.ID, Kind: access.KindPIN, Value: "246810"}
			mustOK(t, st.CreateCredential(ctx, everywhere, &pin))
			_, err = st.AccessPublicKey(ctx, f.community.ID)
			mustOK(t, err)
			cardAt := access.Presented{Kind: access.KindCard, Value: "04a22b9c"}
			pinAt := access.Presented{Kind: access.KindPIN, Value: "246810"}

			mustOK(t, ciph.SetKeys(newKey, oldKey))
			// Before the rows are resealed, both still open their doors.
			if dc, dp := decide(t, st, f.entranceA, cardAt), decide(t, st, f.entranceB, pinAt); !dc.Granted || !dp.Granted {
				t.Fatalf("mid-rotation: card %+v, PIN %+v", dc, dp)
			}
			_, err = st.ResealAll(ctx, sqlstore.RotateOptions{Batch: 1})
			mustOK(t, err)
			var enc, priv string
			mustOK(t, st.DB().QueryRowContext(ctx, "SELECT value_enc FROM access_credentials WHERE id = $1", card.ID).Scan(&enc))
			mustOK(t, st.DB().QueryRowContext(ctx, "SELECT private_sealed FROM access_keys WHERE community_id = $1", f.community.ID).Scan(&priv))
			if pii.SealedBy(enc) != ciph.Current() || pii.SealedBy(priv) != ciph.Current() {
				t.Errorf("card sealed by %q, signing key by %q, want %q", pii.SealedBy(enc), pii.SealedBy(priv), ciph.Current())
			}
			if err := st.CheckRetire(ctx); !errors.Is(err, sqlstore.ErrKeyInUse) {
				t.Fatalf("retiring with a PIN hashed under the old key: %v", err)
			}
			mustOK(t, st.RevokeCredential(ctx, everywhere, pin.ID, "set again"))
			pin2 := access.Credential{PersonID: f.bob.ID, Kind: access.KindPIN, Value: "135790"}
			mustOK(t, st.CreateCredential(ctx, everywhere, &pin2))
			mustOK(t, st.CheckRetire(ctx))

			// The old key gone, the card and the new PIN still open.
			mustOK(t, ciph.SetKeys(newKey))
			if dc, dp := decide(t, st, f.entranceA, cardAt), decide(t, st, f.entranceB, access.Presented{Kind: access.KindPIN, Value: "135790"}); !dc.Granted || !dp.Granted {
				t.Errorf("after retiring: card %+v, PIN %+v", dc, dp)
			}
		})
	}
}
