package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/compiler"
	"lattice.dev/lattice/lang"
)

type graphArgs struct {
	dir    string
	format string
	json   bool
}

func newGraphCmd(e *env) *cobra.Command {
	var a graphArgs
	cmd := &cobra.Command{
		Use:   "graph [DIR]",
		Short: "Print the pipeline's DAG as Graphviz DOT or Mermaid",
		Long: `Graph prints the pipeline's stages (experiment trials included) and
datasets, and which reads which, without hashing or running anything.

  lattice graph | dot -Tsvg > pipeline.svg
  lattice graph --format=mermaid   (for Markdown that renders Mermaid)`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			a.dir = projectDir(args)
			if a.json {
				a.format = "json"
			}
			if a.format != "dot" && a.format != "mermaid" && a.format != "json" {
				return fmt.Errorf("unknown --format %q: use dot, mermaid or json", a.format)
			}
			l, err := lang.NewLoader()
			if err != nil {
				return err
			}
			res, ds := l.Load(a.dir)
			if ds.HasErrors() {
				renderDiags(e, ds, res.Source)
				return exit(ExitError)
			}
			g, gds := compiler.BuildGraph(res.Project)
			if gds.HasErrors() {
				renderDiags(e, gds, res.Source)
				return exit(ExitError)
			}
			return viewGraph(e.stdout, a.format, g)
		},
	}
	cmd.Flags().StringVar(&a.format, "format", "dot", "output format: dot, mermaid or json")
	cmd.Flags().BoolVar(&a.json, "json", false, "print the graph as JSON (same as --format=json)")
	return cmd
}

func viewGraph(w io.Writer, format string, g *compiler.Graph) error {
	switch format {
	case "json":
		return writeJSON(w, struct {
			FormatVersion string `json:"format_version"`
			*compiler.Graph
		}{"1", g})
	case "mermaid":
		ids := map[string]string{}
		id := func(kind, name string) string {
			k := kind + ":" + name
			if v, ok := ids[k]; ok {
				return v
			}
			v := fmt.Sprintf("n%d", len(ids))
			ids[k] = v
			return v
		}
		fmt.Fprintln(w, "flowchart LR")
		for _, d := range g.Datasets {
			fmt.Fprintf(w, "  %s[(\"%s\")]\n", id("d", d), mermaidText(d))
		}
		for _, s := range g.Stages {
			fmt.Fprintf(w, "  %s[\"%s\"]\n", id("s", s.Name), mermaidText(s.Name))
		}
		for _, e := range g.Edges {
			from := id("s", e.From)
			if e.Dataset {
				from = id("d", e.From)
			}
			fmt.Fprintf(w, "  %s -->|%s| %s\n", from, mermaidText(e.Input), id("s", e.To))
		}
	default:
		fmt.Fprintln(w, "digraph pipeline {")
		fmt.Fprintln(w, "  rankdir=LR;")
		fmt.Fprintln(w, "  node [shape=box, fontname=\"Helvetica\"];")
		for _, d := range g.Datasets {
			fmt.Fprintf(w, "  %s [shape=cylinder];\n", dotID("dataset:"+d))
		}
		for _, s := range g.Stages {
			fmt.Fprintf(w, "  %s [label=%q];\n", dotID(s.Name), s.Name)
		}
		for _, e := range g.Edges {
			from := dotID(e.From)
			if e.Dataset {
				from = dotID("dataset:" + e.From)
			}
			fmt.Fprintf(w, "  %s -> %s [label=%q];\n", from, dotID(e.To), e.Input)
		}
		fmt.Fprintln(w, "}")
	}
	return nil
}

func dotID(s string) string { return fmt.Sprintf("%q", s) }

func mermaidText(s string) string { return strings.ReplaceAll(s, "\"", "#quot;") }
