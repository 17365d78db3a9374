package riverbench_test

// The outbox and River side by side, on SQLite and PostgreSQL, in one run
// (see docs/benchmarks.md, "Jobs: outbox or River"):
//
//	cd jobs/riverbench && go test -run '^$' -bench . -benchtime 2000x
//
// BenchmarkIngest is Store.Ingest of batches of burglary reports from
// different panels, each opening an incident and so queueing three jobs in
// the ingest transaction (two notices and the escalation): into the outbox
// (the store as shipped) or with River's InsertTx on the same *sql.Tx
// (through sqlstore.Options.Enqueue), unique by the job's key as the
// outbox's idempotency key is. Each op is one report; reports/s and
// cpu-µs/report are reported.
//
// BenchmarkSMS works b.N SMS jobs queued beforehand: by notify.Worker over
// the outbox, or by a River client whose worker calls the same Sender.
// The sender only counts (send=0) or also waits 2 ms, about what an SMPP
// submit_sm round trip to a gateway on the LAN takes (send=2ms). Each op
// is one SMS taken, sent and marked done; sms/s is reported.

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/notify"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

const panels = 256

func account(i int) string { return fmt.Sprintf("C%03X", i+1) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// keyed carries a job to River: unique by the outbox's idempotency key.
type keyed struct {
	Key     string       `json:"key" river:"unique"`
	Payload jobs.Payload `json:"payload"`
}

func (k keyed) Kind() string { return k.Payload.Kind() }

// sms is jobs.SMS worked by River.
type smsWorker struct {
	river.WorkerDefaults[jobs.SMS]
	send notify.Sender
}

func (w *smsWorker) Work(ctx context.Context, j *river.Job[jobs.SMS]) error {
	return w.send.Send(ctx, notify.Message{Key: j.Args.Key, To: j.Args.To, Body: j.Args.Body})
}

// counter is a Sender that counts and may take a while.
type counter struct {
	n     atomic.Int64
	delay time.Duration
}

func (c *counter) Send(ctx context.Context, _ notify.Message) error {
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	c.n.Add(1)
	return nil
}

// driver is River's driver for the store's writer pool, migrated.
func driver(b *testing.B, st *sqlstore.Store) riverdriver.Driver[*sql.Tx] {
	var d riverdriver.Driver[*sql.Tx]
	if st.Dialect() == sqlstore.SQLite {
		d = riversqlite.New(st.DB())
	} else {
		d = riverdatabasesql.New(st.DB())
	}
	m, err := rivermigrate.New(d, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Migrate(context.Background(), rivermigrate.DirectionUp, nil); err != nil {
		b.Fatalf("river migrate: %v", err)
	}
	return d
}

// store opens a store with the demo community and panels on its homes;
// with useRiver its jobs go to River instead of the outbox.
// side is "outbox", "river" (unique by key) or "river-plain" (no
// uniqueness: a retried transaction could queue a job twice).
func store(b *testing.B, dialect string, side string) (*sqlstore.Store, func() int) {
	b.Helper()
	ctx := context.Background()
	dsn := sqlstoretest.DSN(b, dialect)
	st := sqlstoretest.OpenDSN(b, dsn, nil)
	if _, err := demo.Load(ctx, st, "bench-password-1"); err != nil {
		b.Fatal(err)
	}
	homes, err := st.ListHomes(ctx, auth.Scope{{}}, community.Filter{Page: shequ.Page{Limit: panels}})
	if err != nil || len(homes.Items) < panels {
		b.Fatalf("homes: %v", err)
	}
	for i := range panels {
		p := alarm.Panel{HomeID: homes.Items[i].ID, Account: account(i)}
		if err := st.CreatePanel(ctx, auth.Scope{{}}, &p); err != nil {
			b.Fatal(err)
		}
	}
	count := func(table string) func() int {
		return func() int {
			var n int
			if err := st.DB().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	if side == "outbox" {
		return st, count("outbox")
	}
	var unique river.UniqueOpts
	if side == "river" {
		unique.ByArgs = true
	}
	// A second store on the same database, whose jobs go to River: the
	// first one stays open for the demo data's sake only.
	d := driver(b, st)
	client, err := river.NewClient(d, &river.Config{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	st2, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Cipher: sqlstoretest.TestCipher(b), Logger: quiet,
		Enqueue: func(ctx context.Context, tx *sql.Tx, key string, p jobs.Payload, runAt time.Time) error {
			_, err := client.InsertTx(ctx, tx, keyed{Key: key, Payload: p}, &river.InsertOpts{ScheduledAt: runAt, UniqueOpts: unique})
			return err
		}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st2.Close() })
	return st2, count("river_job")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkIngest(b *testing.B) {
	for _, dialect := range sqlstoretest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			sides := map[string]*sqlstore.Store{}
			counts := map[string]func() int{}
			// Sequence numbers go on across runs of a sub-benchmark: a
			// report seen before is a retransmission and queues nothing.
			names := []string{"outbox", "river", "river-plain"}
			seqs := map[string]*int{}
			for _, side := range names {
				sides[side], counts[side] = store(b, dialect, side)
				seqs[side] = new(int)
			}
			for _, size := range []int{1, 16} {
				// The two sides one after the other, so that they see the
				// same machine.
				for _, side := range names {
					b.Run(fmt.Sprintf("batch=%d/%s", size, side), func(b *testing.B) {
						st, count := sides[side], counts[side]
						before := count()
						ctx := context.Background()
						batch := make([]alarm.Report, size)
						// Each report is an hour after the last on its
						// panel: past the correlation window, so it opens
						// an incident of its own.
						t0 := time.Now().Add(-24 * 365 * time.Hour)
						seq := seqs[side]
						b.ResetTimer()
						cpu0, wall0 := cpuTime(), time.Now()
						for done := 0; done < b.N; done += size {
							for i := range batch {
								*seq++
								s := strconv.Itoa(*seq)
								batch[i] = alarm.Report{Source: alarm.SourceSIA, Account: account(*seq % panels), Seq: s, Fingerprint: s,
									Code: "BA", Kind: alarm.KindBurglary, Zone: "1", ReceivedAt: t0.Add(time.Duration(*seq) * time.Hour)}
							}
							if _, err := st.Ingest(ctx, batch); err != nil {
								b.Fatal(err)
							}
						}
						b.StopTimer()
						n := b.N - b.N%size
						if b.N%size != 0 {
							n += size
						}
						b.ReportMetric(float64(n)/time.Since(wall0).Seconds(), "reports/s")
						b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(n), "cpu-µs/report")
						if got := count() - before; got != 3*n {
							b.Fatalf("%d jobs queued for %d reports, want 3 each", got, n)
						}
					})
				}
			}
		})
	}
}

func BenchmarkSMS(b *testing.B) {
	for _, dialect := range sqlstoretest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			outboxStore, _ := store(b, dialect, "outbox")
			riverStore, _ := store(b, dialect, "river")
			for _, delay := range []time.Duration{0, 2 * time.Millisecond} {
				name := "send=" + strconv.Itoa(int(delay/time.Millisecond)) + "ms"
				if delay == 0 {
					name = "send=0"
				}
				b.Run(name+"/outbox", func(b *testing.B) { outboxSMS(b, outboxStore, delay) })
				b.Run(name+"/river", func(b *testing.B) { riverSMS(b, riverStore, delay) })
			}
		})
	}
}

