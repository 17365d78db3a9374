package access

import (
	"context"
	"log/slog"
	"time"
)

// RevocationSource is where the revocation lists come from.
type RevocationSource interface {
	AccessRevocationVersions(ctx context.Context) (map[int64]int64, error)
	AccessRevocations(ctx context.Context, community int64) (Revocations, error)
	AccessDoorIDs(ctx context.Context, community int64) ([]int64, error)
}

// Pusher tells the controllers of each community its revocation list
// whenever the list changes (checked every Every), and all lists again
// every Refresh, for brokers that lost their retained messages.
type Pusher struct {
	Source   RevocationSource
	Adapters []Adapter
	Every    time.Duration // default 1 s
	Refresh  time.Duration // default 5 min
	Log      *slog.Logger
	// Pushed, when set, is called after a community's list went out.
	Pushed func(community int64, r Revocations)
}

// Run pushes until ctx ends.
func (p *Pusher) Run(ctx context.Context) {
	every, refresh := p.Every, p.Refresh
	if every <= 0 {
		every = time.Second
	}
	if refresh <= 0 {
		refresh = 5 * time.Minute
	}
	if p.Log == nil {
		p.Log = slog.Default()
	}
	pushed := map[int64]int64{}
	last := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if time.Since(last) > refresh {
			clear(pushed)
			last = time.Now()
		}
		if err := p.once(ctx, pushed); err != nil && ctx.Err() == nil {
			p.Log.Warn("access: pushing revocations", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Pusher) once(ctx context.Context, pushed map[int64]int64) error {
	versions, err := p.Source.AccessRevocationVersions(ctx)
	if err != nil {
		return err
	}
	for c, v := range versions {
		if old, ok := pushed[c]; ok && old == v {
			continue
		}
		r, err := p.Source.AccessRevocations(ctx, c)
		if err != nil {
			return err
		}
		doors, err := p.Source.AccessDoorIDs(ctx, c)
		if err != nil {
			return err
		}
		failed := false
		for _, a := range p.Adapters {
			if err := a.PushRevocations(ctx, doors, r); err != nil {
				p.Log.Warn("access: revocations not pushed", "adapter", a.Name(), "community", c, "err", err)
				failed = true
			}
		}
		if failed {
			continue // try again next round
		}
		pushed[c] = v
		if p.Pushed != nil {
			p.Pushed(c, r)
		}
	}
	return nil
}
