package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// LiveChannel is the PostgreSQL notification channel every node's commits
// of live events are announced on; the payload is the newest id the
// transaction wrote. The row stays the source of truth: a notification
// only tells listeners to read.
const LiveChannel = "shequ_live"

// notifyLiveSQL announces the live events the transaction wrote last; it
// is delivered when (and only if) the transaction commits. currval is the
// session's own last id, never another node's.
const notifyLiveSQL = "SELECT pg_notify('" + LiveChannel + "', currval(pg_get_serial_sequence('live_events', 'id'))::text)"

// notifyLive tells the other nodes, at commit, that live events were
// written: by NOTIFY in the transaction, or, with a bus (PublishLiveTo),
// by publishing the id once the transaction committed. SQLite runs one
// process: nothing to tell.
func (s *Store) notifyLive(ctx context.Context, q querier) error {
	if s.dialect != Postgres {
		return nil
	}
	if s.liveBus.publish == nil {
		if _, err := q.ExecContext(ctx, notifyLiveSQL); err != nil {
			return fmt.Errorf("notify live event: %w", err)
		}
		return nil
	}
	tx, ok := q.(*sql.Tx)
	if !ok {
		return errors.New("notify live event: not in a transaction")
	}
	var id int64
	if err := tx.QueryRowContext(ctx, lastLiveIDSQL).Scan(&id); err != nil {
		return fmt.Errorf("notify live event: %w", err)
	}
	s.liveBus.pending.Store(tx, id)
	return nil
}

// lastLiveIDSQL is the id of the transaction's last live event.
const lastLiveIDSQL = "SELECT currval(pg_get_serial_sequence('live_events', 'id'))"

// liveBus publishes the live event ids of committed transactions when the
// deployment uses a bus instead of NOTIFY.
type liveBus struct {
	publish func(id int64)
	pending *sync.Map // *sql.Tx → the newest live event id it wrote
}

// PublishLiveTo makes the store announce its commits of live events by
// calling publish with the newest id, after the commit, instead of by
// PostgreSQL NOTIFY (--bus). Call it before the store is used; it does
// nothing on SQLite.
func (s *Store) PublishLiveTo(publish func(id int64)) {
	if s.dialect != Postgres {
		return
	}
	s.liveBus = liveBus{publish: publish, pending: &sync.Map{}}
}

// txEnded publishes the live event id tx wrote if it committed, and
// forgets it either way.
func (s *Store) txEnded(tx *sql.Tx, committed bool) {
	if s.liveBus.publish == nil {
		return
	}
	id, ok := s.liveBus.pending.LoadAndDelete(tx)
	if ok && committed {
		s.liveBus.publish(id.(int64))
	}
}

// LiveListener wakes this node's live streams when any node of the
// deployment commits a live event. It listens on one connection of its
// own (PostgreSQL LISTEN), reconnecting with backoff; after every
// (re)connection it wakes the streams anyway, since commits made while it
// was away were announced to nobody.
type LiveListener struct {
	dsn     string
	changed func()
	log     *slog.Logger

	mu  sync.Mutex
	err error // why it is not listening; nil while it is
}

// LiveListener returns the listener of the store's database, or nil on
// SQLite, where every writer is this process.
func (s *Store) LiveListener(changed func(), log *slog.Logger) *LiveListener {
	if s.dialect != Postgres {
		return nil
	}
	return NewLiveListener(s.dsn, changed, log)
}

// NewLiveListener returns a listener on the PostgreSQL database at dsn
// that calls changed at every commit of live events.
func NewLiveListener(dsn string, changed func(), log *slog.Logger) *LiveListener {
	if log == nil {
		log = slog.Default()
	}
	return &LiveListener{dsn: dsn, changed: changed, log: log, err: errors.New("live listener: not connected yet")}
}

// Ready reports why the listener is not listening, nil when it is: a
// node deaf to the other nodes would show its consoles alarms a second
// late (the streams' poll), so it is not ready.
func (l *LiveListener) Ready(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *LiveListener) setErr(err error) {
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
}

// Run listens until ctx ends.
func (l *LiveListener) Run(ctx context.Context) {
	const first, most = 100 * time.Millisecond, 10 * time.Second
	wait := first
	for ctx.Err() == nil {
		connected, err := l.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		l.setErr(fmt.Errorf("live listener: %w", err))
		if connected {
			wait = first
		}
		l.log.Warn("live listener lost the database; reconnecting", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, most)
	}
}

// listen connects, listens and wakes the hub at each notification until
// the connection fails; connected says whether it got as far as listening.
func (l *LiveListener) listen(ctx context.Context) (connected bool, err error) {
	return listenOn(ctx, l.dsn, LiveChannel, listenerQuiet, 5*time.Second, func(uint32) {
		l.setErr(nil)
		l.log.Info("live listener: listening", "channel", LiveChannel)
		// Commits made while nobody listened were announced to nobody.
		l.changed()
	}, func(n *pgconn.Notification) {
		if n != nil {
			l.changed()
		}
	})
}

// listenOn connects to dsn on a connection of its own, LISTENs on channel,
// calls listening (with the server's process id) once LISTEN holds, then
// heard with each notification of the channel until the connection fails
// or ctx ends; connected says whether it got as far as listening. A
// connection that went silent (a cut network) reports nothing, so after
// each quiet spell it asks the server, within pingTimeout, and calls
// heard(nil) when the server answered: an answer comes after every
// notification sent before the question.
func listenOn(ctx context.Context, dsn, channel string, quiet, pingTimeout time.Duration, listening func(pid uint32), heard func(*pgconn.Notification)) (connected bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(cctx, dsn)
	cancel()
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return false, err
	}
	listening(conn.PgConn().PID())
	for {
		wctx, cancel := context.WithTimeout(ctx, quiet)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if n.Channel == channel {
				heard(n)
			}
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			pctx, cancel := context.WithTimeout(ctx, pingTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, err
			}
			heard(nil)
		default:
			return true, err
		}
	}
}

// listenerQuiet is how long the listener waits for a notification before
// checking that its connection still answers.
const listenerQuiet = 30 * time.Second
