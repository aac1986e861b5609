package lang

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// The loaders must never crash on any input: every byte string gives a
// model or diagnostics. Run one with, for example,
//
//	go test -run=^$ -fuzz=FuzzLoadYAML -fuzztime=5m ./lang/
//
// A panic inside the loader is caught and reported as an "internal error"
// diagnostic, so the targets fail on that too.

func FuzzLoadCUE(f *testing.F)  { fuzzLoader(f, "pipeline.cue", ".cue") }
func FuzzLoadHCL(f *testing.F)  { fuzzLoader(f, "pipeline.hcl", ".hcl") }
func FuzzLoadYAML(f *testing.F) { fuzzLoader(f, "lattice.yaml", ".yaml") }
func FuzzLoadJSON(f *testing.F) { fuzzLoader(f, "lattice.json", ".json") }

func fuzzLoader(f *testing.F, name, ext string) {
	for _, src := range seeds(f, ext) {
		f.Add(src)
	}
	dir := f.TempDir()
	l, err := NewLoader(WorkDir(dir))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		res, ds := l.LoadFiles(dir, map[string][]byte{name: src})
		for _, d := range ds {
			if strings.Contains(d.Summary, "internal error") {
				t.Fatalf("loader crashed: %s", d.Summary)
			}
		}
		if res == nil {
			t.Fatal("nil result")
		}
		if !ds.HasErrors() && res.Project == nil {
			t.Fatal("no errors and no model")
		}
	})
}

// seeds collects every test file with the given extension: the
// equivalence specs and the golden diagnostics' inputs.
func seeds(f *testing.F, ext string) [][]byte {
	var out [][]byte
	filepath.Walk("testdata", func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		switch {
		case strings.HasSuffix(p, ext):
			if b, err := os.ReadFile(p); err == nil {
				out = append(out, b)
			}
		case strings.HasSuffix(p, ".txtar"):
			ar, err := txtar.ParseFile(p)
			if err != nil {
				return nil
			}
			for _, fl := range ar.Files {
				if strings.HasSuffix(fl.Name, ext) {
					out = append(out, fl.Data)
				}
			}
		}
		return nil
	})
	if len(out) == 0 {
		f.Fatalf("no seeds for %s", ext)
	}
	return out
}
