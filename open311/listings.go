package open311

import (
	"strconv"
	"strings"
	"time"
)

// A listing of GET requests is kept by the web package (internal/kept)
// under ListingKey and the version of the community's requests
// (Open311Version) it was read at: a listing of a thousand requests costs
// milliseconds of CPU to read and encode, most of it the database driver
// stepping the rows, while clients poll the same few listings and the
// requests change far less often than that.

// ListingKey names a listing: everything its bytes depend on besides the
// community's requests, categories and places (which its version
// covers): the community, its name (the agency shown) and zone (the
// times' offset), the format and the filter with its window as
// effective. Texts are length-prefixed, so no value a client sends can
// pass for another field.
func ListingKey(f Filter, format Format, agency, zone string) string {
	var b strings.Builder
	b.Grow(64 + len(agency) + len(zone))
	b.WriteString(string(format))
	b.WriteByte('|')
	b.WriteString(strconv.FormatInt(f.CommunityID, 10))
	keyText(&b, agency)
	keyText(&b, zone)
	keyText(&b, f.Status)
	keyTime(&b, f.Since)
	keyTime(&b, f.Until)
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(f.Limit))
	b.WriteString("|c")
	b.WriteString(strconv.Itoa(len(f.Categories)))
	for _, c := range f.Categories {
		keyText(&b, c)
	}
	b.WriteString("|t")
	b.WriteString(strconv.Itoa(len(f.Tracking)))
	for _, t := range f.Tracking {
		keyText(&b, t)
	}
	return b.String()
}

func keyText(b *strings.Builder, s string) {
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.WriteString(s)
}

func keyTime(b *strings.Builder, t time.Time) {
	b.WriteByte('|')
	if t.IsZero() {
		return
	}
	b.WriteString(strconv.FormatInt(t.Unix(), 10))
	b.WriteByte('.')
	b.WriteString(strconv.Itoa(t.Nanosecond()))
}
