package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/alarm/mqtt"
	"github.com/shequ/shequ/alarm/sia"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/live"
	"github.com/shequ/shequ/notify"
	"github.com/shequ/shequ/sqlstore"
)

// alarmConfig holds the alarm centre's settings.
type alarmConfig struct {
	sia          string
	siaPerAddr   int
	siaIdle      time.Duration
	siaFrame     time.Duration
	mqttURL      string
	mqttListen   string
	mqttUser     string
	mqttPass     string
	mqttClientID string
	sms          string
	smsToken     string
	// smsReceiptSecret signs the SMS gateway's delivery callbacks.
	smsReceiptSecret string
}

func (c *alarmConfig) register(f envFlags) {
	f.string(&c.sia, "sia", "SHEQU_SIA", "127.0.0.1:6000", "SIA DC-09 receiver address (TCP and UDP); empty disables")
	f.int(&c.siaPerAddr, "sia-max-conns-per-addr", "SHEQU_SIA_MAX_CONNS_PER_ADDR", sia.DefaultMaxConnsPerAddr, "open SIA TCP connections one IP address may hold; raise it for many panels behind one NAT")
	f.duration(&c.siaIdle, "sia-idle-timeout", "SHEQU_SIA_IDLE_TIMEOUT", sia.DefaultIdleTimeout, "close a SIA TCP connection that completed no frame for this long")
	f.duration(&c.siaFrame, "sia-frame-timeout", "SHEQU_SIA_FRAME_TIMEOUT", sia.DefaultFrameTimeout, "close a SIA TCP connection whose frame is not complete this long after its first byte")
	f.string(&c.mqttURL, "mqtt", "SHEQU_MQTT", "", "external MQTT broker with zigbee2mqtt sensors, e.g. tcp://127.0.0.1:1883")
	f.string(&c.mqttListen, "mqtt-listen", "SHEQU_MQTT_LISTEN", "", "address of the embedded MQTT broker for sensors, e.g. 127.0.0.1:1883; beyond loopback it needs --mqtt-password")
	f.string(&c.mqttUser, "mqtt-user", "SHEQU_MQTT_USER", "", "MQTT username: shequ's at the external broker, and the one sensor bridges present to the embedded broker")
	f.string(&c.mqttPass, "mqtt-password", "SHEQU_MQTT_PASSWORD", "", "MQTT password that goes with --mqtt-user (better set in the environment than on the command line)")
	f.string(&c.mqttClientID, "mqtt-client-id", "SHEQU_MQTT_CLIENT_ID", "", "shequ's MQTT client id at the external broker, its session there: the deployment's, the same on every node, since one node at a time subscribes (default: shequ-<node> of the first node that subscribed, kept in the database)")
	f.string(&c.sms, "sms", "SHEQU_SMS", "log", "how SMS go out: log (write them to the log), an https:// URL of an SMS gateway webhook, or smpp://systemid:password@host:port?source=NUMBER")
	f.string(&c.smsToken, "sms-token", "SHEQU_SMS_TOKEN", "", "bearer token for the SMS gateway webhook")
	f.string(&c.smsReceiptSecret, "sms-receipt-secret", "SHEQU_SMS_RECEIPT_SECRET", "", "shared secret the SMS gateway signs its delivery callbacks to POST /api/v1/notify/receipts with (HMAC-SHA256 in X-Shequ-Signature); empty refuses callbacks")
}

func (c *alarmConfig) sender(log *slog.Logger) (notify.Sender, error) {
	switch {
	case c.sms == "" || c.sms == "log":
		return &notify.LogSender{Log: log}, nil
	case strings.HasPrefix(c.sms, "http://") || strings.HasPrefix(c.sms, "https://"):
		return &notify.Webhook{URL: c.sms, Token: c.smsToken}, nil
	case strings.HasPrefix(c.sms, "smpp://") || strings.HasPrefix(c.sms, "smpps://"):
		s, err := notify.ParseSMPP(c.sms)
		if err != nil {
			return nil, fmt.Errorf("--sms: %w", err)
		}
		s.Log = log
		return s, nil
	}
	return nil, fmt.Errorf("--sms: say log, or give the gateway's http(s) or smpp URL, not %q", c.sms)
}

