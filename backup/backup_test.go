package backup_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/alarm/sia"
	"github.com/shequ/shequ/alarm/sia/siatest"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/backup"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/media/disk"
	"github.com/shequ/shequ/pii"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	sqlstoretest.RemoveTemplates()
	os.Exit(code)
}

const (
	panels     = 16
	panelKey   = "00112233445566778899AABBCCDDEEFF"
	passphrase = "correct horse battery staple"
)

func account(i int) string { return fmt.Sprintf("C%03X", i+1) }

// acked is a frame a panel had acknowledged, and when.
type acked struct {
	account, zone string
	at            time.Time
}

// TestBackupWhileAlarmsFlow is the done-when test: 16 panels send frames to
// a real receiver storing into the store while the backup is taken; the
// backup is restored into a new place, and every frame acknowledged before
// the backup began is there, every media file with its hash, and the key
// opens the personal data.
func TestBackupWhileAlarmsFlow(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			if dialect == sqlstore.Postgres {
				shequtest.NeedCommand(t, "pg_dump", "pg_restore")
			}
			ctx := context.Background()
			dsn := sqlstoretest.DSN(t, dialect)
			st := sqlstoretest.OpenDSN(t, dsn, nil)
			if _, err := demo.Load(ctx, st, "backup-password-1"); err != nil {
				t.Fatal(err)
			}
			blobs, err := disk.New(filepath.Join(t.TempDir(), "media"))
			if err != nil {
				t.Fatal(err)
			}
			files := addMedia(t, st, blobs, 5)
			person := personWithPhone(t, st)

			addr := startAlarmCentre(t, st)
			stop := make(chan struct{})
			var mu sync.Mutex
			var acks []acked
			var wg sync.WaitGroup
			var failed error
			for i := range panels {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := drivePanel(addr, i, stop, func(a acked) {
						mu.Lock()
						acks = append(acks, a)
						mu.Unlock()
					})
					if err != nil {
						mu.Lock()
						failed = err
						mu.Unlock()
					}
				}()
			}
			// Let every panel get frames through, then back up while they
			// keep sending.
			deadline := time.Now().Add(30 * time.Second)
			for {
				mu.Lock()
				n := len(acks)
				mu.Unlock()
				mu.Lock()
				stopped := failed != nil
				mu.Unlock()
				if n >= panels*10 || stopped || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			started := time.Now()
			target := backup.Dir(t.TempDir())
			keyText := []byte(hex.EncodeToString(bytes.Repeat([]byte{42}, pii.KeySize)) + "\n")
			name, m, err := backup.Run(ctx, backup.Options{DB: st, Blobs: blobs, KeyText: keyText, Passphrase: passphrase,
				Version: "test", ScryptWorkFactor: 10}, target)
			if err != nil {
				t.Fatal(err)
			}
			// Frames went on being stored while the copy was made.
			time.Sleep(100 * time.Millisecond)
			close(stop)
			wg.Wait()
			if failed != nil {
				t.Fatal(failed)
			}
			if len(acks) < panels*10 {
				t.Fatalf("only %d frames acknowledged", len(acks))
			}
			var before []acked
			for _, a := range acks {
				if a.at.Before(started) {
					before = append(before, a)
				}
			}
			t.Logf("%d frames acknowledged, %d before the backup began; %d parts", len(acks), len(before), len(m.Parts))
			if len(before) < panels {
				t.Fatalf("only %d frames before the backup", len(before))
			}
			if len(acks) == len(before) {
				t.Error("no frame was acknowledged while the backup ran: the test did not test writing during the backup")
			}

			// A restore refuses a non-empty folder, and a wrong passphrase,
			// before writing anything.
			data := t.TempDir()
			os.WriteFile(filepath.Join(data, "something"), []byte("x"), 0o600)
			newBlobs, _ := disk.New(filepath.Join(t.TempDir(), "restored-media"))
			restoreDSN := filepath.Join(data, "shequ.db")
			if dialect == sqlstore.Postgres {
				restoreDSN = sqlstoretest.EmptyDSN(t, dialect)
			}
			load := func(ctx context.Context, dialect, file string) error {
				return sqlstore.LoadBackup(ctx, restoreDSN, dialect, file)
			}
			opts := backup.RestoreOptions{Passphrase: passphrase, DataDir: data, Blobs: newBlobs, LoadDatabase: load}
			if _, err := backup.Restore(ctx, target, name, opts); !errors.Is(err, backup.ErrNotEmpty) {
				t.Fatalf("restore into a non-empty folder: %v", err)
			}
			bad := opts
			bad.Passphrase, bad.Force = "wrong", true
			if _, err := backup.Restore(ctx, target, name, bad); err == nil {
				t.Fatal("restore with a wrong passphrase succeeded")
			}
			if _, err := os.Stat(filepath.Join(data, "shequ.key")); err == nil {
				t.Fatal("a failed restore wrote the key")
			}
			opts.Force = true
			if _, err := backup.Restore(ctx, target, name, opts); err != nil {
				t.Fatal(err)
			}

			// The restored key opens the restored personal data.
			keys, err := pii.LoadKeyFile(filepath.Join(data, "shequ.key"))
			if err != nil {
				t.Fatal(err)
			}
			ciph, err := pii.NewRing(keys...)
			if err != nil {
				t.Fatal(err)
			}
			restored, err := sqlstore.Open(ctx, restoreDSN, sqlstore.Options{Cipher: ciph})
			if err != nil {
				t.Fatal(err)
			}
			defer restored.Close()
			if _, err := restored.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := restored.Person(ctx, auth.Scope{{}}, person.ID)
			if err != nil || got.Phone != person.Phone || got.IDNumber != person.IDNumber {
				t.Fatalf("restored person %+v, %v; want phone %q", got, err, person.Phone)
			}

			// Every frame acknowledged before the backup began.
			stored := map[string]bool{}
			for i := range panels {
				for page := 0; ; page++ {
					l, err := restored.ListEvents(ctx, auth.Scope{{}}, alarm.EventFilter{Account: account(i), Page: shequ.Page{Limit: shequ.MaxLimit, Offset: page * shequ.MaxLimit}})
					if err != nil {
						t.Fatal(err)
					}
					for _, e := range l.Items {
						stored[e.Account+"/"+e.Zone] = true
					}
					if (page+1)*shequ.MaxLimit >= l.Total {
						break
					}
				}
			}
			missing := 0
			for _, a := range before {
				if !stored[a.account+"/"+a.zone] {
					missing++
				}
			}
			if missing > 0 {
				t.Errorf("%d of %d frames acknowledged before the backup are missing from the restore", missing, len(before))
			}

			// Every media file, with its hash.
			hashes, err := restored.MediaHashes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, sha := range files {
				if !containsString(hashes, sha) {
					t.Errorf("media %s not in the restored database", sha)
				}
			}
			for _, sha := range hashes {
				b, err := newBlobs.Open(ctx, sha)
				if err != nil {
					t.Errorf("media %s: %v", sha, err)
					continue
				}
				h := sha256.New()
				io.Copy(h, b)
				b.Close()
				if hex.EncodeToString(h.Sum(nil)) != sha {
					t.Errorf("media %s restored with another hash", sha)
				}
			}
		})
	}
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// TestRestoreRefusesDamage: a part changed after the backup fails the
// restore before it writes anything.
func TestRestoreRefusesDamage(t *testing.T) {
	ctx := context.Background()
	st := sqlstoretest.Open(t, sqlstore.SQLite, nil)
	blobs, _ := disk.New(filepath.Join(t.TempDir(), "media"))
	if _, err := demo.Load(ctx, st, "backup-password-1"); err != nil {
		t.Fatal(err)
	}
	files := addMedia(t, st, blobs, 1)
	dir := t.TempDir()
	name, _, err := backup.Run(ctx, backup.Options{DB: st, Blobs: blobs, KeyText: []byte("k\n"), Passphrase: passphrase, ScryptWorkFactor: 10}, backup.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Verify(ctx, backup.Dir(dir), name); err != nil {
		t.Fatalf("verify a good backup: %v", err)
	}
	part := filepath.Join(dir, name, "media", files[0])
	os.WriteFile(part, []byte("not the photo"), 0o600)
	data := filepath.Join(t.TempDir(), "data")
	loaded := false
	_, err = backup.Restore(ctx, backup.Dir(dir), name, backup.RestoreOptions{Passphrase: passphrase, DataDir: data, Blobs: blobs,
		LoadDatabase: func(context.Context, string, string) error { loaded = true; return nil }})
	if err == nil {
		t.Fatal("a damaged backup was restored")
	}
	if _, statErr := os.Stat(data); loaded || statErr == nil {
		t.Fatalf("a damaged backup wrote something (loaded %v, folder %v)", loaded, statErr)
	}
}

// TestPrune keeps the newest complete backups and drops incomplete ones
// older than them.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	d := backup.Dir(t.TempDir())
	for i, complete := range []bool{true, false, true, true, false} {
		name := backup.Name(time.Date(2026, 1, 1, i, 0, 0, 0, time.UTC))
		d.Put(ctx, name+"/database.sqlite", bytes.NewReader(nil))
		if complete {
			d.Put(ctx, name+"/manifest.json", bytes.NewReader([]byte("{}")))
		}
	}
	gone, err := backup.Prune(ctx, d, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{backup.Name(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), backup.Name(time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC))}
	if fmt.Sprint(gone) != fmt.Sprint(want) {
		t.Errorf("pruned %v, want %v", gone, want)
	}
	complete, incomplete, _ := backup.List(ctx, d)
	if len(complete) != 2 || len(incomplete) != 1 {
		t.Errorf("left %v complete, %v incomplete", complete, incomplete)
	}
}

