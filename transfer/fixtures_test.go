package transfer

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

var updateFixtures = flag.Bool("update-fixtures", false, "rewrite testdata/*.xlsx from testdata/*.csv")

// The XLSX fixtures hold the same cells as the CSV ones, typed the way a
// person typing into Excel gets them: floors and phone numbers as numbers,
// dates as date cells (a day number with a date format), the rest as
// text; blank CSV lines are rows left empty. They are made with excelize
// directly rather than with Write, so that Read is tested against a
// workbook this package did not write.
var fixtureNames = []string{"homes_bad", "people_bad", "devices_bad"}

var (
	wholeNumber = regexp.MustCompile(`^[0-9]{1,11}$`)
	isoDate     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

func TestXLSXFixtures(t *testing.T) {
	for _, name := range fixtureNames {
		xlsxPath := filepath.Join("testdata", name+".xlsx")
		if !*updateFixtures {
			if _, err := os.Stat(xlsxPath); err != nil {
				t.Errorf("%s missing: run go test ./transfer -run TestXLSXFixtures -update-fixtures", xlsxPath)
			}
			continue
		}
		data, err := os.ReadFile(filepath.Join("testdata", name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		cells, err := readCSV(data)
		if err != nil {
			t.Fatal(err)
		}
		f := excelize.NewFile()
		sheet := f.GetSheetName(0)
		dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14})
		if err != nil {
			t.Fatal(err)
		}
		for r, row := range cells {
			for c, v := range row {
				if v == "" {
					continue
				}
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				switch {
				case r > 1 && isoDate.MatchString(v):
					d, _ := time.Parse(time.DateOnly, v)
					err = f.SetCellValue(sheet, cell, d)
					if err == nil {
						err = f.SetCellStyle(sheet, cell, cell, dateStyle)
					}
				case r > 0 && wholeNumber.MatchString(v):
					n, _ := strconv.ParseInt(v, 10, 64)
					err = f.SetCellValue(sheet, cell, n)
				default:
					err = f.SetCellValue(sheet, cell, v)
				}
				if err != nil {
					t.Fatalf("%s %s: %v", name, cell, err)
				}
			}
		}
		if err := f.SaveAs(xlsxPath); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

// readFixture reads testdata/name.format as rows of kind.
func readFixture(t *testing.T, name string, format Format, kind string) []Row {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+"."+string(format)))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Read(data, format, kind)
	if err != nil {
		t.Fatalf("read %s.%s: %v", name, format, err)
	}
	return rows
}

func kindOfFixture(name string) string { return strings.TrimSuffix(name, "_bad") }