// alarmCentre runs the receivers, the group commit, the timers and the
// notification worker around one store.
type alarmCentre struct {
	cfg      alarmConfig
	store    *sqlstore.Store
	log      *slog.Logger
	hub      *live.Hub
	ingestor *alarm.Ingestor
	accounts *panelAccounts
	receiver *sia.Receiver
	// moreJobs register the handlers of other capabilities' jobs with
	// the outbox worker.
	moreJobs []func(*jobs.Registry)
}

func newAlarmCentre(cfg alarmConfig, st *sqlstore.Store, log *slog.Logger, hub *live.Hub) *alarmCentre {
	a := &alarmCentre{cfg: cfg, store: st, log: log, hub: hub}
	a.ingestor = alarm.NewIngestor(st, log, 256)
	a.ingestor.Committed = func([]alarm.Outcome) { hub.Changed() }
	a.accounts = &panelAccounts{store: st, log: log}
	return a
}

// mqttConfig is the sensors' MQTT configuration.
func (a *alarmCentre) mqttConfig() mqtt.Config {
	id := a.cfg.mqttClientID
	if id == "" {
		id = "shequ-" + thisNode
	}
	return mqtt.Config{URL: a.cfg.mqttURL, Listen: a.cfg.mqttListen, Username: a.cfg.mqttUser, Password: a.cfg.mqttPass, ClientID: id, Logger: a.log}
}

// mqttSubscriberTTL is the subscriber's lease: how long the sensors'
// messages wait at the broker after the subscribing node died, before
// another node takes over (a node that stops gives the lease up at once).
const mqttSubscriberTTL = 6 * time.Second

// mqttCluster is mqttConfig for a deployment of one or more nodes: one
// node at a time subscribes at the external broker, the holder of the
// "mqtt-subscriber" lease, under the deployment's client id (see
// mqtt.Config.Elect for why not a shared subscription per node).
func (a *alarmCentre) mqttCluster(ctx context.Context) (mqtt.Config, error) {
	cfg := a.mqttConfig()
	if cfg.URL == "" {
		return cfg, nil
	}
	if a.cfg.mqttClientID == "" {
		for {
			id, err := a.store.MQTTClientID(ctx, cfg.ClientID)
			if err == nil {
				cfg.ClientID = id
				break
			}
			a.log.Error("MQTT: the deployment's client id; trying again in 5 s", "err", err)
			select {
			case <-ctx.Done():
				return cfg, ctx.Err()
			case <-time.After(5 * time.Second):
			}
		}
	}
	lease := &jobs.Leader{Store: a.store, Name: "mqtt-subscriber", Holder: thisNode, TTL: mqttSubscriberTTL, Log: a.log}
	cfg.Elect = lease.Run
	return cfg, nil
}

// listen binds the receiver's address so that a taken port fails the
// start, as does an MQTT configuration that is unsafe.
func (a *alarmCentre) listen(ctx context.Context) error {
	if err := a.mqttConfig().Check(); err != nil {
		return err
	}
	if err := a.accounts.reload(ctx); err != nil {
		return err
	}
	if a.cfg.sia == "" {
		return nil
	}
	a.receiver = sia.New(sia.Config{Addr: a.cfg.sia, Logger: a.log, MaxConnsPerAddr: a.cfg.siaPerAddr,
		IdleTimeout: a.cfg.siaIdle, FrameTimeout: a.cfg.siaFrame}, a.accounts, a.ingestor)
	if err := a.receiver.Listen(); err != nil {
		return fmt.Errorf("SIA receiver: %w", err)
	}
	a.log.Info("SIA DC-09 receiver listening", "addr", a.receiver.Addr().String(), "protocols", "tcp+udp")
	return nil
}

