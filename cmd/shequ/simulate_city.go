package main

// shequ simulate city makes a city of synthetic communities on PostgreSQL
// and drives a city's traffic at one or more running nodes: every panel's
// supervision heartbeat, routine tests, a power cut in one district (an
// AC-loss trouble from thousands of panels within a minute), alarms,
// residents' SOS calls and matters. It measures what a city deployment
// must know before it grows: frames ACKed per second, the ACK's p99, the
// time from an alarm frame to the consoles of every node, the nodes' CPU
// and the database's growth per community-year.
//
// The data is made in two ways on purpose. Communities, grids, buildings,
// accounts and matter categories go through the store, as an operator's
// would; the bulk (homes, households, residents, devices and panels —
// hundreds of thousands of rows) is copied in with PostgreSQL's COPY
// (simulate_city_data.go), since the store's one-row creates would take
// an hour for a thousand communities. Those rows are sealed with the
// deployment's key as the store seals them, so the nodes read them as
// their own.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/shequ/shequ/sqlstore"
)

// cityConfig holds the flags of shequ simulate city.
type cityConfig struct {
	store storeConfig

	communities, buildings, floors, doors int
	panels, residents, districtSize       int
	accounts                              int
	password                              string
	setup                                 bool
	supervise                             bool

	servers, sias []string
	duration      time.Duration
	speed         float64
	minPeriod     time.Duration
	maxPeriod     time.Duration
	testEvery     time.Duration
	alarmRate     float64
	sosPerMin     float64
	mattersPerMin float64
	stormPanels   int
	stormAt       time.Duration
	stormWindow   time.Duration
	stormDistrict int
	conns         int
	timeout       time.Duration
	pids          []int
	json          bool
	seed          uint64
}

const cityAbout = `shequ simulate city: make N synthetic communities (homes, households,
residents, alarm panels) on PostgreSQL and drive a city's traffic at running
nodes, then report frames/s ACKed, the ACK p99, the time from an alarm frame
to a console on every node, each node's CPU and the database's growth.

  # once, with no node running: 1,000 communities of 8 buildings x 10 floors x 4 doors,
  # panels on the 224 lowest homes of each, two residents a home
  shequ simulate city --setup --db postgres://... --key ... --password ... --duration 0
  # then, against two nodes (their HTTP and SIA addresses in the same order):
  shequ simulate city --db postgres://... --key ... --password ... \
      --server http://127.0.0.1:8081,http://127.0.0.1:8082 --sia 127.0.0.1:6001,127.0.0.1:6002 \
      --speed 0.1 --duration 3m --pids 1234,1235

Every panel sends a heartbeat every 60 to 300 s (its own period, at random)
and a routine test every --test-every; --speed scales both (0.1: a tenth of
the city's real rate). At --storm-at, --storm-panels panels of one district
(--district-size communities) report an AC loss, spread over --storm-window:
the storm is not scaled. Alarms (fire, from panels outside that district)
come at --alarm-rate a second; each is timed to the consoles. Residents with
accounts (--accounts of them, one in each of the first communities) send
SOS calls and matters through the API.

Accounts are C, five digits of the community and three of the panel
(C00001001); their AES-128 keys are derived from them as shequ simulate's
are. They are simulator keys: never use those accounts for real panels.`

