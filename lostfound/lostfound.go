// Package lostfound owns the community's lost-and-found board: residents
// post a lost or found item or pet with where and when, neighbours answer,
// the poster marks it resolved, and posts expire so the board stays
// current. No SQL, no HTTP.
package lostfound

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shequ/shequ"
)

// DefaultLifetime is how long a post stays up unless resolved sooner.
const DefaultLifetime = 30 * 24 * time.Hour

// Post is one notice on the board.
type Post struct {
	ID          int64     `json:"id"`
	CommunityID int64     `json:"community_id"`
	AuthorID    int64     `json:"author_id"`
	Author      string    `json:"author"`  // display name, as much as neighbours should see
	Kind        string    `json:"kind"`    // lost or found
	Subject     string    `json:"subject"` // item or pet
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Place       string    `json:"place"`
	HappenedAt  time.Time `json:"happened_at"`
	Contact     string    `json:"contact,omitempty"` // how to reach the poster, if they want
	Status      string    `json:"status"`            // open, resolved, expired
	ExpiresAt   time.Time `json:"expires_at"`
	CreatedAt   time.Time `json:"created_at"`
	Replies     []Reply   `json:"replies,omitempty"`
	Photos      []int64   `json:"photos"`
}

// Reply is a neighbour's answer.
type Reply struct {
	ID        int64     `json:"id"`
	AuthorID  int64     `json:"author_id"`
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// Validate checks a new post and fills its defaults.
func (p *Post) Validate(now time.Time) error {
	f := map[string]string{}
	if p.Kind != "lost" && p.Kind != "found" {
		f["kind"] = "must be lost or found"
	}
	if p.Subject == "" {
		p.Subject = "item"
	}
	if p.Subject != "item" && p.Subject != "pet" {
		f["subject"] = "must be item or pet"
	}
	p.Title, p.Description, p.Place = strings.TrimSpace(p.Title), strings.TrimSpace(p.Description), strings.TrimSpace(p.Place)
	if p.Title == "" || utf8.RuneCountInString(p.Title) > 80 {
		f["title"] = "is required, at most 80 characters"
	}
	if utf8.RuneCountInString(p.Description) > 2000 {
		f["description"] = "must be at most 2000 characters"
	}
	if p.Place == "" || utf8.RuneCountInString(p.Place) > 120 {
		f["place"] = "say where, in at most 120 characters"
	}
	if p.HappenedAt.IsZero() {
		p.HappenedAt = now
	}
	if p.HappenedAt.After(now.Add(time.Hour)) {
		f["happened_at"] = "cannot be in the future"
	}
	if p.ExpiresAt.IsZero() {
		p.ExpiresAt = now.Add(DefaultLifetime)
	}
	if !p.ExpiresAt.After(now) || p.ExpiresAt.After(now.Add(90*24*time.Hour)) {
		f["expires_at"] = "must be within the next 90 days"
	}
	if len(f) > 0 {
		return shequ.Invalid(f)
	}
	p.Status = "open"
	return nil
}

// StatusAt is the post's status as readers see it at now.
func (p *Post) StatusAt(now time.Time) string {
	if p.Status == "open" && !now.Before(p.ExpiresAt) {
		return "expired"
	}
	return p.Status
}
