package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
	"github.com/shequ/shequ/transfer"
)

// sendFile posts body as is, labelled contentType, as user.
func (e *testEnv) sendFile(user, path, contentType string, body []byte) (int, []byte, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.http.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+e.token(user))
	return e.send(req)
}

// download gets path as user.
func (e *testEnv) download(user, path string) (int, []byte, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.http.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token(user))
	return e.send(req)
}

func (e *testEnv) send(req *http.Request) (int, []byte, http.Header) {
	e.t.Helper()
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// multipartFile wraps data as the field file of a form.
func multipartFile(t *testing.T, filename string, data []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("note", "月度更新"); err != nil {
		t.Fatal(err)
	}
	part, err := w.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), buf.Bytes()
}

// The demo community has buildings A栋…, six floors of doors 1-101 to
// 2-602, and a household in 1-101 of A栋.
const (
	demoHomesFile = "楼栋,单元,楼层,门牌号\n" +
		"A栋,1单元,7,1-701\n" + // a new top floor
		"A栋,1单元,1,1-101\n" + // already there
		"Z9栋,1单元,1,1-101\n" + // no such building
		"A栋,1单元,7,1-701\n" // twice in the file
	demoPeopleFile = "楼栋,门牌号,姓名,性别,电话,身份证号,出生日期\n" +
		"A栋,1-101,新住户,女,13800009999,500112200001010012,2000-01-01\n" +
		"A栋,1-101,,男,,,\n" + // no name
		"A栋,1-101,错号,男,,500112200001010019,\n" // wrong check digit
)

var (
	demoHomesFaults = []transfer.RowError{
		{Row: 3, Field: "door", Message: "building A栋 already has a door 1-101"},
		{Row: 4, Field: "building", Message: `there is no building "Z9栋" in this community`},
		{Row: 5, Field: "door", Message: "door 1-701 of building A栋 appears twice in the file (first at row 2)"},
	}
	demoPeopleFaults = []transfer.RowError{
		{Row: 3, Field: "name", Message: "is required"},
		{Row: 4, Field: "id_number", Message: "is not a valid 18-character resident ID number"},
	}
)

// xlsxOf turns a CSV text into the XLSX workbook Write makes of it.
func xlsxOf(t *testing.T, kind, csvText string) []byte {
	t.Helper()
	rows, err := transfer.Read([]byte(csvText), transfer.CSV, kind)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := transfer.Write(&buf, transfer.XLSX, kind, transfer.Chinese, rows); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImportWithBadRowsOverHTTP(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, dialect)
			form, formBody := multipartFile(t, "people.xlsx", xlsxOf(t, transfer.KindPeople, demoPeopleFile))
			tests := []struct {
				name        string
				kind        string
				contentType string
				body        []byte
				rows        int
				faults      []transfer.RowError
				count       string // the list whose total grows by the rows imported
			}{
				{"homes csv", transfer.KindHomes, "text/csv", []byte(demoHomesFile), 4, demoHomesFaults, "/api/v1/homes"},
				{"people xlsx", transfer.KindPeople, transfer.XLSXType, xlsxOf(t, transfer.KindPeople, demoPeopleFile), 3, demoPeopleFaults, "/api/v1/people"},
				// The same file again: its good row is now a clash.
				{"people multipart", transfer.KindPeople, form, formBody, 3, append([]transfer.RowError{
					{Row: 2, Field: "id_number", Message: "a resident with this ID number is already registered in this community"}}, demoPeopleFaults...), "/api/v1/people"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					before := env.total("director", tt.count)
					var reports [2]transfer.Report
					for i, dry := range []bool{true, false} {
						status, body, _ := env.sendFile("director", fmt.Sprintf("/api/v1/import/%s?dry_run=%v", tt.kind, dry), tt.contentType, tt.body)
						if status != http.StatusOK {
							t.Fatalf("dry_run=%v: status %d: %s", dry, status, body)
						}
						if err := json.Unmarshal(body, &reports[i]); err != nil {
							t.Fatal(err)
						}
						rep := reports[i]
						if rep.Kind != tt.kind || rep.DryRun != dry || rep.Rows != tt.rows || rep.Imported != tt.rows-len(tt.faults) {
							t.Errorf("dry_run=%v: report %+v", dry, rep)
						}
						if !reflect.DeepEqual(rep.Errors, tt.faults) {
							t.Errorf("dry_run=%v: faults\n%v\nwant\n%v", dry, rep.Errors, tt.faults)
						}
						want := before
						if !dry {
							want += rep.Imported
						}
						if got := env.total("director", tt.count); got != want {
							t.Errorf("dry_run=%v: %s total %d, want %d", dry, tt.count, got, want)
						}
					}
					if reports[0].Imported != reports[1].Imported {
						t.Errorf("the dry run said %d rows would go in, the import put in %d", reports[0].Imported, reports[1].Imported)
					}
				})
			}
			var entries page[audit.Entry]
			env.do("director", "GET", "/api/v1/audit?limit=500", nil, &entries)
			imports := 0
			for _, e := range entries.Items {
				if strings.HasPrefix(e.Action, "import.") {
					imports++
					if e.Username != "director" {
						t.Errorf("import audited as %q", e.Username)
					}
				}
			}
			if imports != len(tests) {
				t.Errorf("%d import audit entries, want one per real import (%d)", imports, len(tests))
			}
		})
	}
}

