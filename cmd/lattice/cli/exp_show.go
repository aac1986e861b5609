package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/cmd/lattice/workspace"
	"lattice.dev/lattice/executor/experiment"
)

type expShowArgs struct {
	name  string
	dir   string
	check bool
	json  bool
}

func newExpShowCmd(e *env) *cobra.Command {
	var a expShowArgs
	cmd := &cobra.Command{
		Use:   "show [EXPERIMENT] [DIR]",
		Short: "Rank an experiment's trials and check its winner against its gates",
		Long: `Show lists the trials of EXPERIMENT in the project in DIR (default: the
current directory), or of every experiment when none is named: one row per
trial with its parameters and metrics, best first by the experiment's
select metric (descending for goal max, ascending for min). The winner is
marked with *, and each gate is checked against it:

    trial          lr   auc   loss  status
  * sweep[lr=0.2]  0.2  0.91  0.2   done
    sweep[lr=0.1]  0.1  0.87  0.1   done

  Winner: sweep[lr=0.2] (auc 0.91)
    ✓ auc >= 0.85  (0.91)

A trial that has not run shows "-" for its metrics and sorts last. The
status column says where each trial stands: done; stale (its metrics are
from an earlier run, and apply would run it again); failed (its latest run
failed, so it cannot win); not run.

A lone argument that names an existing directory is taken as DIR; write
'lattice exp show NAME .' for an experiment named like a directory.

Exit status: 0, even when the winner fails a gate (the output says so); with
--check, 1 when an experiment has no winner or its winner fails a gate,
which makes a CI job fail on a model that is not good enough.`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			a.name, a.dir = expShowTarget(args)
			ws, err := workspace.Open(a.dir, workspace.WithTool(tool()))
			if err != nil {
				return err
			}
			res, err := ws.Experiments(c.Context(), a.name)
			if cerr := ws.Close(); err == nil && cerr != nil {
				fmt.Fprintf(e.stderr, "warning: could not save the stat cache: %v\n", cerr)
			}
			if err != nil {
				return err
			}
			return viewExpShow(e, a, res)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&a.check, "check", false, "exit 1 when an experiment has no winner or its winner fails a gate")
	f.BoolVar(&a.json, "json", false, "print the experiments as JSON")
	return cmd
}

type expShowJSON struct {
	FormatVersion string    `json:"format_version"`
	Experiments   []expJSON `json:"experiments"`
}

type expJSON struct {
	Name        string         `json:"name"`
	SelectBy    string         `json:"select_by"`
	Goal        string         `json:"goal"`
	Gates       []gateJSON     `json:"gates"`
	Winner      *string        `json:"winner"`
	GatesPassed bool           `json:"gates_passed"`
	Trials      []expTrialJSON `json:"trials"`
}

type gateJSON struct {
	Text      string   `json:"text"`
	Metric    string   `json:"metric"`
	Op        string   `json:"op"`
	Threshold float64  `json:"threshold"`
	Value     *float64 `json:"value"`
	Passed    bool     `json:"passed"`
}

type expTrialJSON struct {
	Name     string             `json:"name"`
	Params   map[string]any     `json:"params"`
	Metrics  map[string]float64 `json:"metrics"`
	Status   string             `json:"status"`
	Selected bool               `json:"selected"`
}

func viewExpShow(e *env, a expShowArgs, res *workspace.Experiments) error {
	if res.Diags.HasErrors() || res.Plan == nil {
		if a.json {
			writeJSON(e.stdout, errorJSON(res.Diags))
		} else {
			renderDiags(e, res.Diags, res.Spec.Source)
		}
		return exit(ExitError)
	}
	passed := true
	for _, r := range res.Rankings {
		passed = passed && r.Passed
	}
	if a.json {
		out := expShowJSON{FormatVersion: "1", Experiments: []expJSON{}}
		for _, r := range res.Rankings {
			out.Experiments = append(out.Experiments, rankingJSON(r))
		}
		if err := writeJSON(e.stdout, out); err != nil {
			return err
		}
	} else {
		renderDiags(e, res.Diags, res.Spec.Source)
		if len(res.Rankings) == 0 {
			fmt.Fprintln(e.stdout, "The project declares no experiments.")
		}
		for i, r := range res.Rankings {
			if i > 0 {
				fmt.Fprintln(e.stdout)
			}
			renderRanking(e.stdout, r)
		}
	}
	if a.check && !passed {
		return exit(ExitError)
	}
	return nil
}

