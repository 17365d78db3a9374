package shequ

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Problems gathers what is wrong with an input, one message per field, so
// that a form can show every fault at once instead of the first only.
type Problems map[string]string

// Add records a problem with field unless the field already has one: the
// first check to fail is the one the reader has to fix first.
func (p Problems) Add(field, format string, args ...any) {
	if _, ok := p[field]; !ok {
		p[field] = fmt.Sprintf(format, args...)
	}
}

// Err returns nil when nothing was found, an EINVALID error naming the
// fields otherwise.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return Invalid(p)
}

// RequireText checks that value is not blank and has at most max
// characters (runes, so that a Chinese name counts as what it looks like).
func (p Problems) RequireText(field, value string, max int) {
	switch {
	case strings.TrimSpace(value) == "":
		p.Add(field, "is required")
	case utf8.RuneCountInString(value) > max:
		p.Add(field, "must be at most %d characters", max)
	}
}

// OptionalText checks that value, which may be empty, has at most max
// characters.
func (p Problems) OptionalText(field, value string, max int) {
	if utf8.RuneCountInString(value) > max {
		p.Add(field, "must be at most %d characters", max)
	}
}