func simulateCityCmd(ctx context.Context, args []string) error {
	var c cityConfig
	f := newFlags("simulate city", cityAbout)
	c.store.register(f)
	var servers, sias, pids string
	f.IntVar(&c.communities, "communities", 1000, "number of communities (city-00001, city-00002, …)")
	f.IntVar(&c.buildings, "buildings", 8, "buildings in each community (--setup)")
	f.IntVar(&c.floors, "floors", 10, "floors of each building (--setup)")
	f.IntVar(&c.doors, "doors", 4, "homes on each floor (--setup)")
	f.IntVar(&c.panels, "panels", 224, "alarm panels in each community, on its lowest homes (--setup; at most 999)")
	f.IntVar(&c.residents, "residents", 2, "residents in each home (--setup)")
	f.IntVar(&c.districtSize, "district-size", 25, "communities in a district (the storm hits one)")
	f.IntVar(&c.accounts, "accounts", 20, "residents given an account, one in each of the first communities (at most --communities), for SOS calls and matters")
	f.string(&c.password, "password", "SHEQU_SIM_PASSWORD", "", "password of city-admin (the consoles) and of the residents' accounts; --setup sets it")
	f.BoolVar(&c.setup, "setup", false, "first make the communities that are not there yet (run it with no node serving: nodes read new panels' keys within 30 s)")
	f.BoolVar(&c.supervise, "supervise", false, "with --setup, register each panel's heartbeat period as its supervision time (stopping the simulator then raises a communication failure from every panel)")
	f.string(&servers, "server", "SHEQU_SIM_SERVER", "http://127.0.0.1:8080", "the nodes' HTTP addresses, comma-separated")
	f.string(&sias, "sia", "SHEQU_SIM_SIA", "127.0.0.1:6000", "the nodes' SIA DC-09 receivers, comma-separated, in the order of --server; panel n reports to node n mod the count")
	f.DurationVar(&c.duration, "duration", 2*time.Minute, "how long to drive traffic; 0 with --setup only makes the data")
	f.Float64Var(&c.speed, "speed", 1, "scale of the periodic traffic (heartbeats, tests, SOS, matters): 1 is the city's real rate")
	f.DurationVar(&c.minPeriod, "min-period", 60*time.Second, "shortest heartbeat period of a panel, before --speed")
	f.DurationVar(&c.maxPeriod, "max-period", 300*time.Second, "longest heartbeat period of a panel, before --speed")
	f.DurationVar(&c.testEvery, "test-every", 24*time.Hour, "routine test period of a panel, before --speed")
	f.Float64Var(&c.alarmRate, "alarm-rate", 2, "fire alarms a second over the city (not scaled), each timed to every node's console")
	f.Float64Var(&c.sosPerMin, "sos-per-min", 6, "SOS calls a minute over the residents with accounts, before --speed")
	f.Float64Var(&c.mattersPerMin, "matters-per-min", 30, "matters a minute over the residents with accounts, before --speed")
	f.IntVar(&c.stormPanels, "storm-panels", 5000, "panels of one district that report an AC loss (0: no storm); capped at the district's panels")
	f.DurationVar(&c.stormAt, "storm-at", 30*time.Second, "when the storm starts, from the start of the traffic")
	f.DurationVar(&c.stormWindow, "storm-window", time.Minute, "over how long the storm's frames are spread")
	f.IntVar(&c.stormDistrict, "storm-district", 1, "which district the storm hits (from 1)")
	f.IntVar(&c.conns, "conns", 32, "SIA TCP connections to each node; a connection's panels wait for each other's answers (a node takes 64 from one address unless its --sia-max-conns-per-addr says more)")
	f.DurationVar(&c.timeout, "timeout", 10*time.Second, "how long to wait for a frame's answer")
	f.string(&pids, "pids", "SHEQU_SIM_PIDS", "", "process ids of the nodes, comma-separated in the order of --server: CPU from /proc (else from each node's /metrics)")
	f.BoolVar(&c.json, "json", false, "print the report as JSON")
	f.Uint64Var(&c.seed, "seed", 0, "random seed; 0 picks one")
	if err := f.Parse(args); err != nil {
		return flagErr(err)
	}
	c.servers, c.sias = splitList(servers), splitList(sias)
	for _, p := range splitList(pids) {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n <= 0 {
			return fmt.Errorf("--pids: %q is not a process id", p)
		}
		c.pids = append(c.pids, n)
	}
	if err := c.check(); err != nil {
		return err
	}
	rep, err := runCity(ctx, c)
	if rep != nil {
		if c.json {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(rep)
		} else {
			rep.print(os.Stdout)
		}
	}
	return err
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c *cityConfig) check() error {
	switch {
	case !sqlstore.IsPostgres(c.store.db):
		return errors.New("--db: simulate city runs on PostgreSQL: give a postgres:// URL")
	case c.communities < 1 || c.communities > 99999:
		return errors.New("--communities: 1 to 99999")
	case c.buildings < 1 || c.floors < 1 || c.doors < 1 || c.doors > 99 || c.floors > 99:
		return errors.New("--buildings, --floors (up to 99) and --doors (up to 99) must be positive")
	case c.panels < 0 || c.panels > 999 || c.panels > c.buildings*c.floors*c.doors:
		return errors.New("--panels: 0 to 999, and no more than the homes of a community")
	case c.residents < 1 || c.residents > 9:
		return errors.New("--residents: 1 to 9")
	case c.districtSize < 1:
		return errors.New("--district-size must be positive")
	case c.accounts < 0:
		return errors.New("--accounts cannot be negative")
	case c.password == "":
		return errors.New("give --password (SHEQU_SIM_PASSWORD): the consoles and residents sign in with it, and --setup sets it")
	case c.duration < 0 || c.duration > 24*time.Hour:
		return errors.New("--duration: 0 to 24h")
	case c.duration == 0 && !c.setup:
		return errors.New("give --duration, or --setup alone with --duration 0")
	case c.speed <= 0:
		return errors.New("--speed must be positive")
	case c.minPeriod <= 0 || c.maxPeriod < c.minPeriod:
		return errors.New("--min-period must be positive and at most --max-period")
	case c.testEvery <= 0 || c.timeout <= 0:
		return errors.New("--test-every and --timeout must be positive")
	case c.alarmRate < 0 || c.sosPerMin < 0 || c.mattersPerMin < 0 || c.stormPanels < 0:
		return errors.New("rates and --storm-panels cannot be negative")
	case c.conns < 1:
		return errors.New("--conns must be positive")
	case c.duration > 0 && (len(c.servers) == 0 || len(c.servers) != len(c.sias)):
		return errors.New("--server and --sia must name the same nodes, in the same order")
	case len(c.pids) > 0 && len(c.pids) != len(c.servers):
		return errors.New("--pids: one process id for each --server")
	}
	c.accounts = min(c.accounts, c.communities)
	if c.seed == 0 {
		c.seed = uint64(time.Now().UnixNano())
	}
	return nil
}

// cityReport is what simulate city prints.
type cityReport struct {
	Communities int                `json:"communities"`
	Setup       *citySetupReport   `json:"setup,omitempty"`
	Traffic     *cityTrafficReport `json:"traffic,omitempty"`
}

func (r *cityReport) print(w io.Writer) {
	fmt.Fprintf(w, "shequ simulate city: %d communities\n", r.Communities)
	if s := r.Setup; s != nil {
		s.print(w)
	}
	if t := r.Traffic; t != nil {
		t.print(w)
	}
}

func runCity(ctx context.Context, c cityConfig) (*cityReport, error) {
	rep := &cityReport{Communities: c.communities}
	log := c.store.logger()
	if c.setup {
		su, err := setupCity(ctx, c, log)
		rep.Setup = su
		if err != nil {
			return rep, fmt.Errorf("setup: %w", err)
		}
	}
	if c.duration == 0 {
		return rep, nil
	}
	tr, err := driveCity(ctx, c, log)
	rep.Traffic = tr
	return rep, err
}
