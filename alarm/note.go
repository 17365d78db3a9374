package alarm

import (
	"encoding/json"
	"strings"
)

// EventNote is what an incident's timeline keeps of an event: enough for
// a page or a message to say it in the reader's language, and the codes,
// which only the operator reads, as a detail.
type EventNote struct {
	Kind    Kind   `json:"kind"`
	Restore bool   `json:"restore,omitempty"`
	Zone    string `json:"zone,omitempty"`
	Code    string `json:"code,omitempty"`
	Text    string `json:"text,omitempty"`
	Source  Source `json:"source,omitempty"`
}

// NoteOf is what an incident's timeline says of a report that joined it;
// sensorZone is the zone of the sensor that sent it ("" for a panel or the
// app), said for a report that names no zone of its own.
func NoteOf(r Report, sensorZone string) EventNote {
	n := EventNote{Kind: r.Kind, Restore: r.Restore, Zone: r.Zone, Code: r.Code, Text: r.Text, Source: r.Source}
	if n.Zone == "" {
		n.Zone = sensorZone
	}
	return n
}

// String encodes the note for the timeline's detail column.
func (n EventNote) String() string {
	b, _ := json.Marshal(n) // a struct of strings and a bool always encodes
	return string(b)
}

// ParseNote reads a note back; ok is false for a detail written before
// notes were (free English text), which then stays as it is.
func ParseNote(detail string) (n EventNote, ok bool) {
	if !strings.HasPrefix(detail, "{") {
		return n, false
	}
	if err := json.Unmarshal([]byte(detail), &n); err != nil || n.Kind == "" {
		return EventNote{}, false
	}
	return n, true
}

// Codes is the note's codes and free text in one line, for the operator.
func (n EventNote) Codes() string {
	var parts []string
	if n.Code != "" {
		parts = append(parts, n.Code)
	}
	if n.Zone != "" {
		parts = append(parts, "#"+n.Zone)
	}
	if n.Text != "" {
		parts = append(parts, n.Text)
	}
	return strings.Join(parts, " · ")
}

// ZoneNames are what the residents call a home's zones: a panel's zone
// numbers and its sensors' zones, by zone.
type ZoneNames map[string]string

// Name is the zone's name, "" when it has none.
func (z ZoneNames) Name(zone string) string { return z[zone] }

// SensorState is a sensor as a resident sees it: its name and what it
// last said.
type SensorState struct {
	ID     int64  `json:"id"`
	Kind   string `json:"kind"`
	Zone   string `json:"zone"`
	Name   string `json:"name"`
	Online bool   `json:"online"`
	// State is open or closed for a door or window, motion or still for
	// a motion sensor, unknown before it reported.
	State string `json:"state"`
}