func rankingJSON(r *experiment.Ranking) expJSON {
	x := expJSON{Name: r.Experiment.Name, SelectBy: r.Experiment.SelectBy, Goal: r.Goal,
		Gates: []gateJSON{}, GatesPassed: r.Passed, Trials: []expTrialJSON{}}
	if w := r.WinnerTrial(); w != nil {
		x.Winner = &w.Name
	}
	for _, g := range r.Gates {
		gj := gateJSON{Text: g.Gate.Text, Metric: g.Gate.Metric, Op: g.Gate.Op, Threshold: g.Gate.Value, Passed: g.Passed}
		if g.Known {
			v := g.Value
			gj.Value = &v
		}
		x.Gates = append(x.Gates, gj)
	}
	for i, t := range r.Trials {
		tj := expTrialJSON{Name: t.Name, Params: map[string]any{}, Metrics: map[string]float64{}, Status: t.Status, Selected: i == r.Winner}
		for _, p := range t.Params {
			tj.Params[p.Name] = experiment.ParamValue(p)
		}
		for k, v := range t.Metrics {
			tj.Metrics[k] = v
		}
		x.Trials = append(x.Trials, tj)
	}
	return x
}

func renderRanking(w io.Writer, r *experiment.Ranking) {
	e := r.Experiment
	fmt.Fprintf(w, "Experiment %s: %s, selected by %s (%s).\n\n", e.Name, plural(len(r.Trials), "trial"), e.SelectBy, r.Goal)
	var params []string
	seen := map[string]bool{}
	for _, t := range r.Trials {
		for _, p := range t.Params {
			if !seen[p.Name] {
				seen[p.Name] = true
				params = append(params, p.Name)
			}
		}
	}
	tw := newTable(w)
	head := append([]string{"    trial"}, params...)
	for _, m := range e.Metrics {
		head = append(head, m.Name)
	}
	fmt.Fprintln(tw, strings.Join(append(head, "status"), "\t"))
	stale := 0
	for i, t := range r.Trials {
		mark := " "
		if i == r.Winner {
			mark = "*"
		}
		row := []string{"  " + mark + " " + t.Name}
		for _, name := range params {
			v := "-"
			for _, p := range t.Params {
				if p.Name == name {
					v = p.Value
				}
			}
			row = append(row, v)
		}
		for _, m := range e.Metrics {
			v := "-"
			if x, ok := t.Metrics[m.Name]; ok {
				v = formatMetric(x)
			}
			row = append(row, v)
		}
		fmt.Fprintln(tw, strings.Join(append(row, t.Status), "\t"))
		if t.Status == workspace.TrialStale {
			stale++
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	win := r.WinnerTrial()
	if win == nil {
		fmt.Fprintf(w, "  No winner: no trial has reported %s yet. Run lattice apply.\n", e.SelectBy)
	} else {
		fmt.Fprintf(w, "  Winner: %s (%s %s)\n", win.Name, e.SelectBy, formatMetric(win.Metrics[e.SelectBy]))
	}
	var failed []string
	gt := newTable(w)
	for _, g := range r.Gates {
		mark, value := "✓", ""
		if !g.Passed {
			mark = "✗"
			failed = append(failed, g.Gate.Text)
		}
		switch {
		case g.Known:
			value = fmt.Sprintf("(%s)", formatMetric(g.Value))
		case win != nil:
			value = fmt.Sprintf("(the winner did not report %s)", g.Gate.Metric)
		default:
			value = "(no winner)"
		}
		fmt.Fprintf(gt, "    %s %s\t%s\n", mark, g.Gate.Text, value)
	}
	gt.Flush()
	switch {
	case win != nil && len(failed) > 0:
		fmt.Fprintf(w, "  The winner FAILS %d of %s: %s.\n", len(failed), plural(len(r.Gates), "gate"), strings.Join(failed, ", "))
	case win != nil && len(r.Gates) == 1:
		fmt.Fprintln(w, "  The winner passes its gate.")
	case win != nil && len(r.Gates) > 1:
		fmt.Fprintf(w, "  The winner passes all %d gates.\n", len(r.Gates))
	}
	if stale > 0 {
		fmt.Fprintf(w, "  %s stale: %s from an earlier run; lattice apply runs them again.\n",
			isAre(stale, "trial"), itThey(stale, "its metrics are", "their metrics are"))
	}
}

// isAre says "1 trial is" or "3 trials are".
func isAre(n int, noun string) string {
	if n == 1 {
		return "1 " + noun + " is"
	}
	return plural(n, noun) + " are"
}

func itThey(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
