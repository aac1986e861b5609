package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/cmd/lattice/workspace"
	"lattice.dev/lattice/executor/experiment"
)

type expDiffArgs struct {
	a, b string
	dir  string
	json bool
}

func newExpDiffCmd(e *env) *cobra.Command {
	var a expDiffArgs
	cmd := &cobra.Command{
		Use:   "diff A B [DIR]",
		Short: "Compare two trials' parameters and metrics side by side",
		Long: `Diff puts two trials (or any two stages) of the project in DIR (default:
the current directory) side by side: every parameter, then every metric,
with ~ marking the rows that differ. For a metric whose goal is known, the
change column gives B minus A and says whether B is better or worse.

  lattice exp diff 'sweep[lr=0.1]' 'sweep[lr=0.3]'

Quote trial names for the shell. A metric a trial has not reported shows
"-".`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(c *cobra.Command, args []string) error {
			a.a, a.b = args[0], args[1]
			a.dir = projectDir(args[2:])
			ws, err := workspace.Open(a.dir, workspace.WithTool(tool()))
			if err != nil {
				return err
			}
			res, err := ws.CompareTrials(c.Context(), a.a, a.b)
			if cerr := ws.Close(); err == nil && cerr != nil {
				fmt.Fprintf(e.stderr, "warning: could not save the stat cache: %v\n", cerr)
			}
			if err != nil {
				return err
			}
			return viewExpDiff(e, a, res)
		},
	}
	cmd.Flags().BoolVar(&a.json, "json", false, "print the comparison as JSON")
	return cmd
}

type expDiffJSON struct {
	FormatVersion string           `json:"format_version"`
	A             expSideJSON      `json:"a"`
	B             expSideJSON      `json:"b"`
	Params        []paramDiffJSON  `json:"params"`
	Metrics       []metricDiffJSON `json:"metrics"`
}

type expSideJSON struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

type paramDiffJSON struct {
	Name    string `json:"name"`
	A       any    `json:"a"`
	B       any    `json:"b"`
	Differs bool   `json:"differs"`
}

type metricDiffJSON struct {
	Name    string   `json:"name"`
	Goal    *string  `json:"goal"`
	A       *float64 `json:"a"`
	B       *float64 `json:"b"`
	Differs bool     `json:"differs"`
	// Better is "a" or "b", or null when they tie or no goal says.
	Better *string `json:"better"`
}

func viewExpDiff(e *env, a expDiffArgs, res *workspace.Compared) error {
	if res.Diags.HasErrors() || res.Plan == nil {
		if a.json {
			writeJSON(e.stdout, errorJSON(res.Diags))
		} else {
			renderDiags(e, res.Diags, res.Spec.Source)
		}
		return exit(ExitError)
	}
	c := res.Comparison
	if a.json {
		out := expDiffJSON{FormatVersion: "1", A: expSideJSON{c.A, res.StatusA}, B: expSideJSON{c.B, res.StatusB},
			Params: []paramDiffJSON{}, Metrics: []metricDiffJSON{}}
		for _, p := range c.Params {
			pj := paramDiffJSON{Name: p.Name, Differs: p.Differs}
			if p.InA {
				pj.A = experiment.ParamValue(p.A)
			}
			if p.InB {
				pj.B = experiment.ParamValue(p.B)
			}
			out.Params = append(out.Params, pj)
		}
		for _, m := range c.Metrics {
			mj := metricDiffJSON{Name: m.Name, Differs: m.Differs}
			if m.Goal != "" {
				mj.Goal = &m.Goal
			}
			if m.InA {
				mj.A = &m.A
			}
			if m.InB {
				mj.B = &m.B
			}
			if m.Better != "" {
				mj.Better = &m.Better
			}
			out.Metrics = append(out.Metrics, mj)
		}
		return writeJSON(e.stdout, out)
	}
	renderDiags(e, res.Diags, res.Spec.Source)
	renderComparison(e.stdout, c, res.StatusA, res.StatusB)
	return nil
}

func renderComparison(w io.Writer, c experiment.Comparison, statusA, statusB string) {
	tw := newTable(w)
	mark := func(differs bool) string {
		if differs {
			return "~"
		}
		return " "
	}
	fmt.Fprintf(tw, "  \t%s\t%s\t\n", c.A, c.B)
	fmt.Fprintf(tw, "%s status\t%s\t%s\t\n", mark(statusA != statusB), statusA, statusB)
	if len(c.Params) > 0 {
		fmt.Fprintf(tw, "  params\t\t\t\n")
	}
	for _, p := range c.Params {
		av, bv := "-", "-"
		if p.InA {
			av = p.A.Value
		}
		if p.InB {
			bv = p.B.Value
		}
		fmt.Fprintf(tw, "%s   %s\t%s\t%s\t\n", mark(p.Differs), p.Name, av, bv)
	}
	if len(c.Metrics) > 0 {
		fmt.Fprintf(tw, "  metrics\t\t\t\n")
	}
	for _, m := range c.Metrics {
		av, bv, change := "-", "-", ""
		if m.InA {
			av = formatMetric(m.A)
		}
		if m.InB {
			bv = formatMetric(m.B)
		}
		if m.InA && m.InB && m.Differs {
			change = formatChange(m.B - m.A)
			switch m.Better {
			case "b":
				change += " (better)"
			case "a":
				change += " (worse)"
			}
		}
		fmt.Fprintf(tw, "%s   %s\t%s\t%s\t%s\n", mark(m.Differs), m.Name, av, bv, change)
	}
	tw.Flush()
	fmt.Fprintln(w)
	var params, metrics int
	for _, p := range c.Params {
		if p.Differs {
			params++
		}
	}
	for _, m := range c.Metrics {
		if m.Differs {
			metrics++
		}
	}
	if params+metrics == 0 {
		fmt.Fprintf(w, "%s and %s have the same params and metrics.\n", c.A, c.B)
		return
	}
	fmt.Fprintf(w, "%s and %s differ (~) in %s and %s.\n", c.A, c.B, plural(params, "param"), plural(metrics, "metric"))
}

// formatChange formats a metric's change with its sign.
func formatChange(d float64) string {
	s := formatMetric(d)
	if d > 0 {
		s = "+" + s
	}
	return s
}
