package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/backup"
	"github.com/shequ/shequ/health"
	"github.com/shequ/shequ/sqlstore"
)

// TestOpsPageAndReadiness: the operations page shows the backups and the
// disk to the deployment's administrator only, and /readyz turns unready
// when the data folder cannot be written.
func TestOpsPageAndReadiness(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	ctx := context.Background()
	if err := e.store.CreateUser(ctx, auth.Scope{{}}, &auth.User{Username: "root", Grants: []auth.Grant{{Role: auth.RoleAdmin}}}, demoPassword); err != nil {
		t.Fatal(err)
	}
	id, err := e.store.StartBackupRun(ctx, "/backups", "node1")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.FinishBackupRun(ctx, id, backup.Manifest{}, "", errors.New("disk of the target full")); err != nil {
		t.Fatal(err)
	}
	disk := health.State{CheckedAt: time.Now(), WriteOK: false, WriteError: "no space left on device", Level: health.LevelFull, Total: 1 << 30, Free: 0, Used: 1}
	e.server.ops = OpsStatus{Backups: e.store.BackupRuns, Disk: func() health.State { return disk }, Schedule: "6h"}
	full := true
	e.server.ready = func(context.Context) error {
		if full {
			return health.ErrNotWritable
		}
		return nil
	}

	r := e.pageAs("root", "/ops")
	if r.status != http.StatusOK {
		t.Fatalf("ops page: %d", r.status)
	}
	for _, want := range []string{"disk of the target full", "no space left on device", "还没有成功的备份", "ops-full", "报警事件", "365 天", "不提前删除"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("ops page lacks %q", want)
		}
	}
	if r := e.pageAs("operator", "/ops"); r.status != http.StatusForbidden {
		t.Errorf("an operator sees the ops page: %d", r.status)
	}

	resp, err := http.Get(e.http.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz with a full data folder: %d", resp.StatusCode)
	}
	full = false
	resp, err = http.Get(e.http.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("readyz with room: %d", resp.StatusCode)
	}
}
