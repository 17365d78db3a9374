package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/evidence"
	"github.com/shequ/shequ/live"
)

// alarmStore is what the alarm centre's API needs.
type alarmStore interface {
	CreatePanel(ctx context.Context, scope auth.Scope, p *alarm.Panel) error
	ListPanels(ctx context.Context, scope auth.Scope, page shequ.Page) (shequ.List[alarm.Panel], error)
	CreateSensor(ctx context.Context, scope auth.Scope, x *alarm.Sensor) error
	ListSensors(ctx context.Context, scope auth.Scope, page shequ.Page) (shequ.List[alarm.Sensor], error)
	ListEvents(ctx context.Context, scope auth.Scope, f alarm.EventFilter) (shequ.List[alarm.Event], error)
	ListIncidents(ctx context.Context, scope auth.Scope, f alarm.IncidentFilter) (shequ.List[alarm.Incident], error)
	Incident(ctx context.Context, scope auth.Scope, id int64) (alarm.Incident, error)
	IncidentTimeline(ctx context.Context, scope auth.Scope, id int64) ([]alarm.TimelineEntry, error)
	ZoneNames(ctx context.Context, scope auth.Scope, home int64) (alarm.ZoneNames, error)
	HomeSensors(ctx context.Context, scope auth.Scope, home int64) ([]alarm.SensorState, error)
	SayMistake(ctx context.Context, scope auth.Scope, home, user int64) (alarm.Incident, error)
	LastResolved(ctx context.Context, scope auth.Scope, home int64) (*alarm.Incident, error)
	StepIncident(ctx context.Context, scope auth.Scope, id int64, step alarm.Step) (alarm.Incident, error)
	ArmState(ctx context.Context, scope auth.Scope, home int64) (alarm.ArmState, error)
	ChangeArmState(ctx context.Context, scope auth.Scope, home int64, action string, fn func(alarm.ArmState, time.Time) (alarm.ArmState, error)) (alarm.ArmState, error)
	RaiseSOS(ctx context.Context, scope auth.Scope, home int64, note string, lat, lng float64) (alarm.Outcome, error)
	SetPosition(ctx context.Context, user int64, lat, lng float64, onDuty bool) error
	DispatchCandidates(ctx context.Context, scope auth.Scope, incidentID int64) ([]alarm.Candidate, error)
	ArmRules(ctx context.Context, scope auth.Scope, home int64) (alarm.ArmRules, error)
	SetArmRules(ctx context.Context, scope auth.Scope, r *alarm.ArmRules) error
	ReportPresence(ctx context.Context, scope auth.Scope, home, user int64, present bool) (alarm.ArmState, bool, error)
	LiveSince(ctx context.Context, scope auth.Scope, after int64, limit int) ([]live.Event, error)
	LastLiveID(ctx context.Context) (int64, error)
}

type panelBody struct {
	HomeID             int64             `json:"home_id"`
	Account            string            `json:"account" doc:"The panel's SIA account (hex digits)"`
	Key                string            `json:"key,omitempty" doc:"AES key: 32/48/64 hex digits or 16/24/32 characters; empty for an unencrypted line"`
	SupervisionSeconds int               `json:"supervision_seconds,omitempty" doc:"Raise a communication failure when the panel is silent this long; 0 disables"`
	DeviceID           int64             `json:"device_id,omitempty" doc:"The panel's entry in the device registry"`
	Zones              map[string]string `json:"zones,omitempty" doc:"What the residents call the zones, by zone number: {\"02\": \"客厅窗\"}"`
}

type sensorBody struct {
	HomeID   int64  `json:"home_id"`
	Kind     string `json:"kind" enum:"door_contact,window_contact,pir"`
	Zone     string `json:"zone" doc:"Where it is: door, window, hallway …"`
	MQTTName string `json:"mqtt_name" doc:"zigbee2mqtt friendly name"`
	DeviceID int64  `json:"device_id,omitempty"`
	ZoneName string `json:"zone_name,omitempty" doc:"What the residents call it: 入户门, 客厅窗 …"`
}

