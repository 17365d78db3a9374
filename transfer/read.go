package transfer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Magic numbers of the formats a register arrives in.
var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte("\xd0\xcf\x11\xe0") // .xls of Excel 97–2003
	utf8BOM  = []byte("\xef\xbb\xbf")
)

// Sniff tells the format of data from its first bytes: an XLSX file is a
// zip archive, anything else is taken for CSV.
func Sniff(data []byte) Format {
	if bytes.HasPrefix(data, zipMagic) {
		return XLSX
	}
	return CSV
}

// Read parses a file of kind in format: it finds the header row, maps its
// headers to columns and returns the data rows that are not blank. An
// error is about the file as a whole (no header, a required column
// missing, too big); faults of single rows are found later, by decoding.
func Read(data []byte, format Format, kind string) ([]Row, error) {
	if err := CheckKind(kind); err != nil {
		return nil, err
	}
	if len(data) > MaxBytes {
		return nil, fileError("the file is larger than %d MiB: split it into smaller files", MaxBytes>>20)
	}
	var cells [][]string
	var err error
	switch format {
	case XLSX:
		cells, err = readXLSX(data)
	case CSV:
		cells, err = readCSV(data)
	default:
		return nil, fileError("unknown file format %q: use csv or xlsx", format)
	}
	if err != nil {
		return nil, err
	}
	return rowsOf(kind, cells)
}

// headerSearch is how many rows may stand above the header: registers
// often start with a title line such as "宝圣东路社区住户登记表".
const headerSearch = 10

// rowsOf turns a grid of cells, one slice per spreadsheet row, into rows
// of kind.
func rowsOf(kind string, cells [][]string) ([]Row, error) {
	header := -1
	for i := 0; i < len(cells) && i < headerSearch; i++ {
		if isHeader(kind, cells[i]) {
			header = i
			break
		}
	}
	if header < 0 {
		return nil, fileError("no header row found in the first %d rows: the header names the columns, e.g. %s",
			headerSearch, strings.Join(Headers(kind, Chinese), ", "))
	}
	keyAt := map[int]string{}
	seen := map[string]int{}
	for i, h := range cells[header] {
		key := columnOf(kind, h)
		if key == "" {
			continue // a column of the user's own, such as 备注
		}
		if j, dup := seen[key]; dup {
			return nil, fileError("the column %s appears twice (columns %s and %s)", describe(kind, key), columnName(j), columnName(i))
		}
		seen[key] = i
		keyAt[i] = key
	}
	var missing []string
	for _, c := range layouts[kind] {
		if _, ok := seen[c.Key]; c.Required && !ok {
			missing = append(missing, describe(kind, c.Key))
		}
	}
	if len(missing) > 0 {
		return nil, fileError("the file has no column for %s", strings.Join(missing, ", "))
	}
	var rows []Row
	for i := header + 1; i < len(cells); i++ {
		values := map[string]string{}
		blank := true
		for j, cell := range cells[i] {
			key, ok := keyAt[j]
			if !ok {
				continue
			}
			v := unescapeCell(strings.TrimSpace(cell))
			values[key] = v
			blank = blank && v == ""
		}
		if blank {
			continue
		}
		if len(rows) == MaxRows {
			return nil, fileError("the file has more than %d rows: split it into smaller files", MaxRows)
		}
		rows = append(rows, Row{Line: i + 1, Values: values})
	}
	return rows, nil
}

// isHeader tells the header row from a title above it: it names two
// columns of kind, or all the required ones (a list of names may have no
// other column). One known word in a title is not enough.
func isHeader(kind string, row []string) bool {
	found := map[string]bool{}
	for _, h := range row {
		if key := columnOf(kind, h); key != "" {
			found[key] = true
		}
	}
	if len(found) >= 2 {
		return true
	}
	for _, c := range layouts[kind] {
		if c.Required && !found[c.Key] {
			return false
		}
	}
	return len(found) > 0
}

// columnName is the spreadsheet's letter name of column i (0 is A).
func columnName(i int) string {
	name, err := excelize.ColumnNumberToName(i + 1)
	if err != nil {
		return fmt.Sprint(i + 1)
	}
	return name
}

// XLSX limits: the archive of a 10 MiB file may unpack to far more, but
// not to the gigabytes of a zip bomb.
const (
	maxUnzipped    = 256 << 20
	maxUnzippedXML = 16 << 20
	maxColumns     = 200
)

