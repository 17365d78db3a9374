package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/shequ/shequ/jobs"
)

// Config configures the ingestion. The zero value plus URL or Listen is a
// working configuration; the server's --mqtt and --mqtt-listen flags map to
// URL and Listen.
type Config struct {
	// URL of an external broker, e.g. tcp://127.0.0.1:1883 (schemes tcp,
	// mqtt, or tls, mqtts, ssl for TLS with the system's roots). Empty: no
	// external broker.
	URL string
	// Listen is the address of the embedded broker, e.g. :1883. Empty: no
	// embedded broker.
	Listen string

	// ClientID at the external broker: the session there, where the
	// broker keeps the messages not yet acknowledged. It must stay the
	// same across restarts, and with Elect it is the deployment's, the
	// same on every node (see Elect). Default shequ-<hostname>.
	ClientID string
	Username string
	Password string

	// BaseTopic is zigbee2mqtt's base topic. Default "zigbee2mqtt".
	BaseTopic string
	// KeepAlive is the MQTT keep-alive. Default 30 s.
	KeepAlive time.Duration
	// SessionExpiry is how long the external broker keeps the session, and
	// queues messages, while shequ is away. Default 7 days.
	SessionExpiry time.Duration
	// ReconnectMin and ReconnectMax bound the exponential backoff between
	// connection attempts. Defaults 1 s and 30 s.
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// ReceiveMaximum is how many unacknowledged messages the external
	// broker may send at once. Default 4096: the window must hold several
	// batches (MaxBatch), so that the broker keeps sending while one is
	// stored. It is also how many deliveries of a term are checked against
	// the stored receipt: the most the broker can be sending again.
	ReceiveMaximum uint16

	// MaxBatch is the most messages stored in one Handle call; a batch
	// takes what is queued up to it, so only a deep backlog makes batches
	// this big. Default 1024: on PostgreSQL a backlog drained in batches
	// of 1024 cost about 15 % less CPU per message in this process, and
	// 5–10 % less in the server, than in batches of 512, which cost 15–28 %
	// less than 256 (BenchmarkIngestMosquittoStore, docs/benchmarks.md); the commit
	// of one batch holds up the panels' frames in the same group commit
	// for some milliseconds.
	MaxBatch int
	// QueueSize is the number of messages waiting for the worker. Default
	// 8192; keep it above ReceiveMaximum so that paho's reader never waits.
	QueueSize int
	// RetryMin and RetryMax bound the backoff between attempts to store a
	// batch when Handle fails. Defaults 200 ms and 30 s.
	RetryMin time.Duration
	RetryMax time.Duration
	// DedupWindow is how long a stored message is remembered to recognise
	// its redelivery after a lost acknowledgement. Default 1 h.
	DedupWindow time.Duration

	// Elect, when set, decides which process of a deployment subscribes at
	// the external broker: it calls lead while this one should, and
	// cancels lead's context when it no longer should (jobs.Leader.Run
	// fits). Nil: this process always subscribes. The embedded broker is
	// not affected.
	//
	// One subscriber at a time, rather than one MQTT 5 shared subscription
	// ($share/group/...) per node, because a sensor's messages must be
	// translated in the order they were sent: an "open" and the "closed"
	// after it mean opposite things in the other order, the messages carry
	// no sequence number, and a shared subscription hands consecutive
	// messages of one sensor to different nodes, which store them in
	// whatever order their transactions happen to commit. With one
	// subscriber the order is the broker's, and the session (ClientID,
	// the same on every node) carries the unacknowledged and queued
	// messages over to the next subscriber. A subscriber stores only
	// while it leads (see term): when lead's context ends, the batch being
	// stored is finished and the rest is left unacknowledged for the next
	// one, which starts from the stored state (Sensors.LastState), so a
	// redelivered message that was stored makes no second report.
	Elect func(ctx context.Context, lead func(context.Context))

	// Now is the clock for ReceivedAt. Default time.Now.
	Now func() time.Time
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.ClientID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "unknown"
		}
		c.ClientID = "shequ-" + host
	}
	if c.BaseTopic == "" {
		c.BaseTopic = "zigbee2mqtt"
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = 30 * time.Second
	}
	if c.SessionExpiry <= 0 {
		c.SessionExpiry = 7 * 24 * time.Hour
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = time.Second
	}
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = max(30*time.Second, c.ReconnectMin)
	}
	if c.ReceiveMaximum == 0 {
		c.ReceiveMaximum = 4096
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 1024
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 8192
	}
	if c.RetryMin <= 0 {
		c.RetryMin = 200 * time.Millisecond
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = max(30*time.Second, c.RetryMin)
	}
	if c.DedupWindow <= 0 {
		c.DedupWindow = time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// backoff returns the delay before connection attempt n (0 = the first):
// none, then ReconnectMin doubling up to ReconnectMax.
func (c Config) backoff(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := c.ReconnectMin
	for i := 1; i < n && d < c.ReconnectMax; i++ {
		d *= 2
	}
	return min(d, c.ReconnectMax)
}

func parseBrokerURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("mqtt: broker URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "tls", "ssl", "mqtts":
	default:
		return nil, fmt.Errorf("mqtt: broker URL %q: scheme must be tcp, mqtt, tls, ssl or mqtts", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("mqtt: broker URL %q has no host", raw)
	}
	return u, nil
}

// Run ingests from the external broker (cfg.URL), the embedded broker
// (cfg.Listen) or both, until ctx ends. Both share one pipeline, so a
// sensor's state is tracked once whichever way its messages come. On the
// way out the batch being stored is finished and acknowledged first.
func Run(ctx context.Context, cfg Config, sensors Sensors, h Handler) error {
	if cfg.URL == "" && cfg.Listen == "" {
		return errors.New("mqtt: neither a broker URL nor a listen address is configured")
	}
	cfg = cfg.withDefaults()
	if cfg.URL != "" {
		if _, err := parseBrokerURL(cfg.URL); err != nil {
			return err
		}
	}
	p := newPipeline(cfg, sensors, h)
	var b *Broker
	if cfg.Listen != "" {
		b = newBroker(cfg, p, false)
	}
	p.start(ctx)
	if b != nil {
		if err := b.start(); err != nil {
			p.shutdown()
			return err
		}
	}
	var terms sync.WaitGroup
	if cfg.URL != "" {
		elect := cfg.Elect
		if elect == nil {
			elect = func(ctx context.Context, lead func(context.Context)) { lead(ctx) }
		}
		terms.Add(1)
		go func() {
			defer terms.Done()
			elect(ctx, func(ctx context.Context) { subscribeTerm(ctx, cfg, p) })
		}()
	}
	<-ctx.Done()
	if b != nil {
		b.closing.Store(true)
	}
	terms.Wait()
	p.shutdown()
	if b != nil {
		b.Close()
	}
	return nil
}

// subscribeTerm subscribes at the external broker until ctx ends, then
// returns once none of the messages it received is being stored, and none
// will be: the rest stay unacknowledged at the broker for the next term.
func subscribeTerm(ctx context.Context, cfg Config, p *pipeline) {
	c, err := newClient(cfg, p, false)
	if err != nil {
		cfg.Logger.Error("mqtt: cannot start the client", "err", err)
		return
	}
	// Under Elect's lease (jobs.Leader) ctx carries its fence: the term's
	// receipts, and so its batches, are stored only while it holds.
	fence, _ := jobs.FenceFrom(ctx)
	c.term = p.beginTerm(fence)
	c.log.Info("mqtt: subscribing for this node")
	c.start()
	<-ctx.Done()
	c.closing.Store(true)
	c.term.end()
	c.Close()
}
