package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/lang"
	"lattice.dev/lattice/lang/diag"
	"lattice.dev/lattice/lang/spec"
)

type validateArgs struct {
	dir  string
	json bool
}

func newValidateCmd(e *env) *cobra.Command {
	var a validateArgs
	cmd := &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Check a project's spec and report every problem in it",
		Long: `Validate reads the spec files of a project directory (default: the current
directory) — *.cue, *.hcl, lattice.yaml or lattice.json — checks them against
the schema and across objects, and reports every problem it finds, each with
its file, line and column.

Exit status is 0 when the spec is valid and 1 otherwise.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			a.dir = projectDir(args)
			return runValidate(e, a)
		},
	}
	cmd.Flags().BoolVar(&a.json, "json", false, "print the result as JSON")
	return cmd
}

func runValidate(e *env, a validateArgs) error {
	l, err := lang.NewLoader()
	if err != nil {
		return err
	}
	res, ds := l.Load(a.dir)
	return viewValidate(e, a, res, ds)
}

// validateJSON is the -json output of validate.
type validateJSON struct {
	diag.JSONReport
	Summary *specSummary `json:"summary,omitempty"`
}

type specSummary struct {
	Datasets    int `json:"datasets"`
	Stages      int `json:"stages"`
	Experiments int `json:"experiments"`
}

func summarize(p *spec.Project) *specSummary {
	if p == nil {
		return nil
	}
	return &specSummary{Datasets: len(p.Datasets), Stages: len(p.Stages), Experiments: len(p.Experiments)}
}

func viewValidate(e *env, a validateArgs, res *lang.Result, ds diag.Diagnostics) error {
	var p *spec.Project
	if res != nil {
		p = res.Project
	}
	if a.json {
		if err := writeJSON(e.stdout, validateJSON{JSONReport: diag.Report(ds), Summary: summarize(p)}); err != nil {
			return err
		}
		if ds.HasErrors() {
			return exit(ExitError)
		}
		return nil
	}
	if renderDiags(e, ds, res.Source) {
		return exit(ExitError)
	}
	s := summarize(p)
	fmt.Fprintf(e.stdout, "The spec is valid: %s, %s, %s.\n",
		plural(s.Datasets, "dataset"), plural(s.Stages, "stage"), plural(s.Experiments, "experiment"))
	return nil
}
