package backup

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/shequ/shequ"
)

// Records keeps the record of backup runs.
type Records interface {
	StartBackupRun(ctx context.Context, target, node string) (int64, error)
	FinishBackupRun(ctx context.Context, id int64, m Manifest, name string, runErr error) error
	LastBackupRun(ctx context.Context) (*Record, error)
}

// Troubles raises a trouble on the console of every community.
type Troubles interface {
	RaiseSystemTrouble(ctx context.Context, account, text string) error
}

// Schedule takes a backup every Every and keeps the newest Keep; it runs
// under a jobs.Leader, so one node of a deployment takes them.
type Schedule struct {
	Options  Options
	Target   Target
	Every    time.Duration
	Keep     int
	Records  Records
	Troubles Troubles
	Node     string
	Log      *slog.Logger
	Clock    shequ.Clock
}

// Run takes backups until ctx ends. The first is due Every after the last
// recorded one, so a restart does not take one at once.
func (s *Schedule) Run(ctx context.Context) {
	if s.Clock == nil {
		s.Clock = shequ.SystemClock{}
	}
	for {
		wait := time.Duration(0)
		if last, err := s.Records.LastBackupRun(ctx); err != nil {
			s.Log.Error("backup: last run", "err", err)
			wait = time.Minute
		} else if last != nil {
			wait = last.StartedAt.Add(s.Every).Sub(s.Clock.Now())
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			continue // read the record again: another node may have taken one
		}
		if err := s.Once(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error("scheduled backup failed", "err", err)
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// Once takes one backup, records it, prunes old ones and raises a trouble
// when it fails.
func (s *Schedule) Once(ctx context.Context) error {
	id, err := s.Records.StartBackupRun(ctx, s.Target.String(), s.Node)
	if err != nil {
		return fmt.Errorf("backup: record: %w", err)
	}
	name, m, runErr := Run(ctx, s.Options, s.Target)
	if runErr == nil && s.Keep > 0 {
		if gone, err := Prune(ctx, s.Target, s.Keep); err != nil {
			runErr = err
		} else if len(gone) > 0 {
			s.Log.Info("old backups removed", "removed", gone)
		}
	}
	// The record is written even when ctx has ended (a shutdown mid-way).
	rctx := context.WithoutCancel(ctx)
	if err := s.Records.FinishBackupRun(rctx, id, m, name, runErr); err != nil {
		s.Log.Error("backup: record", "err", err)
	}
	if runErr != nil {
		if s.Troubles != nil && ctx.Err() == nil {
			if err := s.Troubles.RaiseSystemTrouble(rctx, "BACKUP", "备份失败 backup failed: "+runErr.Error()); err != nil {
				s.Log.Error("backup: raise trouble", "err", err)
			}
		}
		return runErr
	}
	s.Log.Info("backup taken", "name", name, "target", s.Target.String(), "parts", len(m.Parts), "bytes", m.Bytes())
	return nil
}
