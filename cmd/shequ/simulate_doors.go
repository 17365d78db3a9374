package main

// shequ simulate doors drives simulated door controllers at a running
// server over MQTT: residents with cards, visitors and couriers with QR
// passes, now and then a forced door, and network cuts during which a
// controller decides by itself (package access/controller, with the public
// key and the pushed revocation list) and uploads what it decided when the
// connection is back.

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/shequ/shequ/access"
	"github.com/shequ/shequ/access/controller"
	accessmqtt "github.com/shequ/shequ/access/mqtt"
)

const simDoorsAbout = `shequ simulate doors: drive N simulated door controllers at a running
shequ over MQTT — residents' cards, visitors' and couriers' QR passes,
forced doors and network cuts (the controller decides offline with the
public key and uploads its decisions on reconnect). It signs in as an
administrator to issue the residents' cards and as a resident to invite the
visitors, then sends requests at --rate for --duration and prints the
decision latencies.

  shequ simulate doors --user director --resident resident01 --password ... \
      --mqtt tcp://127.0.0.1:1883 --doors 20 --rate 50 --duration 1m`

type doorSimConfig struct {
	server, user, resident, password, mqtt string
	doors, cards                           int
	rate                                   float64
	duration, timeout, cutEvery, cutFor    time.Duration
	forcedRatio                            float64
	seed                                   uint64
	json                                   bool
}

type doorSimReport struct {
	Seconds   float64          `json:"seconds"`
	Doors     int              `json:"doors"`
	Requests  int64            `json:"requests"`
	Granted   int64            `json:"granted"`
	Refused   map[string]int64 `json:"refused"`
	NoAnswer  int64            `json:"no_answer"`
	Offline   int64            `json:"offline_decisions"`
	Uploaded  int64            `json:"uploaded"`
	Events    int64            `json:"events"`
	Latencies latencyReport    `json:"latency_ms"`
}

func simulateDoorsCmd(ctx context.Context, args []string) error {
	var c doorSimConfig
	f := newFlags("simulate doors", simDoorsAbout)
	f.string(&c.server, "server", "SHEQU_SIM_SERVER", "http://127.0.0.1:8080", "the server's HTTP address")
	f.string(&c.user, "user", "SHEQU_SIM_USER", "director", "administrator who issues the simulated residents' cards")
	f.string(&c.resident, "resident", "SHEQU_SIM_RESIDENT", "resident01", "resident who invites the simulated visitors and couriers")
	f.string(&c.password, "password", "SHEQU_SIM_PASSWORD", "", "password of both accounts")
	f.string(&c.mqtt, "mqtt", "SHEQU_SIM_MQTT", "tcp://127.0.0.1:1883", "the MQTT broker the server's door adapter uses")
	f.IntVar(&c.doors, "doors", 10, "number of door controllers (the first doors of the community)")
	f.IntVar(&c.cards, "cards", 20, "residents given a simulated card")
	f.Float64Var(&c.rate, "rate", 20, "requests per second over all doors")
	f.DurationVar(&c.duration, "duration", 30*time.Second, "how long to run")
	f.DurationVar(&c.timeout, "timeout", 300*time.Millisecond, "how long a controller waits for shequ before deciding offline")
	f.DurationVar(&c.cutEvery, "cut-every", 20*time.Second, "each controller loses its network this often (0: never)")
	f.DurationVar(&c.cutFor, "cut-for", 5*time.Second, "for this long")
	f.Float64Var(&c.forcedRatio, "forced-ratio", 0.002, "share of ticks on which a door is forced, held open or tampered with")
	f.Uint64Var(&c.seed, "seed", 0, "random seed; 0 picks one")
	f.BoolVar(&c.json, "json", false, "print the summary as JSON")
	if err := f.Parse(args); err != nil {
		return flagErr(err)
	}
	if c.doors <= 0 || c.rate <= 0 || c.duration <= 0 {
		return errors.New("--doors, --rate and --duration must be positive")
	}
	if c.seed == 0 {
		c.seed = uint64(time.Now().UnixNano())
	}
	sim, err := setupDoorSim(ctx, c)
	if err != nil {
		return err
	}
	rep, err := sim.run(ctx)
	if err != nil {
		return err
	}
	if c.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Printf("shequ simulate doors: %.1f s, %d doors, %d requests (%.0f/s), %d granted, refused %v, %d without answer\n",
		rep.Seconds, rep.Doors, rep.Requests, float64(rep.Requests)/rep.Seconds, rep.Granted, rep.Refused, rep.NoAnswer)
	fmt.Printf("  offline decisions %d (uploaded %d), door events %d\n", rep.Offline, rep.Uploaded, rep.Events)
	l := rep.Latencies
	fmt.Printf("  decision latency ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (n %d)\n", l.P50, l.P90, l.P99, l.Max, l.N)
	return nil
}

