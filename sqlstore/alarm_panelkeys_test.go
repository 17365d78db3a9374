package sqlstore_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestPanelKeysSince: every way a key can change (a panel registered, a
// key replaced by hand, an account renamed, a row deleted) reaches the
// incremental read, and a read with nothing new returns nothing.
func TestPanelKeysSince(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "pk")
		mustOK(t, st.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home1.ID, Account: "1111", Key: "0123456789abcdef"}))
		mark, err := st.PanelKeyMark(ctx)
		mustOK(t, err)
		full, err := st.PanelKeys(ctx)
		mustOK(t, err)
		if full["1111"] != "0123456789abcdef" {
			t.Fatalf("full load %v", full)
		}
		sealed := sqlstoretest.TestCipher(t).Seal("fedcba9876543210")
		steps := []struct {
			name    string
			do      func()
			keys    map[string]string
			removed []string
		}{
			{"nothing new", func() {}, map[string]string{}, nil},
			{"panel registered", func() {
				mustOK(t, st.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home2.ID, Account: "2222"}))
			}, map[string]string{"2222": ""}, nil},
			{"key replaced", func() {
				_, err := st.DB().ExecContext(ctx, "UPDATE alarm_panels SET key_enc = $1 WHERE account = '1111'", sealed)
				mustOK(t, err)
			}, map[string]string{"1111": "fedcba9876543210"}, nil},
			{"a frame's last_seen_at is no key change", func() {
				_, err := st.DB().ExecContext(ctx, "UPDATE alarm_panels SET last_seen_at = $1 WHERE account = '1111'", clock.Now())
				mustOK(t, err)
			}, map[string]string{}, nil},
			{"account renamed", func() {
				_, err := st.DB().ExecContext(ctx, "UPDATE alarm_panels SET account = '3333' WHERE account = '2222'")
				mustOK(t, err)
			}, map[string]string{"3333": ""}, []string{"2222"}},
			{"panel deleted", func() {
				_, err := st.DB().ExecContext(ctx, "DELETE FROM alarm_panels WHERE account = '1111'")
				mustOK(t, err)
			}, map[string]string{}, []string{"1111"}},
		}
		for _, s := range steps {
			s.do()
			keys, removed, next, err := st.PanelKeysSince(ctx, mark)
			mustOK(t, err)
			slices.Sort(removed)
			if len(keys) != len(s.keys) || !slices.Equal(removed, s.removed) {
				t.Errorf("%s: keys %v removed %v, want %v and %v", s.name, keys, removed, s.keys, s.removed)
			}
			for a, k := range s.keys {
				if got, ok := keys[a]; !ok || got != k {
					t.Errorf("%s: key of %s %q (%v), want %q", s.name, a, got, ok, k)
				}
			}
			if next < mark || (len(s.keys)+len(s.removed) > 0 && next == mark) {
				t.Errorf("%s: mark %d after %d", s.name, next, mark)
			}
			mark = next
		}
	})
}

// TestCutPanelKeyLog: cutting the log keeps its newest entries; a reader
// whose mark is still in what is kept reads on as before, one whose mark
// the cut passed is told to read every key again.
func TestCutPanelKeyLog(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "cut")
		before, err := st.PanelKeyMark(ctx)
		mustOK(t, err)
		for _, a := range []string{"5001", "5002", "5003", "5004"} {
			mustOK(t, st.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home1.ID, Account: a}))
		}
		mark, err := st.PanelKeyMark(ctx)
		mustOK(t, err)
		n, err := st.CutPanelKeyLog(ctx, 2)
		mustOK(t, err)
		if n < 2 {
			t.Fatalf("cut %d entries of at least 4, keeping 2", n)
		}
		if again, err := st.CutPanelKeyLog(ctx, 2); err != nil || again != 0 {
			t.Fatalf("a second cut took %d (%v)", again, err)
		}
		// The mark two entries back is what the cut kept.
		keys, _, next, err := st.PanelKeysSince(ctx, mark-2)
		mustOK(t, err)
		if len(keys) != 2 || keys["5003"] != "" || keys["5004"] != "" || next != mark {
			t.Errorf("from the kept entries: %v, mark %d (want %d)", keys, next, mark)
		}
		if _, _, _, err := st.PanelKeysSince(ctx, before); !errors.Is(err, sqlstore.ErrPanelKeyLogCut) {
			t.Errorf("from a mark the cut passed: %v, want ErrPanelKeyLogCut", err)
		}
		if keys, _, next, err := st.PanelKeysSince(ctx, mark); err != nil || len(keys) != 0 || next != mark {
			t.Errorf("nothing new: %v %d %v", keys, next, err)
		}
	})
}
