package mqtt

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/jobs"
)

// Handler stores reports. It returns only once they are durable; a nil
// error is what lets the MQTT message be acknowledged. alarm.Ingestor
// satisfies it.
type Handler interface {
	Handle(ctx context.Context, reports []alarm.Report) error
}

// Sensors tells the ingestion which friendly names are registered sensors
// and what was last stored about them. Sensor is called for every message
// and should answer from memory; LastState is called once per sensor after
// a start, before its first message is translated.
type Sensors interface {
	// Sensor returns the kind (alarm.SensorDoor, alarm.SensorWindow,
	// alarm.SensorPIR) and zone of a registered sensor. Messages of unknown
	// names are logged (at most once per name per ten minutes) and skipped.
	// An error is treated like a failed Handle: the batch is retried, so
	// that a registered sensor's message is never skipped (and
	// acknowledged) because the directory could not be asked.
	Sensor(ctx context.Context, name string) (kind, zone string, known bool, err error)
	// LastState returns the state built from the sensor's stored events
	// (see State.Apply). found=false means nothing is stored: the sensor is
	// taken to be in its normal state, so a first message saying "open"
	// reports an opening and one saying "closed" reports nothing. An error
	// is treated like a failed Handle: the batch is retried.
	LastState(ctx context.Context, name string) (st State, found bool, err error)
}

// delivery is one message handed to the pipeline by the client or the
// embedded broker.
type delivery struct {
	topic      string
	payload    []byte
	receivedAt time.Time
	// session and id identify a QoS 1 delivery for duplicate detection:
	// the MQTT session (client id at the embedded broker, "" for the
	// external broker's one session) and the packet identifier; id 0 for
	// QoS 0.
	session string
	id      uint16
	dup     bool // the sender flagged it as a retransmission (logged only)
	// conn is the connection the delivery came on: the external broker's
	// brokerConn, the embedded broker's client. A sender resends a message
	// only on a new connection (MQTT 5 §4.4).
	conn any
	// ack is called once the message's reports are stored (or the message
	// was deliberately skipped). nil for QoS 0.
	ack func()
	// acker, instead of ack, acknowledges packet id with the other
	// deliveries of the batch that have the same acker, in one go.
	acker batchAcker
	// term is the subscription term the delivery came in, nil for the
	// embedded broker's: once the term has ended the delivery is dropped
	// unstored, since the next subscriber (maybe another node) gets it
	// again from the broker.
	term *term
	// reset, on a delivery that carries no message, makes the worker
	// forget what it remembers of the sensors: a new term begins, and
	// another node may have stored their changes since.
	reset bool
}

// term is one stretch of subscribing at the external broker; on several
// nodes, one node's hold of the subscriber's lease (see Config.Elect).
type term struct {
	// mu is held by the worker while it stores deliveries of the term,
	// and by end: once end returned, none of them is being stored and
	// none will be.
	mu    sync.Mutex
	ended atomic.Bool // set under mu
	// fence is the lease the term subscribes under, zero without one.
	// end comes only once this node knows the lease is lost, which may
	// be after another node took it over (this one was paused): the
	// store's fence refuses the batches of that gap.
	fence jobs.Fence
}

// end ends the term, waiting for the batch being stored to be stored.
func (t *term) end() {
	t.mu.Lock()
	t.ended.Store(true)
	t.mu.Unlock()
}

// batchAcker acknowledges QoS 1 messages by packet id, in the order given.
type batchAcker interface {
	ackBatch(ids []uint16) error
}

type dedupKey struct {
	session string
	id      uint16
}

// storedMsg is a QoS 1 delivery stored and acknowledged: its content
// digest and the connection its PUBACK was written to.
type storedMsg struct {
	sum  uint64
	conn any
}

// connView is what the worker knows of a session's connection: the one
// its latest delivery came on, and whether the messages that connection
// began with are resends still (see replay).
type connView struct {
	conn      any
	resending bool
	ended     bool // the resends ended in this batch
}