type doorSim struct {
	c       doorSimConfig
	doors   []access.Door
	pub     ed25519.PublicKey
	cards   []string
	visitor []string // pass tokens
	courier []string
	rng     *rand.Rand
	rngMu   sync.Mutex

	mu                                                     sync.Mutex
	latencies                                              []time.Duration
	refused                                                map[string]int64
	requests, granted, noAnswer, offline, uploaded, events atomic.Int64
}

func login(ctx context.Context, api *simAPI, user, password string) error {
	var out struct{ Token string }
	st, body, err := api.do(ctx, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": user, "password": password}, &out)
	if err != nil {
		return err
	}
	if st != http.StatusOK {
		return fmt.Errorf("sign in as %s: %d %s", user, st, short(body))
	}
	api.token = out.Token
	return nil
}

func setupDoorSim(ctx context.Context, c doorSimConfig) (*doorSim, error) {
	s := &doorSim{c: c, rng: rand.New(rand.NewPCG(c.seed, c.seed^0x5eed)), refused: map[string]int64{}}
	admin := &simAPI{base: strings.TrimRight(c.server, "/"), client: &http.Client{Timeout: 30 * time.Second}}
	if err := login(ctx, admin, c.user, c.password); err != nil {
		return nil, err
	}
	var doors struct{ Items []access.Door }
	if st, body, err := admin.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/access/doors?limit=%d", c.doors), nil, &doors); err != nil || st != http.StatusOK {
		return nil, fmt.Errorf("doors: %d %s %v", st, short(body), err)
	}
	if len(doors.Items) == 0 {
		return nil, errors.New("the community has no doors: register some with POST /api/v1/access/doors (the demo has them)")
	}
	s.doors = doors.Items
	var key struct {
		PublicKey string `json:"public_key"`
	}
	if st, body, err := admin.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/access/public-key?community=%d", s.doors[0].CommunityID), nil, &key); err != nil || st != http.StatusOK {
		return nil, fmt.Errorf("public key: %d %s %v", st, short(body), err)
	}
	pub, err := base64.StdEncoding.DecodeString(key.PublicKey)
	if err != nil {
		return nil, err
	}
	s.pub = pub
	// Residents of the buildings whose doors are simulated, each with a
	// card whose UID derives from the person, so a second run reuses it.
	// A resident at another building's entrance is refused: so is life.
	type person struct {
		ID          int64 `json:"id"`
		HouseholdID int64 `json:"household_id"`
	}
	var residents []person
	seen := map[int64]bool{}
	for _, d := range s.doors {
		if d.BuildingID == 0 || seen[d.BuildingID] {
			continue
		}
		seen[d.BuildingID] = true
		var people struct{ Items []person }
		if st, body, err := admin.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/people?building=%d&limit=%d", d.BuildingID, c.cards), nil, &people); err != nil || st != http.StatusOK {
			return nil, fmt.Errorf("people: %d %s %v", st, short(body), err)
		}
		residents = append(residents, people.Items...)
	}
	for _, p := range residents {
		if len(s.cards) >= c.cards {
			break
		}
		if p.HouseholdID == 0 {
			continue
		}
		uid := fmt.Sprintf("5E%08X", p.ID)
		st, body, err := admin.do(ctx, http.MethodPost, "/api/v1/access/credentials", map[string]any{"person_id": p.ID, "kind": "card", "value": uid, "label": "模拟卡"}, nil)
		if err != nil {
			return nil, err
		}
		if st != http.StatusCreated && st != http.StatusConflict {
			return nil, fmt.Errorf("card for person %d: %d %s", p.ID, st, short(body))
		}
		s.cards = append(s.cards, uid)
	}
	// Visitors and couriers, invited by the resident.
	res := &simAPI{base: admin.base, client: admin.client}
	if err := login(ctx, res, c.resident, c.password); err != nil {
		return nil, err
	}
	for i := range 10 {
		kind, uses := "visitor", 50
		if i%2 == 1 {
			kind, uses = "courier", 1
		}
		var out struct{ Token string }
		st, body, err := res.do(ctx, http.MethodPost, "/api/v1/access/passes", map[string]any{"kind": kind, "uses": uses, "visitor_name": fmt.Sprintf("模拟%s%d", map[string]string{"visitor": "访客", "courier": "快递"}[kind], i)}, &out)
		if err != nil {
			return nil, err
		}
		if st != http.StatusCreated {
			return nil, fmt.Errorf("pass: %d %s", st, short(body))
		}
		if kind == "visitor" {
			s.visitor = append(s.visitor, out.Token)
		} else {
			s.courier = append(s.courier, out.Token)
		}
	}
	return s, nil
}

