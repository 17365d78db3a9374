package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/backup"
	"github.com/shequ/shequ/health"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/media/disk"
	"github.com/shequ/shequ/media/s3"
	"github.com/shequ/shequ/retention"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/web"
)

// backupConfig is what taking a backup needs beyond the store.
type backupConfig struct {
	passphraseFile string
	every          time.Duration
	keep           int
	to             string
}

func (c *backupConfig) register(f envFlags, scheduled bool) {
	f.string(&c.passphraseFile, "passphrase-file", "SHEQU_BACKUP_PASSPHRASE_FILE", "", "file holding the passphrase that seals the personal-data key in backups (or set SHEQU_BACKUP_PASSPHRASE)")
	if scheduled {
		f.string(&c.to, "backup-to", "SHEQU_BACKUP_TO", "", "where scheduled backups go: a folder or s3://bucket/prefix")
		f.duration(&c.every, "backup-every", "SHEQU_BACKUP_EVERY", 0, "take a backup this often (e.g. 6h); 0 takes none")
		f.int(&c.keep, "backup-keep", "SHEQU_BACKUP_KEEP", 14, "keep this many of the newest backups; older ones are removed")
	} else {
		f.int(&c.keep, "keep", "SHEQU_BACKUP_KEEP", 0, "after the backup, keep this many of the newest in the target and remove older ones (0 keeps all)")
	}
}

// passphrase reads the passphrase: SHEQU_BACKUP_PASSPHRASE, or the first
// line of --passphrase-file.
func (c *backupConfig) passphrase() (string, error) {
	if c.passphraseFile != "" {
		b, err := os.ReadFile(c.passphraseFile)
		if err != nil {
			return "", fmt.Errorf("passphrase file: %w", err)
		}
		p, _, _ := strings.Cut(string(b), "\n")
		if p = strings.TrimRight(p, "\r"); p == "" {
			return "", fmt.Errorf("passphrase file %s is empty", c.passphraseFile)
		}
		return p, nil
	}
	if p := os.Getenv("SHEQU_BACKUP_PASSPHRASE"); p != "" {
		return p, nil
	}
	return "", backup.ErrNoPassphrase
}

// options gathers what backup.Run needs from the store's configuration.
func (c *backupConfig) options(sc *storeConfig, st *sqlstore.Store, blobs media.Blobs) (backup.Options, error) {
	pass, err := c.passphrase()
	if err != nil {
		return backup.Options{}, err
	}
	keyText, err := sc.keyText()
	if err != nil {
		return backup.Options{}, fmt.Errorf("read the personal-data key: %w", err)
	}
	return backup.Options{DB: st, Blobs: blobs, KeyText: keyText, Passphrase: pass, Version: version}, nil
}

