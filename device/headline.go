package device

import (
	"fmt"
	"strconv"
	"strings"
)

// A device trouble incident's title says where, how many devices and the
// first few of their names. The API gives it as it is; the pages read it
// back with ParseTroubleHeadline and say it in the reader's language, so
// the one format is defined here both ways.
const (
	headlineWord  = " devices offline: "
	headlineNames = 5
)

// TroubleHeadline is the title of a trouble incident listing total
// devices at place (empty when they are spread over the community),
// names being the first of them.
func TroubleHeadline(place string, total int, names []string) string {
	if len(names) > headlineNames {
		names = append(names[:headlineNames:headlineNames], "…")
	}
	where := ""
	if place != "" {
		where = place + " "
	}
	return fmt.Sprintf("%s%d%s%s", where, total, headlineWord, strings.Join(names, ", "))
}

// ParseTroubleHeadline reads a TroubleHeadline back; ok is false for any
// other title.
func ParseTroubleHeadline(title string) (place string, total int, names []string, ok bool) {
	head, rest, found := strings.Cut(title, headlineWord)
	if !found {
		return "", 0, nil, false
	}
	i := strings.LastIndexByte(head, ' ')
	place, count := "", head
	if i >= 0 {
		place, count = head[:i], head[i+1:]
	}
	total, err := strconv.Atoi(count)
	if err != nil || total < 0 {
		return "", 0, nil, false
	}
	if rest != "" {
		names = strings.Split(rest, ", ")
	}
	return place, total, names, true
}
