package compiler

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"

	"lattice.dev/lattice/compiler/plan"
	"lattice.dev/lattice/lang"
	"lattice.dev/lattice/lang/diag"
)

var update = flag.Bool("update", os.Getenv("LATTICE_UPDATE_GOLDEN") != "", "rewrite golden files")

// TestGolden compiles each testdata/*.txtar project and compares the plan
// JSON with its "want.json" section, or the diagnostics with "want.diag".
// The platform and tool are fixed and images resolve to digests derived
// from their names, so the output is the same on every machine.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			for _, f := range ar.Files {
				if strings.HasPrefix(f.Name, "want.") {
					continue
				}
				writeFiles(t, dir, map[string]string{f.Name: string(f.Data)})
			}
			l, err := lang.NewLoader(lang.WorkDir(dir))
			if err != nil {
				t.Fatal(err)
			}
			res, ds := l.Load(dir)
			var got []byte
			if !ds.HasErrors() {
				var p *plan.Plan
				p, ds, err = Compile(context.Background(), res.Project, dir,
					WithImages(fakeImages{}), WithPlatform("linux/amd64"), WithTool(plan.Tool{Name: "lattice", Version: "test"}))
				if err != nil {
					t.Fatal(err)
				}
				if p != nil {
					if got, err = p.Marshal(); err != nil {
						t.Fatal(err)
					}
				}
			}
			var rendered bytes.Buffer
			diag.Render(&rendered, ds, res.Source, diag.RenderOptions{})
			want := map[string][]byte{"want.json": got, "want.diag": rendered.Bytes()}
			changed := false
			for i, f := range ar.Files {
				g, ok := want[f.Name]
				if !ok {
					continue
				}
				if *update {
					if !bytes.Equal(g, f.Data) {
						ar.Files[i].Data = append([]byte(nil), g...)
						changed = true
					}
					continue
				}
				if diff := cmp.Diff(string(f.Data), string(g)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", f.Name, diff)
				}
			}
			if changed {
				os.WriteFile(file, txtar.Format(ar), 0o644)
			}
		})
	}
}
