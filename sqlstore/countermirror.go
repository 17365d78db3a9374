package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// The change counters mirrored in memory (issue 13). A kept page, the
// resident's home page and a cached session each cost one read of their
// counters per request; on PostgreSQL that round trip (the driver's
// goroutines, the socket, the server's own CPU on the same cores) was most
// of a kept page's cost, holding it at 0.12–0.27× a bare handler. Every
// move of a counter is announced at commit on CounterChannel (migration
// 00051, PostgreSQL), so a node can tell, without asking, that a sum it
// read is still the sum:
//
//   - a sum is remembered with the token it was read under, the token
//     being read first: the store's own commits (WriteGeneration), the
//     listener's connections, and per counter the notifications heard;
//     each only grows, so the token moves whenever one of them does;
//   - a commit on this node moves the token before the writer returns, so
//     the very next request here reads again; a commit on another node
//     moves it when its notification arrives (a NOTIFY is sent at commit,
//     after the row is visible, so a read made after the token holds it);
//   - the mirror is trusted only while the listener is connected and has
//     heard from the server in the last mirrorTrust (a notification or the
//     answer to a ping sent each listenerPing when quiet: the answer comes
//     after any notification sent before it). Otherwise every sum is read
//     from the database, as before, and a new connection moves every
//     token, since commits made while nobody listened were announced to
//     nobody.
//
// The notifications carry only the counter's name, not its value: the
// database remains the source of the numbers, and PostgreSQL sends one
// notification per name and transaction however many rows a bulk write
// touched.
//
// SQLite has no notifications. There the mirror asks the file's
// data_version (pollFile), which moves when any connection of any process
// commits; every move moves every token. It asks when a sum is wanted and
// the last answer is older than filePoll, not on a clock: an idle node
// wakes for nothing, and another process's change (the command line)
// shows at the first request filePoll after it, this process's at once.

// CounterChannel is the PostgreSQL notification channel the moves of
// change counters are announced on; the payload is the counter's name.
const CounterChannel = "shequ_counters"

const (
	// mirrorTrust is how long after it last heard from the server the
	// mirror is believed: a connection cut silently is noticed by then.
	mirrorTrust = 3 * time.Second
	// maxMirrored bounds the counters and the sums remembered (home pages
	// have one sum per household); past it they are forgotten and every
	// token moves.
	maxMirrored = 1 << 16
)

type counterMirror struct {
	// listener is the store's listening connection (PostgreSQL; nil on
	// SQLite), unsubscribe what ends the mirror's hearing of it.
	listener    *pgListener
	unsubscribe func()
	// file, on SQLite, is a connection pool of one on the database file,
	// whose PRAGMA data_version moves when any connection, of this
	// process or another, commits (watchFile); nil on PostgreSQL.
	file  *sql.DB
	log   *slog.Logger
	local *atomic.Uint64 // the store's committed writes

	// reads counts the sums read from the database, polls the times the
	// SQLite file was asked, and pid is the listener's server process
	// (tests).
	reads atomic.Int64
	polls atomic.Int64
	pid   atomic.Uint32

	start sync.Once

	mu sync.Mutex
	// listening is set while the listener's LISTEN holds; heard is when
	// the server last proved the connection alive. Both are the
	// machine's monotonic time, not the store's clock: they measure a
	// connection, not anything of the domain.
	listening bool
	heard     time.Time
	// epoch counts the listener's connections (and forgettings).
	epoch uint64
	// moved counts, per counter, the notifications heard.
	moved map[string]uint64
	// sums are the sums read, by the counters' names joined.
	sums map[string]mirroredSum
	// syncs are the callers of sync waiting for their own notification.
	syncs map[string]chan struct{}
	nsync uint64
	// dataVersion is the file's data_version last polled (SQLite).
	dataVersion int64
	// pollMu makes a poll of the file one at a time (its connection).
	pollMu   sync.Mutex
	fileConn *sql.Conn
}

type mirroredSum struct {
	token uint64
	sum   int64
}