// run works until ctx ends. Receivers stop first and finish the frames in
// hand; the group commit stops only after them, so that nothing a panel
// was told is stored goes missing.
func (a *alarmCentre) run(ctx context.Context) error {
	sender, err := a.cfg.sender(a.log)
	if err != nil {
		return err
	}
	if smpp, ok := sender.(*notify.SMPP); ok {
		receipts := make(chan notify.Receipt, 1024)
		smpp.OnReceipt = func(r notify.Receipt) {
			// The session's reader must not wait for the database.
			select {
			case receipts <- r:
			default:
				a.log.Warn("SMS receipt dropped: too many at once", "message_id", r.MessageID, "status", r.Status)
			}
		}
		go a.recordReceipts(ctx, receipts)
		// Bind now so that a wrong password shows at start; sending binds
		// again by itself whenever the link drops.
		if err := smpp.Bind(ctx); err != nil {
			a.log.Warn("SMS gateway not bound yet; messages wait in the outbox", "err", err)
		}
		defer smpp.Close()
	}
	commitCtx, stopCommit := context.WithCancel(context.WithoutCancel(ctx))
	var commitWG sync.WaitGroup
	commitWG.Add(1)
	go func() { defer commitWG.Done(); a.ingestor.Run(commitCtx) }()

	var wg sync.WaitGroup
	start := func(name string, fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn()
			a.log.Info("stopped", "part", name)
		}()
	}
	if a.receiver != nil {
		start("sia", func() {
			if err := a.receiver.Serve(ctx); err != nil {
				a.log.Error("SIA receiver", "err", err)
			}
		})
	}
	if a.cfg.mqttURL != "" || a.cfg.mqttListen != "" {
		sensors := &sensorDirectory{store: a.store, log: a.log}
		start("mqtt", func() {
			cfg, err := a.mqttCluster(ctx)
			if err == nil {
				err = mqtt.Run(ctx, cfg, sensors, a.ingestor)
			}
			if err != nil && ctx.Err() == nil {
				a.log.Error("MQTT", "err", err)
			}
		})
	}
	// The timers change shared state (delays, supervision, schedules):
	// with several nodes on one database only the lease holder runs them.
	node := thisNode
	timers := &jobs.Leader{Store: a.store, Name: "alarm-timers", Holder: node, Log: a.log}
	start("timers", func() {
		timers.Run(ctx, func(ctx context.Context) {
			alarm.RunTimers(ctx, a.store, a.log, func([]alarm.Outcome) { a.hub.Changed() })
		})
	})
	worker := &notify.Worker{Store: a.store, Sender: sender, Clock: shequ.SystemClock{}, Log: a.log, Wake: a.hub.Wait, More: a.moreJobs}
	start("notifications", func() { worker.Run(ctx) })
	start("accounts", func() { a.accounts.refreshEvery(ctx, 30*time.Second) })
	<-ctx.Done()
	wg.Wait()
	stopCommit()
	commitWG.Wait()
	return nil
}

// recordReceipts puts the SMSC's delivery receipts on the incidents'
// timelines until ctx ends.
func (a *alarmCentre) recordReceipts(ctx context.Context, receipts <-chan notify.Receipt) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-receipts:
			ar, ok := r.Settles(time.Now())
			if !ok {
				continue // ENROUTE and the like settle nothing
			}
			err := a.store.NotificationReceipt(ctx, ar)
			switch {
			case shequ.ErrorCode(err) == shequ.ENOTFOUND:
				// A message about no incident (a notice, a matter).
			case err != nil && ctx.Err() == nil:
				a.log.Error("record SMS receipt", "message_id", r.MessageID, "err", err)
			}
		}
	}
}

// panelAccounts gives the receiver each panel's key from memory, reloading
// from the store when panels change, every half minute (other nodes may
// add panels), and on an unknown account at most every five seconds. The
// first load reads every key; later ones only the store's log of key
// changes after the last mark, so that a reload costs what changed, not
// the number of panels (5 s a call at 224,000 panels before).
type panelAccounts struct {
	store      panelKeyStore
	log        *slog.Logger
	mu         sync.RWMutex
	keys       map[string][]byte
	mark       int64 // the log entry the keys include; 0 before the first load
	loaded     bool
	lastReload time.Time
	// lastTry is when a frame of an unknown account last made Key
	// reload: at most one such reload every unknownReloadEvery, whether
	// it worked or not, so that frames of unknown accounts do not each
	// ask a database that is down.
	lastTry time.Time
}

const unknownReloadEvery = 5 * time.Second

// panelKeyStore is what panelAccounts reads (*sqlstore.Store).
type panelKeyStore interface {
	PanelKeyMark(ctx context.Context) (int64, error)
	PanelKeys(ctx context.Context) (map[string]string, error)
	PanelKeysSince(ctx context.Context, after int64) (map[string]string, []string, int64, error)
	CutPanelKeyLog(ctx context.Context, keep int) (int64, error)
}

func (p *panelAccounts) parse(account, k string) ([]byte, bool) {
	if k == "" {
		return nil, true
	}
	key, err := sia.ParseKey(k)
	if err != nil {
		p.log.Error("panel key unusable", "account", account, "err", err)
		return nil, false
	}
	return key, true
}