// pipeline translates deliveries in the order they arrive, stores their
// reports through the Handler in batches, and acknowledges each delivery
// only after its batch was stored. One goroutine does all of it, so the
// per-sensor memory needs no lock and order is kept.
type pipeline struct {
	cfg     Config
	sensors Sensors
	handler Handler
	log     *slog.Logger
	queue   chan *delivery

	// memory is the last stored state of each sensor seen since start.
	memory map[string]State
	// stored remembers the QoS 1 deliveries stored and acknowledged
	// since the term began, by session and packet id, in two generations
	// (see remember); conns is each session's connection. Together they
	// recognise a message sent again after its PUBACK was lost (see
	// replay).
	stored, storedOld map[dedupKey]storedMsg
	rotatedAt         time.Time
	conns             map[string]connView
	// toCheck is how many of the external broker's next deliveries that
	// are not in stored the store is to check against the receipt stored
	// last, which may be another process's (see receipt.go): those the
	// broker may be sending again, at most ReceiveMaximum from the start
	// of the term. receiptDirty: the stored receipt holds messages whose
	// PUBACKs have been written since, and is to be emptied when the
	// worker is idle; receiptTerm is the term it was stored in.
	toCheck      int
	receiptDirty bool
	receiptTerm  *term

	unknown *limiter

	stopOnce sync.Once
	stop     chan struct{} // closed to stop taking deliveries
	done     chan struct{} // closed when the worker has returned
	cancel   context.CancelFunc
}

// shutdownGrace is how long shutdown lets the batch being stored finish
// before cancelling the Handler's context.
const shutdownGrace = 10 * time.Second

func newPipeline(cfg Config, sensors Sensors, h Handler) *pipeline {
	cfg = cfg.withDefaults()
	return &pipeline{
		cfg:       cfg,
		sensors:   sensors,
		handler:   h,
		log:       cfg.Logger,
		queue:     make(chan *delivery, cfg.QueueSize),
		memory:    map[string]State{},
		stored:    map[dedupKey]storedMsg{},
		storedOld: map[dedupKey]storedMsg{},
		conns:     map[string]connView{},
		toCheck:   int(cfg.ReceiveMaximum),
		rotatedAt: cfg.Now(),
		unknown:   newLimiter(10 * time.Minute),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
}

var errStopped = errors.New("mqtt ingestion stopped")

// enqueue hands a delivery to the worker, waiting while the queue is full.
func (p *pipeline) enqueue(d *delivery) error {
	select {
	case <-p.stop:
		return errStopped
	default:
	}
	select {
	case p.queue <- d:
		return nil
	case <-p.stop:
		return errStopped
	}
}

// start runs the worker until shutdown. The Handler's context carries
// parent's values but is cancelled only by shutdown, so that a batch being
// stored when the server stops can still be stored and acknowledged.
func (p *pipeline) start(parent context.Context) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	p.cancel = cancel
	go p.run(ctx)
}

// run is the worker. It returns when shutdown is called, after the batch
// being stored is finished (or abandoned unacknowledged if its storage is
// being retried).
func (p *pipeline) run(ctx context.Context) {
	defer close(p.done)
	idleTimer := time.NewTimer(receiptIdle)
	idleTimer.Stop()
	for {
		var first *delivery
		var idle <-chan time.Time // while the stored receipt is to be emptied
		if p.receiptDirty && p.toCheck == 0 {
			idleTimer.Reset(receiptIdle)
			idle = idleTimer.C
		}
		select {
		case first = <-p.queue:
		case <-idle:
			p.emptyReceipt(ctx)
			continue
		case <-p.stop:
			return
		}
		idleTimer.Stop()
		batch := []*delivery{first}
	gather:
		for len(batch) < p.cfg.MaxBatch && !batch[len(batch)-1].reset {
			select {
			case d := <-p.queue:
				batch = append(batch, d)
			default:
				break gather
			}
		}
		if last := batch[len(batch)-1]; last.reset {
			if len(batch) > 1 {
				p.process(ctx, batch[:len(batch)-1])
			}
			p.forget()
			continue
		}
		p.process(ctx, batch)
	}
}

// receiptIdle is how long the worker waits for a delivery before it
// empties the stored receipt (see emptyReceipt). Emptied at once, it
// cost a commit each time a draining backlog left the queue empty for a
// moment, between the broker's bursts.
const receiptIdle = 500 * time.Millisecond

// forget clears the memory of sensors and deliveries (see delivery.reset).
// The stored receipt may be another node's from now on: it is neither
// relied on nor emptied.
func (p *pipeline) forget() {
	clear(p.memory)
	clear(p.stored)
	clear(p.storedOld)
	clear(p.conns)
	p.toCheck, p.receiptDirty, p.receiptTerm = int(p.cfg.ReceiveMaximum), false, nil
}

