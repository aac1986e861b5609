package lang

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"

	"lattice.dev/lattice/lang/diag"
)

// update rewrites the want sections of golden files:
//
//	go test ./lang/ -run TestGoldenDiagnostics -update
//
// or LATTICE_UPDATE_GOLDEN=1 for the whole suite.
var update = flag.Bool("update", os.Getenv("LATTICE_UPDATE_GOLDEN") != "", "rewrite golden files")

// TestGoldenDiagnostics loads each testdata/diag/*.txtar project and
// compares the rendered diagnostics with the archive's "want" section (and
// "want.json" when present). Each archive holds one realistic mistake, or
// a few, with their exact positions and messages.
func TestGoldenDiagnostics(t *testing.T) {
	files, err := filepath.Glob("testdata/diag/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			inputs := map[string][]byte{}
			for _, f := range ar.Files {
				if f.Name == "want" || f.Name == "want.json" {
					continue
				}
				inputs[f.Name] = f.Data
				p := filepath.Join(dir, f.Name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			l, err := NewLoader(WorkDir(dir))
			if err != nil {
				t.Fatal(err)
			}
			res, ds := l.Load(dir)
			var got bytes.Buffer
			diag.Render(&got, ds, res.Source, diag.RenderOptions{})
			var gotJSON bytes.Buffer
			if err := diag.RenderJSON(&gotJSON, ds); err != nil {
				t.Fatal(err)
			}
			changed := false
			for i, f := range ar.Files {
				var g []byte
				switch f.Name {
				case "want":
					g = got.Bytes()
				case "want.json":
					g = gotJSON.Bytes()
				default:
					continue
				}
				if *update {
					if !bytes.Equal(f.Data, g) {
						ar.Files[i].Data = append([]byte(nil), g...)
						changed = true
					}
					continue
				}
				if diff := cmp.Diff(string(f.Data), string(g)); diff != "" {
					t.Errorf("%s: %s mismatch (-want +got):\n%s", file, f.Name, diff)
				}
			}
			if !hasSection(ar, "want") {
				t.Errorf("%s has no want section", file)
			}
			if changed {
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func hasSection(ar *txtar.Archive, name string) bool {
	for _, f := range ar.Files {
		if f.Name == name {
			return true
		}
	}
	return false
}
