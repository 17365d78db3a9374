// Package bus carries the wake-ups of the live streams between the nodes
// of a deployment over NATS (--bus nats://…), the option beside
// PostgreSQL's LISTEN/NOTIFY for many nodes: a node that commits a live
// event publishes its id, and every node's subscription wakes its streams.
// The row stays the source of truth: the message only tells the streams to
// read, so a lost message costs latency (the streams also poll), never an
// event. It owns the NATS connection and nothing else.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// Subject is the NATS subject live event ids are published on.
const Subject = "shequ.live"

// NATS is a connection to a NATS server, publishing this node's live
// event ids and waking this node's streams at every id published by any
// node (this one included: its own streams are woken locally anyway).
type NATS struct {
	conn    *nats.Conn
	changed func()
	log     *slog.Logger
}

// Dial connects to the NATS server at url (nats://host:4222, several
// separated by commas) and subscribes; changed is called at every live
// event announced, and after every reconnection, since the events
// announced while the node was away reached nobody. The connection is
// retried forever in the background: a node starts without the bus and is
// not ready (Ready) until it is connected.
func Dial(url, name string, changed func(), log *slog.Logger) (*NATS, error) {
	if log == nil {
		log = slog.Default()
	}
	b := &NATS{changed: changed, log: log}
	conn, err := nats.Connect(url,
		nats.Name(name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.PingInterval(5*time.Second),
		nats.MaxPingsOutstanding(2),
		nats.ConnectHandler(func(*nats.Conn) {
			log.Info("bus: connected", "server", url)
			changed()
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			log.Info("bus: reconnected", "server", url)
			changed()
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("bus: disconnected; reconnecting", "server", url, "err", err)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("bus %s: %w", url, err)
	}
	if _, err := conn.Subscribe(Subject, func(*nats.Msg) { changed() }); err != nil {
		conn.Close()
		return nil, fmt.Errorf("bus %s: subscribe: %w", url, err)
	}
	// A round trip, so that the server has the subscription when Dial
	// returns (when connected; else it is sent at the connection).
	_ = conn.FlushTimeout(2 * time.Second)
	b.conn = conn
	return b, nil
}

// Publish announces a committed live event. It does not wait: a message
// that cannot go out is dropped, and the other nodes' streams find the
// event at their next poll.
func (b *NATS) Publish(id int64) {
	if err := b.conn.Publish(Subject, strconv.AppendInt(nil, id, 10)); err != nil {
		b.log.Debug("bus: live event not announced", "id", id, "err", err)
	}
}

// Ready reports why the node cannot reach the bus, nil when it can: a node
// deaf to the others would show its consoles their alarms a second late.
func (b *NATS) Ready(context.Context) error {
	if !b.conn.IsConnected() {
		return errors.New("bus: not connected to NATS")
	}
	return nil
}

// Close flushes what was published and disconnects.
func (b *NATS) Close() {
	if err := b.conn.Drain(); err != nil {
		b.conn.Close()
	}
}
