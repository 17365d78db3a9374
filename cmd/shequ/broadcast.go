package main

import (
	"context"
	"log/slog"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/broadcast/render"
	"github.com/shequ/shequ/broadcast/stream"
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
func startBroadcast(ctx context.Context, st *sqlstore.Store, blobs media.Blobs, log *slog.Logger) *broadcaster {
	log = log.With("part", "broadcast")
	tools := render.FindTools()
	if missing := tools.Missing(); len(missing) > 0 {
		log.Error("programs missing: slots and announcements will be flagged and not go out; install them (Debian: apt-get install espeak-ng ffmpeg)",
			"missing", strings.Join(missing, ", "))
	}
	clock := shequ.SystemClock{}
	r := render.New(tools, st, blobs, log)
	hub := stream.New(clock, blobs, log)
	sched := broadcast.NewScheduler(st, r, hub, clock, log)
	go hub.Run(ctx)
	go sched.Run(ctx)
	return &broadcaster{Renderer: r, Scheduler: sched, Hub: hub}
}
