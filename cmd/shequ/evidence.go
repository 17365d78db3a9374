package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/evidence"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/sqlstore"
)

// evidenceWorker does the cameras' background work: incident snapshots,
// footage exports, warning notices taken down at expiry.
func evidenceWorker(st *sqlstore.Store, blobs media.Blobs, log *slog.Logger) *evidence.Worker {
	return &evidence.Worker{Store: st, Blobs: blobs, Fetcher: &evidence.Fetcher{}, Clock: shequ.SystemClock{}, Log: log}
}

// runExports exports approved footage requests on the one node that
// holds the chore's lease, until ctx ends.
func runExports(ctx context.Context, st *sqlstore.Store, w *evidence.Worker, log *slog.Logger) {
	node := thisNode
	l := &jobs.Leader{Store: st, Name: "footage-exports", Holder: node, Log: log}
	l.Run(ctx, w.RunExports)
}

// errVerifyFailed is what a package that fails verification returns: the
// problems are printed already.
var errVerifyFailed = errors.New("the package did not verify")

// evidenceCmd runs `shequ evidence verify PACKAGE`.
func evidenceCmd(_ context.Context, args []string) error {
	if len(args) != 2 || args[0] != "verify" {
		return fmt.Errorf("usage: shequ evidence verify PACKAGE.zip")
	}
	return verifyPackage(args[1], os.Stdout)
}

// verifyPackage checks a package and says what it found on out: each file
// checked, the custody log's length and head, and each problem.
func verifyPackage(path string, out io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	r, err := evidence.Verify(f, fi.Size())
	if err != nil {
		return err
	}
	m := r.Manifest
	fmt.Fprintf(out, "package %s: request %d, case %q, %d files, %d custody entries\n", path, m.RequestID, m.CaseNumber, len(m.Files), len(r.Custody))
	for _, name := range r.Checked {
		fmt.Fprintf(out, "ok    %s\n", name)
	}
	if len(r.Custody) > 0 {
		fmt.Fprintf(out, "custody head %s (compare it with GET /api/v1/footage-requests/%d/custody)\n", r.Custody[len(r.Custody)-1].Hash, m.RequestID)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(out, "FAIL  %s\n", p)
	}
	if !r.OK() {
		return errVerifyFailed
	}
	fmt.Fprintln(out, "verified: every file matches the manifest and the custody chain is whole")
	return nil
}