type incidentDetail struct {
	alarm.Incident
	Timeline []alarm.TimelineEntry `json:"timeline"`
	Events   []alarm.Event         `json:"events"`
	// Cameras cover the entrances of the home's building: the window to
	// look at and the snapshot taken as the incident opened.
	Cameras []evidence.IncidentCamera `json:"cameras"`
}

type handlingStats struct {
	Since      time.Time           `json:"since"`
	Until      time.Time           `json:"until"`
	ByOperator []alarm.HandlingRow `json:"by_operator"`
	ByDay      []alarm.HandlingRow `json:"by_day"`
}

type presenceAnswer struct {
	State     alarm.ArmState `json:"state"`
	AutoArmed bool           `json:"auto_armed"`
}

type stepBody struct {
	UserID     int64  `json:"user_id,omitempty" doc:"dispatch: whom to send"`
	Resolution string `json:"resolution,omitempty" doc:"resolve: real_intrusion, false_alarm, user_error, medical_help_given, fire_prevented, resident_safe, technical_fault, test, other"`
	Notes      string `json:"notes,omitempty" maxLength:"2000" doc:"resolve: what was done; report: what was found on site"`
}

// incidentSteps are the steps of an incident the API offers, one operation
// each: the centre's, then the dispatched staff member's.
var incidentSteps = []struct {
	name, summary string
	perm          auth.Permission
}{
	{"ack", "Acknowledge an incident", auth.PermIncidentHandle},
	{"dispatch", "Send a staff member (user_id) to the incident", auth.PermIncidentHandle},
	{"resolve", "Close an incident with a resolution code", auth.PermIncidentHandle},
	{"accept", "The dispatched staff member accepts", auth.PermIncidentAttend},
	{"arrive", "The dispatched staff member is on site", auth.PermIncidentAttend},
	{"report", "The staff member on site says what they found (notes)", auth.PermIncidentAttend},
}

func (s *Server) registerAlarmAPI() {
	handle(s, post("/api/v1/alarm/panels", auth.PermAlarmConfigure), "create-panel", "Register an alarm panel", "alarm", s.createPanel)
	handle(s, get("/api/v1/alarm/panels", auth.PermAlarmRead), "list-panels", "List alarm panels", "alarm", s.listPanels)
	handle(s, post("/api/v1/alarm/sensors", auth.PermAlarmConfigure), "create-sensor", "Register a zigbee2mqtt sensor to a home and zone", "alarm", s.createSensor)
	handle(s, get("/api/v1/alarm/sensors", auth.PermAlarmRead), "list-sensors", "List sensors", "alarm", s.listSensors)
	handle(s, get("/api/v1/alarm/events", auth.PermAlarmRead), "list-events", "List alarm events, newest first", "alarm", s.listEvents)

	handleKept[incidentListInput, alarm.Incident](s, get("/api/v1/incidents", auth.PermAlarmRead), "list-incidents", "The incident queue: by priority, then age", "alarm", s.listIncidents)
	handle(s, get("/api/v1/incidents/{id}", auth.PermAlarmRead), "get-incident", "An incident with its timeline and events", "alarm", s.getIncident)
	for _, step := range incidentSteps {
		handle(s, Route{Method: http.MethodPost, Path: "/api/v1/incidents/{id}/" + step.name, Permission: step.perm, OK: true}, step.name+"-incident", step.summary, "alarm",
			s.stepIncident(step.name, step.perm))
	}
	handle(s, get("/api/v1/incidents/{id}/candidates", auth.PermIncidentHandle), "incident-candidates", "Whom to send: the grid worker first, then on-duty staff by distance", "alarm", s.incidentCandidates)
	handle(s, get("/api/v1/incidents/stats", auth.PermIncidentHandle), "incident-stats", "Handling times (to acknowledge, dispatch, arrive) per operator and per day", "alarm", s.incidentStats)

	handle(s, get("/api/v1/homes/{id}/alarm", auth.PermAlarmRead), "get-home-alarm", "A home's alarm state", "alarm", s.getHomeAlarm)
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/homes/{id}/alarm/arm", Permission: auth.PermAlarmArm, OK: true}, "arm-home", "Arm a home's alarm", "alarm", s.armHome)
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/homes/{id}/alarm/disarm", Permission: auth.PermAlarmArm, OK: true}, "disarm-home",
		"Disarm a home's alarm (the resident's session is enough; a PIN is checked when given)", "alarm", s.disarmHome)
	handle(s, get("/api/v1/homes/{id}/alarm/rules", auth.PermAlarmArm), "get-arm-rules", "A home's automatic arming rules", "alarm", s.getArmRules)
	handle(s, put("/api/v1/homes/{id}/alarm/rules", auth.PermAlarmArm), "set-arm-rules", "Arm when the last resident leaves, and/or daily at a time", "alarm", s.setArmRules)
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/homes/{id}/alarm/presence", Permission: auth.PermAlarmArm, OK: true}, "report-presence",
		"Say you are at home or have left: the last to leave arms the home when its rules say so", "alarm", s.reportPresence)
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/sos", Permission: auth.PermSOS}, "sos", "Call for help from home: opens a top-priority incident", "alarm", s.sos)
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/staff/me/position", Permission: auth.PermPosition, OK: true}, "report-position", "Report one's position and duty, for dispatch", "alarm", s.reportPosition)
	s.handleStream(Route{Method: http.MethodGet, Path: "/api/v1/events/stream", Permission: auth.PermAlarmRead})
}

