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
// deployment commits a live event. It hears the store's listening
// connection (pgListener), which reconnects with backoff; after every
// (re)connection it wakes the streams anyway, since commits made while it
// was away were announced to nobody.
type LiveListener struct {
	listener *pgListener
	// own is set when the listener is the LiveListener's alone
	// (NewLiveListener), to be closed when Run ends.
	own     bool
	changed func()
	log     *slog.Logger

	mu  sync.Mutex
	err error // why it is not listening; nil while it is
}

// LiveListener returns the listener of the store's database, or nil on
// SQLite, where every writer is this process. It shares the store's one
// listening connection with the counter mirror.
func (s *Store) LiveListener(changed func(), log *slog.Logger) *LiveListener {
	if s.dialect != Postgres {
		return nil
	}
	return newLiveListener(s.listener, false, changed, log)
}

// NewLiveListener returns a listener on the PostgreSQL database at dsn
// that calls changed at every commit of live events, on a connection of
// its own.
func NewLiveListener(dsn string, changed func(), log *slog.Logger) *LiveListener {
	l := newLiveListener(nil, true, changed, log)
	l.listener = newPGListener(dsn, l.log)
	return l
}

func newLiveListener(listener *pgListener, own bool, changed func(), log *slog.Logger) *LiveListener {
	if log == nil {
		log = slog.Default()
	}
	return &LiveListener{listener: listener, own: own, changed: changed, log: log, err: errors.New("live listener: not connected yet")}
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
	unsubscribe := l.listener.subscribe(&listenSub{
		connected: func(uint32) {
			l.setErr(nil)
			l.log.Info("live listener: listening", "channel", LiveChannel)
			// Commits made while nobody listened were announced to nobody.
			l.changed()
		},
		heard: func(n *pgconn.Notification) {
			if n != nil && n.Channel == LiveChannel {
				l.changed()
			}
		},
		lost: func(err error) { l.setErr(fmt.Errorf("live listener: %w", err)) },
	})
	<-ctx.Done()
	unsubscribe()
	if l.own {
		l.listener.close()
	}
}

// pgListener is a node's one listening connection to PostgreSQL: it
// LISTENs on LiveChannel and CounterChannel together, so that the live
// streams (LiveListener) and the counter mirror (countermirror.go) cost
// one connection between them, not one each, and reconnect in one loop.
// It starts with its first subscriber and runs until close.
type pgListener struct {
	dsn string
	log *slog.Logger

	start  sync.Once
	cancel context.CancelFunc
	done   chan struct{}

	// mu orders the subscribers' calls: each hears connected, heard and
	// lost in the order the connection went through them, subscribe
	// included.
	mu        sync.Mutex
	subs      map[*listenSub]struct{}
	listening bool
	pid       uint32
}

// listenSub is what one part of the store does with the connection.
// Each function is called with the listener's lock held: it must be
// quick and must not call back into the listener.
type listenSub struct {
	// connected is called once LISTEN holds, with the server's process
	// id: at each (re)connection, and at once on subscribing to a
	// listener that is listening.
	connected func(pid uint32)
	// heard is called with each notification, of either channel, and
	// with nil when the server answered a ping after a quiet spell: an
	// answer comes after every notification sent before the question.
	heard func(*pgconn.Notification)
	// lost is called when the connection failed.
	lost func(error)
}

// ListenerApplication is the application_name of the listening
// connection, by which an operator (or a test) finds it in
// pg_stat_activity.
const ListenerApplication = "shequ-listener"

func newPGListener(dsn string, log *slog.Logger) *pgListener {
	return &pgListener{dsn: dsn, log: log, subs: map[*listenSub]struct{}{}}
}

// subscribe starts the listener if it is not running and adds sub;
// unsubscribe removes it.
func (l *pgListener) subscribe(sub *listenSub) (unsubscribe func()) {
	l.start.Do(l.run)
	l.mu.Lock()
	l.subs[sub] = struct{}{}
	if l.listening {
		sub.connected(l.pid)
	}
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		delete(l.subs, sub)
		l.mu.Unlock()
	}
}

func (l *pgListener) run() {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan struct{})
	go func() {
		defer close(l.done)
		l.listen(ctx)
	}()
}

// close stops the listener, if it was started.
func (l *pgListener) close() {
	l.start.Do(func() {}) // never start once closing
	if l.cancel != nil {
		l.cancel()
		<-l.done
	}
}

// listen keeps a listening connection until ctx ends, reconnecting with
// backoff.
func (l *pgListener) listen(ctx context.Context) {
	const first, most = 100 * time.Millisecond, 10 * time.Second
	wait := first
	for ctx.Err() == nil {
		connected, err := listenOn(ctx, l.dsn, listenerPing, mirrorTrust, l.connected, l.heard)
		l.lost(err)
		if ctx.Err() != nil {
			return
		}
		if connected {
			wait = first
		}
		l.log.Warn("database listener lost the database; reconnecting (kept pages and sessions are read from the database meanwhile)", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, most)
	}
}

func (l *pgListener) connected(pid uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.listening, l.pid = true, pid
	for sub := range l.subs {
		sub.connected(pid)
	}
}

func (l *pgListener) heard(n *pgconn.Notification) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for sub := range l.subs {
		sub.heard(n)
	}
}

func (l *pgListener) lost(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.listening = false
	for sub := range l.subs {
		sub.lost(err)
	}
}

// listenedChannels are the channels the listening connection LISTENs on.
var listenedChannels = []string{LiveChannel, CounterChannel}

// listenOn connects to dsn on a connection of its own, LISTENs on
// listenedChannels, calls listening (with the server's process id) once
// LISTEN holds, then heard with each notification until the connection
// fails or ctx ends; connected says whether it got as far as listening.
// A connection that went silent (a cut network) reports nothing, so after
// each quiet spell it asks the server, within pingTimeout, and calls
// heard(nil) when the server answered: an answer comes after every
// notification sent before the question.
func listenOn(ctx context.Context, dsn string, quiet, pingTimeout time.Duration, listening func(pid uint32), heard func(*pgconn.Notification)) (connected bool, err error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return false, err
	}
	cfg.RuntimeParams["application_name"] = ListenerApplication
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	for _, channel := range listenedChannels {
		if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
			return false, err
		}
	}
	listening(conn.PgConn().PID())
	for {
		wctx, cancel := context.WithTimeout(ctx, quiet)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			heard(n)
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

// listenerPing is how long the listener waits quietly before asking the
// server whether the connection still carries notifications: the counter
// mirror believes itself only while it heard from the server within
// mirrorTrust.
const listenerPing = time.Second
