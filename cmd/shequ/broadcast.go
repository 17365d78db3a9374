package main

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"sync"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/broadcast/icecast"
	"github.com/shequ/shequ/broadcast/render"
	"github.com/shequ/shequ/broadcast/stream"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/sqlstore"
)

// broadcaster is the running loudspeaker broadcast: the renderer measures
// audio, the scheduler announces, the hub hands out the zone streams.
type broadcaster struct {
	*render.Renderer
	*broadcast.Scheduler
	*stream.Hub
}

// startBroadcast starts the zone streams and the scheduler until ctx
// ends. Programs it needs and cannot find are reported now; the slots
// they keep from going out are flagged and logged as they come.
// With an Icecast server, each zone is also sent there.
func startBroadcast(ctx context.Context, chores *sync.WaitGroup, st *sqlstore.Store, blobs media.Blobs, ice *url.URL, iceAdmin *url.Userinfo, log *slog.Logger) *broadcaster {
	log = log.With("part", "broadcast")
	tools := render.FindTools()
	if missing := tools.Missing(); len(missing) > 0 {
		log.Error("programs missing: slots and announcements will be flagged and not go out; install them (Debian: apt-get install espeak-ng ffmpeg)",
			"missing", strings.Join(missing, ", "))
	}
	clock := shequ.SystemClock{}
	r := render.New(tools, st, blobs, log)
	r.Warm() // an encoder waits for the first emergency announcement
	go func() {
		<-ctx.Done()
		r.Close()
	}()
	hub := stream.New(clock, blobs, log)
	sched := broadcast.NewScheduler(st, r, hub, clock, log)
	// Every node feeds its own listeners; with several nodes on one
	// database the lease holder renders ahead and writes the as-run log.
	sched.Follow()
	// Loudspeakers are online while they listen: to the zone's stream
	// here, or to its Icecast mount when the admin's stats can be read.
	var stats *icecast.Stats
	if ice != nil && iceAdmin != nil {
		stats = icecast.NewStats(ice, iceAdmin)
	}
	health := broadcast.NewHealth(st, func(z broadcast.Zone) []broadcast.Listener {
		ls := hub.ListenerList(z.ID)
		if stats != nil {
			more, err := stats.Listeners(ctx, z)
			if err != nil {
				log.Warn("icecast listeners", "zone", z.Code, "err", err)
			}
			ls = append(ls, more...)
		}
		return ls
	})
	// Speakers join the device registry's health: the wall shows them and
	// one missing a slot opens a trouble on the console like any device.
	health.ReportTo(st)
	sched.WatchSpeakers(health)
	node := thisNode
	leader := &jobs.Leader{Store: st, Name: "broadcast", Holder: node, Log: log}
	chores.Go(func() { leader.Run(ctx, sched.Lead) })
	chores.Go(func() { hub.Run(ctx) })
	chores.Go(func() { sched.Run(ctx) })
	if ice != nil {
		zones := func(ctx context.Context) ([]broadcast.Zone, error) {
			ps, err := st.Programmes(ctx)
			var out []broadcast.Zone
			for _, p := range ps {
				out = append(out, p.Zones...)
			}
			return out, err
		}
		relay := icecast.NewRelay(ice, hub, zones, log)
		chores.Go(func() { relay.Run(ctx) })
		log.Info("zones go to icecast too", "server", ice.Redacted())
	}
	return &broadcaster{Renderer: r, Scheduler: sched, Hub: hub}
}
