package content

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
)

func TestRenderMarkdownIsSafe(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // must be in the output
		never     []string // must not be
	}{
		{"script tag", "hello <script>alert(1)</script> world", []string{"hello", "world"}, []string{"<script", "alert(1)</script>"}},
		{"script block", "<script>\nalert(1)\n</script>", nil, []string{"<script"}},
		{"javascript link", "[click](javascript:alert(1))", []string{"click"}, []string{"javascript:"}},
		{"javascript link upper case", "[click](JaVaScRiPt:alert(1))", []string{"click"}, []string{"alert(1)\""}},
		{"javascript autolink", "<javascript:alert(1)>", nil, []string{"href=\"javascript"}},
		{"vbscript link", "[x](vbscript:msgbox)", nil, []string{"vbscript:"}},
		{"data link", "[x](data:text/html;base64,PHNjcmlwdD4=)", nil, []string{"data:"}},
		{"data image", "![x](data:image/svg+xml;base64,PHN2Zz4=)", nil, []string{"data:"}},
		{"onerror", `<img src="x" onerror="alert(1)">`, nil, []string{"onerror", "alert"}},
		{"onclick", `<a href="/x" onclick="alert(1)">x</a>`, nil, []string{"onclick"}},
		{"iframe", `<iframe src="https://evil.example"></iframe>`, nil, []string{"<iframe"}},
		{"style", "<style>body{display:none}</style>\n\ntext", []string{"text"}, []string{"<style"}},
		{"image with event in title", `![a](/api/v1/notices/1/attachments/1 "x\" onerror=\"alert(1)")`, []string{`<img src="/api/v1/notices/1/attachments/1"`}, []string{`onerror="`}},
		{"safe markdown kept", "# 通知\n\n**重要**：请携带*身份证*。\n\n- 一\n- 二\n\n[链接](https://example.org/a)",
			[]string{"<h1>通知</h1>", "<strong>重要</strong>", "<em>身份证</em>", "<li>一</li>", `href="https://example.org/a"`, `rel="nofollow noreferrer noopener"`, `target="_blank"`}, nil},
		{"relative image kept", "![图](/api/v1/notices/3/attachments/1)", []string{`<img src="/api/v1/notices/3/attachments/1" alt="图"`}, nil},
		{"tel and mailto kept", "[电话](tel:023-00000000) [邮件](mailto:a@example.org)", []string{`href="tel:023-00000000"`, `href="mailto:a@example.org"`}, nil},
		{"table", "| a | b |\n|---|---|\n| 1 | 2 |", []string{"<table>", "<td>1</td>"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RenderMarkdown(tt.src)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tt.never {
				if strings.Contains(strings.ToLower(got), strings.ToLower(n)) {
					t.Errorf("output has %q:\n%s", n, got)
				}
			}
		})
	}
}

func TestPlainText(t *testing.T) {
	got := PlainText("# 标题\n\n第一段 **粗体**。\n\n- 甲\n- 乙 <b>x</b> &amp;")
	if got != "标题 第一段 粗体。 甲 乙 x &" {
		t.Errorf("got %q", got)
	}
	if s := Summarize(strings.Repeat("长", 50), 10); s != strings.Repeat("长", 10)+"…" {
		t.Errorf("summary %q", s)
	}
}

func TestTokensAndQueries(t *testing.T) {
	if got := Tokens("城乡居民医疗保险, Medical insurance 2026!"); !slices.Equal(got, []string{"城乡", "乡居", "居民", "民医", "医疗", "疗保", "保险", "险", "medical", "insurance", "2026"}) {
		t.Errorf("tokens %q", got)
	}
	tests := []struct {
		q    string
		want []Term
	}{
		{"医疗保险", []Term{{"医疗", false}, {"疗保", false}, {"保险", false}}},
		{"低保", []Term{{"低保", false}}},
		{"保", []Term{{"保", true}}},
		{"Medical", []Term{{"medical", true}}},
		{"居住证 ID", []Term{{"居住", false}, {"住证", false}, {"id", true}}},
		{"  !!  ", nil},
	}
	for _, tt := range tests {
		if got := ParseQuery(tt.q).Terms; !slices.Equal(got, tt.want) {
			t.Errorf("ParseQuery(%q) = %v, want %v", tt.q, got, tt.want)
		}
	}
	// Every term of a query is among the tokens of a text that contains it,
	// exactly or as a prefix.
	text := Tokens("十月至十二月办理城乡居民医疗保险参保登记")
	for _, q := range []string{"医疗保险", "保险", "险", "登记", "记", "城", "参保登记"} {
		for _, term := range ParseQuery(q).Terms {
			found := slices.ContainsFunc(text, func(tok string) bool {
				return tok == term.Text || term.Prefix && strings.HasPrefix(tok, term.Text)
			})
			if !found {
				t.Errorf("query %q: term %v not in the tokens", q, term)
			}
		}
	}
}

func TestSnippet(t *testing.T) {
	text := strings.Repeat("前", 40) + "医疗保险" + strings.Repeat("后", 40)
	got := Snippet(text, []string{"医疗保险"}, 20)
	if !strings.Contains(got, "医疗保险") || !strings.HasPrefix(got, "…") || !strings.HasSuffix(got, "…") {
		t.Errorf("snippet %q", got)
	}
	if got := Snippet("Hello World", []string{"world"}, 40); got != "Hello World" {
		t.Errorf("snippet %q", got)
	}
}