func backupCmd(ctx context.Context, args []string) error {
	var sc storeConfig
	var bc backupConfig
	f := newFlags("backup", `shequ backup --to DIR|s3://bucket/prefix: take a backup while the server runs.

The database is copied consistently (SQLite: VACUUM INTO; PostgreSQL:
pg_dump --format=custom), with every media file and the personal-data key
sealed with a passphrase (age, scrypt). A manifest lists the SHA-256 of
every part. Each backup is a folder shequ-YYYYMMDDTHHMMSSZ in the target.`)
	sc.register(f)
	bc.register(f, false)
	f.StringVar(&bc.to, "to", "", "where the backup goes: a folder or s3://bucket/prefix")
	if err := f.Parse(args); err != nil {
		return flagErr(err)
	}
	log := sc.logger()
	target, err := backup.OpenTarget(ctx, bc.to)
	if err != nil {
		return err
	}
	st, err := sc.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	blobs, err := sc.blobs(ctx)
	if err != nil {
		return err
	}
	o, err := bc.options(&sc, st, blobs)
	if err != nil {
		return err
	}
	node := thisNode
	s := &backup.Schedule{Options: o, Target: target, Keep: bc.keep, Records: st, Node: node, Log: log}
	if err := s.Once(ctx); err != nil {
		return err
	}
	last, err := st.LastBackupRun(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("backup %s written to %s: %d parts, %d bytes\n", last.Name, target, last.Parts, last.Bytes)
	return nil
}

func restoreCmd(ctx context.Context, args []string) error {
	var sc storeConfig
	var bc backupConfig
	var force, verifyOnly bool
	f := newFlags("restore", `shequ restore FROM --data DIR [--db URL] [--force]: restore a backup.

FROM is one backup: a folder shequ-… or s3://bucket/prefix/shequ-…. Every
part is checked against the manifest's SHA-256 and the passphrase must
open the key before anything is written. An SQLite backup goes into
DATA/shequ.db, a PostgreSQL one into --db with pg_restore; media go to
--media (default DATA/media) and the key to --key-file (default
DATA/shequ.key). A data folder that is not empty is refused without --force.`)
	sc.register(f)
	bc.register(f, false)
	f.BoolVar(&force, "force", false, "restore into a data folder that is not empty, replacing what is there")
	f.BoolVar(&verifyOnly, "verify", false, "only check the backup's manifest and hashes; write nothing")
	from, rest := "", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		from, rest = args[0], args[1:]
	}
	if err := f.Parse(rest); err != nil {
		return flagErr(err)
	}
	if from == "" && f.NArg() > 0 {
		from = f.Arg(0)
	}
	if from == "" {
		return errors.New("restore: say which backup: shequ restore FROM --data DIR")
	}
	target, name, err := openBackup(ctx, from)
	if err != nil {
		return err
	}
	if verifyOnly {
		m, err := backup.Verify(ctx, target, name)
		if err != nil {
			return err
		}
		fmt.Printf("backup %s is whole: %d parts, %d bytes, %s schema %d, taken %s\n", from, len(m.Parts), m.Bytes(), m.Dialect, m.SchemaVersion, m.CreatedAt.Format(time.RFC3339))
		return nil
	}
	pass, err := bc.passphrase()
	if err != nil {
		return err
	}
	var blobs media.Blobs
	switch {
	case strings.HasPrefix(sc.media, "s3://"):
		blobs, err = s3.New(ctx, sc.media, s3.ConfigFromEnv())
	case sc.media != "":
		blobs, err = disk.New(sc.media)
	default:
		// Made only once the checks pass: restore writes nothing before.
		blobs = &lazyDisk{dir: filepath.Join(sc.data, "media")}
	}
	if err != nil {
		return err
	}
	m, err := backup.Restore(ctx, target, name, backup.RestoreOptions{Passphrase: pass, DataDir: sc.data, Force: force, KeyFile: sc.keyFile, Blobs: blobs,
		LoadDatabase: func(ctx context.Context, dialect, file string) error {
			return sqlstore.LoadBackup(ctx, sc.dsn(), dialect, file)
		}})
	if err != nil {
		return err
	}
	fmt.Printf("restored %s (%s, schema %d, taken %s): %d media files; start with: shequ serve --data %s\n",
		from, m.Dialect, m.SchemaVersion, m.CreatedAt.Format(time.RFC3339), len(m.Media()), sc.data)
	return nil
}

// openBackup splits FROM into the target holding it and its name.
func openBackup(ctx context.Context, from string) (backup.Target, string, error) {
	from = strings.TrimRight(from, "/")
	i := strings.LastIndex(from, "/")
	if i < 0 {
		return backup.Dir("."), from, nil
	}
	parent, name := from[:i], from[i+1:]
	if strings.HasPrefix(from, "s3://") && strings.Count(from, "/") <= 2 {
		return nil, "", fmt.Errorf("restore: %s names a bucket, not a backup in it", from)
	}
	if parent == "" {
		parent = "/"
	}
	t, err := backup.OpenTarget(ctx, parent)
	return t, name, err
}

// lazyDisk is the data folder's media store, made when first written.
type lazyDisk struct {
	dir string
	b   *disk.Blobs
}