// emptyReceipt empties the stored receipt of the external broker's
// session once the PUBACKs of its messages were written, when the worker
// has had nothing to do for receiptIdle: under load the next batch's receipt replaces
// it at no cost. A receipt left holding messages acknowledged is what
// could make a new message taken for one sent again after a crash (see
// the package documentation), so it is emptied rather than left until
// the next batch, which may be hours away. (Not while deliveries are
// still checked: the receipt may then hold messages of the process
// before that are still to come.) On failure it stays dirty and is
// emptied after the next batch.
func (p *pipeline) emptyReceipt(ctx context.Context) {
	t := p.receiptTerm
	if t != nil {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.ended.Load() {
			// The next subscriber, maybe on another node, owns the
			// receipt now.
			p.receiptDirty = false
			return
		}
	}
	var fence jobs.Fence
	if t != nil {
		fence = t.fence
	}
	if err := p.handler.Handle(ctx, []alarm.Report{receipt(p.cfg.ClientID, nil, fence, p.cfg.Now())}); err != nil {
		p.log.Debug("mqtt: stored receipt not emptied", "err", err)
		return
	}
	p.receiptDirty = false
}

// beginTerm starts a subscription term: what the worker remembers is
// forgotten before the term's first delivery.
func (p *pipeline) beginTerm(fence jobs.Fence) *term {
	if err := p.enqueue(&delivery{reset: true}); err != nil {
		// Stopped: nothing more is stored anyway.
		p.log.Debug("mqtt: term not begun", "err", err)
	}
	return &term{fence: fence}
}

// shutdown stops taking deliveries and waits for the worker to return,
// cancelling the Handler's context after shutdownGrace. Deliveries still
// queued are left unacknowledged: the broker or the sensor sends them
// again.
func (p *pipeline) shutdown() {
	p.stopOnce.Do(func() { close(p.stop) })
	if p.cancel == nil {
		return // never started
	}
	select {
	case <-p.done:
	case <-time.After(shutdownGrace):
		p.log.Warn("mqtt: storing the last batch takes too long; cancelling it")
		p.cancel()
		<-p.done
	}
	p.cancel()
}

// process stores one batch, retrying with backoff until it is stored or
// ctx ends or shutdown is called, then acknowledges its deliveries in order.
func (p *pipeline) process(ctx context.Context, batch []*delivery) {
	delay := p.cfg.RetryMin
	for attempt := 1; ; attempt++ {
		// A term is ended or held until this attempt is over.
		t := p.holdTerm(batch)
		batch = current(batch)
		if len(batch) == 0 {
			if t != nil {
				t.mu.Unlock()
			}
			return
		}
		res, err := p.store(ctx, batch, t)
		if err == nil {
			for name, st := range res.next {
				p.memory[name] = st
			}
			p.follow(res.conns)
			p.remember(batch)
			if res.receipt {
				p.receiptDirty, p.receiptTerm = true, t
			}
			p.toCheck -= res.checked
			p.acknowledge(batch)
			if t != nil {
				t.mu.Unlock()
			}
			if attempt > 1 {
				p.log.Info("mqtt: reports stored after retrying", "messages", len(batch), "attempts", attempt)
			}
			return
		}
		if t != nil {
			t.mu.Unlock()
		}
		p.log.Error("mqtt: storing reports failed; messages stay unacknowledged", "messages", len(batch), "attempt", attempt, "retry_in", delay, "err", err)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return
		case <-p.stop:
			return
		}
		delay = min(delay*2, p.cfg.RetryMax)
	}
}

// holdTerm locks the term of the batch's newest term delivery, so that the
// term cannot end while the batch is stored. Terms follow one another, so
// the deliveries of any older term in the batch belong to ended terms.
func (p *pipeline) holdTerm(batch []*delivery) *term {
	for i := len(batch) - 1; i >= 0; i-- {
		if t := batch[i].term; t != nil {
			t.mu.Lock()
			return t
		}
	}
	return nil
}

// current returns the deliveries of batch whose term has not ended; the
// caller holds the newest term's lock (holdTerm), and older terms have
// ended for good.
func current(batch []*delivery) []*delivery {
	keep := batch[:0:0]
	dropped := false
	for _, d := range batch {
		if d.term != nil && d.term.ended.Load() {
			dropped = true
			continue
		}
		keep = append(keep, d)
	}
	if !dropped {
		return batch
	}
	return keep
}

