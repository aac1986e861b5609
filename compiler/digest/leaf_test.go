package digest

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestLeafPackage keeps this package a leaf: the compiler and the executor
// both import it, so it may import only the standard library, the BLAKE3
// implementation and golang.org/x packages. Test files may also use go-cmp.
func TestLeafPackage(t *testing.T) {
	files, err := os.ReadDir(".")
	check(t, err)
	fset := token.NewFileSet()
	for _, f := range files {
		name := f.Name()
		if !strings.HasSuffix(name, ".go") {
			continue
		}
		ast, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		check(t, err)
		for _, imp := range ast.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			check(t, err)
			first, _, _ := strings.Cut(path, "/")
			switch {
			case !strings.Contains(first, "."): // standard library
			case path == "lukechampine.com/blake3", strings.HasPrefix(path, "lukechampine.com/blake3/"):
			case strings.HasPrefix(path, "golang.org/x/"):
			case strings.HasSuffix(name, "_test.go") && strings.HasPrefix(path, "github.com/google/go-cmp/"):
			default:
				t.Errorf("%s imports %s; this package must stay a leaf", name, path)
			}
		}
	}
}
