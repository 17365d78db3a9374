package sqlstore

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Timestamps read fast. SQLite keeps a timestamp as the text the driver
// wrote ("2006-01-02 15:04:05.999999999-07:00", _time_format=sqlite), and
// the driver turns a column declared TIMESTAMP back into a time.Time by
// trying time.Parse with one layout after another: the first try, for
// time.Time.String's form, fails on every value. For the fifty rows of
// seven timestamps of the incident queue that was the largest part of the
// request (issue 13). A list selects such columns as text (textTimes) and
// scans them with scanTime, which reads the store's one form by hand and
// falls back to the driver's layouts for anything else. On PostgreSQL the
// driver hands over a time.Time, which scanTime takes as it is.

// sqliteTimeLayouts are the layouts the SQLite driver reads (its
// parseTimeFormats), for text scanTime's fast path does not take.
var sqliteTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
	"2006-01-02 15:04:05.999999999 -0700 MST", // time.Time.String
}

// scanTime scans a timestamp into *t, in UTC. With valid nil a NULL is an
// error, as scanning into a *time.Time is; otherwise it sets *valid.
type scanTime struct {
	t     *time.Time
	valid *bool
}

func (d scanTime) Scan(src any) error {
	if d.valid != nil {
		*d.valid = src != nil
	}
	switch v := src.(type) {
	case nil:
		if d.valid == nil {
			return errors.New("converting NULL to time.Time is unsupported")
		}
		*d.t = time.Time{}
		return nil
	case time.Time:
		*d.t = v.UTC()
		return nil
	case string:
		t, err := parseStoredTime(v)
		*d.t = t
		return err
	case []byte:
		t, err := parseStoredTime(string(v))
		*d.t = t
		return err
	}
	return fmt.Errorf("cannot scan %T into a time", src)
}

// scanTimePtr scans an optional timestamp into *p: nil for NULL.
type scanTimePtr struct{ p **time.Time }

func (d scanTimePtr) Scan(src any) error {
	if src == nil {
		*d.p = nil
		return nil
	}
	var t time.Time
	if err := (scanTime{t: &t}).Scan(src); err != nil {
		return err
	}
	*d.p = &t
	return nil
}

// parseStoredTime reads a timestamp as SQLite keeps it, in UTC.
func parseStoredTime(s string) (time.Time, error) {
	if t, ok := parseTimeFast(s); ok {
		return t, nil
	}
	// A trailing Z is UTC, which time.Parse gives without a zone too.
	ts := strings.TrimSuffix(s, "Z")
	for _, l := range sqliteTimeLayouts {
		if t, err := time.Parse(l, ts); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable timestamp %q", s)
}

// parseTimeFast reads "2006-01-02 15:04:05[.fraction][zone]" (a T may
// stand for the space; the zone is Z, ±hh:mm or absent, meaning UTC).
func parseTimeFast(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := s[19:]
	nsec := 0
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		scale := 100_000_000
		for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
			if i > 9 {
				return time.Time{}, false
			}
			nsec += int(rest[i]-'0') * scale
			scale /= 10
		}
		if i == 1 {
			return time.Time{}, false
		}
		rest = rest[i:]
	}
	offset := 0
	switch {
	case rest == "" || rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		h, okh := num(len(s)-5, len(s)-3)
		m, okm := num(len(s)-2, len(s))
		if !okh || !okm || h > 23 || m > 59 {
			return time.Time{}, false
		}
		offset = h*3600 + m*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day {
		return time.Time{}, false // 31 February: let time.Parse say no
	}
	return t.Add(-time.Duration(offset) * time.Second), true
}

// textTimes returns the column list cols with each of the timestamp
// columns names selected as text, for scanTime: what a list selects on
// SQLite. PostgreSQL's driver decodes timestamps cheaply; it gets cols as
// they are.
func textTimes(cols string, names ...string) string {
	parts := strings.Split(cols, ", ")
	for i, p := range parts {
		for _, n := range names {
			if p == n {
				parts[i] = "CAST(" + n + " AS TEXT)"
			}
		}
	}
	return strings.Join(parts, ", ")
}
