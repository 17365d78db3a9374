package content

import (
	"bytes"
	"hash/maphash"
	"html"
	"regexp"
	"strings"
	"sync"
	"unicode"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	ghtml "github.com/yuin/goldmark/renderer/html"
)

// Markdown is rendered in two steps: goldmark turns it into HTML without
// passing any raw HTML through and with dangerous link targets emptied,
// then an allow-list (bluemonday) keeps only the elements and attributes
// a notice needs. Either step alone would do; both together mean a bug in
// one does not open the door. No script, style, iframe, form or event
// handler survives, nor a javascript:, vbscript: or data: address.
var (
	md = goldmark.New(
		goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify, extension.TaskList),
		// Staff write a line per sentence, as in a WeChat message.
		goldmark.WithRendererOptions(ghtml.WithHardWraps()),
	)
	policyOnce sync.Once
	policy     *bluemonday.Policy
	strict     = bluemonday.StrictPolicy()
)

func allowList() *bluemonday.Policy {
	policyOnce.Do(func() {
		p := bluemonday.NewPolicy()
		p.AllowElements("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code",
			"ul", "ol", "li", "strong", "em", "b", "i", "del", "s", "sub", "sup",
			"table", "thead", "tbody", "tr", "th", "td")
		p.AllowAttrs("start").Matching(bluemonday.Integer).OnElements("ol")
		p.AllowAttrs("align").Matching(bluemonday.CellAlign).OnElements("th", "td")
		p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
		p.AllowAttrs("checked", "disabled").OnElements("input")
		p.AllowAttrs("href").OnElements("a")
		p.AllowAttrs("src", "alt", "title").OnElements("img")
		p.AllowAttrs("title").OnElements("a")
		p.AllowURLSchemes("http", "https", "mailto", "tel")
		p.AllowRelativeURLs(true)
		p.RequireParseableURLs(true)
		p.RequireNoFollowOnFullyQualifiedLinks(true)
		p.AddTargetBlankToFullyQualifiedLinks(true)
		p.RequireNoReferrerOnFullyQualifiedLinks(true)
		policy = p
	})
	return policy
}

// RenderMarkdown turns Markdown into HTML that is safe to put in a page.
func RenderMarkdown(src string) string {
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		// goldmark fails only when the writer does; show the text.
		return "<p>" + html.EscapeString(src) + "</p>"
	}
	return allowList().Sanitize(buf.String())
}

// PlainText is the text of Markdown without its markup, for search and
// summaries.
func PlainText(src string) string {
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		return src
	}
	// Block ends become spaces so words of two paragraphs do not join.
	s := strings.NewReplacer("</p>", " ", "</li>", " ", "</h1>", " ", "</h2>", " ", "</h3>", " ", "<br>", " ", "<br/>", " ", "</td>", " ", "</th>", " ").Replace(buf.String())
	return collapseSpace(html.UnescapeString(strict.Sanitize(s)))
}

// Summarize returns the start of the plain text of Markdown, at most n
// characters, with an ellipsis when cut. Lists summarise every item on
// every read, and rendering Markdown was a quarter of a resident's feed,
// so summaries are remembered by their source.
func Summarize(src string, n int) string {
	key := summaryKey{hash: maphash.String(summarySeed, src), size: len(src), n: n}
	summaries.Lock()
	s, ok := summaries.m[key]
	summaries.Unlock()
	if ok {
		return s
	}
	s = cut(PlainText(src), n)
	summaries.Lock()
	defer summaries.Unlock()
	if len(summaries.m) >= maxSummaries {
		clear(summaries.m)
	}
	summaries.m[key] = s
	return s
}

// maxSummaries bounds the summaries remembered (a summary is at most a
// few hundred bytes).
const maxSummaries = 8192

type summaryKey struct {
	hash    uint64
	size, n int
}

var (
	summarySeed = maphash.MakeSeed()
	summaries   = struct {
		sync.Mutex
		m map[summaryKey]string
	}{m: map[summaryKey]string{}}
)

func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n])) + "…"
}

func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
