package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/content"
)

// Search finds notices, guides and policies (and, later, matters) by the
// words in them, in Chinese as well as in English. Each searchable thing
// has a row in search_docs, written in the transaction that writes the
// thing, with who may find it (its community and, when it is aimed at
// some, the grids, buildings or households in search_targets) and when
// (visible_from, visible_until). Its title and text are indexed as the
// tokens content.Tokens makes: overlapping character pairs of CJK text,
// lower-cased words otherwise. SQLite keeps them in the FTS5 table
// search_fts, PostgreSQL in the tsvector column search_docs.tsv under a GIN
// index; neither needs a text search parser, a locale or an extension, and
// both find the same things.

// searchDoc is what search_docs holds for one thing. Another kind adds
// itself by calling indexDoc and unindexDoc in its own transactions.
type searchDoc struct {
	Kind        string
	RefID       int64
	CommunityID int64
	Title, Body string // plain text
	// VisibleFrom and VisibleUntil bound when readers find it; nil: always.
	VisibleFrom, VisibleUntil *time.Time
	// Targeted things are found only by readers in their grids, buildings
	// or households (and by staff of the whole community); the others by
	// everyone in the community.
	Targeted                     bool
	Grids, Buildings, Households []int64
}

// maxIndexedRunes bounds the text indexed of one thing.
const maxIndexedRunes = 30000

// indexDoc writes (or rewrites) the search entry of a thing.
func (s *Store) indexDoc(ctx context.Context, q querier, d searchDoc) error {
	if err := s.unindexDoc(ctx, q, d.Kind, d.RefID); err != nil {
		return err
	}
	if r := []rune(d.Body); len(r) > maxIndexedRunes {
		d.Body = string(r[:maxIndexedRunes])
	}
	audience := content.AudienceCommunity
	if d.Targeted {
		audience = "targets"
	}
	var from, until any
	if d.VisibleFrom != nil {
		from = d.VisibleFrom.UTC()
	}
	if d.VisibleUntil != nil {
		until = d.VisibleUntil.UTC()
	}
	a := args{d.Kind, d.RefID, d.CommunityID, audience, from, until, d.Title, d.Body, s.now()}
	cols, vals := "kind, ref_id, community_id, audience, visible_from, visible_until, title, body_text, updated_at", "$1, $2, $3, $4, $5, $6, $7, $8, $9"
	if s.dialect == Postgres {
		cols += ", tsv"
		vals += ", CAST(" + a.add(tsvector(d.Title, d.Body)) + " AS tsvector)"
	}
	id, err := insert(ctx, q, "INSERT INTO search_docs ("+cols+") VALUES ("+vals+")", a...)
	if err != nil {
		return fmt.Errorf("index %s %d: %w", d.Kind, d.RefID, err)
	}
	for _, t := range []struct {
		col string
		ids []int64
	}{{"grid_id", d.Grids}, {"building_id", d.Buildings}, {"household_id", d.Households}} {
		for _, v := range t.ids {
			if _, err := q.ExecContext(ctx, "INSERT INTO search_targets (doc_id, "+t.col+") VALUES ($1, $2)", id, v); err != nil {
				return fmt.Errorf("index %s %d: %w", d.Kind, d.RefID, err)
			}
		}
	}
	if s.dialect == SQLite {
		if _, err := q.ExecContext(ctx, "INSERT INTO search_fts (rowid, title, body) VALUES ($1, $2, $3)",
			id, strings.Join(content.Tokens(d.Title), " "), strings.Join(content.Tokens(d.Body), " ")); err != nil {
			return fmt.Errorf("index %s %d: %w", d.Kind, d.RefID, err)
		}
	}
	return nil
}

// unindexDoc removes the search entry of a thing.
func (s *Store) unindexDoc(ctx context.Context, q querier, kind string, ref int64) error {
	return s.unindexDocs(ctx, q, kind, []int64{ref})
}

