package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/broadcast/icecast"
	"github.com/shequ/shequ/bus"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/live"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/web"
)

func serveCmd(ctx context.Context, args []string) error {
	var sc storeConfig
	var ac alarmConfig
	var bk backupConfig
	var addr, icecastURL, icecastAdmin string
	var loadDemo, secure, proxy bool
	f := newFlags("serve", "shequ serve: run the server.")
	sc.register(f)
	ac.register(f)
	var xc accessConfig
	xc.register(f)
	bk.register(f, true)
	f.string(&addr, "http", "SHEQU_HTTP", "127.0.0.1:8080", "address the HTTP server listens on")
	f.bool(&loadDemo, "demo", "SHEQU_DEMO", false, "load the demo community (Baosheng East Road) on first start")
	f.bool(&secure, "secure-cookies", "SHEQU_SECURE_COOKIES", false, "mark session cookies Secure (set when served over HTTPS)")
	f.bool(&proxy, "trust-proxy", "SHEQU_TRUST_PROXY", false, "take the client address from X-Forwarded-For (behind a reverse proxy)")
	f.string(&icecastURL, "icecast", "SHEQU_ICECAST", "", "also send each loudspeaker zone to this Icecast server as source, mount /zone-{code}: http://source:PASSWORD@host:8000")
	f.string(&thisNode, "node", "SHEQU_NODE", defaultNode(), "this node's name among several on one PostgreSQL: the holder of its leases, in /metrics (shequ_node_info) and the log")
	var busURL string
	f.string(&busURL, "bus", "SHEQU_BUS", "", "NATS server(s) that wake the other nodes' live streams, e.g. nats://127.0.0.1:4222, instead of PostgreSQL LISTEN/NOTIFY (for many nodes)")
	f.string(&icecastAdmin, "icecast-admin", "SHEQU_ICECAST_ADMIN", "", "USER:PASSWORD of the Icecast admin, to see which loudspeakers listen to the mounts (speaker health)")
	if err := f.Parse(args); err != nil {
		return flagErr(err)
	}
	var iceServer *url.URL
	if icecastURL != "" {
		u, err := icecast.Parse(icecastURL)
		if err != nil {
			return err
		}
		iceServer = u
	}
	var iceAdmin *url.Userinfo
	if icecastAdmin != "" {
		u, err := icecast.ParseAdmin(icecastAdmin)
		if err != nil {
			return err
		}
		iceAdmin = u
	}
	log := sc.logger().With("node", thisNode)
	start := time.Now()
	st, err := sc.openServing(ctx, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", "err", err)
		}
		log.Info("store closed")
	}()
	hub := live.NewHub()
	// Other nodes' commits of live events wake this node's streams: over
	// NATS with --bus, else by PostgreSQL LISTEN/NOTIFY (below). The bus
	// is set before anything uses the store.
	var liveBus *bus.NATS
	if busURL != "" {
		if liveBus, err = bus.Dial(busURL, "shequ-"+thisNode, hub.Changed, log); err != nil {
			return err
		}
		defer liveBus.Close()
		st.PublishLiveTo(liveBus.Publish)
	}
	// The chores that run beside the server (sweeps, leases, probes, the
	// loudspeakers) are stopped and waited for before the store closes:
	// one still writing (a lease given back) would do so after the last
	// checkpoint, or on a closed store.
	var chores sync.WaitGroup
	ctx, stopChores := context.WithCancel(ctx)
	defer func() {
		stopChores()
		chores.Wait()
	}()

	// The admin's password check (argon2id: about a third of a second
	// start's CPU) runs beside the rest of start-up, on the other core;
	// nothing is served before it is done (issue 13: a second start to
	// /readyz within 0.3 s). The store closes only after it.
	adminDone := make(chan error, 1)
	adminPassword := os.Getenv("SHEQU_ADMIN_PASSWORD")
	if adminPassword != "" {
		go func() { adminDone <- st.EnsureAdmin(ctx, adminPassword) }()
	} else {
		adminDone <- nil
	}
	waitAdmin := sync.OnceValue(func() error { return <-adminDone })
	defer waitAdmin()
	if loadDemo {
		if err := loadDemoAside(ctx, &sc, st, log); err != nil {
			return err
		}
	}

	blobs, err := sc.blobs(ctx)
	if err != nil {
		return err
	}
	// Photos and files kept in the database by earlier versions move out
	// before anything is served.
	if _, err := st.MoveMediaOut(ctx, blobs); err != nil {
		return err
	}
	// With several nodes sharing one media store, one of them sweeps.
	sweeper := &jobs.Leader{Store: st, Name: "media-sweep", Holder: thisNode, Log: log}
	chores.Go(func() { sweeper.Run(ctx, func(ctx context.Context) { sweepMedia(ctx, st, blobs, log) }) })

	centre := newAlarmCentre(ac, st, log, hub)
	ev := evidenceWorker(st, blobs, log)
	centre.moreJobs = append(centre.moreJobs, ev.Register)
	chores.Go(func() { runExports(ctx, st, ev, log) })
	if err := centre.listen(ctx); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(nodeInfo(thisNode))
	if centre.receiver != nil {
		reg.MustRegister(centre.receiver)
	}
	ops, dataReady, err := startOps(ctx, &chores, &sc, &bk, st, blobs, reg, log)
	if err != nil {
		return err
	}
	// Other nodes' commits of live events wake this node's streams.
	if liveBus != nil {
		dataReady = bothReady(dataReady, liveBus.Ready)
	} else if l := st.LiveListener(hub.Changed, log); l != nil {
		chores.Go(func() { l.Run(ctx) })
		dataReady = bothReady(dataReady, l.Ready)
	}
	bcCtx, stopBroadcast := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBroadcast()
	bc := startBroadcast(bcCtx, &chores, st, blobs, iceServer, iceAdmin, log)
	handler := web.New(web.Config{Store: st, Logger: log, Version: version, SecureCookies: secure, TrustProxy: proxy,
		Registry: reg, Hub: hub, Media: blobs, Broadcast: bc, PanelsChanged: func() {
			if err := centre.accounts.reload(context.Background()); err != nil {
				log.Error("reload panel accounts", "err", err)
			}
		}, ReceiptSecret: []byte(ac.smsReceiptSecret), AccessWebhookSecret: []byte(xc.webhookSecret), Ready: dataReady, Ops: ops})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    4 * web.MaxHeaderBytes, // above web's own limit, so that it answers with a problem
	}
	if err := waitAdmin(); err != nil {
		return fmt.Errorf("set admin password: %w", err)
	}
	if adminPassword != "" {
		log.Info("admin account ready", "username", "admin")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Start-up work (migrations, the demo, checking the passwords given in
	// the environment: argon2id holds 19 MiB per check) leaves a heap the
	// idle server never grows back into; give it back to the system.
	debug.FreeOSMemory()
	log.Info("shequ is serving", "url", "http://"+ln.Addr().String()+"/", "version", version, "startup", time.Since(start).Round(time.Millisecond))

	srv.RegisterOnShutdown(handler.StopStreams)
	alarmCtx, stopAlarm := context.WithCancel(context.WithoutCancel(ctx))
	alarmDone := make(chan error, 1)
	go func() { alarmDone <- centre.run(alarmCtx) }()
	chores.Go(func() { runDeviceHealth(alarmCtx, st, log, hub) })
	accessDone := make(chan struct{})
	go func() { runAccess(alarmCtx, xc, ac, st, log); close(accessDone) }()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var serveErr error
	select {
	case err := <-errc:
		serveErr = fmt.Errorf("http: %w", err)
	case err := <-alarmDone:
		serveErr = fmt.Errorf("alarm centre: %w", err)
		alarmDone <- nil
	case <-ctx.Done():
	}
	// Drain (docs/deploy.md): the panels first, beside the HTTP
	// requests rather than after them, so that they go to their backup
	// receiver at once: the SIA listener closes, frames in hand are
	// stored and acknowledged, the outbox worker finishes the job in hand
	// and gives the rest of its batch back, and every lease is given back
	// (the chores' context ended with ctx) for another node to take.
	drainStart := time.Now()
	log.Info("shutting down: finishing requests and frames in flight")
	stopAlarm()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("shutdown", "err", err)
	}
	<-alarmDone
	<-accessDone
	log.Info("drained", "took", time.Since(drainStart).Round(time.Millisecond))
	return serveErr
}

