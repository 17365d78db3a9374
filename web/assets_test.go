package web

import (
	"bytes"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// TestAppCSS checks that app.css holds every file of static/css, in the
// order of cssFiles, and that a file the list lacks stops the start.
func TestAppCSS(t *testing.T) {
	at := 0
	for _, name := range cssFiles {
		b, err := fs.ReadFile(staticFS, "css/"+name+".css")
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(appCSS[at:], b)
		if i < 0 {
			t.Fatalf("app.css lacks css/%s.css after byte %d", name, at)
		}
		at += i + len(b)
	}
	// Rules every page needs, from the first and the last file.
	for _, rule := range []string{":root {", ".list-card {", ".st-online", ".a-page [hidden]"} {
		if !bytes.Contains(appCSS, []byte(rule)) {
			t.Errorf("app.css lacks %q", rule)
		}
	}

	f := fstest.MapFS{}
	for _, name := range cssFiles {
		f["css/"+name+".css"] = &fstest.MapFile{Data: []byte("." + name + " {}\n")}
	}
	if _, err := joinCSS(f); err != nil {
		t.Fatal(err)
	}
	f["css/extra.css"] = &fstest.MapFile{Data: []byte(".extra {}\n")}
	if _, err := joinCSS(f); err == nil || !strings.Contains(err.Error(), "css/extra.css") {
		t.Errorf("a file outside cssFiles: err %v", err)
	}
	delete(f, "css/extra.css")
	delete(f, "css/"+cssFiles[0]+".css")
	if _, err := joinCSS(f); err == nil {
		t.Error("a missing file: no error")
	}
}
