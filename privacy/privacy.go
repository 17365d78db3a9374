// Package privacy owns a resident's rights over their personal data under
// the PIPL: to see everything shequ holds about them and their household
// (a page, and an export in JSON and XLSX), to withdraw a consent, and to
// have their data erased — a request the administrator reviews, whose
// outcome says what was erased or anonymised and what was kept and why.
// Every request and its outcome is recorded.
package privacy

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/shequ/shequ"
)

// Kinds of request.
const (
	KindExport   = "export"   // saw or downloaded their data
	KindWithdraw = "withdraw" // withdrew a consent to a partner
	KindErase    = "erase"    // asked for erasure
	KindCorrect  = "correct"  // corrected their phone number
)

// Statuses of a request.
const (
	StatusDone     = "done"     // export, withdraw: done at once
	StatusPending  = "pending"  // erase: waiting for the administrator
	StatusApproved = "approved" // erase: done
	StatusRefused  = "refused"  // erase: refused, with a note
)

// Section is the rows of one table that concern the person.
type Section struct {
	// Table is the table the rows come from; Title the key of its name on
	// the page.
	Table string           `json:"table"`
	Rows  []map[string]any `json:"rows"`
}

// Export is everything held about a person and their household.
type Export struct {
	PersonID    int64     `json:"person_id"`
	Name        string    `json:"name"`
	GeneratedAt time.Time `json:"generated_at"`
	Sections    []Section `json:"sections"`
}

// Count returns how many rows of table the export holds.
func (e Export) Count(table string) int {
	for _, s := range e.Sections {
		if s.Table == table {
			return len(s.Rows)
		}
	}
	return 0
}

// Total is the number of rows in all sections.
func (e Export) Total() int {
	n := 0
	for _, s := range e.Sections {
		n += len(s.Rows)
	}
	return n
}

// Columns returns the columns of a section's rows, sorted with id first.
func (s Section) Columns() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range s.Rows {
		for k := range r {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == "id":
			return -1
		case b == "id":
			return 1
		}
		return strings.Compare(a, b)
	})
	return out
}

// Cell formats a value for the page and the spreadsheet.
func Cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case []byte:
		return string(x)
	case string:
		return x
	case bool, int, int64, float64:
		return fmt.Sprint(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// WriteJSON writes the export as indented JSON.
func WriteJSON(w io.Writer, e Export) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(e)
}

// WriteXLSX writes the export as a workbook: a summary sheet, then one
// sheet per table with a header row.
func WriteXLSX(w io.Writer, e Export) error {
	f := excelize.NewFile()
	defer f.Close()
	sum := "summary"
	f.SetSheetName("Sheet1", sum)
	f.SetSheetRow(sum, "A1", &[]any{"person_id", e.PersonID})
	f.SetSheetRow(sum, "A2", &[]any{"name", e.Name})
	f.SetSheetRow(sum, "A3", &[]any{"generated_at", e.GeneratedAt.UTC().Format(time.RFC3339)})
	f.SetSheetRow(sum, "A5", &[]any{"table", "rows"})
	for i, s := range e.Sections {
		f.SetSheetRow(sum, fmt.Sprintf("A%d", 6+i), &[]any{s.Table, len(s.Rows)})
		name := sheetName(s.Table, i)
		if _, err := f.NewSheet(name); err != nil {
			return fmt.Errorf("export sheet %s: %w", name, err)
		}
		cols := s.Columns()
		head := make([]any, len(cols))
		for j, c := range cols {
			head[j] = c
		}
		f.SetSheetRow(name, "A1", &head)
		for r, row := range s.Rows {
			vals := make([]any, len(cols))
			for j, c := range cols {
				vals[j] = Cell(row[c])
			}
			cell, _ := excelize.CoordinatesToCellName(1, r+2)
			f.SetSheetRow(name, cell, &vals)
		}
	}
	_, err := f.WriteTo(w)
	return err
}

// sheetName keeps a table's name within Excel's 31 characters.
func sheetName(table string, i int) string {
	if len(table) <= 28 {
		return table
	}
	return fmt.Sprintf("%s~%d", table[:25], i)
}

// Outcome is what became of one kind of data when an erasure was carried
// out: erased, anonymised or kept, and why.
type Outcome struct {
	What string `json:"what"`
	Done string `json:"done"` // erased, anonymised, kept
	Rows int    `json:"rows"`
	Why  string `json:"why"`
}

// Request is a resident's request about their data.
type Request struct {
	ID          int64      `json:"id"`
	CommunityID int64      `json:"community_id"`
	PersonID    int64      `json:"person_id"`
	Kind        string     `json:"kind"`
	Status      string     `json:"status"`
	Reason      string     `json:"reason,omitempty"`
	RequestedBy string     `json:"requested_by"`
	OnBehalf    bool       `json:"on_behalf"`
	ReviewedBy  string     `json:"reviewed_by,omitempty"`
	Note        string     `json:"note,omitempty"`
	Outcome     []Outcome  `json:"outcome"`
	CreatedAt   time.Time  `json:"created_at"`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
}

// ValidateErasure checks an erasure request's reason.
func ValidateErasure(reason string) error {
	p := shequ.Problems{}
	p.OptionalText("reason", reason, 1000)
	return p.Err()
}

// ValidateDecision checks the administrator's decision: a refusal says why.
func ValidateDecision(approve bool, note string) error {
	p := shequ.Problems{}
	if approve {
		p.OptionalText("note", note, 1000)
	} else {
		p.RequireText("note", note, 1000)
	}
	return p.Err()
}