func (s *doorSim) pick(n int) int {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.IntN(n)
}

func (s *doorSim) chance(p float64) bool {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Float64() < p
}

// credential is what the next person at the door presents.
func (s *doorSim) credential() access.Presented {
	switch r := s.pick(100); {
	case r < 65 && len(s.cards) > 0:
		return access.Presented{Kind: access.KindCard, Value: s.cards[s.pick(len(s.cards))]}
	case r < 80 && len(s.visitor) > 0:
		return access.Presented{Kind: access.KindPass, Token: s.visitor[s.pick(len(s.visitor))]}
	case r < 90 && len(s.courier) > 0:
		return access.Presented{Kind: access.KindPass, Token: s.courier[s.pick(len(s.courier))]}
	default:
		return access.Presented{Kind: access.KindCard, Value: fmt.Sprintf("BAD%05X", s.pick(1<<20))}
	}
}

func (s *doorSim) run(ctx context.Context) (*doorSimReport, error) {
	ctx, cancel := context.WithTimeout(ctx, s.c.duration)
	defer cancel()
	start := time.Now()
	per := s.c.rate / float64(len(s.doors))
	var wg sync.WaitGroup
	for i, d := range s.doors {
		ctl, err := s.connect(ctx, d, i)
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctl.run(ctx, per)
		}()
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return &doorSimReport{Seconds: time.Since(start).Seconds(), Doors: len(s.doors), Requests: s.requests.Load(), Granted: s.granted.Load(), Refused: s.refused,
		NoAnswer: s.noAnswer.Load(), Offline: s.offline.Load(), Uploaded: s.uploaded.Load(), Events: s.events.Load(), Latencies: summarize(s.latencies)}, nil
}

// simController is one simulated controller and its MQTT connection.
type simController struct {
	s       *doorSim
	door    access.Door
	v       *controller.Verifier
	cm      *autopaho.ConnectionManager
	n       int
	mu      sync.Mutex
	waiting map[string]chan access.Answer
	seq     atomic.Int64
}

func (s *doorSim) connect(ctx context.Context, d access.Door, n int) (*simController, error) {
	u, err := url.Parse(s.c.mqtt)
	if err != nil {
		return nil, err
	}
	ctl := &simController{s: s, door: d, v: controller.New(d, s.pub), n: n, waiting: map[string]chan access.Answer{}}
	up := make(chan struct{})
	var once sync.Once
	cm, err := autopaho.NewConnection(ctx, autopaho.ClientConfig{
		ServerUrls: []*url.URL{u}, KeepAlive: 30, CleanStartOnInitialConnection: true, ConnectTimeout: 5 * time.Second,
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			_, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
				{Topic: accessmqtt.DoorTopic(d.ID, "decision"), QoS: 1},
				{Topic: accessmqtt.DoorTopic(d.ID, "revocations"), QoS: 1},
				{Topic: accessmqtt.DoorTopic(d.ID, "command"), QoS: 1},
			}})
			if err == nil {
				once.Do(func() { close(up) })
			}
		},
		ClientConfig: paho.ClientConfig{ClientID: fmt.Sprintf("sim-door-%d-%d", d.ID, os.Getpid()), OnPublishReceived: []func(paho.PublishReceived) (bool, error){ctl.received}},
	})
	if err != nil {
		return nil, err
	}
	ctl.cm = cm
	select {
	case <-up:
	case <-time.After(10 * time.Second):
		return nil, fmt.Errorf("door %d: cannot reach the broker at %s", d.ID, s.c.mqtt)
	}
	return ctl, nil
}

