package alarm

import (
	"context"
	"log/slog"
	"time"
)

// TimerStore runs the time-driven rules.
type TimerStore interface {
	TickArmStates(ctx context.Context) ([]Outcome, error)
	CheckSupervision(ctx context.Context) ([]Outcome, error)
	RunArmSchedules(ctx context.Context) ([]Outcome, error)
}

// RunTimers ends exit and entry delays every second, checks panel
// supervision every five and the daily arming schedules every thirty,
// until ctx ends. The deadlines are in the store,
// so this loop only needs to be roughly on time.
func RunTimers(ctx context.Context, st TimerStore, log *slog.Logger, committed func([]Outcome)) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		out, err := st.TickArmStates(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("arm state delays", "err", err)
		}
		if n%5 == 0 {
			more, err := st.CheckSupervision(ctx)
			if err != nil && ctx.Err() == nil {
				log.Error("panel supervision", "err", err)
			}
			out = append(out, more...)
		}
		if n%30 == 0 {
			more, err := st.RunArmSchedules(ctx)
			if err != nil && ctx.Err() == nil {
				log.Error("arm schedules", "err", err)
			}
			out = append(out, more...)
		}
		if len(out) > 0 && committed != nil {
			committed(out)
		}
	}
}