func (l *lazyDisk) get() (*disk.Blobs, error) {
	if l.b == nil {
		b, err := disk.New(l.dir)
		if err != nil {
			return nil, err
		}
		l.b = b
	}
	return l.b, nil
}

func (l *lazyDisk) Put(ctx context.Context, r io.Reader) (string, int64, error) {
	b, err := l.get()
	if err != nil {
		return "", 0, err
	}
	return b.Put(ctx, r)
}

func (l *lazyDisk) Open(ctx context.Context, sha string) (*media.Blob, error) {
	b, err := l.get()
	if err != nil {
		return nil, err
	}
	return b.Open(ctx, sha)
}

func (l *lazyDisk) Delete(ctx context.Context, sha string) error {
	b, err := l.get()
	if err != nil {
		return err
	}
	return b.Delete(ctx, sha)
}

// startOps starts what keeps the box looked after while the server runs:
// the data folder's health probe, reading the key file again (a rotation
// run beside the server adds a key), and the scheduled backups under a
// jobs.Leader. It returns the operations page's figures and the readiness
// check of the data folder.
func startOps(ctx context.Context, chores *sync.WaitGroup, sc *storeConfig, bc *backupConfig, st *sqlstore.Store, blobs media.Blobs, reg *prometheus.Registry, log *slog.Logger) (web.OpsStatus, func(context.Context) error, error) {
	if err := os.MkdirAll(sc.data, 0o750); err != nil {
		return web.OpsStatus{}, nil, fmt.Errorf("data folder: %w", err)
	}
	probe := &health.Probe{Dir: sc.data, Troubles: st, Log: log}
	probe.Check(ctx)
	chores.Go(func() { probe.Run(ctx, 30*time.Second) })
	reg.MustRegister(probe)
	reg.MustRegister(backup.Collector{History: st})
	ops := web.OpsStatus{Backups: st.BackupRuns, Disk: probe.State}

	if sc.key == "" {
		chores.Go(func() {
			t := time.NewTicker(10 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if err := st.Cipher().Reload(); err != nil {
						log.Error("read the key file again", "err", err)
					}
				}
			}
		})
	}

	node := thisNode
	// Retention: once a day, on one node, what is past its period goes.
	keeper := &jobs.Leader{Store: st, Name: "retention", Holder: node, Log: log}
	chores.Go(func() {
		keeper.Run(ctx, func(ctx context.Context) { retention.Chore(ctx, st, shequ.SystemClock{}, log) })
	})
	// PostgreSQL's monthly partitions: the next months' made ahead, on one
	// node (sqlstore/partitions.go).
	if st.Dialect() == sqlstore.Postgres {
		ahead := &jobs.Leader{Store: st, Name: "partitions", Holder: node, Log: log}
		chores.Go(func() {
			ahead.Run(ctx, func(ctx context.Context) { st.RunPartitions(ctx, 6*time.Hour, log) })
		})
	}

	if bc.every <= 0 {
		return ops, probe.Ready, nil
	}
	if bc.every < time.Minute {
		return ops, nil, fmt.Errorf("--backup-every %s: at least a minute", bc.every)
	}
	target, err := backup.OpenTarget(ctx, bc.to)
	if err != nil {
		return ops, nil, fmt.Errorf("--backup-to: %w", err)
	}
	o, err := bc.options(sc, st, blobs)
	if err != nil {
		return ops, nil, err
	}
	sched := &backup.Schedule{Options: o, Target: target, Every: bc.every, Keep: bc.keep, Records: st, Troubles: st, Node: node, Log: log}
	leader := &jobs.Leader{Store: st, Name: "backup", Holder: node, Log: log}
	chores.Go(func() { leader.Run(ctx, sched.Run) })
	ops.Schedule = fmt.Sprintf("%s → %s (keep %d)", bc.every, target, bc.keep)
	log.Info("scheduled backups", "every", bc.every, "to", target.String(), "keep", bc.keep)
	return ops, probe.Ready, nil
}
