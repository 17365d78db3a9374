package evidence

import "github.com/shequ/shequ"

// CameraFilter narrows the list of cameras.
type CameraFilter struct {
	CommunityID int64
	BuildingID  int64 // cameras on or covering this building
	shequ.Page
}

// FootageFilter narrows the list of footage requests.
type FootageFilter struct {
	CommunityID int64
	Status      string
	// RequestedBy, when set, lists only that user's requests: what a
	// requester who does not decide sees.
	RequestedBy int64
	shequ.Page
}

// WarningFilter narrows the list of warning notices.
type WarningFilter struct {
	CommunityID int64
	Status      string
	// Live lists only what residents see: published and unexpired.
	Live bool
	shequ.Page
}
