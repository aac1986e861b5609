package cli

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/cmd/lattice/workspace"
)

type reproduceArgs struct {
	dir     string
	targets []string
	jobs    int
	json    bool
}

func newReproduceCmd(e *env) *cobra.Command {
	var a reproduceArgs
	cmd := &cobra.Command{
		Use:   "reproduce [DIR] [--target STAGE]... [-j N]",
		Short: "Re-run stages and check their outputs match lattice.lock",
		Long: `Reproduce re-runs the stages of the project in DIR (default: the current
directory), bypassing the cache, and checks that each one's outputs are
byte for byte the ones lattice.lock records. It finds non-determinism:
timestamps, unseeded randomness, thread-order effects.

Each stage reads its inputs from the workspace, which after an apply
holds exactly the locked outputs of the stages it needs, so every stage is
judged on its own: a non-deterministic stage does not make the stages
after it look non-deterministic too. Nothing in the workspace, the cache
or lattice.lock changes.

The workspace must therefore be up to date (lattice status says whether
it is): reproduce refuses one where a stage it would run is not, naming
the stage and why, and asks for lattice apply first.

Exit status: 0 when every stage reproduced its locked outputs; 1 when
any differed, failed or could not be compared.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			a.dir = projectDir(args)
			ws, err := workspace.Open(a.dir, workspace.WithTool(tool()))
			if err != nil {
				return err
			}
			defer ws.Close()
			o := workspace.ReproduceOptions{Jobs: a.jobs, Targets: a.targets}
			// The live status line helps on a terminal; elsewhere the
			// report below says everything the per-stage lines would.
			var prog *progress
			if e.tty && !a.json {
				prog = newProgress(e, false)
				o.Events = prog.event
			}
			res, err := ws.Reproduce(c.Context(), o)
			if prog != nil {
				prog.stop()
			}
			return viewReproduce(e, a, res, err)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&a.targets, "target", nil, "reproduce only `STAGE` and the stages it needs (repeatable)")
	f.IntVarP(&a.jobs, "jobs", "j", runtime.NumCPU(), "run at most `N` stages at once")
	f.BoolVar(&a.json, "json", false, "print the result as JSON")
	return cmd
}

type reproduceJSON struct {
	FormatVersion string           `json:"format_version"`
	Reproducible  bool             `json:"reproducible"`
	Summary       reproduceSummary `json:"summary"`
	Stages        []reproduceStage `json:"stages"`
}

type reproduceSummary struct {
	Stages           int `json:"stages"`
	Deterministic    int `json:"deterministic"`
	NonDeterministic int `json:"non_deterministic"`
	Failed           int `json:"failed"`
	Skipped          int `json:"skipped"`
	Changed          int `json:"changed"`
}

type reproduceStage struct {
	Name       string              `json:"name"`
	Result     string              `json:"result"`
	DurationS  float64             `json:"duration_s"`
	Mismatches []reproduceMismatch `json:"mismatches"`
	Error      string              `json:"error,omitempty"`
	Reason     string              `json:"reason,omitempty"`
}

type reproduceMismatch struct {
	Output     string `json:"output"`
	Path       string `json:"path"`
	Locked     string `json:"locked"`
	Reproduced string `json:"reproduced"`
}

func viewReproduce(e *env, a reproduceArgs, res *workspace.Reproduced, err error) error {
	if res != nil && res.Applied != nil && res.Planned != nil && res.Diags.HasErrors() {
		if a.json {
			writeJSON(e.stdout, errorJSON(res.Diags))
		} else {
			renderDiags(e, res.Diags, res.Spec.Source)
		}
		return exit(ExitError)
	}
	if res == nil || res.Applied == nil || res.Report == nil {
		if err == nil {
			err = fmt.Errorf("reproduce ran nothing")
		}
		if a.json {
			writeJSON(e.stdout, map[string]any{"format_version": "1", "reproducible": false, "error": err.Error()})
			return exit(ExitError)
		}
		return err
	}
	if a.json {
		out := reproduceJSON{
			FormatVersion: "1",
			Reproducible:  res.OK() && err == nil,
			Summary: reproduceSummary{len(res.Stages), res.Deterministic, res.NonDeterministic,
				res.Failed, res.Skipped, res.Changed},
			Stages: []reproduceStage{},
		}
		for _, s := range res.Stages {
			rs := reproduceStage{Name: s.Name, Result: s.Result, DurationS: s.Run.Duration.Seconds(),
				Mismatches: []reproduceMismatch{}, Error: s.Error, Reason: s.Reason}
			for _, m := range s.Mismatches {
				rs.Mismatches = append(rs.Mismatches, reproduceMismatch(m))
			}
			out.Stages = append(out.Stages, rs)
		}
		if werr := writeJSON(e.stdout, out); werr != nil {
			return werr
		}
	} else {
		tw := newTable(e.stdout)
		for _, s := range res.Stages {
			fmt.Fprintf(tw, "%s\t%s\n", s.Name, reproduceLine(s))
		}
		tw.Flush()
		compared := res.Deterministic + res.NonDeterministic
		fmt.Fprintf(e.stdout, "\nReproduced %s: %d deterministic, %d not.", plural(compared, "stage"), res.Deterministic, res.NonDeterministic)
		var others []string
		if res.Failed > 0 {
			others = append(others, fmt.Sprintf("%d failed", res.Failed))
		}
		if res.Changed > 0 {
			others = append(others, fmt.Sprintf("%d changed since lattice.lock", res.Changed))
		}
		if res.Skipped > 0 {
			others = append(others, fmt.Sprintf("%d skipped", res.Skipped))
		}
		if len(others) > 0 {
			fmt.Fprintf(e.stdout, " Not compared: %s.", strings.Join(others, ", "))
		}
		fmt.Fprintln(e.stdout)
		for _, s := range res.Stages {
			if s.Result == workspace.ReproduceFailed {
				fmt.Fprintf(e.stderr, "\nStage %s failed: %s\n  log: lattice logs %s\n", s.Name, s.Error, quoteArg(s.Name))
			}
		}
	}
	if err != nil {
		return err
	}
	if !res.OK() {
		return exit(ExitError)
	}
	return nil
}

// reproduceLine is the verdict on one stage, after its name.
func reproduceLine(s workspace.ReproducedStage) string {
	switch s.Result {
	case workspace.Deterministic:
		return "✓ deterministic"
	case workspace.NonDeterministic:
		parts := make([]string, len(s.Mismatches))
		for i, m := range s.Mismatches {
			parts[i] = fmt.Sprintf("%s: locked %s, reproduced %s", m.Path, shortOrNone(m.Locked), shortOrNone(m.Reproduced))
		}
		return "✗ NON-DETERMINISTIC: " + strings.Join(parts, "; ")
	case workspace.ReproduceFailed:
		return "✗ failed: " + firstLineOf(s.Error)
	case workspace.ReproduceChanged:
		return "- not compared: " + s.Reason
	}
	return "- skipped: " + s.Reason
}

// shortOrNone shortens a digest, saying "(none)" for a missing one.
func shortOrNone(d string) string {
	if d == "" {
		return "(none)"
	}
	return shortDigest(d)
}
