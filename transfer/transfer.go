// Package transfer moves residents, homes and devices in and out of
// spreadsheets: the column layouts (with Chinese and English headers),
// readers for CSV and XLSX, writers for both, and the conversion between a
// spreadsheet row and the community types. Rows name their parents by what
// a person at the community office knows (building name and door number,
// grid code), never by database ids. It holds no SQL and no HTTP; the store
// resolves the names and the web layer moves the bytes.
package transfer

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shequ/shequ"
)

// Kinds of rows a file may hold.
const (
	KindHomes   = "homes"
	KindPeople  = "people"
	KindDevices = "devices"
)

// Kinds lists the kinds, in the order pages offer them.
var Kinds = []string{KindHomes, KindPeople, KindDevices}

// Limits of one import. A community has a few thousand homes, so a file
// beyond these is a mistake (or an attack) rather than a register.
const (
	MaxRows  = 20000
	MaxBytes = 10 << 20
)

// Format is a file format.
type Format string

// Formats.
const (
	CSV  Format = "csv"
	XLSX Format = "xlsx"
)

// MIME types of the formats.
const (
	CSVType  = "text/csv"
	XLSXType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// ContentType returns the MIME type of f.
func (f Format) ContentType() string {
	if f == XLSX {
		return XLSXType
	}
	return CSVType + "; charset=utf-8"
}

// Lang is the language of the headers and labels a file is written in.
// Reading accepts both.
type Lang string

// Languages.
const (
	Chinese Lang = "zh"
	English Lang = "en"
)

// Row is one data row of a file: its values by column key, trimmed.
type Row struct {
	// Line is the row number the user sees in the spreadsheet, so that an
	// error can be found: the header is row 1 when it is the first row.
	Line   int
	Values map[string]string
}

// Get returns the value of the column with key, "" when absent.
func (r Row) Get(key string) string { return r.Values[key] }

// RowError is one thing wrong with one row.
type RowError struct {
	Row     int    `json:"row" doc:"Row number as the spreadsheet shows it (the header is row 1)"`
	Field   string `json:"field" doc:"Column key, e.g. building, door, id_number; empty for the row as a whole"`
	Message string `json:"message"`
}

// Report says what an import did, or would do in a dry run.
type Report struct {
	Kind     string     `json:"kind"`
	DryRun   bool       `json:"dry_run" doc:"When true nothing was written; the report is what a real run would give"`
	Rows     int        `json:"rows" doc:"Data rows in the file (blank rows are not counted)"`
	Imported int        `json:"imported" doc:"Rows that went in (or would go in, in a dry run)"`
	Errors   []RowError `json:"errors" doc:"One entry per fault; a row with faults is not imported at all"`
}

// CheckKind returns an EINVALID error unless kind is one of Kinds.
func CheckKind(kind string) error {
	if !slices.Contains(Kinds, kind) {
		return shequ.Invalid(map[string]string{"kind": "must be one of " + strings.Join(Kinds, ", ")})
	}
	return nil
}

// fileError is the error of a file that cannot be read as a whole: no
// header, a missing column, too many rows. Row faults are RowErrors.
func fileError(format string, args ...any) error {
	return shequ.Errorf(shequ.EINVALID, format, args...)
}

// Faults collects the faults of one row, at most one per column: the first
// fault found for a column is the one the user most needs to fix, and a
// second about the same cell would only repeat it.
type Faults struct {
	kind string
	line int
	msgs map[string]string
}

// NewFaults starts the faults of the row at line of a file of kind.
func NewFaults(kind string, line int) *Faults {
	return &Faults{kind: kind, line: line, msgs: map[string]string{}}
}

// Add records a fault of the column with key field ("" for the row).
func (f *Faults) Add(field, format string, args ...any) {
	if _, ok := f.msgs[field]; ok {
		return
	}
	f.msgs[field] = fmt.Sprintf(format, args...)
}

// Has reports whether the column already has a fault.
func (f *Faults) Has(field string) bool {
	_, ok := f.msgs[field]
	return ok
}

// Empty reports whether the row is fault-free.
func (f *Faults) Empty() bool { return len(f.msgs) == 0 }

// AddError records err, an error from validating or storing the row, on
// the columns it names. It returns false, recording nothing, when err is
// not about the row (a failing database, say): the caller must then stop
// rather than blame the row.
func (f *Faults) AddError(err error) bool {
	var e *shequ.Error
	if !errors.As(err, &e) || e.Code == shequ.EINTERNAL {
		return false
	}
	if len(e.Fields) == 0 {
		f.Add("", "%s", e.Message)
		return true
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f.Add(ColumnFor(f.kind, k), "%s", e.Fields[k])
	}
	return true
}

// Errors returns the faults in the order of the kind's columns.
func (f *Faults) Errors() []RowError {
	out := make([]RowError, 0, len(f.msgs))
	for field, msg := range f.msgs {
		out = append(out, RowError{Row: f.line, Field: field, Message: msg})
	}
	slices.SortFunc(out, func(a, b RowError) int {
		if d := columnIndex(f.kind, a.Field) - columnIndex(f.kind, b.Field); d != 0 {
			return d
		}
		return strings.Compare(a.Field, b.Field)
	})
	return out
}