func TestAudience(t *testing.T) {
	gridOf := map[int64]int64{10: 1, 11: 1, 20: 2}
	tests := []struct {
		a              Audience
		grid, building int64
		reaches        bool
		withinGrid1    bool
	}{
		{Community(), 5, 50, true, false},
		{Grids(5), 3, 30, false, false},
		{Grids(5), 5, 50, true, false},
		{Grids(1), 1, 10, true, true},
		{Grids(1, 2), 2, 20, true, false},
		{Buildings(10, 11), 1, 11, true, true},
		{Buildings(10, 20), 1, 11, false, false},
	}
	for i, tt := range tests {
		if got := tt.a.Reaches(tt.grid, tt.building); got != tt.reaches {
			t.Errorf("%d: Reaches = %v", i, got)
		}
		if got := tt.a.Within(1, gridOf); got != tt.withinGrid1 {
			t.Errorf("%d: Within = %v", i, got)
		}
	}
}

func TestValidate(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	before := now.Add(-time.Hour)
	tests := []struct {
		name  string
		err   error
		field string
	}{
		{"notice ok", (&Notice{CommunityID: 1, Title: "t", Body: "b"}).Validate(now), ""},
		{"notice without title", (&Notice{CommunityID: 1, Body: "b"}).Validate(now), "title"},
		{"notice bad category", (&Notice{CommunityID: 1, Title: "t", Body: "b", Category: "gossip"}).Validate(now), "category"},
		{"notice expiring before publishing", (&Notice{CommunityID: 1, Title: "t", Body: "b", ExpiresAt: &before}).Validate(now), "expires_at"},
		{"grids audience without grids", (&Notice{CommunityID: 1, Title: "t", Body: "b", Audience: Audience{Scope: AudienceGrids}}).Validate(now), "audience.grid_ids"},
		{"community audience with grids", (&Notice{CommunityID: 1, Title: "t", Body: "b", Audience: Audience{Scope: AudienceCommunity, GridIDs: []int64{1}}}).Validate(now), "audience"},
		{"policy ending before it starts", (&Policy{CommunityID: 1, Title: "t", ValidFrom: now, ValidUntil: &before}).Validate(now), "valid_until"},
		{"guide with a javascript form", (&Guide{CommunityID: 1, Name: "g", Forms: []Link{{Title: "x", URL: "javascript:alert(1)"}}}).Validate(), "forms[0].url"},
		{"guide ok", (&Guide{CommunityID: 1, Name: "g", Steps: []string{" a ", ""}, Forms: []Link{{Title: "x", URL: "/api/v1/guides/1/attachments/1"}}}).Validate(), ""},
	}
	for _, tt := range tests {
		var e *shequ.Error
		switch {
		case tt.field == "" && tt.err != nil:
			t.Errorf("%s: %v", tt.name, tt.err)
		case tt.field != "":
			if tt.err == nil || !asError(tt.err, &e) || e.Fields[tt.field] == "" {
				t.Errorf("%s: got %v, want a problem with %s", tt.name, tt.err, tt.field)
			}
		}
	}
}

func asError(err error, e **shequ.Error) bool {
	x, ok := err.(*shequ.Error)
	*e = x
	return ok
}

func TestAttachmentTypes(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	html := []byte("<html><script>alert(1)</script></html>")
	tests := []struct {
		name string
		a    Attachment
		data []byte
		ok   bool
	}{
		{"png", Attachment{Name: "a.png", ContentType: "image/png"}, png, true},
		{"html labelled png", Attachment{Name: "a.png", ContentType: "image/png"}, html, false},
		{"svg", Attachment{Name: "a.svg", ContentType: "image/svg+xml"}, []byte("<svg/>"), false},
		{"html", Attachment{Name: "a.html", ContentType: "text/html"}, html, false},
		{"text", Attachment{Name: "../../a.txt", ContentType: "text/plain; charset=utf-8"}, []byte("你好"), true},
		{"too big", Attachment{Name: "a.txt", ContentType: "text/plain"}, make([]byte, MaxAttachmentBytes+1), false},
		{"empty", Attachment{Name: "a.txt", ContentType: "text/plain"}, nil, false},
	}
	for _, tt := range tests {
		tt.a.Size = len(tt.data)
		err := tt.a.Validate(http.DetectContentType(tt.data))
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
		if tt.ok && strings.ContainsAny(tt.a.Name, "/\\") {
			t.Errorf("%s: name %q keeps a path", tt.name, tt.a.Name)
		}
	}
}

// TestSummariesRemembered: a remembered summary is the one of its own
// source and length, also for sources of the same size, and past the
// bound of remembered summaries.
func TestSummariesRemembered(t *testing.T) {
	for i := range maxSummaries + 10 {
		src := fmt.Sprintf("**第%05d条** 通知的内容", i)
		want := cut(PlainText(src), 8)
		for range 2 {
			if got := Summarize(src, 8); got != want {
				t.Fatalf("Summarize(%q, 8) = %q, want %q", src, got, want)
			}
		}
		if got, want := Summarize(src, 100), cut(PlainText(src), 100); got != want {
			t.Fatalf("Summarize(%q, 100) = %q, want %q", src, got, want)
		}
	}
}
