package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/media/disk"
	"github.com/shequ/shequ/media/s3"
	"github.com/shequ/shequ/pii"
	"github.com/shequ/shequ/sqlstore"
)

// envFlags is a flag set whose defaults come from the environment, so that
// a flag given on the command line wins and the environment comes second.
type envFlags struct {
	*flag.FlagSet
}

func newFlags(name, about string) envFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nFlags (environment variable in brackets):\n", about)
		fs.PrintDefaults()
	}
	return envFlags{fs}
}

func (f envFlags) string(p *string, name, env, def, help string) {
	if v, ok := os.LookupEnv(env); ok {
		def = v
	}
	f.StringVar(p, name, def, help+" ["+env+"]")
}

func (f envFlags) bool(p *bool, name, env string, def bool, help string) {
	if v, ok := os.LookupEnv(env); ok {
		if b, err := strconv.ParseBool(v); err == nil {
			def = b
		}
	}
	f.BoolVar(p, name, def, help+" ["+env+"]")
}

func (f envFlags) int(p *int, name, env string, def int, help string) {
	if v, ok := os.LookupEnv(env); ok {
		if n, err := strconv.Atoi(v); err == nil {
			def = n
		}
	}
	f.IntVar(p, name, def, help+" ["+env+"]")
}

func (f envFlags) duration(p *time.Duration, name, env string, def time.Duration, help string) {
	if v, ok := os.LookupEnv(env); ok {
		if d, err := time.ParseDuration(v); err == nil {
			def = d
		}
	}
	f.DurationVar(p, name, def, help+" ["+env+"]")
}

// storeConfig is what every command that opens the store takes.
type storeConfig struct {
	data     string
	db       string
	key      string
	keyFile  string
	logLevel string
	media    string
}