// unindexDocs removes the search entries of many things of one kind in
// one statement a table: retention and erasure anonymise matters by the
// hundred, and what an anonymised thing said must not stay findable.
func (s *Store) unindexDocs(ctx context.Context, q querier, kind string, refs []int64) error {
	if len(refs) == 0 {
		return nil
	}
	docs := "SELECT id FROM search_docs WHERE kind = $1 AND ref_id IN (" + retMarksFrom(2, len(refs)) + ")"
	stmts := []string{
		"DELETE FROM search_targets WHERE doc_id IN (" + docs + ")",
		"DELETE FROM search_docs WHERE kind = $1 AND ref_id IN (" + retMarksFrom(2, len(refs)) + ")",
	}
	if s.dialect == SQLite {
		stmts = append([]string{"DELETE FROM search_fts WHERE rowid IN (" + docs + ")"}, stmts...)
	}
	a := append([]any{kind}, retArgs(refs)...)
	for _, st := range stmts {
		if _, err := q.ExecContext(ctx, st, a...); err != nil {
			return fmt.Errorf("unindex %d %s: %w", len(refs), kind, err)
		}
	}
	return nil
}

// tsvector writes the tokens of a title (weight A) and a body as a
// tsvector literal with positions, which PostgreSQL takes as it is.
func tsvector(title, body string) string {
	const maxPos, maxPerLexeme = 16383, 16
	positions := map[string][]string{}
	var order []string
	p := 0
	add := func(text, weight string) {
		for _, t := range content.Tokens(text) {
			p++
			ps, seen := positions[t]
			if !seen {
				order = append(order, t)
				positions[t] = nil
			}
			if p <= maxPos && len(ps) < maxPerLexeme {
				positions[t] = append(ps, strconv.Itoa(p)+weight)
			}
		}
	}
	add(title, "A")
	add(body, "")
	var b strings.Builder
	for i, t := range order {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quoteLexeme(t))
		if ps := positions[t]; len(ps) > 0 {
			b.WriteByte(':')
			b.WriteString(strings.Join(ps, ","))
		}
	}
	return b.String()
}

func quoteLexeme(t string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(t) + "'"
}

// tsquery asks for all terms, prefixes where the term is one.
func tsquery(terms []content.Term) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = quoteLexeme(t.Text)
		if t.Prefix {
			parts[i] += ":*"
		}
	}
	return strings.Join(parts, " & ")
}

// ftsQuery asks FTS5 for all terms, prefixes where the term is one.
func ftsQuery(terms []content.Term) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = `"` + strings.ReplaceAll(t.Text, `"`, `""`) + `"`
		if t.Prefix {
			parts[i] += "*"
		}
	}
	return strings.Join(parts, " ")
}

// Search returns the things of the kinds in scopes that their scope may
// find now and whose text has every term of the query, best first. Each
// kind is found within its own scope (a reader's scope of the permission
// that reads it), so a kind is searched only by those who may read it.
// community, when not 0, keeps one community's.
func (s *Store) Search(ctx context.Context, scopes map[string]auth.Scope, text string, community int64, page shequ.Page) (shequ.List[content.SearchResult], error) {
	out := shequ.List[content.SearchResult]{Items: []content.SearchResult{}}
	query := content.ParseQuery(text)
	if query.Empty() || len(scopes) == 0 {
		return out, nil
	}
	var a args
	var from, match, rank string
	if s.dialect == Postgres {
		m := a.add(tsquery(query.Terms))
		from = "search_docs d"
		match = "d.tsv @@ CAST(" + m + " AS tsquery)"
		rank = "ts_rank(d.tsv, CAST(" + m + " AS tsquery)) DESC"
	} else {
		from = "search_fts JOIN search_docs d ON d.id = search_fts.rowid"
		match = "search_fts MATCH " + a.add(ftsQuery(query.Terms))
		rank = "bm25(search_fts, 4.0, 1.0)"
	}
	now := a.add(s.now())
	conds := []string{match,
		"(d.visible_from IS NULL OR d.visible_from <= " + now + ")",
		"(d.visible_until IS NULL OR d.visible_until > " + now + ")"}
	if community != 0 {
		conds = append(conds, "d.community_id = "+a.add(community))
	}
	kinds := make([]string, 0, len(scopes))
	for k := range scopes {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var ors []string
	for _, k := range kinds {
		ors = append(ors, "(d.kind = "+a.add(k)+" AND "+audienceWhere(scopes[k], docAudience, &a)+")")
	}
	conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	return listWhere(ctx, s.reader(), "search result", from, "d.kind, d.ref_id, d.title, d.body_text", strings.Join(conds, " AND "),
		rank+", d.id DESC", a, page, func(r scanner) (content.SearchResult, error) {
			var x content.SearchResult
			var body string
			err := r.Scan(&x.Kind, &x.ID, &x.Title, &body)
			x.Snippet = content.Snippet(body, query.Needles, 80)
			return x, err
		})
}
