package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
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

//go:embed locales/*.json
var localeFS embed.FS

// locale is one language's message catalog and number formatting.
type locale struct {
	Tag  string // BCP 47, as <html lang> wants it
	Name string // the language's name in itself, for the switcher
	msgs map[string]string
	num  *message.Printer
}

var (
	locales       = mustLoadLocales()
	localeMatcher = language.NewMatcher([]language.Tag{
		language.MustParse(langHans), language.MustParse(langHant), language.MustParse(langEn),
	})
)

func mustLoadLocales() map[string]*locale {
	out := map[string]*locale{}
	for _, tag := range langOrder {
		b, err := localeFS.ReadFile("locales/" + tag + ".json")
		if err != nil {
			panic(fmt.Sprintf("locale %s: %v", tag, err))
		}
		l := &locale{Tag: tag, msgs: map[string]string{}, num: message.NewPrinter(language.MustParse(tag))}
		if err := json.Unmarshal(b, &l.msgs); err != nil {
			panic(fmt.Sprintf("locale %s: %v", tag, err))
		}
		l.Name = l.msgs["lang.self"]
		out[tag] = l
	}
	return out
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
	loc, err := time.LoadLocation(name)
	if err != nil {
		return defaultZone
	}
	return loc
}