// --- panels, sensors, events ---

func (s *Server) createPanel(ctx context.Context, in *bodyInput[panelBody]) (*itemBody[alarm.Panel], error) {
	p := alarm.Panel{HomeID: in.Body.HomeID, Account: in.Body.Account, Key: in.Body.Key, SupervisionSeconds: in.Body.SupervisionSeconds, DeviceID: in.Body.DeviceID, Zones: in.Body.Zones}
	err := s.store.CreatePanel(ctx, scope(ctx, auth.PermAlarmConfigure), &p)
	if err == nil && s.panelsChanged != nil {
		s.panelsChanged()
	}
	return item(p, err)
}

func (s *Server) listPanels(ctx context.Context, in *PageParams) (*listBody[alarm.Panel], error) {
	return list(s.store.ListPanels(ctx, scope(ctx, auth.PermAlarmRead).Restrict(in.Community), in.page()))
}

func (s *Server) createSensor(ctx context.Context, in *bodyInput[sensorBody]) (*itemBody[alarm.Sensor], error) {
	x := alarm.Sensor{HomeID: in.Body.HomeID, Kind: in.Body.Kind, Zone: in.Body.Zone, MQTTName: in.Body.MQTTName, DeviceID: in.Body.DeviceID, ZoneName: in.Body.ZoneName}
	err := s.store.CreateSensor(ctx, scope(ctx, auth.PermAlarmConfigure), &x)
	return item(x, err)
}

func (s *Server) listSensors(ctx context.Context, in *PageParams) (*listBody[alarm.Sensor], error) {
	return list(s.store.ListSensors(ctx, scope(ctx, auth.PermAlarmRead).Restrict(in.Community), in.page()))
}

type eventListInput struct {
	PageParams
	Account  string `query:"account"`
	Home     int64  `query:"home"`
	Incident int64  `query:"incident"`
}

func (s *Server) listEvents(ctx context.Context, in *eventListInput) (*listBody[alarm.Event], error) {
	return list(s.store.ListEvents(ctx, scope(ctx, auth.PermAlarmRead).Restrict(in.Community), alarm.EventFilter{Account: in.Account, HomeID: in.Home, IncidentID: in.Incident, Page: in.page()}))
}

// --- incidents ---

type incidentListInput struct {
	PageParams
	Conditional
	Status string `query:"status" enum:"open,new,acknowledged,dispatched,on_site,resolved," doc:"open: everything not resolved"`
	Home   int64  `query:"home"`
}

