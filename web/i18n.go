package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"sync"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// The three languages of the pages, in the order the switcher shows them.
// The first is the default: the platform serves mainland communities.
const (
	langHans = "zh-Hans"
	langHant = "zh-Hant"
	langEn   = "en"
)

var langOrder = []string{langHans, langHant, langEn}

// langCookie remembers the language a person chose over what the browser
// asks for.
const langCookie = "lang"

// The catalogs are split by capability, one file per capability and
// language: locales/<lang>/<capability>.json, e.g. locales/en/alarm.json
// and locales/zh-Hans/alarm.json. A language's files are merged when the
// program starts; a key in two files of one language, a file in locales/
// outside a language's folder, or a language folder with no files stops
// it. Put a new key in the file of the capability its prefix names, in all
// three languages (TestCatalogs checks that they agree).
//
//go:embed locales
var localeFS embed.FS

// locale is one language's message catalog and number formatting.
type locale struct {
	Tag  string // BCP 47, as <html lang> wants it
	Name string // the language's name in itself, for the switcher
	msgs map[string]string
	num  *message.Printer
	// file is the capability file each key comes from ("alarm.json"),
	// for the test that a key sits in the same file in every language.
	file map[string]string
}

var (
	locales       = mustLoadLocales()
	localeMatcher = language.NewMatcher([]language.Tag{
		language.MustParse(langHans), language.MustParse(langHant), language.MustParse(langEn),
	})
)

func mustLoadLocales() map[string]*locale {
	sub, err := fs.Sub(localeFS, "locales")
	if err != nil {
		panic(err)
	}
	out, err := loadLocales(sub)
	if err != nil {
		panic(err)
	}
	return out
}

// loadLocales reads the catalogs of langOrder from f, laid out as
// <lang>/<capability>.json.
func loadLocales(f fs.FS) (map[string]*locale, error) {
	top, err := fs.ReadDir(f, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range top {
		if !e.IsDir() || !slices.Contains(langOrder, e.Name()) {
			return nil, fmt.Errorf("locales/%s: catalogs go in locales/<lang>/<capability>.json, <lang> one of %v", e.Name(), langOrder)
		}
	}
	out := map[string]*locale{}
	for _, tag := range langOrder {
		files, err := fs.Glob(f, tag+"/*")
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("locales/%s: no catalog", tag)
		}
		l := &locale{Tag: tag, msgs: map[string]string{}, file: map[string]string{}, num: message.NewPrinter(language.MustParse(tag))}
		for _, name := range files {
			if path.Ext(name) != ".json" {
				return nil, fmt.Errorf("locales/%s: not a .json catalog", name)
			}
			b, err := fs.ReadFile(f, name)
			if err != nil {
				return nil, err
			}
			msgs, err := parseCatalog(b)
			if err != nil {
				return nil, fmt.Errorf("locales/%s: %w", name, err)
			}
			for _, m := range msgs {
				if other, ok := l.file[m.key]; ok {
					return nil, fmt.Errorf("locales/%s: key %q is also in locales/%s/%s", name, m.key, tag, other)
				}
				l.file[m.key] = path.Base(name)
				l.msgs[m.key] = m.text
			}
		}
		l.Name = l.msgs["lang.self"]
		out[tag] = l
	}
	return out, nil
}

type catalogEntry struct{ key, text string }

// parseCatalog reads one flat JSON object of strings. Unlike
// json.Unmarshal into a map it refuses a key given twice, where the later
// one would silently win.
func parseCatalog(b []byte) ([]catalogEntry, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("want one JSON object of strings")
	}
	var out []catalogEntry
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := t.(string) // object keys are always strings
		var text string
		if err := dec.Decode(&text); err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		if seen[key] {
			return nil, fmt.Errorf("key %q given twice", key)
		}
		seen[key] = true
		out = append(out, catalogEntry{key, text})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more after the JSON object")
	}
	return out, nil
}

// pickLocale chooses the language of a page: the one the person chose, else
// the best match for what the browser asks, else Simplified Chinese.
func pickLocale(r *http.Request) *locale {
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := locales[c.Value]; ok {
			return l
		}
	}
	return locales[matchLanguage(r.Header.Get("Accept-Language"))]
}

// matchLanguage maps an Accept-Language header to one of langOrder. The
// matcher knows that zh-TW and zh-HK are written in Traditional characters
// and zh-CN and zh-SG in Simplified ones.
func matchLanguage(accept string) string {
	tags, _, err := language.ParseAcceptLanguage(accept)
	if err != nil || len(tags) == 0 {
		return langHans
	}
	_, i, conf := localeMatcher.Match(tags...)
	if conf == language.No {
		return langHans
	}
	return langOrder[i]
}

// T returns the message for key, formatted with args when there are any.
// A missing key shows as itself so that the gap is seen, not hidden.
func (l *locale) T(key string, args ...any) string {
	msg, ok := l.msgs[key]
	if !ok {
		slog.Warn("missing message", "lang", l.Tag, "key", key)
		return key
	}
	if len(args) == 0 {
		return msg
	}
	return l.num.Sprintf(msg, args...)
}

// Has reports whether the catalog has key, for values that may be outside
// the known set (a device kind added later shows as itself).
func (l *locale) Has(key string) bool {
	_, ok := l.msgs[key]
	return ok
}

// Or returns the message for key, or fallback when the catalog lacks it.
func (l *locale) Or(key, fallback string) string {
	if msg, ok := l.msgs[key]; ok {
		return msg
	}
	return fallback
}

// Num formats a whole number with the language's digit grouping.
func (l *locale) Num(n int) string { return l.num.Sprintf("%d", n) }

// defaultZone is the community time zone when none is known. A fixed
// offset stands in when the system has no zone database: China has had no
// daylight saving time since 1991.
var defaultZone = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}()

func zoneOf(name string) *time.Location {
	if name == "" {
		return defaultZone
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return defaultZone
	}
	zones.Store(name, loc)
	return loc
}

// zones are the time zones loaded: time.LoadLocation reads and parses the
// zone's file on every call, and every page asks (issue 13).
var zones sync.Map
