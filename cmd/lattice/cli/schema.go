package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/lang"
	"lattice.dev/lattice/schemas"
)

type schemaArgs struct {
	docs bool
	json bool
}

func newSchemaCmd(e *env) *cobra.Command {
	var a schemaArgs
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Print the spec schema, or its reference documentation",
		Long: `Schema prints the CUE schema that specs are checked against. With --docs it
prints reference documentation in Markdown, generated from the schema's
comments. Templates can import the schema as "` + schemas.ImportPath + `".`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error { return runSchema(e, a) },
	}
	cmd.Flags().BoolVar(&a.docs, "docs", false, "print reference documentation in Markdown")
	cmd.Flags().BoolVar(&a.json, "json", false, "print the schema files and metadata as JSON")
	return cmd
}

type schemaJSON struct {
	FormatVersion string            `json:"format_version"`
	SpecVersion   int               `json:"spec_version"`
	ImportPath    string            `json:"import_path"`
	Files         map[string]string `json:"files"`
	Docs          string            `json:"docs,omitempty"`
}

func runSchema(e *env, a schemaArgs) error {
	files := schemas.Files()
	var docs string
	if a.docs {
		var err error
		if docs, err = lang.SchemaDocs(); err != nil {
			return err
		}
	}
	if a.json {
		out := schemaJSON{FormatVersion: "1", SpecVersion: schemas.Version, ImportPath: schemas.ImportPath, Files: map[string]string{}, Docs: docs}
		for name, src := range files {
			out.Files[name] = string(src)
		}
		return writeJSON(e.stdout, out)
	}
	if a.docs {
		fmt.Fprint(e.stdout, docs)
		return nil
	}
	for _, name := range sortedNames(files) {
		e.stdout.Write(files[name])
	}
	return nil
}