func newCounterMirror(listener *pgListener, local *atomic.Uint64, log *slog.Logger) *counterMirror {
	return &counterMirror{listener: listener, log: log, local: local, moved: map[string]uint64{}, sums: map[string]mirroredSum{}, syncs: map[string]chan struct{}{}}
}

// sum returns the sum of the named counters: from memory while the
// mirror vouches for it, else read by read, and then remembered.
func (m *counterMirror) sum(ctx context.Context, read func(context.Context) (int64, error), names []string) (int64, error) {
	m.start.Do(m.run)
	if m.file != nil {
		// A failed poll leaves the mirror deaf: the sum is read.
		_ = m.pollIfStale(ctx)
	}
	key := strings.Join(names, "\x00")
	m.mu.Lock()
	token, trusted := m.tokenLocked(names)
	if e, ok := m.sums[key]; ok && trusted && e.token == token {
		m.mu.Unlock()
		return e.sum, nil
	}
	m.mu.Unlock()
	// The token was taken before the read: a commit announced meanwhile
	// moves it past token, and the sum read now is not used again.
	m.reads.Add(1)
	v, err := read(ctx)
	if err != nil || !trusted {
		return v, err
	}
	m.mu.Lock()
	if len(m.sums) >= maxMirrored {
		clear(m.sums)
	}
	m.sums[key] = mirroredSum{token: token, sum: v}
	m.mu.Unlock()
	return v, nil
}

// tokenLocked returns the token of names, and whether the mirror may be
// believed now.
func (m *counterMirror) tokenLocked(names []string) (uint64, bool) {
	t := m.local.Load() + m.epoch
	for _, n := range names {
		t += m.moved[n]
	}
	return t, m.listening && time.Since(m.heard) < mirrorTrust
}

// syncPrefix starts the payload of a notification sent by sync, which no
// counter's name does.
const syncPrefix = "sync "

// sync returns once the listener has heard every counter move committed
// before the call, on any node: it sends a notification of its own and
// waits for it, since a channel's notifications arrive in commit order.
// It returns at once while the mirror is not listening (every sum is then
// read from the database).
func (m *counterMirror) sync(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}) error {
	m.start.Do(m.run)
	if m.file != nil {
		return m.pollFile(ctx)
	}
	m.mu.Lock()
	if !m.listening {
		m.mu.Unlock()
		return nil
	}
	m.nsync++
	payload := syncPrefix + strconv.FormatUint(m.nsync, 10) + " " + strconv.FormatInt(time.Now().UnixNano(), 36)
	ch := make(chan struct{})
	m.syncs[payload] = ch
	m.mu.Unlock()
	// An answer not waited for is forgotten, lest it wait forever.
	defer func() {
		m.mu.Lock()
		delete(m.syncs, payload)
		m.mu.Unlock()
	}()
	if _, err := db.ExecContext(ctx, "SELECT pg_notify($1, $2)", CounterChannel, payload); err != nil {
		return fmt.Errorf("counter mirror sync: %w", err)
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(mirrorTrust):
		// Not heard: the mirror is not believed past mirrorTrust anyway.
		return nil
	}
}

// run starts hearing the store's listening connection (PostgreSQL),
// which starts it if the live streams have not; the first sum asked for
// starts it, so that a store that keeps nothing holds no extra
// connection. On SQLite there is nothing to run: the file is asked on
// demand.
func (m *counterMirror) run() {
	if m.listener == nil {
		return
	}
	m.unsubscribe = m.listener.subscribe(&listenSub{
		connected: func(pid uint32) {
			m.pid.Store(pid)
			// Listening from here on: every sum read from now is announced
			// when it moves. Sums remembered before were not, so the epoch
			// moves them.
			m.mu.Lock()
			m.epoch++
			m.listening, m.heard = true, time.Now()
			m.mu.Unlock()
		},
		heard: func(n *pgconn.Notification) {
			if n == nil || n.Channel != CounterChannel {
				m.heardFrom("") // the server answered: the connection carries
				return
			}
			m.heardFrom(n.Payload)
		},
		lost: func(error) { m.setDeaf() },
	})
}

