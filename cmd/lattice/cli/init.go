package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/lang"
)

type initArgs struct {
	dir    string
	name   string
	format string
	force  bool
	json   bool
}

func newInitCmd(e *env) *cobra.Command {
	var a initArgs
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Create a small project to start from",
		Long: `Init writes a small two-stage project into DIR (default: the current
directory) that validates and runs on the host with nothing but lattice.

With --format=cue (the default) it also writes cue.mod/ holding the schema
package, so templates can import "lattice.dev/lattice" and stock cue vet,
cue export and cue fmt work on the project. --format=hcl and --format=yaml
write the same pipeline as pipeline.hcl or lattice.yaml.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			a.dir = projectDir(args)
			return runInit(e, a)
		},
	}
	cmd.Flags().StringVar(&a.name, "name", "", "project name (default: the directory's name)")
	cmd.Flags().StringVar(&a.format, "format", "cue", "spec format: cue, hcl or yaml")
	cmd.Flags().BoolVar(&a.force, "force", false, "overwrite existing files")
	cmd.Flags().BoolVar(&a.json, "json", false, "print the files written as JSON")
	return cmd
}

type initJSON struct {
	FormatVersion string   `json:"format_version"`
	Dir           string   `json:"dir"`
	Files         []string `json:"files"`
}

func runInit(e *env, a initArgs) error {
	files, err := lang.Scaffold(a.dir, lang.ScaffoldOptions{Name: a.name, Format: a.format, Force: a.force})
	if err != nil {
		return err
	}
	if a.json {
		return writeJSON(e.stdout, initJSON{FormatVersion: "1", Dir: a.dir, Files: files})
	}
	fmt.Fprintf(e.stdout, "Created a project in %s:\n", a.dir)
	for _, f := range files {
		fmt.Fprintf(e.stdout, "  %s\n", f)
	}
	fmt.Fprintf(e.stdout, "\nNext: lattice validate %s\n", a.dir)
	return nil
}
