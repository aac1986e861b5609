package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/cmd/lattice/workspace"
	"lattice.dev/lattice/compiler/plan"
)

type statusArgs struct {
	dir  string
	json bool
}

func newStatusCmd(e *env) *cobra.Command {
	var a statusArgs
	cmd := &cobra.Command{
		Use:   "status [DIR]",
		Short: "Say whether the workspace is up to date with its spec",
		Long: `Status plans the project and reports whether anything would run, be
restored or be removed. It lists only the stages that are not up to date.

Exit status: 0 when everything is up to date, 2 when something is stale,
1 on error.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			a.dir = projectDir(args)
			ws, err := workspace.Open(a.dir, workspace.WithTool(tool()))
			if err != nil {
				return err
			}
			res, err := ws.Plan(c.Context(), workspace.PlanOptions{})
			ws.Close()
			if err != nil {
				return err
			}
			return viewStatus(e, a, res)
		},
	}
	cmd.Flags().BoolVar(&a.json, "json", false, "print the status as JSON")
	return cmd
}

type statusStage struct {
	Name   string      `json:"name"`
	Action plan.Action `json:"action"`
	Reason string      `json:"reason"`
}

type statusJSON struct {
	FormatVersion string        `json:"format_version"`
	UpToDate      bool          `json:"up_to_date"`
	Summary       plan.Summary  `json:"summary"`
	Stale         []statusStage `json:"stale"`
}

func viewStatus(e *env, a statusArgs, res *workspace.Planned) error {
	if res.Diags.HasErrors() || res.Plan == nil {
		if a.json {
			writeJSON(e.stdout, errorJSON(res.Diags))
		} else {
			renderDiags(e, res.Diags, res.Spec.Source)
		}
		return exit(ExitError)
	}
	p := res.Plan
	out := statusJSON{FormatVersion: "1", UpToDate: !p.Summary.Changes(), Summary: p.Summary, Stale: []statusStage{}}
	for _, s := range p.Stages {
		if s.Action != plan.UpToDate {
			out.Stale = append(out.Stale, statusStage{s.Name, s.Action, s.Reason})
		}
	}
	for _, r := range p.Removed {
		out.Stale = append(out.Stale, statusStage{r.Name, plan.Remove, r.Reason})
	}
	if a.json {
		if err := writeJSON(e.stdout, out); err != nil {
			return err
		}
	} else {
		renderDiags(e, res.Diags, res.Spec.Source)
		if out.UpToDate {
			fmt.Fprintf(e.stdout, "Up to date: %s.\n", plural(p.Summary.UpToDate, "stage"))
		} else {
			fmt.Fprintf(e.stdout, "Stale: %d of %s need work.\n", len(out.Stale), plural(len(p.Stages)+len(p.Removed), "stage"))
			for _, s := range out.Stale {
				fmt.Fprintf(e.stdout, "  %s: %s (%s)\n", s.Name, s.Action, s.Reason)
			}
		}
	}
	if !out.UpToDate {
		return exit(ExitChanges)
	}
	return nil
}
