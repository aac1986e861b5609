package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the layout's one-way dependencies true:
// cmd → lang, compiler, executor; compiler → lang, plan, schemas;
// executor → plan; the plan and digest packages are leaves; the executor
// never imports CUE.
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps=false", "-f", "{{.ImportPath}}|{{join .Deps \" \"}}", "lattice.dev/lattice/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const mod = "lattice.dev/lattice/"
	rules := []struct {
		pkg    string // prefix of packages the rule applies to
		forbid []string
		only   []string // when set, the only module packages allowed
		// leaf, when set, lists the only modules outside the standard
		// library and this module that the package may depend on.
		leaf []string
	}{
		{pkg: mod + "compiler/plan", only: []string{mod + "compiler/digest"}, leaf: leafModules},
		{pkg: mod + "compiler/digest", only: []string{}, leaf: leafModules},
		{pkg: mod + "executor/lockfile", only: []string{mod + "compiler/plan", mod + "compiler/digest"}, leaf: leafModules},
		{pkg: mod + "lang/diag", only: []string{}},
		{pkg: mod + "lang/spec", only: []string{mod + "lang/diag"}},
		{pkg: mod + "executor", forbid: []string{"cuelang.org/", mod + "lang", mod + "compiler/pin", mod + "schemas", mod + "cmd/"},
			only: []string{mod + "compiler/plan", mod + "compiler/digest", mod + "executor"}},
		{pkg: mod + "compiler", forbid: []string{mod + "executor", mod + "cmd/"}},
		{pkg: mod + "lang", forbid: []string{mod + "compiler/plan", mod + "executor", mod + "cmd/"}},
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, "|")
		if strings.HasSuffix(pkg, ".test") || strings.Contains(pkg, "[") {
			continue
		}
		for _, r := range rules {
			if pkg != r.pkg && !strings.HasPrefix(pkg, r.pkg+"/") {
				continue
			}
			checked++
			for _, d := range strings.Fields(deps) {
				if r.leaf != nil && !strings.HasPrefix(d, mod) && strings.Contains(strings.SplitN(d, "/", 2)[0], ".") && !hasAnyPrefix(d, r.leaf) {
					t.Errorf("%s depends on %s; a leaf package may use only the standard library and %v", pkg, d, r.leaf)
				}
				for _, f := range r.forbid {
					if d == f || strings.HasPrefix(d, f) && (strings.HasSuffix(f, "/") || strings.HasPrefix(d, f+"/")) {
						t.Errorf("%s depends on %s, which the layout forbids", pkg, d)
					}
				}
				if r.only != nil && strings.HasPrefix(d, mod) && d != pkg {
					ok := false
					for _, o := range r.only {
						if d == o || strings.HasPrefix(d, o+"/") {
							ok = true
						}
					}
					if !ok {
						t.Errorf("%s depends on %s; it may only use %v within the module", pkg, d, r.only)
					}
				}
			}
			break
		}
	}
	if checked < 9 {
		t.Errorf("checked only %d packages; did the layout move?", checked)
	}
}

// leafModules are the modules the leaf packages (plan, digest, lockfile)
// may use: the BLAKE3 implementation, its CPU feature detection, and
// golang.org/x.
var leafModules = []string{"lukechampine.com/blake3", "github.com/klauspost/cpuid/", "golang.org/x/"}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
