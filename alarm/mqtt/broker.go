package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Broker is an embedded MQTT broker (mochi-mqtt) that sensors, or a
// zigbee2mqtt bridge, publish to directly. Messages under the base topic
// are ingested before the broker acknowledges them: the publisher gets its
// PUBACK only once the reports are stored, so a message that could not be
// stored stays with the publisher, which sends it again when it
// reconnects. Messages are also routed to any other subscriber as usual.
//
// Authentication: with a password configured, a client must present the
// username and password (see brokerauth.go); without one the broker
// listens on a loopback address only.
type Broker struct {
	cfg     Config
	p       *pipeline
	ownsP   bool
	log     *slog.Logger
	closing atomic.Bool

	srv       *mochi.Server
	ln        *guardedListener
	stopping  chan struct{}
	closeOnce sync.Once
	closed    chan struct{}
}

// NewBroker returns an embedded broker for cfg.Listen that hands reports
// to h.
func NewBroker(cfg Config, sensors Sensors, h Handler) *Broker {
	return newBroker(cfg, newPipeline(cfg, sensors, h), true)
}

func newBroker(cfg Config, p *pipeline, owns bool) *Broker {
	cfg = cfg.withDefaults()
	return &Broker{
		cfg: cfg, p: p, ownsP: owns,
		log:      cfg.Logger.With("listen", cfg.Listen),
		stopping: make(chan struct{}),
		closed:   make(chan struct{}),
	}
}

// Start listens on cfg.Listen and serves until ctx ends or Close is
// called. It returns once the listener is bound.
func (b *Broker) Start(ctx context.Context) error {
	b.p.start(ctx)
	if err := b.start(); err != nil {
		b.p.shutdown()
		return err
	}
	go func() {
		select {
		case <-ctx.Done():
			b.Close()
		case <-b.closed:
		}
	}()
	return nil
}

func (b *Broker) start() error {
	if b.cfg.Listen == "" {
		return errors.New("mqtt: no listen address for the embedded broker")
	}
	admit, err := b.cfg.brokerAuth()
	if err != nil {
		return err
	}
	srv := mochi.New(&mochi.Options{
		Logger: b.cfg.Logger.With("component", "mqtt-broker"),
		// The embedded broker keeps sessions in memory only; publishers
		// keep what was not acknowledged.
		InlineClient: false,
	})
	if err := srv.AddHook(admit, nil); err != nil {
		return fmt.Errorf("mqtt: broker auth hook: %w", err)
	}
	if err := srv.AddHook(&ingestHook{b: b}, nil); err != nil {
		return fmt.Errorf("mqtt: broker ingest hook: %w", err)
	}
	ln := newGuardedListener("shequ", b.cfg.Listen)
	if err := srv.AddListener(ln); err != nil {
		return fmt.Errorf("mqtt: listen on %s: %w", b.cfg.Listen, err)
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return fmt.Errorf("mqtt: broker: %w", err)
	}
	b.srv, b.ln = srv, ln
	b.log.Info("mqtt: embedded broker listening", "addr", ln.Address())
	return nil
}

// Addr is the address the broker listens on (useful with port 0).
func (b *Broker) Addr() string {
	if b.ln == nil {
		return ""
	}
	return b.ln.Address()
}

// Close stops ingesting (publishers waiting for a PUBACK get none and send
// again later), then stops the broker.
func (b *Broker) Close() error {
	var err error
	b.closeOnce.Do(func() {
		b.closing.Store(true)
		if b.ownsP {
			b.p.shutdown() // the batch being stored is finished and acknowledged
		}
		close(b.stopping)
		if b.srv != nil {
			err = b.srv.Close()
		}
		close(b.closed)
		b.log.Info("mqtt: embedded broker stopped")
	})
	return err
}

// Done is closed once Close has finished.
func (b *Broker) Done() <-chan struct{} { return b.closed }

// ingestHook hands every publish under the base topic to the pipeline and
// holds the publisher's PUBACK until the reports are stored.
type ingestHook struct {
	mochi.HookBase
	b *Broker
}

func (h *ingestHook) ID() string { return "shequ-ingest" }

func (h *ingestHook) Provides(b byte) bool { return b == mochi.OnPublish }

// OnPublish runs in the publishing client's read loop, so one publisher's
// messages are ingested in order and the next is read only after this one
// is stored.
func (h *ingestHook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	b := h.b
	if !strings.HasPrefix(pk.TopicName, b.cfg.BaseTopic+"/") {
		return pk, nil
	}
	if b.closing.Load() {
		return pk, packets.ErrRejectPacket
	}
	d := &delivery{
		topic:      pk.TopicName,
		payload:    append([]byte(nil), pk.Payload...),
		receivedAt: b.cfg.Now(),
		session:    cl.ID,
		id:         pk.PacketID,
		dup:        pk.FixedHeader.Dup,
		conn:       cl,
	}
	if pk.FixedHeader.Qos == 0 {
		d.id = 0
		if err := b.p.enqueue(d); err != nil {
			return pk, packets.ErrRejectPacket
		}
		return pk, nil
	}
	stored := make(chan struct{})
	d.ack = func() { close(stored) }
	if err := b.p.enqueue(d); err != nil {
		return pk, packets.ErrRejectPacket
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stored:
			return pk, nil
		case <-b.stopping:
			// No PUBACK: the publisher keeps the message. If it is stored
			// after all, its redelivery is recognised as a duplicate.
			return pk, packets.ErrRejectPacket
		case <-tick.C:
			if cl.Closed() {
				return pk, packets.ErrRejectPacket
			}
		}
	}
}
