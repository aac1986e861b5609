package lang

import (
	"fmt"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/parser"

	"lattice.dev/lattice/schemas"
)

// SchemaDocs renders the embedded schema as Markdown reference
// documentation: one section per definition, one row per field with its
// type, whether it is required, and its doc comment. It is generated from
// the schema's own comments, so the docs cannot drift from the schema.
func SchemaDocs() (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Lattice spec reference (format version %d)\n\n", schemas.Version)
	fmt.Fprintf(&b, "Import path for templates: `%s`.\n", schemas.ImportPath)
	files := schemas.Files()
	for _, name := range sortedKeys(files) {
		f, err := parser.ParseFile(name, files[name], parser.ParseComments)
		if err != nil {
			return "", fmt.Errorf("parsing schema %s: %w", name, err)
		}
		for _, d := range f.Decls {
			field, ok := d.(*ast.Field)
			if !ok {
				continue
			}
			label, _, _ := ast.LabelName(field.Label)
			fmt.Fprintf(&b, "\n## %s\n\n", label)
			if doc := commentText(field); doc != "" {
				b.WriteString(doc + "\n")
			}
			st, ok := field.Value.(*ast.StructLit)
			if !ok {
				fmt.Fprintf(&b, "\n`%s`\n", exprText(field.Value))
				continue
			}
			docFields(&b, st)
		}
	}
	return b.String(), nil
}

func docFields(b *strings.Builder, st *ast.StructLit) {
	b.WriteString("\n| field | type | required | description |\n|---|---|---|---|\n")
	type row struct{ name, typ, req, doc string }
	var rows []row
	var nested []*ast.Field
	for _, e := range st.Elts {
		f, ok := e.(*ast.Field)
		if !ok {
			continue
		}
		name, _, _ := ast.LabelName(f.Label)
		req := "no"
		if f.Constraint.String() == "!" {
			req = "yes"
		}
		typ := exprText(f.Value)
		if _, ok := f.Value.(*ast.StructLit); ok {
			typ = "struct (below)"
			nested = append(nested, f)
		}
		doc := strings.ReplaceAll(commentText(f), "\n", " ")
		rows = append(rows, row{name, typ, req, doc})
	}
	for _, r := range rows {
		fmt.Fprintf(b, "| `%s` | `%s` | %s | %s |\n", r.name, strings.ReplaceAll(r.typ, "|", `\|`), r.req, r.doc)
	}
	for _, f := range nested {
		name, _, _ := ast.LabelName(f.Label)
		fmt.Fprintf(b, "\n### %s\n", name)
		docFields(b, f.Value.(*ast.StructLit))
	}
}

func commentText(n ast.Node) string {
	var parts []string
	for _, cg := range ast.Comments(n) {
		if cg.Doc {
			parts = append(parts, strings.TrimSpace(cg.Text()))
		}
	}
	return strings.Join(parts, "\n")
}

func exprText(e ast.Expr) string {
	out, err := format.Node(e)
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(out)), " ")
}
