package alarm

import "time"

// Presence is whether a resident who reports from their phone is at home,
// as the auto-arm sees it: the home arms when the last one present leaves.
type Presence struct {
	UserID  int64     `json:"user_id"`
	Name    string    `json:"name"`
	Present bool      `json:"present"`
	At      time.Time `json:"at"`
}
