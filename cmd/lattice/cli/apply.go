package cli

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/cmd/lattice/workspace"
)

type applyArgs struct {
	dir       string
	planFile  string
	jobs      int
	keepGoing bool
	targets   []string
	locked    bool
	refresh   bool
	json      bool
}

func newApplyCmd(e *env) *cobra.Command {
	var a applyArgs
	cmd := &cobra.Command{
		Use:   "apply [DIR | PLANFILE]",
		Short: "Run the pipeline: restore cached stages, run the rest",
		Long: `Apply plans the project in DIR (default: the current directory) and runs
it: up-to-date stages are left alone, stages whose outputs are in the cache
are restored without running, and the others run in dependency order, up to
-j at a time, each in a sandboxed container (or, with backend "local", as a
host process). Outputs are stored in the cache and placed in the workspace,
and lattice.lock records every pin.

Given a plan file saved by 'lattice plan -out FILE', apply runs exactly that
plan, and refuses it, naming what changed, if the lockfile or any input has
moved since it was made.

A stage that fails is not cached; the stages that need it are skipped.
Without --keep-going, no new stage starts after a failure. Ctrl-C stops the
running stages, removes their containers and keeps what finished.

Only one apply runs in a workspace at a time; a second one names the
holder of the lock ('lattice force-unlock ID' breaks a lock whose holder
is gone).

Exit status: 0 when every stage succeeded, 1 otherwise.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			a.dir = "."
			if len(args) == 1 {
				if st, err := os.Stat(args[0]); err == nil && !st.IsDir() {
					a.planFile = args[0]
				} else {
					a.dir = args[0]
				}
			}
			return runApply(c, e, a)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&a.jobs, "jobs", "j", runtime.NumCPU(), "run at most `N` stages at once")
	f.BoolVar(&a.keepGoing, "keep-going", false, "keep running independent stages after a failure")
	f.StringArrayVar(&a.targets, "target", nil, "run only `STAGE` and the stages it needs (repeatable)")
	f.BoolVar(&a.locked, "locked", false, "refuse to change any pin in lattice.lock (for CI)")
	f.BoolVar(&a.refresh, "refresh", false, "re-resolve image tags even when lattice.lock pins them")
	f.BoolVar(&a.json, "json", false, "stream progress as JSON events, one per line")
	f.StringVarP(&a.dir, "chdir", "C", ".", "the project directory, when applying a plan file")
	return cmd
}

func runApply(c *cobra.Command, e *env, a applyArgs) error {
	ws, err := workspace.Open(a.dir, workspace.WithTool(tool()))
	if err != nil {
		return err
	}
	defer ws.Close()
	prog := newProgress(e, a.json)
	res, err := ws.Apply(c.Context(), workspace.ApplyOptions{
		PlanFile:  a.planFile,
		Jobs:      a.jobs,
		KeepGoing: a.keepGoing,
		Targets:   a.targets,
		Locked:    a.locked,
		Refresh:   a.refresh,
		Events:    prog.event,
		Command:   "apply",
	})
	prog.stop()
	return viewApply(e, a.json, res, err, "Apply")
}

// viewApply renders the end of an apply or reproduce and returns the exit
// status.
func viewApply(e *env, asJSON bool, res *workspace.Applied, err error, verb string) error {
	if res != nil && res.Planned != nil && res.Diags.HasErrors() {
		if asJSON {
			writeJSON(e.stdout, errorJSON(res.Diags))
		} else {
			renderDiags(e, res.Diags, res.Spec.Source)
		}
		return exit(ExitError)
	}
	if err != nil && (res == nil || res.Report == nil) {
		if asJSON {
			writeJSON(e.stdout, map[string]any{"format_version": "1", "type": "error", "error": err.Error()})
			return exit(ExitError)
		}
		return err
	}
	rep := res.Report
	if !asJSON {
		for _, f := range rep.Failures() {
			fmt.Fprintf(e.stderr, "\nStage %s failed: %s\n", f.Name, f.Error)
			if len(f.LogTail) > 0 {
				fmt.Fprintln(e.stderr, "  last lines of its log:")
				for _, l := range f.LogTail {
					fmt.Fprintf(e.stderr, "    %s\n", l)
				}
			}
			fmt.Fprintf(e.stderr, "  full log: lattice logs %s\n", quoteArg(f.Name))
		}
		status := "complete"
		if rep.Failed > 0 || err != nil {
			status = "failed"
		}
		fmt.Fprintf(e.stdout, "%s %s: %d ran, %d restored from cache, %d up-to-date, %d failed",
			verb, status, rep.Ran, rep.Restored, rep.UpToDate, rep.Failed)
		if rep.Skipped > 0 {
			fmt.Fprintf(e.stdout, ", %d skipped", rep.Skipped)
		}
		fmt.Fprintf(e.stdout, " (%s).\n", rep.Duration.Round(1e7))
	}
	if err != nil {
		return err
	}
	if rep.Failed > 0 || rep.Skipped > 0 {
		return exit(ExitError)
	}
	return nil
}

// quoteArg quotes a stage name for a shell command line when it needs it.
func quoteArg(s string) string {
	if strings.ContainsAny(s, "[]=,\"' ") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}
