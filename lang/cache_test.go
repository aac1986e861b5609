package lang

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadCached(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, ".lattice", "spec.cache")
	writeSpec := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "p.cue"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, err := NewLoader(WorkDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	writeSpec(`stages: a: {backend: "local", image: "x", cmd: ["true"]}`)
	first, ds := l.LoadCached(dir, cache)
	if len(ds) != 1 || first.lazyDir != "" {
		t.Fatalf("first load: want one warning (image ignored) and no cache hit; got %v, lazy %q", ds, first.lazyDir)
	}
	second, ds2 := l.LoadCached(dir, cache)
	if second.lazyDir == "" {
		t.Fatal("second load should come from the cache")
	}
	if diff := cmp.Diff(first.Project, second.Project); diff != "" {
		t.Errorf("cached model differs (-fresh +cached):\n%s", diff)
	}
	if diff := cmp.Diff(ds, ds2); diff != "" {
		t.Errorf("cached warnings differ:\n%s", diff)
	}
	if len(second.Source("p.cue")) == 0 {
		t.Errorf("a cached result must still give sources for excerpts")
	}

	// Any edit is a miss.
	writeSpec(`stages: a: {backend: "local", cmd: ["false"]}`)
	third, _ := l.LoadCached(dir, cache)
	if third.lazyDir != "" || third.Project.Stages[0].Cmd[0] != "false" {
		t.Fatalf("an edited spec must be evaluated again")
	}

	// A corrupt cache file is a miss, never an error.
	b, _ := os.ReadFile(cache)
	b[len(b)/2] ^= 0xff
	os.WriteFile(cache, b, 0o644)
	fourth, ds4 := l.LoadCached(dir, cache)
	if fourth.lazyDir != "" || ds4.HasErrors() {
		t.Fatalf("corrupt cache: lazy %q, diags %v", fourth.lazyDir, ds4)
	}

	// Errors are never cached.
	writeSpec(`stages: a: {backend: "local"}`)
	if _, ds := l.LoadCached(dir, cache); !ds.HasErrors() {
		t.Fatal("want an error for the missing cmd")
	}
	if _, ds := l.LoadCached(dir, cache); !ds.HasErrors() {
		t.Fatal("the error must be reported again")
	}
}