// readXLSX returns the cells of the first sheet, one slice per row, empty
// rows included so that indexes are row numbers.
func readXLSX(data []byte) ([][]string, error) {
	opts := excelize.Options{RawCellValue: true, UnzipSizeLimit: maxUnzipped, UnzipXMLSizeLimit: maxUnzippedXML}
	f, err := excelize.OpenReader(bytes.NewReader(data), opts)
	if err != nil {
		return nil, fileError("the file is not a readable XLSX workbook: %v", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, fileError("the workbook has no sheet")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return nil, fileError("sheet %q cannot be read: %v", sheets[0], err)
	}
	defer rows.Close()
	var out [][]string
	filled := 0
	for rows.Next() {
		// Raw values: a date cell gives its day number rather than a
		// text in whatever format the sheet happens to show, and long
		// numbers keep their digits.
		cols, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, fileError("row %d cannot be read: %v", len(out)+1, err)
		}
		if len(cols) > maxColumns {
			cols = cols[:maxColumns]
		}
		if !blankCells(cols) {
			filled++
		}
		// Rows beyond the limit are refused later with a clear message;
		// stop reading well before a crafted sheet exhausts memory.
		if filled > MaxRows+headerSearch+1 {
			return nil, fileError("the file has more than %d rows: split it into smaller files", MaxRows)
		}
		out = append(out, cols)
	}
	if err := rows.Error(); err != nil {
		return nil, fileError("sheet %q cannot be read: %v", sheets[0], err)
	}
	return out, nil
}

func blankCells(cols []string) bool {
	for _, c := range cols {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// readCSV returns the cells of a CSV file, one slice per row as a
// spreadsheet would show it. Excel on a Chinese Windows saves CSV in GBK,
// so text that is not UTF-8 is read as GB18030, of which GBK is a part.
func readCSV(data []byte) ([][]string, error) {
	switch {
	case bytes.HasPrefix(data, oleMagic):
		return nil, fileError("this is an old .xls workbook: save it as .xlsx or as CSV and try again")
	case bytes.HasPrefix(data, zipMagic):
		return nil, fileError("this is an XLSX workbook, not CSV: send it as XLSX")
	case bytes.HasPrefix(data, []byte("\xff\xfe")), bytes.HasPrefix(data, []byte("\xfe\xff")):
		return nil, fileError("the file is in UTF-16 (\"Unicode text\"): save it as \"CSV UTF-8\" and try again")
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	if !utf8.Valid(data) {
		decoded, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
		if err != nil {
			return nil, fileError("the file is neither UTF-8 nor GBK text: save it as \"CSV UTF-8\" and try again")
		}
		data = decoded
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = false
	if firstLineHasTabs(data) {
		r.Comma = '\t'
	}
	var out [][]string
	filled := 0
	endLine := 0 // the line the previous record ended on
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fileError("the CSV cannot be read at line %d: %v", pe.Line, pe.Err)
			}
			return nil, fileError("the CSV cannot be read: %v", err)
		}
		// The reader skips blank lines, which a spreadsheet shows as
		// rows; put them back so that row numbers match what users see.
		start, _ := r.FieldPos(0)
		for ; endLine+1 < start; endLine++ {
			out = append(out, nil)
		}
		last, _ := r.FieldPos(len(rec) - 1)
		endLine = last + strings.Count(rec[len(rec)-1], "\n")
		out = append(out, rec)
		if !blankCells(rec) {
			filled++
		}
		if filled > MaxRows+headerSearch+1 {
			return nil, fileError("the file has more than %d rows: split it into smaller files", MaxRows)
		}
	}
	return out, nil
}

// firstLineHasTabs tells a tab-separated file, as copying cells out of a
// spreadsheet gives, from a comma-separated one.
func firstLineHasTabs(data []byte) bool {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	return bytes.Count(line, []byte("\t")) > bytes.Count(line, []byte(","))
}

// formulaStarts are the characters that make a spreadsheet take a CSV
// cell for a formula.
const formulaStarts = "=+-@\t\r"

// escapeCell keeps a text cell of a CSV from being run as a formula when
// the file is opened in a spreadsheet ("CSV injection"): such a cell gets
// a leading apostrophe, which Read takes off again. Numbers and phone
// numbers ("+86 138…", "-1") are left alone, as nothing in them can call
// a function.
func escapeCell(v string) string {
	if v == "" || !strings.ContainsRune(formulaStarts, rune(v[0])) {
		return v
	}
	if strings.Trim(v, "0123456789+-. ") == "" {
		return v
	}
	return "'" + v
}

// unescapeCell undoes escapeCell.
func unescapeCell(v string) string {
	if len(v) >= 2 && v[0] == '\'' && strings.ContainsRune(formulaStarts, rune(v[1])) {
		return v[1:]
	}
	return v
}
