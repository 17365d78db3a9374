package lostfound

import (
	"github.com/shequ/shequ"
)

// Filter narrows the board.
type Filter struct {
	CommunityID int64
	Kind        string
	Subject     string
	// All shows resolved and expired posts too; by default only open ones.
	All bool
	shequ.Page
}
