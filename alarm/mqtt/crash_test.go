package mqtt

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// The crash child is this test binary run again with these variables: an
// MQTT client ingesting into the database at DSN, which stops in the
// middle of its second batch and waits to be killed.
const (
	crashChildEnv = "SHEQU_MQTT_CRASH_CHILD" // "received" or "committed"
	crashDSNEnv   = "SHEQU_MQTT_CRASH_DSN"
	crashURLEnv   = "SHEQU_MQTT_CRASH_URL"
	crashBatchEnv = "SHEQU_MQTT_CRASH_BATCH"
)

// crashHandler stores through the group commit; at its second batch of
// sensor reports it says so on stdout and blocks, before the commit
// ("received") or after it, before Handle returns and the PUBACKs go
// ("committed"). A call with a receipt alone (the worker emptying it when
// idle) does not count.
type crashHandler struct {
	ing   *alarm.Ingestor
	when  string
	calls int
}

func (h *crashHandler) Handle(ctx context.Context, rs []alarm.Report) error {
	if !slices.ContainsFunc(rs, func(r alarm.Report) bool { return !r.IsBatchReceipt() }) {
		return h.ing.Handle(ctx, rs)
	}
	h.calls++
	if h.calls == 2 && h.when == "received" {
		fmt.Printf("CRASH-POINT %d\n", len(rs))
		select {}
	}
	if err := h.ing.Handle(ctx, rs); err != nil {
		return err
	}
	if h.calls == 2 {
		fmt.Printf("CRASH-POINT %d\n", len(rs))
		select {}
	}
	return nil
}

func crashChild() int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, os.Getenv(crashDSNEnv), sqlstore.Options{Cipher: sqlstoretest.TestCipher(nil), Logger: log})
	if err != nil {
		log.Error("open", "err", err)
		return 2
	}
	ing := alarm.NewIngestor(st, log, 256)
	go ing.Run(ctx)
	batch, _ := strconv.Atoi(os.Getenv(crashBatchEnv))
	cfg := Config{URL: os.Getenv(crashURLEnv), ClientID: "shequ-crash", MaxBatch: batch, Logger: log}
	c, err := NewClient(cfg, &storeSensors{st: st}, &crashHandler{ing: ing, when: os.Getenv(crashChildEnv)})
	if err != nil {
		log.Error("client", "err", err)
		return 2
	}
	c.Start(ctx)
	select {}
}

// TestCrashLosesNothingAndStoresNothingTwice kills (SIGKILL) a process
// ingesting a backlog of state changes, once between receiving a batch and
// committing it, once between committing it and acknowledging it, and lets
// another client with the same session finish the backlog: every change is
// stored, once, in order. (Incidents and their jobs come only from
// reports stored, so they are not doubled either; TestMQTTReceipts in
// sqlstore checks them in an armed home.) The batches hold one change of
// each sensor ("one") or three ("three": open, closed, open). A batch of
// one change per sensor sent again repeats each sensor's stored state and
// makes no report anyway; one with several changes of a sensor would be
// stored again but for the receipt stored with it (see the package
// documentation).
func TestCrashLosesNothingAndStoresNothingTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const sensors = 8
	for _, dialect := range []string{sqlstore.SQLite, sqlstore.Postgres} {
		for _, c := range []struct {
			when  string
			per   string
			batch int
		}{
			{"received", "one", sensors},
			{"committed", "one", sensors},
			{"received", "three", 3 * sensors},
			{"committed", "three", 3 * sensors},
		} {
			when := c.when
			t.Run(dialect+"/"+when+"/"+c.per, func(t *testing.T) {
				m := startMosquitto(t)
				dsn := sensorStore(t, dialect, sensors)
				cfg := testConfig(t, m.url(), "shequ-crash")
				startClient(t, cfg, doors(sensors, nil), newRecorder()).Close()
				pub := newPublisher(t, m.url(), "bridge-crash-backlog")
				const changes = 200
				publishChanges(t, pub, sensors, 0, changes)

				child := exec.Command(os.Args[0], "-test.run=^$")
				child.Env = append(os.Environ(), crashChildEnv+"="+when, crashDSNEnv+"="+dsn, crashURLEnv+"="+m.url(), crashBatchEnv+"="+strconv.Itoa(c.batch))
				out, err := child.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				child.Stderr = io.Discard
				if testing.Verbose() {
					child.Stderr = os.Stderr
				}
				if err := child.Start(); err != nil {
					t.Fatal(err)
				}
				reached := make(chan string, 1)
				go func() {
					sc := bufio.NewScanner(out)
					for sc.Scan() {
						if strings.HasPrefix(sc.Text(), "CRASH-POINT") {
							reached <- sc.Text()
						}
					}
				}()
				select {
				case line := <-reached:
					t.Logf("child at its crash point (%s): %s", when, line)
				case <-time.After(60 * time.Second):
					child.Process.Kill()
					child.Wait()
					t.Fatal("the child never reached its crash point")
				}
				child.Process.Kill()
				child.Wait()

				st := startNode(t, dsn, "survivor", cfg).st
				checkStored(t, st, sensors, changes)
			})
		}
	}
}
