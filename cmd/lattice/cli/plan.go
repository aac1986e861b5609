package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/cmd/lattice/workspace"
	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
)

type planArgs struct {
	dir              string
	json             bool
	format           string
	out              string
	detailedExitcode bool
	explain          string
	refresh          bool
	stats            bool
	all              bool
}

func newPlanCmd(e *env) *cobra.Command {
	var a planArgs
	cmd := &cobra.Command{
		Use:   "plan [DIR]",
		Short: "Show what apply would run, and why",
		Long: `Plan validates the project in DIR (default: the current directory), hashes its
datasets and code, pins its images and computes every stage's action key,
then compares with lattice.lock and the output cache. Each stage gets one
line with its action and the reason:

  + run        a new stage
  ~ run        a changed stage (the reason names the field), or one whose
               upstream runs first
  < restore    the cache holds the stage's outputs
  = up-to-date nothing to do
  - remove     locked, but no longer declared

--explain STAGE prints the stage's key pre-image and every field that
differs from the locked stage. -out FILE saves the plan for
'lattice apply FILE', which refuses it if anything moved since.

Exit status: 0 on success; 1 on error; with --detailed-exitcode, 2 when
there are changes.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			a.dir = projectDir(args)
			if a.json {
				a.format = "json"
			}
			switch a.format {
			case "human", "json", "markdown":
			default:
				return fmt.Errorf("unknown -format %q: use human, json or markdown", a.format)
			}
			return runPlan(c, e, a)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&a.json, "json", false, "print the plan as JSON (same as -format=json)")
	f.StringVar(&a.format, "format", "human", "output format: human, json or markdown")
	f.StringVar(&a.out, "out", "", "save the plan to `FILE` for lattice apply")
	f.BoolVar(&a.detailedExitcode, "detailed-exitcode", false, "exit 2 when there are changes, 0 when there are none")
	f.StringVar(&a.explain, "explain", "", "explain `STAGE`: print its key pre-image and its changes")
	f.BoolVar(&a.refresh, "refresh", false, "re-resolve image tags even when lattice.lock pins them")
	f.BoolVar(&a.stats, "stats", false, "report hashing statistics (files checked, read, from the stat cache)")
	f.BoolVar(&a.all, "all", false, "list every stage, even in large plans where up-to-date stages are folded")
	return cmd
}

func runPlan(c *cobra.Command, e *env, a planArgs) error {
	ws, err := workspace.Open(a.dir, workspace.WithTool(tool()))
	if err != nil {
		return err
	}
	res, err := ws.Plan(c.Context(), workspace.PlanOptions{Refresh: a.refresh})
	if cerr := ws.Close(); err == nil && cerr != nil {
		fmt.Fprintf(e.stderr, "warning: could not save the stat cache: %v\n", cerr)
	}
	if err != nil {
		return err
	}
	if res.Diags.HasErrors() || res.Plan == nil {
		if a.format == "json" {
			writeJSON(e.stdout, errorJSON(res.Diags))
		} else {
			renderDiags(e, res.Diags, res.Spec.Source)
		}
		return exit(ExitError)
	}
	if a.format != "json" {
		renderDiags(e, res.Diags, res.Spec.Source)
	}
	if a.out != "" {
		b, err := res.Plan.Marshal()
		if err != nil {
			return err
		}
		if err := digest.WriteFileAtomic(a.out, b, 0o644); err != nil {
			return fmt.Errorf("saving the plan: %w", err)
		}
	}
	if a.explain != "" {
		s := res.Plan.Stage(a.explain)
		if s == nil {
			return fmt.Errorf("no stage %q in the plan%s", a.explain, suggestStage(res.Plan, a.explain))
		}
		return viewExplain(e, a, s)
	}
	if err := viewPlan(e, a, res.Plan, res.Hashed); err != nil {
		return err
	}
	if a.out != "" && a.format == "human" {
		fmt.Fprintf(e.stdout, "\nSaved the plan to %s. Run it with: lattice apply %s\n", a.out, a.out)
	}
	if a.detailedExitcode && res.Plan.Summary.Changes() {
		return exit(ExitChanges)
	}
	return nil
}

// tool names this program in plans and lockfiles.
func tool() plan.Tool { return plan.Tool{Name: "lattice", Version: Version} }

// errorJSON is the -json output of a command that failed on diagnostics.
func errorJSON(ds diagList) any {
	return struct {
		FormatVersion string   `json:"format_version"`
		Valid         bool     `json:"valid"`
		Diagnostics   diagList `json:"diagnostics"`
	}{"1", false, nonNil(ds)}
}