// addMedia puts n text files and records them as attachments of a guide.
func addMedia(t testing.TB, st *sqlstore.Store, blobs media.Blobs, n int) []string {
	t.Helper()
	ctx := context.Background()
	guides, err := st.ListGuides(ctx, auth.Scope{{}}, content.ListFilter{Page: shequ.Page{Limit: 1}})
	if err != nil || len(guides.Items) == 0 {
		t.Fatalf("guides: %v", err)
	}
	var out []string
	for i := range n {
		body := fmt.Sprintf("file %d of the backup test, %s", i, time.Now().Format(time.RFC3339Nano))
		sha, size, err := blobs.Put(ctx, bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		x := content.Attachment{Name: "f" + strconv.Itoa(i) + ".txt", ContentType: "text/plain"}
		m := media.Media{SHA256: sha, Size: size, ContentType: "text/plain"}
		if err := st.AddAttachment(ctx, auth.Scope{{}}, "guide", guides.Items[0].ID, &x, m); err != nil {
			t.Fatal(err)
		}
		out = append(out, sha)
	}
	return out
}

func personWithPhone(t testing.TB, st *sqlstore.Store) community.Person {
	t.Helper()
	ctx := context.Background()
	l, err := st.ListPeople(ctx, auth.Scope{{}}, community.Filter{Page: shequ.Page{Limit: 50}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range l.Items {
		full, err := st.Person(ctx, auth.Scope{{}}, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if full.Phone != "" {
			return full
		}
	}
	t.Fatal("no person with a phone in the demo")
	return community.Person{}
}

// startAlarmCentre registers the panels and runs a receiver storing
// through an ingestor, as the server does.
func startAlarmCentre(t testing.TB, st *sqlstore.Store) string {
	t.Helper()
	ctx := context.Background()
	floor := 1
	homes, err := st.ListHomes(ctx, auth.Scope{{}}, community.Filter{Floor: &floor, Page: shequ.Page{Limit: panels}})
	if err != nil || len(homes.Items) == 0 {
		t.Fatalf("homes: %v", err)
	}
	key, _ := sia.ParseKey(panelKey)
	accounts := sia.StaticAccounts{}
	for i := range panels {
		p := alarm.Panel{HomeID: homes.Items[i%len(homes.Items)].ID, Account: account(i), Key: panelKey}
		if err := st.CreatePanel(ctx, auth.Scope{{}}, &p); err != nil {
			t.Fatal(err)
		}
		accounts[account(i)] = key
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ing := alarm.NewIngestor(st, log, 256)
	ictx, stopIngest := context.WithCancel(context.Background())
	ingDone := make(chan struct{})
	go func() { ing.Run(ictx); close(ingDone) }()
	r := sia.New(sia.Config{Addr: "127.0.0.1:0", Logger: log, MaxConns: 256, MaxConnsPerAddr: 256}, accounts, ing)
	if err := r.Listen(); err != nil {
		t.Fatal(err)
	}
	rctx, stopReceiver := context.WithCancel(context.Background())
	rDone := make(chan struct{})
	go func() { r.Serve(rctx); close(rDone) }()
	t.Cleanup(func() {
		stopReceiver()
		<-rDone
		stopIngest()
		<-ingDone
	})
	return r.Addr().String()
}

// drivePanel sends periodic test reports, each with its own zone, one at a
// time, until stop; ack is told of every acknowledged frame.
func drivePanel(addr string, i int, stop <-chan struct{}, ack func(acked)) error {
	key, _ := sia.ParseKey(panelKey)
	p := &siatest.Panel{Account: account(i), Key: key}
	c, err := siatest.Dial("tcp", addr)
	if err != nil {
		return err
	}
	c.Key = key
	defer c.Close()
	for n := 1; ; n++ {
		select {
		case <-stop:
			return nil
		default:
		}
		zone := strconv.Itoa(n)
		a, err := c.Exchange(p.SIA("Nri0/RP"+zone), 10*time.Second)
		if err != nil {
			return fmt.Errorf("panel %s frame %d: %w", p.Account, n, err)
		}
		if a.Type != "ACK" {
			return fmt.Errorf("panel %s frame %d: answer %s", p.Account, n, a.Raw)
		}
		ack(acked{account: p.Account, zone: zone, at: time.Now()})
	}
}

// TestScheduledBackupFailureRaisesTrouble: a backup that cannot be written
// is recorded as failed with its reason and opens one trouble incident on
// the console (a second failure joins it); a good one is recorded as the
// last success.
func TestScheduledBackupFailureRaisesTrouble(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			if dialect == sqlstore.Postgres {
				shequtest.NeedCommand(t, "pg_dump")
			}
			ctx := context.Background()
			st := sqlstoretest.Open(t, dialect, nil)
			if _, err := demo.Load(ctx, st, "backup-password-1"); err != nil {
				t.Fatal(err)
			}
			blobs, _ := disk.New(filepath.Join(t.TempDir(), "media"))
			// A file where the target folder should be: nothing can be written.
			blocked := filepath.Join(t.TempDir(), "not-a-folder")
			os.WriteFile(blocked, []byte("x"), 0o600)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			o := backup.Options{DB: st, Blobs: blobs, KeyText: []byte("k\n"), Passphrase: passphrase, ScryptWorkFactor: 10}
			s := &backup.Schedule{Options: o, Target: backup.Dir(blocked), Records: st, Troubles: st, Node: "n1", Log: log}
			for range 2 {
				if err := s.Once(ctx); err == nil {
					t.Fatal("a backup into a file succeeded")
				}
			}
			last, err := st.LastBackupRun(ctx)
			if err != nil || last == nil || last.OK || last.Error == "" || last.FinishedAt == nil {
				t.Fatalf("last run %+v, %v", last, err)
			}
			open, err := st.ListIncidents(ctx, auth.Scope{{}}, alarm.IncidentFilter{Status: "open", Page: shequ.Page{Limit: 50}})
			if err != nil {
				t.Fatal(err)
			}
			troubles := 0
			for _, i := range open.Items {
				if i.Kind == alarm.KindTrouble && i.HomeID == 0 {
					troubles++
					if i.EventCount != 2 {
						t.Errorf("trouble incident has %d events, want both failures", i.EventCount)
					}
				}
			}
			if troubles != 1 {
				t.Errorf("%d trouble incidents, want one", troubles)
			}

			s.Target = backup.Dir(t.TempDir())
			if err := s.Once(ctx); err != nil {
				t.Fatal(err)
			}
			runs, ok, err := st.BackupRuns(ctx, 5)
			if err != nil || len(runs) != 3 || ok == nil || !runs[0].OK || ok.ID != runs[0].ID || ok.Parts < 2 {
				t.Errorf("runs %+v, last ok %+v, %v", runs, ok, err)
			}
		})
	}
}
