package lockfile

import (
	goparser "go/parser"
	gotoken "go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the package's dependencies to what doc.go promises:
// the standard library, compiler/plan and compiler/digest. Tests may also
// use go-cmp.
func TestImports(t *testing.T) {
	files, err := os.ReadDir(".")
	check(t, err)
	fset := gotoken.NewFileSet()
	for _, f := range files {
		name := f.Name()
		if !strings.HasSuffix(name, ".go") {
			continue
		}
		ast, err := goparser.ParseFile(fset, name, nil, goparser.ImportsOnly)
		check(t, err)
		for _, imp := range ast.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			check(t, err)
			first, _, _ := strings.Cut(path, "/")
			switch {
			case !strings.Contains(first, "."): // standard library
			case path == "lattice.dev/lattice/compiler/plan", path == "lattice.dev/lattice/compiler/digest":
			case strings.HasSuffix(name, "_test.go") && strings.HasPrefix(path, "github.com/google/go-cmp/"):
			default:
				t.Errorf("%s imports %s; this package may import only the standard library, compiler/plan and compiler/digest", name, path)
			}
		}
	}
}