// loadDemoAside loads the demo community unless it is there. Writing it
// (a transaction of thousands of rows) is done by a "shequ demo" process
// of its own (runAside: it would leave 5 MiB in this one). When the demo
// is there, this process only checks the accounts' password.
func loadDemoAside(ctx context.Context, sc *storeConfig, st *sqlstore.Store, log *slog.Logger) error {
	_, err := st.CommunityByCode(ctx, demo.Code)
	if shequ.ErrorCode(err) != shequ.ENOTFOUND {
		// There, or the store cannot say: loadDemoData reports which.
		return loadDemoData(ctx, st, log)
	}
	if err := sc.runAside(ctx, log, "demo"); !errors.Is(err, errNoAside) {
		return err
	}
	return loadDemoData(ctx, st, log)
}

func loadDemoData(ctx context.Context, st demo.Store, log interface {
	Info(string, ...any)
}) error {
	pw := os.Getenv("SHEQU_DEMO_PASSWORD")
	res, err := demo.Load(ctx, st, pw)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if !res.Loaded {
		log.Info("demo community already loaded", "community", res.CommunityID)
		return nil
	}
	log.Info("demo community loaded", "community", res.CommunityID, "people", res.People, "homes", res.Homes, "devices", res.Devices)
	if pw == "" {
		// Printed once, on the start that made the accounts; not logged.
		fmt.Fprintf(os.Stdout, "\nDemo accounts (%s) share the password: %s\nSet SHEQU_DEMO_PASSWORD to choose it yourself.\n\n", demo.AccountList(), res.Password)
	}
	return nil
}

func flagErr(err error) error {
	if errors.Is(err, errHelp) {
		os.Exit(0)
	}
	return err
}

// sweepMedia removes, now and then, the bytes of photos and files whose
// rows are gone, an hour after they went.
func sweepMedia(ctx context.Context, st *sqlstore.Store, blobs media.Blobs, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n, err := st.SweepMedia(ctx, blobs, time.Hour); err != nil && ctx.Err() == nil {
			log.Error("media sweep", "err", err)
		} else if n > 0 {
			log.Info("media swept", "removed", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// thisNode names this process among the nodes of one deployment: it holds
// the leases of the once-only chores under it, and names its MQTT
// sessions. serve sets it from --node before anything starts.
var thisNode = defaultNode()

// defaultNode is the host's name, which tells the nodes of one
// deployment apart unless several run on one host.
func defaultNode() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "shequ"
}

// nodeInfo is the gauge that names the node whose metrics these are.
func nodeInfo(node string) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "shequ_node_info", Help: "Always 1; its label names the node serving these metrics.",
		ConstLabels: prometheus.Labels{"node": node},
	})
	g.Set(1)
	return g
}

// bothReady is ready when a and b are (either may be nil).
func bothReady(a, b func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		for _, f := range []func(context.Context) error{a, b} {
			if f == nil {
				continue
			}
			if err := f(ctx); err != nil {
				return err
			}
		}
		return nil
	}
}
