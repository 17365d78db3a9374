package alarm

import (
	"fmt"
	"time"

	"github.com/shequ/shequ"
)

// ArmRules are a home's automatic arming: when the last resident using the
// app leaves, and/or every day at a set time (in the community's zone).
type ArmRules struct {
	HomeID     int64  `json:"home_id"`
	ArmOnLeave bool   `json:"arm_on_leave"`
	ArmAt      string `json:"arm_at,omitempty"` // "HH:MM", "" for none
	Mode       Mode   `json:"mode,omitempty"`   // mode of the scheduled arming
	// LastArmDay is the local day the schedule last armed, so it arms once
	// a day however often it is checked.
	LastArmDay string `json:"-"`
}

// Validate checks the rules.
func (r *ArmRules) Validate() error {
	f := map[string]string{}
	if r.ArmAt != "" {
		if _, err := time.Parse("15:04", r.ArmAt); err != nil {
			f["arm_at"] = "must be a time like 23:00"
		}
	}
	if r.Mode == "" {
		r.Mode = ModeHome
	}
	if r.Mode != ModeHome && r.Mode != ModeAway {
		f["mode"] = "must be home or away"
	}
	if len(f) > 0 {
		return shequ.Invalid(f)
	}
	return nil
}

// ScheduleDue reports whether the daily arming is due at now (local time in
// loc) and the local day it belongs to. It is due once the clock has passed
// the set time on a day it has not armed yet.
func (r ArmRules) ScheduleDue(now time.Time, loc *time.Location) (bool, string) {
	if r.ArmAt == "" {
		return false, ""
	}
	local := now.In(loc)
	day := local.Format(time.DateOnly)
	at, err := time.ParseInLocation("2006-01-02 15:04", day+" "+r.ArmAt, loc)
	if err != nil {
		return false, ""
	}
	return !local.Before(at) && r.LastArmDay != day, day
}

// AutoArm arms a disarmed home for a rule; an armed or alarming home is
// left as it is.
func AutoArm(s ArmState, mode Mode, now time.Time, why string) (ArmState, bool) {
	if s.State != Disarmed && s.State != "" {
		return s, false
	}
	delay := DefaultExitDelay
	if why == "schedule" {
		delay = 0 // nobody is leaving: arm at once
	}
	next, err := s.Arm(mode, delay, now, fmt.Sprintf("auto:%s", why))
	return next, err == nil
}
