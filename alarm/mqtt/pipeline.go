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
	Sensor(name string) (kind, zone string, known bool)
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
	dup     bool // the sender flagged it as a retransmission
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
	// handled remembers the content digest of every QoS 1 delivery stored
	// recently, by session and packet id, in two generations. A delivery
	// flagged as duplicate whose packet id and content match one already
	// stored is a redelivery after a lost PUBACK and is acknowledged
	// without storing its reports again.
	handled, handledOld map[dedupKey]uint64
	rotatedAt           time.Time

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
		cfg:        cfg,
		sensors:    sensors,
		handler:    h,
		log:        cfg.Logger,
		queue:      make(chan *delivery, cfg.QueueSize),
		memory:     map[string]State{},
		handled:    map[dedupKey]uint64{},
		handledOld: map[dedupKey]uint64{},
		rotatedAt:  cfg.Now(),
		unknown:    newLimiter(10 * time.Minute),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
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
	for {
		var first *delivery
		select {
		case first = <-p.queue:
		case <-p.stop:
			return
		}
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

// forget clears the memory of sensors and deliveries (see delivery.reset).
func (p *pipeline) forget() {
	clear(p.memory)
	clear(p.handled)
	clear(p.handledOld)
}

// beginTerm starts a subscription term: what the worker remembers is
// forgotten before the term's first delivery.
func (p *pipeline) beginTerm() *term {
	if err := p.enqueue(&delivery{reset: true}); err != nil {
		// Stopped: nothing more is stored anyway.
		p.log.Debug("mqtt: term not begun", "err", err)
	}
	return &term{}
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
		next, err := p.store(ctx, batch)
		if err == nil {
			for name, st := range next {
				p.memory[name] = st
			}
			p.remember(batch)
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

// store translates a batch and hands its reports to the Handler. It
// returns the states to remember once the Handler succeeded.
func (p *pipeline) store(ctx context.Context, batch []*delivery) (map[string]State, error) {
	next := map[string]State{}
	var reports []alarm.Report
	inBatch := map[dedupKey]uint64{}
	for _, d := range batch {
		if d.id != 0 {
			k, sum := dedupKey{d.session, d.id}, digest(d)
			if d.dup {
				if v, ok := inBatch[k]; (ok && v == sum) || (!ok && p.seen(k, sum)) {
					p.log.Debug("mqtt: redelivery of a stored message skipped", "topic", d.topic, "packet_id", d.id)
					continue
				}
			}
			inBatch[k] = sum
		}
		name, topicKind := ParseTopic(p.cfg.BaseTopic, d.topic)
		if topicKind == TopicIgnored {
			continue
		}
		var m Message
		var err error
		if topicKind == TopicAvailability {
			m, err = ParseAvailability(d.payload)
		} else {
			m, err = ParseState(d.payload)
		}
		if errors.Is(err, ErrEmpty) {
			continue
		}
		if err != nil {
			if p.unknown.allow("payload:" + d.topic) {
				p.log.Warn("mqtt: message skipped", "topic", d.topic, "err", err)
			}
			continue
		}
		kind, zone, known := p.sensors.Sensor(name)
		if !known {
			if p.unknown.allow("sensor:" + name) {
				p.log.Warn("mqtt: message of an unregistered sensor skipped", "sensor", name, "topic", d.topic)
			}
			continue
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
		reports = append(reports, out...)
	}
	if len(reports) > 0 {
		if err := p.handler.Handle(ctx, reports); err != nil {
			return nil, err
		}
	}
	return next, nil
}

func digest(d *delivery) uint64 {
	h := fnv.New64a()
	h.Write([]byte(d.topic))
	h.Write([]byte{0})
	h.Write(d.payload)
	return h.Sum64()
}

func (p *pipeline) seen(k dedupKey, sum uint64) bool {
	if v, ok := p.handled[k]; ok {
		return v == sum
	}
	v, ok := p.handledOld[k]
	return ok && v == sum
}

// remember records the stored deliveries for duplicate detection. The
// newer generation becomes the older one every DedupWindow or when it
// reaches maxHandled entries, whichever comes first, so an entry lives
// between one and two windows.
func (p *pipeline) remember(batch []*delivery) {
	now := p.cfg.Now()
	if now.Sub(p.rotatedAt) > p.cfg.DedupWindow || len(p.handled) >= maxHandled {
		p.handledOld, p.handled = p.handled, make(map[dedupKey]uint64, len(p.handled))
		p.rotatedAt = now
	}
	for _, d := range batch {
		if d.id == 0 {
			continue
		}
		k := dedupKey{d.session, d.id}
		p.handled[k] = digest(d)
		delete(p.handledOld, k)
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