var round atomic.Int64

// outboxSMS queues b.N SMS jobs with the store's own enqueue (an ingest
// would have done it) and times notify.Worker draining them.
func outboxSMS(b *testing.B, st *sqlstore.Store, delay time.Duration) {
	ctx := context.Background()
	r := round.Add(1)
	var next []jobs.New
	for i := range b.N {
		k := fmt.Sprintf("bench:%d:sms:%d", r, i)
		next = append(next, jobs.New{Key: k, Payload: jobs.SMS{Key: k, To: "19900000001", Body: "告警"}})
	}
	if err := st.Enqueue(ctx, next...); err != nil {
		b.Fatal(err)
	}
	sender := &counter{delay: delay}
	w := &notify.Worker{Store: st, Sender: sender, Clock: shequ.SystemClock{}, Log: quiet}
	b.ResetTimer()
	start := time.Now()
	for sender.n.Load() < int64(b.N) {
		if _, err := w.RunOnce(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sms/s")
}

// riverSMS queues b.N SMS jobs with InsertManyTx and times a River client
// with the default queue's 100 workers draining them.
func riverSMS(b *testing.B, st *sqlstore.Store, delay time.Duration) {
	ctx := context.Background()
	d := driver(b, st)
	sender := &counter{delay: delay}
	workers := river.NewWorkers()
	river.AddWorker(workers, &smsWorker{send: sender})
	client, err := river.NewClient(d, &river.Config{Logger: quiet, Workers: workers,
		Queues:        map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 100}},
		FetchCooldown: time.Millisecond, FetchPollInterval: 10 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	r := round.Add(1)
	var params []river.InsertManyParams
	for i := range b.N {
		k := fmt.Sprintf("bench:%d:sms:%d", r, i)
		params = append(params, river.InsertManyParams{Args: jobs.SMS{Key: k, To: "19900000001", Body: "告警"},
			InsertOpts: &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}})
	}
	tx, err := st.DB().BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := client.InsertManyTx(ctx, tx, params); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	done, cancel := client.Subscribe(river.EventKindJobCompleted)
	defer cancel()
	b.ResetTimer()
	start := time.Now()
	if err := client.Start(ctx); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		select {
		case <-done:
		case <-time.After(time.Minute):
			b.Fatalf("River: %d of %d sent after a minute without a completion", sender.n.Load(), b.N)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sms/s")
	stopCtx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	if err := client.Stop(stopCtx); err != nil {
		b.Fatal(err)
	}
}
