package alarm

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/shequ/shequ/internal/jsonstr"
)

// AppendJSON appends the incident as encoding/json marshals it, byte for
// byte (TestIncidentAppendJSONIsMarshal), without reflection. The ingest
// path publishes an incident event for every frame it stores: in an alarm
// storm, marshalling the incident by reflection was a tenth of the
// writer's own work besides the database's. The live stream is an API, so
// the event keeps every field and the form encoding/json gives them.
func (i *Incident) AppendJSON(b []byte) []byte {
	for _, t := range []*time.Time{&i.OpenedAt, &i.LastEventAt, i.AckAt, i.DispatchedAt, i.AcceptedAt, i.ArrivedAt, i.ResolvedAt} {
		if t != nil && !jsonTime(*t) {
			// encoding/json refuses such a time; leave the refusal
			// to it rather than write something else.
			out, err := json.Marshal(i)
			if err != nil {
				return append(b, "null"...)
			}
			return append(b, out...)
		}
	}
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, i.ID, 10)
	b = append(b, `,"community_id":`...)
	b = strconv.AppendInt(b, i.CommunityID, 10)
	b = appendIntField(b, `,"home_id":`, i.HomeID)
	b = appendIntField(b, `,"panel_id":`, i.PanelID)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, string(i.Kind))
	b = append(b, `,"priority":`...)
	b = strconv.AppendInt(b, int64(i.Priority), 10)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, i.Status)
	b = append(b, `,"title":`...)
	b = appendJSONString(b, i.Title)
	if len(i.Kinds) > 0 {
		b = append(b, `,"kinds":[`...)
		for k, kind := range i.Kinds {
			if k > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, string(kind))
		}
		b = append(b, ']')
	}
	b = append(b, `,"opened_at":`...)
	b = appendJSONTime(b, i.OpenedAt)
	b = append(b, `,"last_event_at":`...)
	b = appendJSONTime(b, i.LastEventAt)
	b = append(b, `,"event_count":`...)
	b = strconv.AppendInt(b, int64(i.EventCount), 10)
	b = appendTimeField(b, `,"acknowledged_at":`, i.AckAt)
	b = appendIntField(b, `,"acknowledged_by":`, i.AckBy)
	b = appendTimeField(b, `,"dispatched_at":`, i.DispatchedAt)
	b = appendIntField(b, `,"dispatched_to":`, i.DispatchedTo)
	b = appendTimeField(b, `,"accepted_at":`, i.AcceptedAt)
	b = appendTimeField(b, `,"arrived_at":`, i.ArrivedAt)
	b = appendTimeField(b, `,"resolved_at":`, i.ResolvedAt)
	b = appendIntField(b, `,"resolved_by":`, i.ResolvedBy)
	b = appendStringField(b, `,"resolution":`, i.Resolution)
	b = appendStringField(b, `,"notes":`, i.Notes)
	b = appendStringField(b, `,"building_name":`, i.BuildingName)
	b = appendStringField(b, `,"door":`, i.Door)
	b = appendIntField(b, `,"floor":`, int64(i.Floor))
	b = appendIntField(b, `,"grid_id":`, i.GridID)
	return append(b, '}')
}

// appendIntField, appendStringField and appendTimeField append a field
// tagged omitempty: nothing when it is empty.
func appendIntField(b []byte, name string, v int64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(append(b, name...), v, 10)
}

func appendStringField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendJSONString(append(b, name...), v)
}

func appendTimeField(b []byte, name string, t *time.Time) []byte {
	if t == nil {
		return b
	}
	return appendJSONTime(append(b, name...), *t)
}

// jsonTime tells whether encoding/json takes t: its year has four digits.
func jsonTime(t time.Time) bool {
	y := t.Year()
	return y >= 0 && y <= 9999
}

// appendJSONTime appends t as time.Time's MarshalJSON does (RFC 3339 with
// the nanoseconds it has, quoted).
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendJSONString appends s quoted as encoding/json.Marshal writes it
// (HTML escaped, its default).
func appendJSONString(b []byte, s string) []byte { return jsonstr.Append(b, s, true) }