// total returns the total of a list route.
func (e *testEnv) total(user, path string) int {
	e.t.Helper()
	var p page[json.RawMessage]
	if status := e.do(user, "GET", path+"?limit=1", nil, &p); status != http.StatusOK {
		e.t.Fatalf("GET %s: %d", path, status)
	}
	return p.Total
}

func TestImportRefusals(t *testing.T) {
	env := newTestEnv(t, "sqlite")
	otherC, _, _ := env.secondCommunity()
	ctx := t.Context()
	if err := env.store.CreateUser(ctx, auth.Scope{{}}, &auth.User{Username: "two-communities", Grants: []auth.Grant{
		{Role: auth.RoleAdmin, CommunityID: env.demo.CommunityID}, {Role: auth.RoleAdmin, CommunityID: otherC}}}, demoPassword); err != nil {
		t.Fatal(err)
	}
	homes := []byte(demoHomesFile)
	tests := []struct {
		name        string
		user        string
		path        string
		contentType string
		body        []byte
		status      int
		detail      string
	}{
		{"operator may not import", "operator", "/api/v1/import/homes", "text/csv", homes, http.StatusForbidden, "your role does not allow this"},
		{"grid worker may not import", "grid01", "/api/v1/import/people", "text/csv", homes, http.StatusForbidden, "your role does not allow this"},
		{"unknown kind", "director", "/api/v1/import/grids", "text/csv", homes, http.StatusUnprocessableEntity, ""},
		{"json is not a file", "director", "/api/v1/import/homes", "application/json", []byte(`{"rows":[]}`), http.StatusUnprocessableEntity, "cannot be imported"},
		{"empty body", "director", "/api/v1/import/homes", "text/csv", nil, http.StatusUnprocessableEntity, "has no file"},
		{"missing column", "director", "/api/v1/import/homes", "text/csv", []byte("楼栋,门牌号\nA栋,1-101\n"), http.StatusUnprocessableEntity, "no column for 楼层 (floor)"},
		{"too large", "director", "/api/v1/import/homes", "text/csv", bytes.Repeat([]byte("A栋,1单元,1,1-101\n"), transfer.MaxBytes/20), http.StatusRequestEntityTooLarge, "larger than 10 MiB"},
		{"labelled xlsx but csv", "director", "/api/v1/import/homes", transfer.XLSXType, homes, http.StatusUnprocessableEntity, "not an XLSX workbook"},
		{"another community", "director", fmt.Sprintf("/api/v1/import/homes?community=%d", otherC), "text/csv", homes, http.StatusForbidden, ""},
		{"which community", "two-communities", "/api/v1/import/homes?dry_run=true", "text/csv", homes, http.StatusUnprocessableEntity, "?community=ID"},
		{"community named", "two-communities", fmt.Sprintf("/api/v1/import/homes?dry_run=true&community=%d", env.demo.CommunityID), "text/csv", homes, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, header := env.sendFile(tt.user, tt.path, tt.contentType, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if status >= 400 {
				if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
					t.Errorf("problem with content type %q", ct)
				}
				var p Problem
				json.Unmarshal(body, &p)
				if !strings.Contains(p.Detail, tt.detail) {
					t.Errorf("detail %q, want %q", p.Detail, tt.detail)
				}
			}
		})
	}
	for _, path := range []string{"/api/v1/export/people", "/api/v1/export/homes?format=xlsx"} {
		if status, _, _ := env.download("operator", path); status != http.StatusForbidden {
			t.Errorf("operator GET %s: %d, want 403", path, status)
		}
	}
	if status, _, _ := env.download("director", fmt.Sprintf("/api/v1/export/people?community=%d", otherC)); status != http.StatusNotFound {
		t.Errorf("export of another community: %d, want 404", status)
	}
	if status, _, _ := env.download("two-communities", "/api/v1/export/people"); status != http.StatusUnprocessableEntity {
		t.Errorf("export without a community by a user of two: %d, want 422", status)
	}
}

