package transfer

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"
)

// Table is one sheet to write: its name, its columns and its rows, with
// the headers in Lang.
type Table struct {
	Sheet   string
	Columns []Column
	Rows    []Row
	Lang    Lang
}

// Write writes rows of kind to w as a file of format, with the headers and
// labels of lang. What Write writes, Read reads back to the same rows.
func Write(w io.Writer, format Format, kind string, lang Lang, rows []Row) error {
	if err := CheckKind(kind); err != nil {
		return err
	}
	name := sheetNames[kind][0]
	if lang == English {
		name = sheetNames[kind][1]
	}
	return WriteTable(w, format, Table{Sheet: name, Columns: layouts[kind], Rows: rows, Lang: lang})
}

// WriteTable writes t to w as a file of format: CSV with a byte order
// mark and formula-escaped cells, or a one-sheet XLSX workbook with
// numeric columns as numbers.
func WriteTable(w io.Writer, format Format, t Table) error {
	switch format {
	case CSV:
		return writeCSV(w, t)
	case XLSX:
		return writeXLSX(w, t)
	}
	return fileError("unknown file format %q: use csv or xlsx", format)
}

// writeCSV writes UTF-8 with a byte order mark: without it Excel reads
// the file in the system code page and shows Chinese as mojibake.
func writeCSV(w io.Writer, t Table) error {
	if _, err := w.Write(utf8BOM); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // what spreadsheets write, and what Notepad shows right
	if err := cw.Write(headersOf(t.Columns, t.Lang)); err != nil {
		return fmt.Errorf("write csv header: %w", err)
	}
	cols := t.Columns
	record := make([]string, len(cols))
	for _, r := range t.Rows {
		for i, c := range cols {
			record[i] = escapeCell(r.Get(c.Key))
		}
		if err := cw.Write(record); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// sheetNames name the one sheet of an exported workbook.
var sheetNames = map[string][2]string{
	KindHomes:   {"住户房屋", "homes"},
	KindPeople:  {"居民", "people"},
	KindDevices: {"设备", "devices"},
}

// writeXLSX streams the rows into a one-sheet workbook. Text cells stay
// text, so ID and phone numbers keep every digit when the file is opened.
func writeXLSX(w io.Writer, t Table) error {
	f := excelize.NewFile()
	defer f.Close()
	name := t.Sheet
	if err := f.SetSheetName(f.GetSheetName(0), name); err != nil {
		return fmt.Errorf("name sheet: %w", err)
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return fmt.Errorf("xlsx stream: %w", err)
	}
	cols := t.Columns
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fmt.Errorf("xlsx style: %w", err)
	}
	// Widths and panes must come before the first row.
	if err := sw.SetColWidth(1, len(cols), 16); err != nil {
		return fmt.Errorf("xlsx widths: %w", err)
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("xlsx panes: %w", err)
	}
	header := make([]any, len(cols))
	for i, c := range cols {
		header[i] = excelize.Cell{StyleID: bold, Value: c.Header(t.Lang)}
	}
	if err := sw.SetRow("A1", header); err != nil {
		return fmt.Errorf("xlsx header: %w", err)
	}
	for n, r := range t.Rows {
		values := make([]any, len(cols))
		for i, c := range cols {
			v := r.Get(c.Key)
			values[i] = v
			if c.Numeric && v != "" {
				if num, err := strconv.ParseFloat(v, 64); err == nil {
					values[i] = num
				}
			}
		}
		cell, err := excelize.CoordinatesToCellName(1, n+2)
		if err != nil {
			return fmt.Errorf("xlsx row %d: %w", n+2, err)
		}
		if err := sw.SetRow(cell, values); err != nil {
			return fmt.Errorf("xlsx row %d: %w", n+2, err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("xlsx flush: %w", err)
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	return nil
}
