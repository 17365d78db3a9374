package web

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

// The style sheet is kept in files by area under static/css and served
// as one /static/app.css, joined when the program starts: one request
// for a slow phone, one file for the service worker to keep. The order
// is the cascade's: later files may refine earlier ones, so a new file
// goes into this list where its rules belong.
var cssFiles = []string{
	"base",        // colours, type, focus, the top bar
	"layout",      // header, main, footer
	"nav",         // the menu: phone bar, desk bar, "更多"
	"forms",       // fields and buttons
	"lists",       // dashboard counts, tables, the pager
	"alarm",       // alarm colours, icons, the live line
	"console",     // the monitoring centre's console
	"field",       // the field staff's dispatches
	"myalarm",     // the resident's alarm page and SOS
	"service",     // what the service pages share
	"resident",    // the resident's home
	"cards",       // list cards and the one vocabulary of statuses
	"matters",     // the report form and one matter
	"lostfound",   // lost and found
	"staff",       // the staff's matters queue and matter page
	"content",     // news, guides, policies, composing notices
	"service-fit", // the service pages on wide screens and in large text
	"assoc",       // associations' pages and statistics
	"devices",     // the device health wall
	"access",      // door keys, visitor passes, doors and the access log
	"broadcast",   // the loudspeakers: the resident's programme, moderation, preview
	"ops",         // the operations page (backups, disk) and personal-data pages
	"map",         // the site map
	"evidence",    // cameras on the console, footage requests, warning notices
}

// appCSS is static/app.css: the files of cssFiles in order.
var appCSS = mustJoinCSS(staticFS)

func mustJoinCSS(f fs.FS) []byte {
	b, err := joinCSS(f)
	if err != nil {
		panic(err)
	}
	return b
}

// joinCSS joins css/<name>.css of cssFiles. A file in css/ that the list
// lacks is an error, not a rule silently left out of every page.
func joinCSS(f fs.FS) ([]byte, error) {
	have, err := fs.Glob(f, "css/*")
	if err != nil {
		return nil, err
	}
	for _, p := range have {
		if name, ok := strings.CutSuffix(path.Base(p), ".css"); !ok || !slices.Contains(cssFiles, name) {
			return nil, fmt.Errorf("static/%s: not in cssFiles (assets.go)", p)
		}
	}
	var out bytes.Buffer
	for _, name := range cssFiles {
		b, err := fs.ReadFile(f, "css/"+name+".css")
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&out, "/* %s.css */\n", name)
		out.Write(b)
		if !bytes.HasSuffix(b, []byte("\n")) {
			out.WriteByte('\n')
		}
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}

// serveAppCSS answers /static/app.css as the file server answers the
// other static files: type from the name, ranges, no Last-Modified (the
// embedded files have no time either).
func serveAppCSS(w http.ResponseWriter, r *http.Request) {
	http.ServeContent(w, r, "app.css", time.Time{}, bytes.NewReader(appCSS))
}