func TestExportOverHTTP(t *testing.T) {
	env := newTestEnv(t, "sqlite")
	people := env.total("director", "/api/v1/people")
	piiReads := func() int {
		var entries page[audit.Entry]
		env.do("director", "GET", "/api/v1/audit?action=person.read_pii&limit=1", nil, &entries)
		return entries.Total
	}
	for _, format := range []transfer.Format{transfer.CSV, transfer.XLSX} {
		t.Run(string(format), func(t *testing.T) {
			// Masked by default: a file for reading, not for importing.
			reads := piiReads()
			status, body, header := env.download("director", "/api/v1/export/people?format="+string(format))
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, strings.Split(format.ContentType(), ";")[0]) {
				t.Errorf("content type %q", ct)
			}
			wantName := "attachment; filename=baosheng-east-people-20261128." + string(format)
			if cd := header.Get("Content-Disposition"); cd != wantName {
				t.Errorf("content disposition %q, want %q", cd, wantName)
			}
			if cc := header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("cache control %q", cc)
			}
			rows, err := transfer.Read(body, format, transfer.KindPeople)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != people {
				t.Fatalf("%d rows, want %d", len(rows), people)
			}
			for _, r := range rows {
				if r.Get("phone") != "" && !strings.Contains(r.Get("phone"), "*") || !strings.Contains(r.Get("id_number"), "*") {
					t.Fatalf("row %d is not masked: %v", r.Line, r.Values)
				}
			}
			if piiReads() != reads {
				t.Error("a masked export was audited as a read of whole numbers")
			}

			// Revealed: whole numbers, each resident's read audited, and
			// the file imports again (every resident is already there).
			status, body, _ = env.download("director", "/api/v1/export/people?reveal=true&lang=en&format="+string(format))
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			if got := piiReads(); got != reads+people {
				t.Errorf("%d whole reads audited, want %d", got-reads, people)
			}
			rows, err = transfer.Read(body, format, transfer.KindPeople)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				rec, f := transfer.DecodePerson(r)
				if !f.Empty() || !community.ValidIDNumber(rec.Person.IDNumber) {
					t.Fatalf("row %d: %v %v", r.Line, r.Values, f.Errors())
				}
			}
			var rep transfer.Report
			status, b, _ := env.sendFile("director", "/api/v1/import/people?dry_run=true", "", body)
			if status != http.StatusOK || json.Unmarshal(b, &rep) != nil {
				t.Fatalf("import of the export: %d %s", status, b)
			}
			if rep.Imported != 0 || len(rep.Errors) != people {
				t.Errorf("import of the export: %d imported, %d faults, want 0 and %d", rep.Imported, len(rep.Errors), people)
			}
			for _, e := range rep.Errors {
				if e.Field != "id_number" || !strings.Contains(e.Message, "already registered") {
					t.Fatalf("fault %+v, want every resident already registered", e)
				}
			}
		})
	}
	var entries page[audit.Entry]
	env.do("director", "GET", "/api/v1/audit?action=export.people", nil, &entries)
	if entries.Total != 4 {
		t.Errorf("%d export.people audit entries, want 4", entries.Total)
	}
	for _, kind := range []string{transfer.KindHomes, transfer.KindDevices} {
		status, body, _ := env.download("director", "/api/v1/export/"+kind+"?format=xlsx")
		if status != http.StatusOK {
			t.Fatalf("export %s: %d %s", kind, status, body)
		}
		rows, err := transfer.Read(body, transfer.XLSX, kind)
		if err != nil {
			t.Fatal(err)
		}
		if want := env.total("director", "/api/v1/"+kind); len(rows) != want {
			t.Errorf("%s: %d rows, want %d", kind, len(rows), want)
		}
	}
}
