package web

import (
	"context"
	"net/http"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/backup"
	"github.com/shequ/shequ/health"
)

// The operations page: the deployment's backups (the last ones, the last
// that succeeded, the schedule) and the health of the data folder's disk,
// for the administrator who has no IT person to ask.

// OpsStatus gives the operations page its figures; a nil function leaves
// its part out.
type OpsStatus struct {
	Backups func(ctx context.Context, n int) ([]backup.Record, *backup.Record, error)
	Disk    func() health.State
	// Schedule says how backups are scheduled: "" when they are not.
	Schedule string
}

func (s *Server) registerOpsPages() {
	s.pageRoute("GET /ops", "/ops", auth.PermJobsManage, s.opsPage)
}

type opsBody struct {
	Schedule  string
	Runs      []backup.Record
	LastOK    *backup.Record
	HasDisk   bool
	Disk      health.State
	UsedPct   int
	FreeMB    uint64
	DiskLevel string
	Retention []retentionRow
}

func (s *Server) opsPage(r *http.Request, p *pageData) (string, error) {
	p.Title = p.L.T("ops.title")
	b := opsBody{Schedule: s.ops.Schedule}
	if s.ops.Backups != nil {
		var err error
		if b.Runs, b.LastOK, err = s.ops.Backups(r.Context(), 10); err != nil {
			return "", err
		}
	}
	if s.ops.Disk != nil {
		b.Disk = s.ops.Disk()
		b.HasDisk = !b.Disk.CheckedAt.IsZero()
		b.UsedPct = int(b.Disk.Used*100 + 0.5)
		b.FreeMB = b.Disk.Free >> 20
		b.DiskLevel = b.Disk.Level
	}
	var err error
	if b.Retention, err = s.retentionRows(r.Context()); err != nil {
		return "", err
	}
	p.Body = b
	return "staff/backup", nil
}
