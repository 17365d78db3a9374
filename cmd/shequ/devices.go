package main

import (
	"context"
	"log/slog"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/device"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/live"
	"github.com/shequ/shequ/sqlstore"
)

// runDeviceHealth checks the devices on the one node that holds the
// "device-health" lease, until ctx ends; status changes wake live pages.
func runDeviceHealth(ctx context.Context, st *sqlstore.Store, log *slog.Logger, hub *live.Hub) {
	node := thisNode
	leader := &jobs.Leader{Store: st, Name: "device-health", Holder: node, Log: log}
	leader.Run(ctx, func(ctx context.Context) {
		clock := shequ.SystemClock{}
		s := &device.Scheduler{Store: st, Checker: &device.Prober{Now: clock.Now}, Clock: clock, Log: log.With("part", "device-health"), Changed: hub.Changed}
		s.Run(ctx)
	})
}