// acknowledge acknowledges a stored batch in order: the deliveries of one
// connection to the external broker with one write, the others one by one.
func (p *pipeline) acknowledge(batch []*delivery) {
	var acker batchAcker
	var ids []uint16
	flush := func() {
		if len(ids) == 0 {
			return
		}
		if err := acker.ackBatch(ids); err != nil {
			// The connection is gone: the broker sends the messages
			// again, and they are recognised as stored.
			p.log.Debug("mqtt: acknowledgements not sent", "messages", len(ids), "err", err)
		}
		ids = ids[:0]
	}
	for _, d := range batch {
		switch {
		case d.acker != nil:
			if d.acker != acker {
				flush()
				acker = d.acker
			}
			ids = append(ids, d.id)
		case d.ack != nil:
			d.ack()
		}
	}
	flush()
}

// storeResult is what a batch's storage leaves to remember once the Handler
// succeeded: the sensors' states, the sessions' connections, and whether
// a receipt went with the reports.
type storeResult struct {
	next    map[string]State
	conns   map[string]*connView
	receipt bool
	checked int // deliveries the store was asked to check
}

// store translates a batch and hands its reports to the Handler, with the
// receipt of the external broker's messages (receipt.go) ahead of them.
// It changes nothing of the pipeline's: what to remember is returned,
// and remembered once the Handler succeeded, so that a retry of the
// batch decides the same.
func (p *pipeline) store(ctx context.Context, batch []*delivery, t *term) (storeResult, error) {
	res := storeResult{next: map[string]State{}, conns: map[string]*connView{}}
	reports := []alarm.Report{{}} // [0]: the receipt, if any
	var entries []alarm.ReceiptEntry
	external := false
	inBatch := map[dedupKey]uint64{}
	for _, d := range batch {
		before := len(reports)
		entry := alarm.ReceiptEntry{InSession: d.acker != nil && d.id != 0, PacketID: d.id}
		external = external || entry.InSession
		if d.id != 0 {
			k, sum := dedupKey{d.session, d.id}, digest(d)
			entry.Digest = sum
			_, known := p.lookup(k)
			_, inB := inBatch[k]
			replay := p.replay(d, k, sum, inBatch, res.conns)
			inBatch[k] = sum
			if replay {
				p.log.Debug("mqtt: a stored message sent again skipped", "topic", d.topic, "packet_id", d.id, "dup", d.dup)
				if entry.InSession {
					entries = append(entries, entry)
				}
				continue
			}
			// Unknown here, it may have been stored by the process (or
			// the term) before this one: the store checks it against the
			// receipt stored last.
			entry.Check = entry.InSession && !known && !inB && res.checked < p.toCheck
			if entry.Check {
				res.checked++
			}
		}
		out, err := p.translate(ctx, d, res.next)
		if err != nil {
			return storeResult{}, err
		}
		reports = append(reports, out...)
		entry.Reports = len(reports) - before
		if entry.InSession || entry.Reports > 0 {
			entries = append(entries, entry)
		}
	}
	if len(reports) == 1 && res.checked == 0 {
		return res, nil
	}
	if external {
		var fence jobs.Fence
		if t != nil {
			fence = t.fence
		}
		reports[0] = receipt(p.cfg.ClientID, entries, fence, p.cfg.Now())
		res.receipt = true
	} else {
		reports = reports[1:]
	}
	if err := p.handler.Handle(ctx, reports); err != nil {
		return storeResult{}, err
	}
	return res, nil
}

// translate turns one delivery into reports, comparing it with the
// sensor's state in next, else in memory, else as stored, and records the
// sensor's new state in next. A delivery of no known sensor, or one that
// cannot be read, gives none.
func (p *pipeline) translate(ctx context.Context, d *delivery, next map[string]State) ([]alarm.Report, error) {
	name, topicKind := ParseTopic(p.cfg.BaseTopic, d.topic)
	if topicKind == TopicIgnored {
		return nil, nil
	}
	var m Message
	var err error
	if topicKind == TopicAvailability {
		m, err = ParseAvailability(d.payload)
	} else {
		m, err = ParseState(d.payload)
	}
	if errors.Is(err, ErrEmpty) {
		return nil, nil
	}
	if err != nil {
		if p.unknown.allow("payload:" + d.topic) {
			p.log.Warn("mqtt: message skipped", "topic", d.topic, "err", err)
		}
		return nil, nil
	}
	kind, zone, known, err := p.sensors.Sensor(ctx, name)
	if err != nil {
		return nil, err
	}
	if !known {
		if p.unknown.allow("sensor:" + name) {
			p.log.Warn("mqtt: message of an unregistered sensor skipped", "sensor", name, "topic", d.topic)
		}
		return nil, nil
	}
	prev, ok := next[name]
	if !ok {
		prev, ok = p.memory[name]
	}
	if !ok {
		st, found, err := p.sensors.LastState(ctx, name)
		if err != nil {
			return nil, err
		}
		if !found {
			p.log.Debug("mqtt: no stored state; taking the sensor as normal", "sensor", name)
		}
		prev = st
	}
	st, out := Translate(Sensor{Name: name, Kind: kind, Zone: zone}, prev, m, d.receivedAt)
	next[name] = st
	return out, nil
}