func (s *Server) listIncidents(ctx context.Context, in *incidentListInput) (*keptAnswer, error) {
	sc := scope(ctx, auth.PermAlarmRead).Restrict(in.Community)
	f := alarm.IncidentFilter{Status: in.Status, HomeID: in.Home, Page: in.page()}
	key := []any{sc, f.Status, f.HomeID, f.Page.Normalize()}
	return s.keptList(ctx, "incidents", key, true, in.IfNoneMatch, func(ctx context.Context) ([]byte, error) {
		l, err := s.store.ListIncidents(ctx, sc, f)
		if err != nil {
			return nil, err
		}
		return encodeJSON(l)
	})
}

func (s *Server) getIncident(ctx context.Context, in *IDParam) (*itemBody[incidentDetail], error) {
	sc := scope(ctx, auth.PermAlarmRead)
	inc, err := s.store.Incident(ctx, sc, in.ID)
	if err != nil {
		return nil, err
	}
	tl, err := s.store.IncidentTimeline(ctx, sc, in.ID)
	if err != nil {
		return nil, err
	}
	evs, err := s.store.ListEvents(ctx, sc, alarm.EventFilter{IncidentID: in.ID, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		return nil, err
	}
	cams, err := s.store.IncidentCameras(ctx, sc, in.ID)
	if err != nil {
		return nil, err
	}
	return item(incidentDetail{Incident: inc, Timeline: tl, Events: evs.Items, Cameras: cams}, nil)
}

type incidentStepInput struct {
	IDParam
	Body *stepBody
}

// stepIncident returns the handler of one step of incidentSteps, which
// needs perm.
func (s *Server) stepIncident(action string, perm auth.Permission) func(context.Context, *incidentStepInput) (*itemBody[alarm.Incident], error) {
	return func(ctx context.Context, in *incidentStepInput) (*itemBody[alarm.Incident], error) {
		var b stepBody
		if in.Body != nil {
			b = *in.Body
		}
		a := auth.ActorFrom(ctx)
		step := alarm.Step{Action: action, By: a.User.ID, To: b.UserID, Resolution: b.Resolution, Notes: b.Notes}
		sc := scope(ctx, perm)
		if perm == auth.PermIncidentAttend && !a.Can(auth.PermIncidentHandle) {
			// Field staff reach an incident through being sent to
			// it, wherever it is, and only then.
			sc, step.OnlyAssignee = auth.Scope{{}}, true
		}
		return item(s.store.StepIncident(ctx, sc, in.ID, step))
	}
}

func (s *Server) incidentCandidates(ctx context.Context, in *IDParam) (*itemBody[[]alarm.Candidate], error) {
	c, err := s.store.DispatchCandidates(ctx, scope(ctx, auth.PermIncidentHandle), in.ID)
	if c == nil {
		c = []alarm.Candidate{}
	}
	return item(c, err)
}

type incidentStatsInput struct {
	Community int64     `query:"community"`
	Since     time.Time `query:"since" doc:"Default: 30 days ago"`
	Until     time.Time `query:"until" doc:"Default: now"`
}

func (s *Server) incidentStats(ctx context.Context, in *incidentStatsInput) (*itemBody[handlingStats], error) {
	until := in.Until
	if until.IsZero() {
		until = s.clock.Now()
	}
	since := in.Since
	if since.IsZero() {
		since = until.AddDate(0, 0, -30)
	}
	sc := scope(ctx, auth.PermIncidentHandle).Restrict(in.Community)
	var all []alarm.Incident
	for off := 0; ; off += shequ.MaxLimit {
		l, err := s.store.ListIncidents(ctx, sc, alarm.IncidentFilter{Since: since, Until: until, Page: shequ.Page{Limit: shequ.MaxLimit, Offset: off}})
		if err != nil {
			return nil, err
		}
		all = append(all, l.Items...)
		if off+shequ.MaxLimit >= l.Total || off >= 100_000 {
			break
		}
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	var out handlingStats
	out.Since, out.Until = since, until
	out.ByOperator, out.ByDay = alarm.HandlingStats(all, loc)
	return item(out, nil)
}

// --- homes: arming, rules, presence, SOS ---
//
// The anonymous bodies below keep, by their nameHint, the schema names
// huma gave them when the inputs were anonymous too: the API document
// stays the same.

func (s *Server) getHomeAlarm(ctx context.Context, in *IDParam) (*itemBody[alarm.ArmState], error) {
	return item(s.store.ArmState(ctx, scope(ctx, auth.PermAlarmRead), in.ID))
}

type armInput struct {
	IDParam
	Body struct {
		Mode             alarm.Mode `json:"mode" enum:"away,home"`
		ExitDelaySeconds *int       `json:"exit_delay_seconds,omitempty" doc:"0 arms at once; 60 when not given"`
	} `nameHint:"Arm-homeRequest"`
}

func (s *Server) armHome(ctx context.Context, in *armInput) (*itemBody[alarm.ArmState], error) {
	delay := alarm.DefaultExitDelay
	if in.Body.ExitDelaySeconds != nil {
		delay = time.Duration(*in.Body.ExitDelaySeconds) * time.Second
	}
	by := auth.ActorFrom(ctx).User.Username
	return item(s.store.ChangeArmState(ctx, scope(ctx, auth.PermAlarmArm), in.ID, "arm", func(a alarm.ArmState, now time.Time) (alarm.ArmState, error) {
		return a.Arm(in.Body.Mode, delay, now, by)
	}))
}

type disarmInput struct {
	IDParam
	Body *struct {
		PIN string `json:"pin,omitempty"`
	} `nameHint:"Disarm-homeRequest"`
}

func (s *Server) disarmHome(ctx context.Context, in *disarmInput) (*itemBody[alarm.ArmState], error) {
	by := auth.ActorFrom(ctx).User.Username
	return item(s.store.ChangeArmState(ctx, scope(ctx, auth.PermAlarmArm), in.ID, "disarm", func(a alarm.ArmState, now time.Time) (alarm.ArmState, error) {
		return a.Disarm(now, by), nil
	}))
}

func (s *Server) getArmRules(ctx context.Context, in *IDParam) (*itemBody[alarm.ArmRules], error) {
	return item(s.store.ArmRules(ctx, scope(ctx, auth.PermAlarmArm), in.ID))
}

type armRulesInput struct {
	IDParam
	Body struct {
		ArmOnLeave bool       `json:"arm_on_leave"`
		ArmAt      string     `json:"arm_at,omitempty" doc:"Daily arming time, HH:MM in the community's time zone; empty for none"`
		Mode       alarm.Mode `json:"mode,omitempty" enum:"home,away," doc:"Mode of the daily arming (home by default: people are asleep inside)"`
	} `nameHint:"Set-arm-rulesRequest"`
}

func (s *Server) setArmRules(ctx context.Context, in *armRulesInput) (*itemBody[alarm.ArmRules], error) {
	r := alarm.ArmRules{HomeID: in.ID, ArmOnLeave: in.Body.ArmOnLeave, ArmAt: in.Body.ArmAt, Mode: in.Body.Mode}
	err := s.store.SetArmRules(ctx, scope(ctx, auth.PermAlarmArm), &r)
	return item(r, err)
}

type presenceInput struct {
	IDParam
	Body struct {
		Present bool `json:"present"`
	} `nameHint:"Report-presenceRequest"`
}

func (s *Server) reportPresence(ctx context.Context, in *presenceInput) (*itemBody[presenceAnswer], error) {
	st, armed, err := s.store.ReportPresence(ctx, scope(ctx, auth.PermAlarmArm), in.ID, auth.ActorFrom(ctx).User.ID, in.Body.Present)
	return item(presenceAnswer{State: st, AutoArmed: armed}, err)
}

type sosInput struct {
	Body *struct {
		Note string  `json:"note,omitempty" maxLength:"500"`
		Lat  float64 `json:"lat,omitempty"`
		Lng  float64 `json:"lng,omitempty"`
	} `nameHint:"SosRequest"`
}

func (s *Server) sos(ctx context.Context, in *sosInput) (*itemBody[alarm.Incident], error) {
	a := auth.ActorFrom(ctx)
	home, err := s.residentHome(ctx, a)
	if err != nil {
		return nil, err
	}
	var note string
	var lat, lng float64
	if in.Body != nil {
		note, lat, lng = in.Body.Note, in.Body.Lat, in.Body.Lng
	}
	out, err := s.store.RaiseSOS(ctx, scope(ctx, auth.PermSOS), home, note, lat, lng)
	if err != nil {
		return nil, err
	}
	return item(*out.Incident, nil)
}

type positionInput struct {
	Body struct {
		Lat    float64 `json:"lat" minimum:"-90" maximum:"90"`
		Lng    float64 `json:"lng" minimum:"-180" maximum:"180"`
		OnDuty *bool   `json:"on_duty,omitempty"`
	} `nameHint:"Report-positionRequest"`
}

func (s *Server) reportPosition(ctx context.Context, in *positionInput) (*noContent, error) {
	onDuty := true
	if in.Body.OnDuty != nil {
		onDuty = *in.Body.OnDuty
	}
	return &noContent{}, s.store.SetPosition(ctx, auth.ActorFrom(ctx).User.ID, in.Body.Lat, in.Body.Lng, onDuty)
}

// residentHome finds the home of the resident acting.
func (s *Server) residentHome(ctx context.Context, a *auth.Actor) (int64, error) {
	if a.HouseholdID == 0 {
		return 0, shequ.Errorf(shequ.EFORBIDDEN, "your account is not linked to a home")
	}
	hh, err := s.store.Household(ctx, auth.Scope{{}}, a.HouseholdID)
	if err != nil {
		return 0, err
	}
	return hh.HomeID, nil
}

func (s *Server) changed() {
	if s.hub != nil {
		s.hub.Changed()
	}
}

// handleStream serves the live stream as server-sent events. Each message
// carries the id of its live_events row: a client that reconnects with
// Last-Event-ID gets everything it missed, in order.
func (s *Server) handleStream(rt Route) {
	s.rawRoute(rt, func(w http.ResponseWriter, r *http.Request, a *auth.Actor) error {
		sc := a.Scope(rt.Permission)
		ctx := r.Context()
		var after int64
		if v := r.Header.Get("Last-Event-ID"); v != "" {
			after, _ = strconv.ParseInt(v, 10, 64)
		} else if v := r.URL.Query().Get("after"); v != "" {
			after, _ = strconv.ParseInt(v, 10, 64)
		} else {
			var err error
			if after, err = s.store.LastLiveID(ctx); err != nil {
				return err
			}
		}
		flusher, ok := w.(http.Flusher)
		if !ok {
			return fmt.Errorf("streaming unsupported by %T", w)
		}
		feed, err := s.feeds.join(ctx, sc)
		if err != nil {
			return err
		}
		defer s.feeds.leave(feed)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		fmt.Fprintf(w, "retry: 2000\n: live from %d\n\n", after)
		flusher.Flush()
		heartbeat := time.NewTicker(15 * time.Second)
		defer heartbeat.Stop()
		for {
			evs, held, changed, from := feed.since(after)
			if !held {
				// Behind what the feed keeps: catch up from the store.
				evs, err = s.store.LiveSince(ctx, sc, after, 500)
				if err != nil {
					if ctx.Err() == nil {
						s.log.Error("live stream", "err", err)
					}
					return nil
				}
			}
			for _, e := range evs {
				fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, e.Payload)
				after = e.ID
			}
			if len(evs) > 0 {
				flusher.Flush()
			}
			if !held {
				if len(evs) < 500 {
					// Everything up to from that the scope reaches is
					// written: from here on the feed has it.
					after = max(after, from)
				}
				continue
			}
			select {
			case <-ctx.Done():
				return nil
			case <-s.stopStreams:
				return nil
			case <-changed:
			case <-heartbeat.C:
				fmt.Fprint(w, ": ping\n\n")
				flusher.Flush()
			}
		}
	})
}
