package content

import (
	"slices"
	"strings"
	"unicode"
)

// Kinds of things search finds. Matters add "matter".
const (
	KindNotice = "notice"
	KindGuide  = "guide"
	KindPolicy = "policy"
)

// SearchResult is one thing search found.
type SearchResult struct {
	Kind    string `json:"kind" doc:"notice, guide or policy"`
	ID      int64  `json:"id"`
	Title   string `json:"title"`
	Snippet string `json:"snippet" doc:"Plain text around the first match"`
}

// Chinese is written without spaces between words, so search cannot split
// it into words as it does English. Instead every run of CJK characters
// is indexed as its overlapping pairs of characters (bigrams), and the
// last character of the run on its own: "医疗保险" is indexed as 医疗 疗保
// 保险 险. A query is split the same way and all its pairs must be found,
// so "医疗保险" finds the text and "保险" does too, while a single
// character matches as a prefix (险*), which the lone last character makes
// complete. Letters and digits form words, lower-cased, matched as
// prefixes. Both databases index these tokens (SQLite FTS5, PostgreSQL
// tsvector): the same tokens, so the same results on both.

const (
	maxTokenRunes = 64
	maxQueryTerms = 32
)

func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

func isWord(r rune) bool { return (unicode.IsLetter(r) || unicode.IsDigit(r)) && !isCJK(r) }

// runs splits text into runs of CJK characters and of word characters,
// dropping everything else; word runs come lower-cased.
func runs(text string, fn func(run []rune, cjk bool)) {
	var cur []rune
	curCJK := false
	flush := func() {
		if len(cur) > 0 {
			fn(cur, curCJK)
			cur = nil
		}
	}
	for _, r := range text {
		switch {
		case isCJK(r):
			if !curCJK {
				flush()
			}
			cur, curCJK = append(cur, r), true
		case isWord(r):
			if curCJK {
				flush()
			}
			cur, curCJK = append(cur, unicode.ToLower(r)), false
		default:
			flush()
		}
	}
	flush()
}

// Tokens returns the tokens text is indexed by, in order.
func Tokens(text string) []string {
	var out []string
	runs(text, func(run []rune, cjk bool) {
		if !cjk {
			if len(run) <= maxTokenRunes {
				out = append(out, string(run))
			}
			return
		}
		for i := 0; i+1 < len(run); i++ {
			out = append(out, string(run[i:i+2]))
		}
		out = append(out, string(run[len(run)-1]))
	})
	return out
}

// Term is one token a query looks for; Prefix matches tokens that start
// with it.
type Term struct {
	Text   string
	Prefix bool
}

// Query is a parsed search query.
type Query struct {
	Terms []Term
	// Needles are the query's words and CJK runs, for finding a snippet.
	Needles []string
}

// Empty reports whether the query looks for nothing.
func (q Query) Empty() bool { return len(q.Terms) == 0 }

// ParseQuery splits a query as Tokens splits text. All its terms must be
// found.
func ParseQuery(q string) Query {
	var out Query
	add := func(t Term) {
		if len(out.Terms) < maxQueryTerms && !slices.Contains(out.Terms, t) {
			out.Terms = append(out.Terms, t)
		}
	}
	runs(q, func(run []rune, cjk bool) {
		if len(run) > maxTokenRunes {
			run = run[:maxTokenRunes]
		}
		out.Needles = append(out.Needles, string(run))
		switch {
		case !cjk || len(run) == 1:
			add(Term{Text: string(run), Prefix: true})
		default:
			for i := 0; i+1 < len(run); i++ {
				add(Term{Text: string(run[i : i+2])})
			}
		}
	})
	return out
}

// Snippet returns about width characters of text around the first place
// a needle occurs, with ellipses where cut; the start of text when none
// occurs.
func Snippet(text string, needles []string, width int) string {
	rs := []rune(text)
	lower := make([]rune, len(rs))
	for i, r := range rs {
		lower[i] = unicode.ToLower(r)
	}
	at := -1
	for _, n := range needles {
		if i := indexRunes(lower, []rune(strings.ToLower(n))); i >= 0 && (at < 0 || i < at) {
			at = i
		}
	}
	if at < 0 {
		return cut(text, width)
	}
	start := max(0, at-width/4)
	end := min(len(rs), start+width)
	s := strings.TrimSpace(string(rs[start:end]))
	if start > 0 {
		s = "…" + s
	}
	if end < len(rs) {
		s += "…"
	}
	return s
}

func indexRunes(s, sub []rune) int {
	if len(sub) == 0 {
		return -1
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if slices.Equal(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