func digest(d *delivery) uint64 {
	h := fnv.New64a()
	h.Write([]byte(d.topic))
	h.Write([]byte{0})
	h.Write(d.payload)
	return h.Sum64()
}

// replay tells whether d is a message stored before and sent again. The
// sender of a QoS 1 message may give its packet id to another message
// once it has our PUBACK, and resends only on a new connection, first
// thing and in order (MQTT 5 §4.4, §4.6). So a delivery is a replay when
//   - its packet id came earlier in the batch with the same content: not
//     acknowledged in between, the id cannot have been reused; or
//   - its connection's resends are still coming, and the id was stored and
//     acknowledged on an older connection with the same content: the
//     PUBACK may have been lost with that connection.
//
// The resends end at the first delivery of the connection that is not
// one; from then on every acknowledgement written to an older connection
// is known to have arrived (follow forgets those deliveries), and a
// packet id stored and acknowledged, on this connection or an older one,
// belongs to a new message. The DUP flag is not relied on: a broker may
// resend without it. views holds the batch's view of the sessions'
// connections, taken from p.conns and kept there by follow.
func (p *pipeline) replay(d *delivery, k dedupKey, sum uint64, inBatch map[dedupKey]uint64, views map[string]*connView) bool {
	v := views[d.session]
	if v == nil {
		cv, ok := p.conns[d.session]
		if !ok {
			// The session's first delivery of the term: nothing stored
			// here yet to be sent again.
			cv = connView{conn: d.conn}
		}
		v = &cv
		views[d.session] = v
	}
	if v.conn != d.conn {
		v.conn, v.resending = d.conn, true
	}
	if s, ok := inBatch[k]; ok {
		return s == sum
	}
	if v.resending {
		if m, ok := p.lookup(k); ok && m.conn != d.conn && m.sum == sum {
			return true
		}
		v.resending, v.ended = false, true
	}
	return false
}

// follow keeps the sessions' connections as a stored batch left them, and
// forgets the deliveries acknowledged on older connections of a session
// whose resends have ended: their PUBACKs arrived.
func (p *pipeline) follow(views map[string]*connView) {
	for session, v := range views {
		p.conns[session] = connView{conn: v.conn, resending: v.resending}
		if !v.ended {
			continue
		}
		for _, m := range []map[dedupKey]storedMsg{p.stored, p.storedOld} {
			for k, s := range m {
				if k.session == session && s.conn != v.conn {
					delete(m, k)
				}
			}
		}
	}
}

func (p *pipeline) lookup(k dedupKey) (storedMsg, bool) {
	if m, ok := p.stored[k]; ok {
		return m, true
	}
	m, ok := p.storedOld[k]
	return m, ok
}

// remember records the stored deliveries for duplicate detection. The
// newer generation becomes the older one every DedupWindow or when it
// reaches maxHandled entries, whichever comes first, so an entry lives
// between one and two windows: a message is sent again after a lost
// PUBACK when its sender reconnects, within seconds or minutes.
func (p *pipeline) remember(batch []*delivery) {
	now := p.cfg.Now()
	if now.Sub(p.rotatedAt) > p.cfg.DedupWindow || len(p.stored) >= maxHandled {
		p.storedOld, p.stored = p.stored, make(map[dedupKey]storedMsg, len(p.stored))
		p.rotatedAt = now
	}
	for _, d := range batch {
		if d.id == 0 {
			continue
		}
		k := dedupKey{d.session, d.id}
		p.stored[k] = storedMsg{sum: digest(d), conn: d.conn}
		delete(p.storedOld, k)
	}
}

// maxHandled bounds one generation of the duplicate memory.
const maxHandled = 1 << 17

// limiter lets a log line through at most once per key per interval.
type limiter struct {
	every time.Duration
	last  map[string]time.Time
}

func newLimiter(every time.Duration) *limiter {
	return &limiter{every: every, last: map[string]time.Time{}}
}

func (l *limiter) allow(key string) bool {
	now := time.Now()
	if t, ok := l.last[key]; ok && now.Sub(t) < l.every {
		return false
	}
	if len(l.last) > 10000 {
		l.last = map[string]time.Time{}
	}
	l.last[key] = now
	return true
}