// close stops hearing the listener, if it was started.
func (m *counterMirror) close() {
	m.start.Do(func() {}) // never start once closing
	if m.unsubscribe != nil {
		m.unsubscribe()
	}
	if m.file != nil {
		m.pollMu.Lock()
		if m.fileConn != nil {
			_ = m.fileConn.Close()
		}
		m.pollMu.Unlock()
		_ = m.file.Close()
	}
}

// filePoll is how old the SQLite file's answer may be before a sum asks
// again whether anything was committed: the delay with which another
// process's change (the command line) shows on kept pages and sessions.
// Asking costs a few microseconds, at most once in filePoll, instead of a
// query per request.
const filePoll = 25 * time.Millisecond

// pollIfStale asks the file unless it answered within filePoll. Of the
// requests that find the answer stale at once, one asks and the others
// wait for it (pollMu) and take its answer.
func (m *counterMirror) pollIfStale(ctx context.Context) error {
	if m.fresh() {
		return nil
	}
	m.pollMu.Lock()
	defer m.pollMu.Unlock()
	if m.fresh() {
		return nil
	}
	return m.pollFileLocked(ctx)
}

// fresh tells whether the file answered within filePoll.
func (m *counterMirror) fresh() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.listening && time.Since(m.heard) < filePoll
}

// pollFile reads the file's data_version: when it moved, every token
// moves (any table may have changed; the sums are read again).
func (m *counterMirror) pollFile(ctx context.Context) error {
	m.pollMu.Lock()
	defer m.pollMu.Unlock()
	return m.pollFileLocked(ctx)
}

func (m *counterMirror) pollFileLocked(ctx context.Context) error {
	m.polls.Add(1)
	v, err := m.fileVersion(ctx)
	if err != nil {
		m.mu.Lock()
		was := m.listening
		m.listening = false
		m.mu.Unlock()
		if was && ctx.Err() == nil {
			m.log.Warn("counter mirror cannot read the file's version; reading counters until it can", "err", err)
		}
		return err
	}
	m.mu.Lock()
	// Not listening: the connection is new, and its data_version is not
	// comparable with the old one's.
	if !m.listening || v != m.dataVersion {
		m.epoch++
		m.dataVersion = v
	}
	m.listening, m.heard = true, time.Now()
	m.mu.Unlock()
	return nil
}

// fileVersion asks the one connection kept for it; data_version compares
// only values read on the same connection, so a failed one is replaced
// (and the caller starts over as if not listening).
func (m *counterMirror) fileVersion(ctx context.Context) (int64, error) {
	if m.fileConn == nil {
		c, err := m.file.Conn(ctx)
		if err != nil {
			return 0, err
		}
		m.fileConn = c
		m.setDeaf()
	}
	var v int64
	if err := m.fileConn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
		_ = m.fileConn.Close()
		m.fileConn = nil
		return 0, err
	}
	return v, nil
}

func (m *counterMirror) setDeaf() {
	m.mu.Lock()
	m.listening = false
	m.mu.Unlock()
}

// heardFrom notes that the server answered; name, when not empty, is a
// counter that moved.
func (m *counterMirror) heardFrom(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.heard = time.Now()
	if name == "" {
		return
	}
	if ch, ok := m.syncs[name]; ok {
		close(ch)
		delete(m.syncs, name)
		return
	}
	if strings.HasPrefix(name, syncPrefix) {
		return // a sync's answer that came too late: no counter moved
	}
	if _, ok := m.moved[name]; !ok && len(m.moved) >= maxMirrored {
		// The epoch takes over every move forgotten, and one more, so that
		// no token falls back to a value a sum being read now could be
		// remembered under.
		for _, n := range m.moved {
			m.epoch += n
		}
		m.epoch++
		clear(m.moved)
		clear(m.sums)
	}
	m.moved[name]++
}

// HeardCounters returns once this store has heard of every change
// committed before the call, on any node, that moves a kept page's or a
// session's version (on PostgreSQL the notifications arrive a moment after
// the commit; on SQLite every version is read from the file). Tests of
// several nodes call it where a client would see another node's change
// after that moment.
func (s *Store) HeardCounters(ctx context.Context) error {
	if s.counters == nil {
		return nil
	}
	return s.counters.sync(ctx, s.write)
}
