// Package examples holds the example projects of the repository; this test
// checks that each of them is a valid spec. Running them end to end is left
// to the executor's integration tests, which have Docker at hand.
package examples

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lattice.dev/lattice/lang"
	"lattice.dev/lattice/lang/diag"
)

// projects lists the directories under root that hold spec files, sorted.
// It skips what apply and the CUE tooling write inside a project (out/,
// .lattice/, cue.mod/), which are not projects of their own.
func projects(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "out" || name == "cue.mod") {
			return filepath.SkipDir
		}
		files, err := lang.SpecFiles(path)
		if err != nil {
			return err
		}
		if len(files) > 0 {
			dirs = append(dirs, filepath.ToSlash(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(dirs)
	return dirs
}

// TestExamplesValidate loads every example project the way `lattice
// validate` does and requires it to be free of diagnostics, warnings
// included: an example is what users copy, so it should be spotless.
func TestExamplesValidate(t *testing.T) {
	dirs := projects(t, ".")

	// Guard against the walk silently finding fewer projects than exist,
	// for instance after a directory is renamed. New examples are picked
	// up without being listed here.
	for _, want := range []string{"covid-triage", "quickstart", "quickstart/docker"} {
		if !slices.Contains(dirs, want) {
			t.Errorf("example %s not found; found %v", want, dirs)
		}
	}

	l, err := lang.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			res, ds := l.Load(dir)
			if len(ds) > 0 {
				var b strings.Builder
				diag.Render(&b, ds, res.Source, diag.RenderOptions{})
				t.Fatalf("lattice validate %s reported %d diagnostics:\n%s", dir, len(ds), b.String())
			}
			if res.Project == nil {
				t.Fatalf("lattice validate %s: no diagnostics, but no project either", dir)
			}
		})
	}
}