func (c *storeConfig) register(f envFlags) {
	f.string(&c.data, "data", "SHEQU_DATA", "./data", "directory of the embedded SQLite database (shequ.db) and its key file")
	f.string(&c.db, "db", "SHEQU_DB", "", "database URL; a postgres:// URL runs on PostgreSQL instead of the embedded SQLite")
	f.string(&c.key, "key", "SHEQU_KEY", "", "key that encrypts personal data at rest: 64 hex digits or base64 of 32 bytes")
	f.string(&c.keyFile, "key-file", "SHEQU_KEY_FILE", "", "file holding that key; default DATA/shequ.key, created on first start with SQLite")
	f.string(&c.logLevel, "log-level", "SHEQU_LOG_LEVEL", "info", "debug, info, warn or error")
	f.string(&c.media, "media", "SHEQU_MEDIA", "", "where photos and files are kept: a folder (default DATA/media) or s3://bucket/prefix (endpoint in SHEQU_S3_ENDPOINT, keys in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
}

// runAside runs "shequ COMMAND" on the same store, in a process of its
// own, and waits for it. It is for heavy start-up work on the store:
// migrating a new store, writing the demo. Whatever SQLite and the Go
// heap hold after such work (SQLite's page caches, and its allocator,
// which keeps up to 4 MiB of emptied regions of each size for reuse and
// cannot be made to give them back) stays with that process and goes
// when it exits, instead of staying in the server for its whole life:
// 2–3 MiB after migrating a new store, 5 MiB after the demo (issue 13:
// idle memory after any start). Without its own executable the work is
// done here, as before.
func (c *storeConfig) runAside(ctx context.Context, log *slog.Logger, command string) error {
	self, err := ownExecutable()
	if err != nil {
		log.Warn("start-up work in this process: cannot find its executable", "command", command, "err", err)
		return errNoAside
	}
	cmd := exec.CommandContext(ctx, self, command)
	// The store's settings go in the environment, which the command
	// reads as its defaults; not as arguments, where a key or a database
	// password would show in the process list.
	cmd.Env = append(os.Environ(), c.environment()...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("shequ %s: %w", command, err)
	}
	log.Info("start-up work done aside", "command", command, "pid", cmd.Process.Pid, "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// ownExecutable returns a path that runs this very program: on Linux
// /proc/self/exe, which stays this process's file even when an upgrade
// has replaced the one at its path (a newer binary's "migrate" would
// take the store past this one's schema).
func ownExecutable() (string, error) {
	const self = "/proc/self/exe"
	if _, err := os.Stat(self); err == nil {
		return self, nil
	}
	return os.Executable()
}

// errNoAside: runAside could not start a process; the caller does the
// work itself.
var errNoAside = errors.New("no executable to run start-up work aside")

// environment returns the settings as the variables register reads, for
// a shequ process started on the same store.
func (c *storeConfig) environment() []string {
	return []string{"SHEQU_DATA=" + c.data, "SHEQU_DB=" + c.db, "SHEQU_KEY=" + c.key, "SHEQU_KEY_FILE=" + c.keyFile,
		"SHEQU_LOG_LEVEL=" + c.logLevel, "SHEQU_MEDIA=" + c.media}
}

// blobs opens the media store.
func (c *storeConfig) blobs(ctx context.Context) (media.Blobs, error) {
	switch {
	case strings.HasPrefix(c.media, "s3://"):
		return s3.New(ctx, c.media, s3.ConfigFromEnv())
	case c.media != "":
		return disk.New(c.media)
	}
	return disk.New(filepath.Join(c.data, "media"))
}

func (c *storeConfig) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// cipher loads the personal-data keys (the current one first, older ones
// a rotation has not finished with after it). With SQLite the key file is
// created next to the database on first start; with PostgreSQL, where
// several nodes must share the keys, they must be given. A key file is
// read again when a value names a key the ring lacks (shequ key rotate,
// run beside the server, added one).
func (c *storeConfig) cipher(log *slog.Logger) (*pii.Cipher, error) {
	if c.key != "" {
		keys, err := pii.ParseKeys(c.key)
		if err != nil {
			return nil, err
		}
		return pii.NewRing(keys...)
	}
	path, err := c.keyPath()
	if err != nil {
		return nil, err
	}
	keys, created, err := pii.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("created a new personal-data key; back it up with the database (shequ backup seals it): without it ID and phone numbers cannot be read", "path", path)
	}
	ciph, err := pii.NewRing(keys...)
	if err != nil {
		return nil, err
	}
	ciph.SetReload(func() ([][]byte, error) { return pii.LoadKeyFile(path) })
	return ciph, nil
}

// keyPath returns the key file: --key-file, or DATA/shequ.key with SQLite.
func (c *storeConfig) keyPath() (string, error) {
	if c.keyFile != "" {
		return c.keyFile, nil
	}
	if sqlstore.IsPostgres(c.db) {
		return "", fmt.Errorf("with PostgreSQL give the personal-data key with --key or --key-file (SHEQU_KEY, SHEQU_KEY_FILE), the same on every node; make one with: openssl rand -hex 32")
	}
	if err := os.MkdirAll(c.data, 0o750); err != nil {
		return "", fmt.Errorf("create data directory: %w", err)
	}
	return filepath.Join(c.data, "shequ.key"), nil
}

// keyText returns the keys as a key file's text, for the backup.
func (c *storeConfig) keyText() ([]byte, error) {
	if c.key != "" {
		keys, err := pii.ParseKeys(c.key)
		if err != nil {
			return nil, err
		}
		return pii.FormatKeys(keys), nil
	}
	path, err := c.keyPath()
	if err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// dsn returns where the store is.
func (c *storeConfig) dsn() string {
	if strings.TrimSpace(c.db) != "" {
		return c.db
	}
	return filepath.Join(c.data, "shequ.db")
}

// open opens and migrates the store.
func (c *storeConfig) open(ctx context.Context, log *slog.Logger) (*sqlstore.Store, error) {
	return c.openMigrated(ctx, log, false)
}

// openServing opens and migrates the store of a server: pending
// migrations (the whole schema, on a new store) are applied by a
// "shequ migrate" process of its own (runAside).
func (c *storeConfig) openServing(ctx context.Context, log *slog.Logger) (*sqlstore.Store, error) {
	return c.openMigrated(ctx, log, true)
}

func (c *storeConfig) openMigrated(ctx context.Context, log *slog.Logger, aside bool) (*sqlstore.Store, error) {
	ciph, err := c.cipher(log)
	if err != nil {
		return nil, err
	}
	st, err := sqlstore.Open(ctx, c.dsn(), sqlstore.Options{Cipher: ciph, Logger: log})
	if err != nil {
		return nil, err
	}
	if aside {
		pending, err := st.MigrationsPending(ctx)
		if err == nil && pending {
			if err = c.runAside(ctx, log, "migrate"); errors.Is(err, errNoAside) {
				err = nil // Migrate below applies them
			}
		}
		if err != nil {
			st.Close()
			return nil, err
		}
	}
	// After a migration aside there is nothing left to apply; Migrate
	// still runs the steps it takes at every start.
	v, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	log.Info("store ready", "dialect", st.Dialect(), "schema_version", v)
	return st, nil
}
