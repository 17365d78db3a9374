package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/alarm/sia"
	"github.com/shequ/shequ/alarm/sia/siatest"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// fakePanelKeys is a store whose log of key changes the test writes.
type fakePanelKeys struct {
	keys  map[string]string
	log   []string // account changed at seq i+1
	cut   int      // entries up to this seq were cut
	fulls int
}

func (f *fakePanelKeys) PanelKeyMark(context.Context) (int64, error) { return int64(len(f.log)), nil }
func (f *fakePanelKeys) PanelKeys(context.Context) (map[string]string, error) {
	f.fulls++
	return maps.Clone(f.keys), nil
}
func (f *fakePanelKeys) PanelKeysSince(_ context.Context, after int64) (map[string]string, []string, int64, error) {
	if int(after) < f.cut {
		return nil, nil, after, sqlstore.ErrPanelKeyLogCut
	}
	keys := map[string]string{}
	var removed []string
	for _, a := range f.log[after:] {
		if k, ok := f.keys[a]; ok {
			keys[a] = k
		} else {
			removed = append(removed, a)
		}
	}
	return keys, removed, int64(len(f.log)), nil
}
func (f *fakePanelKeys) CutPanelKeyLog(_ context.Context, keep int) (int64, error) {
	n := max(0, len(f.log)-keep-f.cut)
	f.cut += n
	return int64(n), nil
}
func (f *fakePanelKeys) set(account, key string) {
	f.keys[account] = key
	f.log = append(f.log, account)
}
func (f *fakePanelKeys) drop(account string) { delete(f.keys, account); f.log = append(f.log, account) }

// TestPanelAccountsReload: after the one full load, reloads apply only
// the logged changes, and an added, changed, removed or spoiled key is
// seen by the next reload, as with the full reload before; a log cut past
// the node's mark makes it read every key once.
func TestPanelAccountsReload(t *testing.T) {
	const k1, k2 = "0123456789abcdef", "fedcba9876543210"
	f := &fakePanelKeys{keys: map[string]string{"1111": k1, "2222": ""}}
	p := &panelAccounts{store: f, log: slog.New(slog.DiscardHandler)}
	ctx := t.Context()
	if err := p.reload(ctx); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		change  func()
		account string
		key     string // "" with known: no encryption
		known   bool
	}{
		{"loaded", func() {}, "1111", k1, true},
		{"no key", func() {}, "2222", "", true},
		{"added", func() { f.set("3333", k2) }, "3333", k2, true},
		{"changed", func() { f.set("1111", k2) }, "1111", k2, true},
		{"removed", func() { f.drop("2222") }, "2222", "", false},
		{"spoiled key stops working", func() { f.set("3333", "not a key") }, "3333", "", false},
		{"unknown", func() {}, "9999", "", false},
		{"changed, then the log cut past the mark: every key read again", func() {
			f.set("4444", k1)
			f.set("1111", k1)
			f.CutPanelKeyLog(ctx, 1)
		}, "4444", k1, true},
		{"after the full read, by the log again", func() { f.set("4444", k2) }, "4444", k2, true},
	}
	for _, s := range steps {
		s.change()
		if err := p.reload(ctx); err != nil {
			t.Fatal(err)
		}
		p.mu.RLock()
		k, ok := p.keys[s.account]
		p.mu.RUnlock()
		if ok != s.known || string(k) != s.key {
			t.Errorf("%s: key of %s %q known %v, want %q %v", s.name, s.account, k, ok, s.key, s.known)
		}
	}
	if f.fulls != 2 {
		t.Errorf("%d full loads, want 2 (the first and the one after the cut)", f.fulls)
	}
}

// TestLowerCaseAccountIsStored: DC-09 accounts are hex digits and a panel
// may send them in lower case. The accounts' keys are found in any case,
// so such a frame is answered ACK; its reports must then be stored as the
// panel's, not dropped as an unknown account's after the ACK.
func TestLowerCaseAccountIsStored(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			ctx := t.Context()
			st := sqlstoretest.Open(t, dialect, shequ.SystemClock{})
			if _, err := demo.Load(ctx, st, "demo-password-1"); err != nil {
				t.Fatal(err)
			}
			log := slog.New(slog.DiscardHandler)
			acc := &panelAccounts{store: st, log: log}
			if err := acc.reload(ctx); err != nil {
				t.Fatal(err)
			}
			ing := alarm.NewIngestor(st, log, 16)
			go ing.Run(ctx)
			r := sia.New(sia.Config{Addr: "127.0.0.1:0", Logger: log}, acc, ing)
			if err := r.Listen(); err != nil {
				t.Fatal(err)
			}
			go r.Serve(ctx)
			c, err := siatest.Dial("tcp", r.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			for i, account := range []string{"d0101", "D0101"} {
				p := &siatest.Panel{Account: account}
				a, err := c.Exchange(p.SIA(fmt.Sprintf("Nri1/BA0%d", i+1)), 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if a.Type != "ACK" {
					t.Fatalf("burglary from %s answered %s, want ACK", account, a.Type)
				}
			}
			evs, err := st.ListEvents(ctx, auth.Scope{{}}, alarm.EventFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var homes []int64
			for _, e := range evs.Items {
				if e.Code == "BA" {
					if e.Account != "D0101" {
						t.Errorf("event stored with account %q, want the panel's D0101", e.Account)
					}
					homes = append(homes, e.HomeID)
				}
			}
			if len(homes) != 2 || homes[0] == 0 || homes[0] != homes[1] {
				t.Errorf("burglaries stored for homes %v, want both frames' (d0101, D0101) for the panel's home", homes)
			}
		})
	}
}

// downPanelKeys is a store that cannot be reached, counting the asks.
type downPanelKeys struct{ asks int }

var errStoreDown = errors.New("store down")

func (d *downPanelKeys) PanelKeyMark(context.Context) (int64, error) {
	d.asks++
	return 0, errStoreDown
}
func (d *downPanelKeys) PanelKeys(context.Context) (map[string]string, error) {
	d.asks++
	return nil, errStoreDown
}
func (d *downPanelKeys) PanelKeysSince(context.Context, int64) (map[string]string, []string, int64, error) {
	d.asks++
	return nil, nil, 0, errStoreDown
}
func (d *downPanelKeys) CutPanelKeyLog(context.Context, int) (int64, error) { return 0, errStoreDown }

// TestUnknownAccountsDoNotHammerADownStore: while the database is down,
// frames of unknown accounts (answered DUH) make at most one reload every
// few seconds, not one each.
func TestUnknownAccountsDoNotHammerADownStore(t *testing.T) {
	d := &downPanelKeys{}
	p := &panelAccounts{store: d, log: slog.New(slog.DiscardHandler)}
	for i := range 100 {
		if _, ok := p.Key(fmt.Sprintf("%04X", i)); ok {
			t.Fatal("an account known with the store down")
		}
	}
	if d.asks > 2 { // a full load may ask the mark and the keys
		t.Errorf("100 frames of unknown accounts asked the down store %d times", d.asks)
	}
}
