package jobs

// The kinds of job. The JSON of each payload is what is stored in the
// outbox, so a field keeps its name for as long as old jobs may wait.

// Notice tells a group of people (householders, contacts, police,
// supervisors, user:<id>) about an incident with a template.
type Notice struct {
	IncidentID int64  `json:"incident_id"`
	Template   string `json:"template"`
	To         string `json:"to"`
}

func (Notice) Kind() string { return "notice" }

// Escalate, due some time after an incident opened, alerts the
// supervisors unless an operator acknowledged the incident meanwhile.
type Escalate struct {
	IncidentID int64 `json:"incident_id"`
}

func (Escalate) Kind() string { return "escalate" }

// Dispatch tells a staff member they were sent to an incident.
type Dispatch struct {
	IncidentID int64 `json:"incident_id"`
	UserID     int64 `json:"user_id"`
}

func (Dispatch) Kind() string { return "dispatch" }

// DispatchTimeout, due when an offer runs out, offers the incident to the
// next candidate unless the staff member accepted it.
type DispatchTimeout struct {
	IncidentID int64 `json:"incident_id"`
	UserID     int64 `json:"user_id"`
}

func (DispatchTimeout) Kind() string { return "dispatch_timeout" }

// NoticePublished tells the audience of an important notice about it once
// it is published. The handler checks the notice is still live and
// important when it runs.
type NoticePublished struct {
	NoticeID    int64 `json:"notice_id"`
	CommunityID int64 `json:"community_id"`
}

func (NoticePublished) Kind() string { return "notice_published" }

// MatterUpdate tells a resident about a step on their matter.
type MatterUpdate struct {
	MatterID int64  `json:"matter_id"`
	PersonID int64  `json:"person_id"`
	Status   string `json:"status"`
	Action   string `json:"action"`
}

func (MatterUpdate) Kind() string { return "matter_update" }

// SMS is one text message to one phone. Key identifies it for its whole
// life: the gateway sends a key once, however often the job runs.
type SMS struct {
	Key  string `json:"key"`
	To   string `json:"to"`
	Body string `json:"body"`
	// IncidentID, when set, puts the message on the incident's timeline,
	// where the operator sees whom it went to (Role, Name, the person or
	// user) and how far it got.
	IncidentID int64  `json:"incident_id,omitempty"`
	Role       string `json:"role,omitempty"`
	Name       string `json:"name,omitempty"`
	PersonID   int64  `json:"person_id,omitempty"`
	UserID     int64  `json:"user_id,omitempty"`
}

func (SMS) Kind() string { return "sms" }

// FootageExport fetches the footage of an approved request from the
// recorders into the media store (package evidence).
type FootageExport struct {
	RequestID int64 `json:"request_id"`
}

func (FootageExport) Kind() string { return "footage_export" }

// IncidentSnapshots takes a snapshot from each camera covering the
// entrances of an incident's building, as it opens (package evidence).
type IncidentSnapshots struct {
	IncidentID int64 `json:"incident_id"`
}

func (IncidentSnapshots) Kind() string { return "incident_snapshots" }

// WarningExpiry, due when a warning notice runs out, takes it down.
type WarningExpiry struct {
	WarningID int64 `json:"warning_id"`
}

func (WarningExpiry) Kind() string { return "warning_expiry" }
