// Package mqtt connects door controllers to shequ over MQTT. A controller
// publishes shequ/door/{id}/request with the credential presented and gets
// shequ/door/{id}/decision; it reports events on shequ/door/{id}/{event}
// (opened, closed, forced, held_open, tamper) and uploads what it decided
// while offline on shequ/door/{id}/offline_decisions. shequ publishes the
// revocation list retained on shequ/door/{id}/revocations, so a controller
// gets the newest on every (re)connection, and commands (release, lock) on
// shequ/door/{id}/command. The broker is the one the sensors use: the
// embedded broker or an external one such as Mosquitto.
package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/shequ/shequ/access"
)

// Topic is the root of the door topics.
const Topic = "shequ/door"

// DoorTopic is the topic of one door's message of kind what.
func DoorTopic(door int64, what string) string {
	return Topic + "/" + strconv.FormatInt(door, 10) + "/" + what
}

// ParseTopic splits shequ/door/{id}/{what}.
func ParseTopic(topic string) (int64, string, bool) {
	rest, ok := strings.CutPrefix(topic, Topic+"/")
	if !ok {
		return 0, "", false
	}
	id, what, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, "", false
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, "", false
	}
	return n, what, true
}

// Config configures the adapter.
type Config struct {
	URL      string // tcp://host:port of the broker
	ClientID string // unique per node
	Username string
	Password string
	// Workers decide requests in parallel. Default 8.
	Workers int
	Logger  *slog.Logger
}

// Adapter is the MQTT controller adapter.
type Adapter struct {
	cfg  Config
	svc  access.Service
	log  *slog.Logger
	work chan paho.PublishReceived

	mu    sync.Mutex
	cm    *autopaho.ConnectionManager
	ready chan struct{}
}

// New returns an adapter that takes requests to svc.
func New(cfg Config, svc access.Service) *Adapter {
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "shequ-access"
	}
	return &Adapter{cfg: cfg, svc: svc, log: cfg.Logger.With("part", "access-mqtt"), work: make(chan paho.PublishReceived, 4096), ready: make(chan struct{})}
}

// Name implements access.Adapter.
func (a *Adapter) Name() string { return "mqtt" }

// Start connects (retrying until it succeeds) and serves until ctx ends.
func (a *Adapter) Start(ctx context.Context) error {
	u, err := url.Parse(a.cfg.URL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("access mqtt: bad broker URL %q", a.cfg.URL)
	}
	if u.Scheme == "mqtt" {
		u.Scheme = "tcp"
	}
	cc := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		KeepAlive:                     30,
		CleanStartOnInitialConnection: true,
		ConnectUsername:               a.cfg.Username,
		ConnectPassword:               []byte(a.cfg.Password),
		ConnectTimeout:                10 * time.Second,
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			go a.subscribe(ctx, cm)
		},
		OnConnectError: func(err error) { a.log.Debug("access mqtt: connecting failed", "err", err) },
		ClientConfig: paho.ClientConfig{
			ClientID: a.cfg.ClientID,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
				select {
				case a.work <- pr:
				default:
					a.log.Warn("access mqtt: too many requests waiting; one dropped", "topic", pr.Packet.Topic)
				}
				return true, nil
			}},
		},
	}
	cm, err := autopaho.NewConnection(ctx, cc)
	if err != nil {
		return fmt.Errorf("access mqtt: %w", err)
	}
	a.mu.Lock()
	a.cm = cm
	a.mu.Unlock()
	for range a.cfg.Workers {
		go a.worker(ctx)
	}
	return nil
}

func (a *Adapter) subscribe(ctx context.Context, cm *autopaho.ConnectionManager) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var subs []paho.SubscribeOptions
	for _, what := range append([]string{"request", "offline_decisions"}, access.DoorEvents...) {
		subs = append(subs, paho.SubscribeOptions{Topic: Topic + "/+/" + what, QoS: 1})
	}
	if _, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: subs}); err != nil {
		a.log.Error("access mqtt: subscribing failed", "err", err)
		return
	}
	a.log.Info("access mqtt: listening for door controllers")
	a.mu.Lock()
	select {
	case <-a.ready:
	default:
		close(a.ready)
	}
	a.mu.Unlock()
}

// AwaitReady waits until the first subscription is in place.
func (a *Adapter) AwaitReady(ctx context.Context) error {
	select {
	case <-a.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *Adapter) worker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case pr := <-a.work:
			a.handle(ctx, pr.Packet.Topic, pr.Packet.Payload)
		}
	}
}

func (a *Adapter) handle(ctx context.Context, topic string, payload []byte) {
	door, what, ok := ParseTopic(topic)
	if !ok {
		return
	}
	switch {
	case what == "request":
		var req access.Request
		var d access.Decision
		if err := json.Unmarshal(payload, &req); err != nil {
			d = access.Decision{Reason: access.ReasonUnknown}
		} else {
			var err error
			// Answer within the controller's patience or not at all: a
			// late yes is worse than the controller's own offline answer.
			dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			d, err = a.svc.Decide(dctx, door, req.Credential, "mqtt")
			cancel()
			if err != nil {
				a.log.Error("access mqtt: decision failed", "door", door, "err", err)
				return
			}
		}
		b, _ := json.Marshal(access.Answer{ID: req.ID, Decision: d})
		// The worker does not wait for the broker's PUBACK: the next
		// request at another door should not queue behind it.
		go func() {
			if err := a.publish(ctx, DoorTopic(door, "decision"), b, false); err != nil {
				a.log.Warn("access mqtt: decision not sent", "door", door, "err", err)
			}
		}()
	case what == "offline_decisions":
		var up access.Upload
		if err := json.Unmarshal(payload, &up); err != nil {
			a.log.Warn("access mqtt: unreadable upload", "door", door, "err", err)
			return
		}
		if err := a.svc.RecordOfflineDecisions(ctx, door, up.Decisions, "mqtt"); err != nil {
			a.log.Error("access mqtt: offline decisions not stored", "door", door, "err", err)
		}
	case slices.Contains(access.DoorEvents, what):
		var ev access.Event
		_ = json.Unmarshal(payload, &ev) // an empty payload is an event now
		if _, err := a.svc.RecordDoorEvent(ctx, door, what, ev.At, "mqtt"); err != nil {
			a.log.Error("access mqtt: door event not stored", "door", door, "event", what, "err", err)
		}
	}
}

func (a *Adapter) publish(ctx context.Context, topic string, b []byte, retain bool) error {
	a.mu.Lock()
	cm := a.cm
	a.mu.Unlock()
	if cm == nil {
		return errors.New("access mqtt: not started")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := cm.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Retain: retain, Payload: b})
	if err != nil {
		return fmt.Errorf("access mqtt: publish %s: %w", topic, err)
	}
	return nil
}

// PushRevocations implements access.Adapter: the list goes retained to
// each door, so a controller that was away gets it on reconnecting.
func (a *Adapter) PushRevocations(ctx context.Context, doors []int64, r access.Revocations) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	for _, d := range doors {
		if err := a.publish(ctx, DoorTopic(d, "revocations"), b, true); err != nil {
			return err
		}
	}
	return nil
}

// Command implements access.Adapter.
func (a *Adapter) Command(ctx context.Context, c access.Command) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return a.publish(ctx, DoorTopic(c.DoorID, "command"), b, true)
}

// Close disconnects.
func (a *Adapter) Close() {
	a.mu.Lock()
	cm := a.cm
	a.mu.Unlock()
	if cm != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = cm.Disconnect(ctx)
	}
}