func (c *simController) received(pr paho.PublishReceived) (bool, error) {
	_, what, _ := accessmqtt.ParseTopic(pr.Packet.Topic)
	switch what {
	case "decision":
		var a access.Answer
		if json.Unmarshal(pr.Packet.Payload, &a) == nil {
			c.mu.Lock()
			ch := c.waiting[a.ID]
			delete(c.waiting, a.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- a
			}
		}
	case "revocations":
		var r access.Revocations
		if json.Unmarshal(pr.Packet.Payload, &r) == nil {
			c.v.SetRevocations(r)
		}
	}
	return true, nil
}

func (c *simController) publish(ctx context.Context, what string, v any) error {
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := c.cm.Publish(ctx, &paho.Publish{Topic: accessmqtt.DoorTopic(c.door.ID, what), QoS: 1, Payload: b})
	return err
}

func (c *simController) run(ctx context.Context, rate float64) {
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = c.cm.Disconnect(dctx)
	}()
	every := time.Duration(float64(time.Second) / rate)
	// Start at a different phase on each door, so the load is even.
	tick := time.NewTicker(every)
	defer tick.Stop()
	cutAt := time.Time{}
	if c.s.c.cutEvery > 0 {
		cutAt = time.Now().Add(c.s.c.cutEvery*time.Duration(c.n+1)/time.Duration(len(c.s.doors)) + c.s.c.cutEvery/2)
	}
	var offlineUntil time.Time
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if !cutAt.IsZero() && now.After(cutAt) {
				offlineUntil, cutAt = now.Add(c.s.c.cutFor), now.Add(c.s.c.cutEvery)
			}
			if now.Before(offlineUntil) {
				p := c.s.credential()
				d := c.v.Decide(p, now)
				c.s.offline.Add(1)
				c.count(d, 0, false)
				continue
			}
			if ds := c.v.TakeDecisions(); len(ds) > 0 {
				if err := c.publish(ctx, "offline_decisions", access.Upload{Decisions: ds}); err != nil {
					c.v.Requeue(ds)
				} else {
					c.s.uploaded.Add(int64(len(ds)))
				}
			}
			if c.s.chance(c.s.c.forcedRatio) {
				ev := []string{access.EventForced, access.EventHeldOpen, access.EventTamper}[c.s.pick(3)]
				if c.publish(ctx, ev, access.Event{At: now}) == nil {
					c.s.events.Add(1)
				}
				continue
			}
			inflight.Add(1)
			go func() {
				defer inflight.Done()
				c.ask(ctx, c.s.credential())
			}()
		}
	}
}

func (c *simController) ask(ctx context.Context, p access.Presented) {
	id := fmt.Sprintf("%d-%d", c.door.ID, c.seq.Add(1))
	ch := make(chan access.Answer, 1)
	c.mu.Lock()
	c.waiting[id] = ch
	c.mu.Unlock()
	start := time.Now()
	if err := c.publish(ctx, "request", access.Request{ID: id, Credential: p}); err != nil {
		c.s.noAnswer.Add(1)
		return
	}
	select {
	case a := <-ch:
		c.v.Observe(p, a.Decision, time.Now())
		c.count(a.Decision, time.Since(start), true)
	case <-time.After(c.s.c.timeout):
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
		// Too late: the controller decides itself, as when offline.
		c.s.noAnswer.Add(1)
		c.s.offline.Add(1)
		c.count(c.v.Decide(p, time.Now()), 0, false)
	case <-ctx.Done():
	}
}

func (c *simController) count(d access.Decision, latency time.Duration, online bool) {
	c.s.requests.Add(1)
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if online {
		c.s.latencies = append(c.s.latencies, latency)
	}
	if d.Granted {
		c.s.granted.Add(1)
	} else {
		c.s.refused[d.Reason]++
	}
}