func (p *panelAccounts) reload(ctx context.Context) error {
	p.mu.RLock()
	loaded, mark := p.loaded, p.mark
	p.mu.RUnlock()
	if !loaded {
		return p.loadAll(ctx)
	}
	raw, removed, next, err := p.store.PanelKeysSince(ctx, mark)
	if errors.Is(err, sqlstore.ErrPanelKeyLogCut) {
		p.log.Info("panel key log cut past this node's mark: reading every key")
		return p.loadAll(ctx)
	}
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mark != mark { // another reload got there first
		p.lastReload = time.Now()
		return nil
	}
	for account, k := range raw {
		if key, ok := p.parse(account, k); ok {
			p.keys[account] = key
		} else {
			delete(p.keys, account) // unusable now: it must not keep working
		}
	}
	for _, account := range removed {
		delete(p.keys, account)
	}
	p.mark, p.lastReload = next, time.Now()
	return nil
}

// loadAll reads every key. The mark is read first: a change after it is
// read again by the next reload, which is harmless.
func (p *panelAccounts) loadAll(ctx context.Context) error {
	mark, err := p.store.PanelKeyMark(ctx)
	if err != nil {
		return err
	}
	raw, err := p.store.PanelKeys(ctx)
	if err != nil {
		return err
	}
	keys := make(map[string][]byte, len(raw))
	for account, k := range raw {
		if key, ok := p.parse(account, k); ok {
			keys[account] = key
		}
	}
	p.mu.Lock()
	p.keys, p.mark, p.loaded, p.lastReload = keys, mark, true, time.Now()
	p.mu.Unlock()
	return nil
}

// Key implements sia.Accounts.
func (p *panelAccounts) Key(account string) ([]byte, bool) {
	p.mu.RLock()
	k, ok := p.keys[strings.ToUpper(account)]
	p.mu.RUnlock()
	if !ok && p.mayReload() {
		if err := p.reload(context.Background()); err != nil {
			p.log.Error("reload panel accounts", "err", err)
		}
		p.mu.RLock()
		k, ok = p.keys[strings.ToUpper(account)]
		p.mu.RUnlock()
	}
	return k, ok
}

// mayReload tells whether Key may reload for an unknown account now, and
// if so takes the turn.
func (p *panelAccounts) mayReload() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.lastReload) <= unknownReloadEvery || now.Sub(p.lastTry) <= unknownReloadEvery {
		return false
	}
	p.lastTry = now
	return true
}

// refreshEvery reloads the keys every d, and once an hour cuts the
// store's log of key changes to its newest entries. Every node cuts: the
// cut is the same whoever makes it, and a node it left behind reads every
// key once.
func (p *panelAccounts) refreshEvery(ctx context.Context, d time.Duration) {
	lastCut := time.Now()
	shequ.Every(ctx, d, func(ctx context.Context) {
		if err := p.reload(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("reload panel accounts", "err", err)
		}
		if time.Since(lastCut) < time.Hour {
			return
		}
		lastCut = time.Now()
		if n, err := p.store.CutPanelKeyLog(ctx, sqlstore.PanelKeyLogKept); err != nil && ctx.Err() == nil {
			p.log.Error("cut panel key log", "err", err)
		} else if n > 0 {
			p.log.Info("panel key log cut", "entries", n)
		}
	})
}

// sensorDirectory implements mqtt.Sensors over the store's directory of
// sensors (Store.Sensor), the one the ingest batches use too.
type sensorDirectory struct {
	store *sqlstore.Store
	log   *slog.Logger
}

// Sensor implements mqtt.Sensors.
func (d *sensorDirectory) Sensor(ctx context.Context, name string) (kind, zone string, known bool, err error) {
	o, known, err := d.store.Sensor(ctx, name)
	return o.SensorKind, o.SensorZone, known, err
}

// LastState implements mqtt.Sensors.
func (d *sensorDirectory) LastState(ctx context.Context, name string) (mqtt.State, bool, error) {
	rs, err := d.store.LastSensorReports(ctx, name)
	if err != nil || len(rs) == 0 {
		return mqtt.State{}, false, err
	}
	var st mqtt.State
	for _, r := range rs {
		st = st.Apply(r)
	}
	return st, true, nil
}
